#!/bin/bash
# Corruption sweep: one random byte flipped in one on-media region of a
# fresh copy of a populated pool, for every kind of region fsck.tierfs --map
# lists (superblock copies, checkpoint headers, log segments and pages of
# both checkpoints, journal transactions, checksum pages, zone tables, data
# blocks), on a pool unmounted cleanly and on one whose daemon was killed
# after acknowledged changes, with the journal on pmem and on a block device.
#
# Allowed outcomes: the pool mounts and every file is identical; reading a
# damaged file gives EIO; or the mount refuses with a message, after which
# a read-only mount works, fsck.tierfs -y repairs and the pool mounts again.
# Never: different data or metadata after a successful mount, a crash, a
# hang.  fsck.tierfs -n --scrub must report every flip (all listed regions
# are live: each byte is covered by a checksum).
#
# TFS_SWEEP_TRIALS flips per kind of region and case (default 2);
# TFS_SWEEP_SEED makes a run repeatable (the seed is printed);
# contrib/corrupt-sweep.sh runs thousands.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
FSCK=$TOP_BUILDDIR/src/fsck.tierfs
TRIALS=${TFS_SWEEP_TRIALS:-$((2 / TFS_SCALE > 0 ? 2 / TFS_SCALE : 1))}
SEED=${TFS_SWEEP_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
RANDOM=$SEED
note "seed $SEED, $TRIALS trial(s) per region kind (TFS_SWEEP_SEED=$SEED reproduces)"
command -v setfattr > /dev/null || skip "setfattr (attr) not installed"

# the manifest, with EIO in place of the content hash of a file whose read
# fails that way (any other read error is kept, and differs)
manifest_eio() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r p; do
		s=$(stat -c '%F %a %h %u %g' -- "$p")
		[ -f "$p" ] && [ ! -L "$p" ] && s="$s $(stat -c %s -- "$p")"
		h=-
		if [ -f "$p" ] && [ ! -L "$p" ]; then
			if err=$(cat -- "$p" 2>&1 > /dev/null); then
				h=$(sha256sum < "$p" | cut -c1-16)
			elif [[ $err == *"Input/output error"* ]]; then
				h=EIO
			else
				h="ERR($err)"
			fi
		fi
		[ -L "$p" ] && h=$(readlink -- "$p")
		x=$(getfattr -h -d -m - --absolute-names -- "$p" 2>/dev/null | grep -v '^#' | tr '\n' ' ')
		printf '%s|%s|%s|%s\n' "$p" "$s" "$h" "$x"
	done)
}
# identical but for EIO in place of some contents: 0
same_but_eio() {
	python3 - "$1" "$2" <<'EOF'
import sys
want = open(sys.argv[1]).read().splitlines()
got = open(sys.argv[2]).read().splitlines()
bad = len(want) != len(got)
for w, g in zip(want, got):
    if w == g:
        continue
    wf, gf = w.split('|'), g.split('|')
    if len(wf) == len(gf) == 4 and wf[:2] == gf[:2] and wf[3] == gf[3] and gf[2] == 'EIO':
        continue
    print('want: ' + w + '\ngot:  ' + g)
    bad = True
if len(want) != len(got):
    print('%d entries, want %d' % (len(got), len(want)))
sys.exit(1 if bad else 0)
EOF
}

populate() {
	local d i
	for d in hot warm cold; do mkdir "$MNT/$d"; done
	setfattr -n user.tierfs.pin -v block "$MNT/warm"
	setfattr -n user.tierfs.pin -v zns "$MNT/cold"
	[ "$1" = pmem ] && setfattr -n user.tierfs.pin -v pmem "$MNT/hot"
	for d in hot warm cold; do
		for i in 1 2 3; do
			head -c $((i * 70000 + 123)) /dev/urandom > "$MNT/$d/f$i"
		done
		echo "small $d" > "$MNT/$d/s"
		setfattr -n user.note -v "note of $d" "$MNT/$d/s"
		ln -s "../$d/f1" "$MNT/$d/link"
		ln "$MNT/$d/f2" "$MNT/$d/hard"
	done
	mkdir "$MNT/many"
	for i in $(seq 1 150); do echo "$i" > "$MNT/many/entry-$i"; done
	truncate -s 3M "$MNT/warm/sparse"
	printf 'tail' | dd of="$MNT/warm/sparse" bs=1 seek=2000000 conv=notrunc status=none
}
# changes after the last checkpoint, each acknowledged by fsync
more_changes() {
	head -c 100000 /dev/urandom > "$MNT/cold/new"
	sync "$MNT/cold/new"
	head -c 5000 /dev/urandom | dd of="$MNT/warm/f2" bs=1 seek=7000 conv=notrunc status=none
	sync "$MNT/warm/f2"
	mv "$MNT/many/entry-7" "$MNT/hot/moved"
	rm "$MNT/many/entry-8"
	setfattr -n user.late -v yes "$MNT/hot/moved"
	echo appended >> "$MNT/hot/s"
	sync "$MNT/hot/s" "$MNT/hot/moved"
}

