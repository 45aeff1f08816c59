#!/bin/bash
# SIGKILL of the daemon: whatever fsync acknowledged is there after remount.
# A workload creates, appends to, renames and removes files and writes to a
# log outside the mount every state that fsync acknowledged; the daemon is
# killed at a random moment; after recovery every acknowledged state must be
# present with its exact content.  (The long crash loop belongs to the
# durability work; this is the first bounded version of it.)
. "$(dirname "$0")/lib/common.sh"
tfs_setup
CYCLES=${TFS_KILL_CYCLES:-5}
tfs_mkfs --block "$T/a.img:512M" --block "$T/b.img:256M"
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
		echo "$(basename "$f") $(sha256sum < "$f" | cut -c1-32)" >> "$ACK"
		[ $((i % 5)) = 0 ] && { rm "$MNT/c$1-f$((i - 4))" || return; \
			sync "$MNT/c$1-f$i" || return; echo "$(basename "$MNT/c$1-f$((i - 4))") gone" >> "$ACK"; }
	done
}

for c in $(seq 1 "$CYCLES"); do
	tfs_mount "$T/a.img" -o commit=30
	workload "$c" 2>/dev/null &
	wl=$!
	sleep "0.$((RANDOM % 9 + 1))"
	kill -9 "$DAEMON_PID"
	wait $wl 2>/dev/null
	umount "$MNT" 2>/dev/null || umount -l "$MNT"
	tfs_wait_exit
	tfs_mount "$T/a.img"
	bad=0; n=0
	# the last line about a name wins (a file acknowledged, then removed)
	declare -A want=()
	while read -r name state; do want[$name]=$state; done < "$ACK"
	for name in "${!want[@]}"; do
		n=$((n + 1))
		if [ "${want[$name]}" = gone ]; then
			[ -e "$MNT/$name" ] && { echo "# $name: removed and synced, but back"; bad=1; }
		elif [ ! -f "$MNT/$name" ]; then
			echo "# $name: acknowledged, missing"; bad=1
		elif [ "$(sha256sum < "$MNT/$name" | cut -c1-32)" != "${want[$name]}" ]; then
			echo "# $name: acknowledged, content differs"; bad=1
		fi
	done
	unset want
	check test $bad = 0 "cycle $c: $n acknowledged states intact after SIGKILL"
	tfs_umount
done
finish
