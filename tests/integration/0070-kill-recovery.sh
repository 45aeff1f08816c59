#!/bin/bash
# SIGKILL of the daemon: whatever fsync acknowledged is there after remount.
# Two workloads run together until the daemon is killed at a random moment:
#  - one creates files, renames them into place and removes older ones, and
#    writes to a log outside the mount every state fsync acknowledged;
#  - one appends to, overwrites in place and truncates one file, keeping
#    outside the mount a copy of the state fsync acknowledged and of the one
#    in flight.
# After recovery every acknowledged state must be present with its exact
# content, and the changed file must be made, block by block, of its
# acknowledged state or the one in flight (never garbage or zeros from
# nowhere); fsck -n must be clean.  tests/crash/soak.sh runs it long.
# TFS_KILL_POOL=pmem runs it on a pmem+block pool whose pmem device is in
# shadow mode: only what tierfs persisted survives the kill (0075);
# TFS_KILL_POOL=zns on a pool of an emulated zoned device and a small block
# device (0077);
# TFS_KILL_POOL=small on a pool with a 1 MiB journal, so that the kills also
# land in the middle of checkpoints taken while the workloads run (0076);
# TFS_KILL_POOL=big the same on a pool holding 300,000 chunks (a fallocated
# file, whose ranges a third workload punches and allocates again), so that
# the kills land inside incremental checkpoints of a large state (0078).
. "$(dirname "$0")/lib/common.sh"
tfs_setup
CYCLES=${TFS_KILL_CYCLES:-30}
case ${TFS_KILL_POOL:-block} in
pmem)
	# small pmem: files land there first, then spill over to block
	tfs_mkfs --pmem "$T/p.img:48M" --block "$T/a.img:512M"
	export TIERFS_PMEM_SHADOW=1
	;;
zns)
	# an emulated zoned device (16 zones of 4 MiB, capacity 3.5 MiB, 6 open)
	# takes new data; partial chunks and the metadata go to a small block
	# device; chunks are rewritten into new zones and zones get cleaned
	tfs_mkfs --zns "$T/z.img" --zone-size 4M --zone-capacity 3584K --zones 16 \
		--max-open 6 --max-active 6 --block "$T/a.img:24M"
	;;
small)
	# a 1 MiB journal: checkpoints every few dozen commits, taken while
	# the workloads go on (0076)
	tfs_mkfs --block "$T/a.img:64M" --block "$T/b.img:512M"
	;;
big)
	tfs_mkfs --chunk-size 64K --block "$T/a.img:64M" --block "$T/b.img:40G"
	BULK=300000
	tfs_mount "$T/a.img"
	fallocate -l $((BULK * 65536)) "$MNT/bulk" || fail "fallocate of the bulk file"
	tfs_umount
	;;
*)	tfs_mkfs --block "$T/a.img:512M" --block "$T/b.img:256M" ;;
esac
ACK=$T/acked
: > "$ACK"

workload() { # $1: cycle
	local i=0 f
	while :; do
		i=$((i + 1))
		f="$MNT/c$1-f$i"
		head -c $(( (i * 7919) % 300000 + 1 )) /dev/urandom > "$f.tmp" || return
		dd if=/dev/null of="$f.tmp" conv=fsync,notrunc status=none || return
		mv "$f.tmp" "$f" || return
		# tierfs commits the whole journal on fsync, so fsync of the file
		# also makes its rename durable (POSIX would ask for the directory)
		dd if=/dev/null of="$f" conv=fsync,notrunc status=none || return
		# hash what the mount holds; a read failing because the daemon was
		# just killed must not turn into an acknowledgement
		local sum size
		sum=$(set -o pipefail; sha256sum < "$f" | cut -c1-32) || return
		size=$(stat -c %s "$f") || return
		echo "$(basename "$f") $sum $size" >> "$ACK"
		if [ $((i % 5)) = 0 ]; then
			# in flight: the removal may or may not survive a crash
			echo "c$1-f$((i - 4)) removing" >> "$ACK"
			rm "$MNT/c$1-f$((i - 4))" || return
			sync "$MNT/c$1-f$i" || return
			echo "c$1-f$((i - 4)) gone" >> "$ACK"
		fi
	done
}

# appends, overwrites in place and truncates of one file; $T/st/ack is the
# state fsync acknowledged, $T/st/next the one being written
mutate() { # $1: cycle
	local f="$MNT/m$1" i=0 size off n
	: > "$f" && dd if=/dev/null of="$f" conv=fsync,notrunc status=none || return
	: > "$T/st/ack"
	while :; do
		i=$((i + 1))
		cp "$T/st/ack" "$T/st/next"
		size=$(stat -c %s "$T/st/ack")
		case $((i % 4)) in
		0|1) n=$(( (RANDOM * 37 + i) % 200000 + 1 ))
			head -c "$n" /dev/urandom > "$T/st/piece"
			cat "$T/st/piece" >> "$T/st/next"
			cat "$T/st/piece" >> "$f" || return ;;
		2) off=$(( (RANDOM * 31) % (size + 1) )); n=$(( RANDOM * 11 % 300000 + 1 ))
			head -c "$n" /dev/urandom > "$T/st/piece"
			dd if="$T/st/piece" of="$T/st/next" oflag=seek_bytes seek="$off" conv=notrunc status=none
			dd if="$T/st/piece" of="$f" oflag=seek_bytes seek="$off" conv=notrunc status=none || return ;;
		3) n=$(( size * 2 / 3 ))
			truncate -s "$n" "$T/st/next"
			truncate -s "$n" "$f" || return ;;
		esac
		dd if=/dev/null of="$f" conv=fsync,notrunc status=none || return
		mv "$T/st/next" "$T/st/ack"
	done
}