IMGS=()
save() { mkdir -p "$T/$1"; for f in "${IMGS[@]}"; do cp --sparse=always "$T/$f" "$T/$1/$f"; done; }
restore() { for f in "${IMGS[@]}"; do cp --sparse=always "$T/$1/$f" "$T/$f"; done; }

# flip one byte at a random offset of a random region of KIND in the map
# of case CASE; prints what it did
flip_random() {
	local kind=$1 map=$T/$2.map line n k dev off len base path b x
	# not a block a live write intent names: after a crash it may hold a
	# write never committed, so a mismatch there is resealed at the next
	# mount by design (tierfs(8), RECOVERY), and fsck cannot call it damage
	n=$(awk -v k="$kind" '$1 == k && $NF != "intent"' "$map" | wc -l)
	k=$((RANDOM % n + 1))
	line=$(awk -v k="$kind" '$1 == k && $NF != "intent"' "$map" | sed -n "${k}p")
	read -r _ dev off len _ <<< "$line"
	base=$(awk -v d="$dev" '$1 == "dev" && $2 == d { print $3 }' "$map")
	path=$(awk -v d="$dev" '$1 == "dev" && $2 == d { print $NF }' "$map")
	[ "$kind" = ztab ] && base=0
	off=$((base + off + (RANDOM * 32768 + RANDOM) % len))
	b=$(dd if="$path" bs=1 skip="$off" count=1 status=none | od -An -tu1 | tr -d ' ')
	x=$((RANDOM % 255 + 1))
	printf "\\$(printf %03o $(((b ^ x) & 255)))" | dd of="$path" bs=1 seek="$off" conv=notrunc status=none
	echo "$kind: ${path##*/} offset $off ^ $x  [$line]"
}

trial() {
	local c=$1 kind=$2 what rc
	restore "$c"
	what=$(flip_random "$kind" "$c")
	timeout 300 "$FSCK" -n --scrub "$MAIN" > "$T/fsck.out" 2>&1
	rc=$?
	if [ $rc != 4 ]; then
		echo "not ok - $c $what: fsck -n exit $rc, want 4"
		tail -5 "$T/fsck.out"
		FAILS=$((FAILS + 1))
	fi
	timeout 120 "$TIERFS" "$MAIN" "$MNT" 2> "$T/err"
	rc=$?
	if [ $rc = 0 ]; then
		DAEMON_PID=$(pgrep -n -f "^$TIERFS .*$MNT\$")
		timeout 300 bash -c "$(declare -f manifest_eio); manifest_eio '$MNT'" > "$T/got"
		rc=$?
		if [ $rc != 0 ] || ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			echo "not ok - $c $what: the mounted pool hung or its daemon died (rc $rc)"
			FAILS=$((FAILS + 1))
		elif ! same_but_eio "$T/$c.want" "$T/got" > "$T/diff"; then
			echo "not ok - $c $what: mounted, but not what was acknowledged"
			head -20 "$T/diff"
			FAILS=$((FAILS + 1))
		else
			echo "ok - $c $what: mounts, $(grep -c '|EIO|' "$T/got") file(s) EIO, the rest identical"
		fi
		timeout 120 umount "$MNT" || umount -l "$MNT"
		tfs_wait_exit
		return
	fi
	mountpoint -q "$MNT" && { umount -l "$MNT"; tfs_wait_exit; }
	if [ $rc != 1 ] || [ ! -s "$T/err" ]; then
		echo "not ok - $c $what: mount failed (exit $rc) without a message"
		FAILS=$((FAILS + 1))
		return
	fi
	if ! timeout 120 "$TIERFS" -o ro "$MAIN" "$MNT" 2> /dev/null ||
	   ! timeout 300 ls -R "$MNT" > /dev/null 2>&1; then
		echo "not ok - $c $what: refused read-write ($(grep ERROR "$T/err" | tail -1)), and -o ro does not work either"
		FAILS=$((FAILS + 1))
		mountpoint -q "$MNT" && { umount -l "$MNT"; tfs_wait_exit; }
		return
	fi
	DAEMON_PID=$(pgrep -n -f "^$TIERFS .*$MNT\$")
	timeout 120 umount "$MNT" || umount -l "$MNT"
	tfs_wait_exit
	timeout 300 "$FSCK" -y "$MAIN" > "$T/fsck.out" 2>&1
	rc=$?
	timeout 300 "$FSCK" -n "$MAIN" > "$T/fsck2.out" 2>&1
	if [ $? != 0 ] || ! timeout 120 "$TIERFS" "$MAIN" "$MNT" 2> /dev/null; then
		echo "not ok - $c $what: refused read-write; fsck -y (exit $rc) did not make it mountable"
		tail -5 "$T/fsck.out" "$T/fsck2.out"
		FAILS=$((FAILS + 1))
		mountpoint -q "$MNT" && { umount -l "$MNT"; tfs_wait_exit; }
		return
	fi
	DAEMON_PID=$(pgrep -n -f "^$TIERFS .*$MNT\$")
	timeout 120 umount "$MNT" || umount -l "$MNT"
	tfs_wait_exit
	echo "ok - $c $what: refused ($(grep ERROR "$T/err" | tail -1 | cut -c1-100)...), ro mount works, fsck -y repairs"
}

sweep_config() {
	local cfg=$1 c kind
	rm -f "$T"/*.img
	if [ "$cfg" = pmem ]; then
		IMGS=(p.img z.img b.img)
		tfs_mkfs --chunk-size 64K --pmem "$T/p.img:32M" --zone-size 16M --zns "$T/z.img:256M" \
			--block "$T/b.img:256M"
	else
		IMGS=(b.img z.img)
		tfs_mkfs --chunk-size 64K --block "$T/b.img:256M" --zone-size 16M --zns "$T/z.img:256M"
	fi
	MAIN=$T/${IMGS[0]}
	tfs_mount "$MAIN" -o migrate=0
	populate "$cfg"
	tfs_umount
	# a second checkpoint, so that both generations have a log
	tfs_mount "$MAIN" -o migrate=0
	echo "second generation" > "$MNT/hot/gen2"
	manifest_eio "$MNT" > "$T/$cfg-clean.want"
	tfs_umount
	save "$cfg-clean"
	"$FSCK" --map "$MAIN" > "$T/$cfg-clean.map"
	tfs_mount "$MAIN" -o migrate=0
	more_changes
	manifest_eio "$MNT" > "$T/$cfg-killed.want"
	kill -9 "$DAEMON_PID"
	umount "$MNT" 2>/dev/null || umount -l "$MNT"
	tfs_wait_exit
	save "$cfg-killed"
	"$FSCK" --map "$MAIN" > "$T/$cfg-killed.map"
	grep -q '^journal ' "$T/$cfg-killed.map" || fail "$cfg: no journal transaction after the kill"
	# without damage, each case is exactly what was acknowledged
	for c in "$cfg-clean" "$cfg-killed"; do
		restore "$c"
		tfs_mount "$MAIN" -o ro
		manifest_eio "$MNT" > "$T/got"
		tfs_umount
		check same_but_eio "$T/$c.want" "$T/got" "$c: undamaged, the pool is what was acknowledged"
		check bash -c "! grep -q '|EIO|' '$T/got'" "$c: undamaged, no EIO"
		for kind in $(awk '$1 != "dev" { print $1 }' "$T/$c.map" | sort -u); do
			for _ in $(seq 1 "$TRIALS"); do
				trial "$c" "$kind"
			done
		done
	done
}

sweep_config pmem
sweep_config block
finish