# ranges of the bulk file punched and allocated again: thousands of chunk
# records per step, its size never changes
bulk() {
	local off n=1000
	[ -n "${BULK:-}" ] || return 0
	while :; do
		off=$(( (RANDOM * 32768 + RANDOM) % (BULK - n) * 65536 ))
		fallocate -p -o "$off" -l $((n * 65536)) "$MNT/bulk" || return
		fallocate -o "$off" -l $((n * 65536)) "$MNT/bulk" || return
	done
}
# and checkpoints one after the other, so that most kills land in one
checkpoints() {
	[ -n "${BULK:-}" ] || return 0
	while "$TOP_BUILDDIR/src/tierfsctl" checkpoint "$MNT" > /dev/null; do :; done
}

mkdir -p "$T/st"
for c in $(seq 1 "$CYCLES"); do
	tfs_mount "$T/a.img" -o commit=30
	( workload "$c" 2>/dev/null & mutate "$c" 2>/dev/null & bulk 2>/dev/null &
	  checkpoints 2>/dev/null & wait ) &
	tfs_crash_during $!
	"$TOP_BUILDDIR/src/fsck.tierfs" -n "$T/a.img" > "$T/fsck.out" 2>&1
	rc=$?
	[ $rc = 0 ] || cat "$T/fsck.out"
	check test $rc = 0 "cycle $c: fsck -n clean after SIGKILL"
	tfs_mount "$T/a.img" 2> "$T/mount.err"
	cat "$T/mount.err" >&2
	grep -q "checkpoint was being taken" "$T/mount.err" && note "cycle $c: the kill landed inside a checkpoint"
	bad=0; n=0
	# the last line about a name wins (a file acknowledged, then removed)
	declare -A want=()
	declare -A wsize=() prev=()
	while read -r name state size; do
		[ "$state" = removing ] && prev[$name]=${want[$name]:-}
		want[$name]=$state; wsize[$name]=${size:-}
	done < "$ACK"
	for name in "${!want[@]}"; do
		n=$((n + 1))
		if [ "${want[$name]}" = removing ]; then
			# either state is right; if it is still there it is the old content
			if [ -f "$MNT/$name" ] && [ "$(sha256sum < "$MNT/$name" | cut -c1-32)" != "${prev[$name]}" ]; then
				echo "# $name: removal in flight, content differs"; bad=1
			fi
		elif [ "${want[$name]}" = gone ]; then
			[ -e "$MNT/$name" ] && { echo "# $name: removed and synced, but back"; bad=1; }
		elif [ ! -f "$MNT/$name" ]; then
			echo "# $name: acknowledged, missing"; bad=1
		elif [ "$(sha256sum < "$MNT/$name" | cut -c1-32)" != "${want[$name]}" ]; then
			echo "# $name: acknowledged, content differs (size ${wsize[$name]} -> $(stat -c %s "$MNT/$name"))"; bad=1
			[ -n "${TFS_KEEP:-}" ] && cp "$MNT/$name" "$TFS_KEEP/$name.after"
		fi
	done
	unset want wsize prev
	check test $bad = 0 "cycle $c: $n acknowledged states intact after SIGKILL"
	# the changed file: its acknowledged state, or blocks of the one in flight
	states=("$T/st/ack"); [ -f "$T/st/next" ] && states+=("$T/st/next")
	if [ -f "$T/st/ack" ] && [ ! -f "$MNT/m$c" ]; then
		check false "cycle $c: the changed file was created and fsynced, but is missing"
	elif [ -f "$MNT/m$c" ]; then
		check "$HELPERS/blockcmp" "$MNT/m$c" "${states[@]}" \
			"cycle $c: appended/overwritten/truncated file is its acked or in-flight state ($(stat -c %s "$MNT/m$c") bytes)"
	fi
	rm -f "$T/st/ack" "$T/st/next"
	[ "${TFS_KILL_POOL:-}" = zns ] && "$TOP_BUILDDIR/src/tierfsctl" status "$MNT" | sed -n 's/^ *garbage/# zns: garbage/p'
	[ -n "${BULK:-}" ] && check test "$(stat -c %s "$MNT/bulk")" = $((BULK * 65536)) \
		"cycle $c: the bulk file keeps its size"
	tfs_umount
done
finish
