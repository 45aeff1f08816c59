#!/bin/bash
# tierfsctl top: a live view, driven in tmux on a narrow terminal: the
# screen shows the tiers, the hottest file by its path and the reads going
# on; no line is wider than the terminal; q quits.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
CTL=$TOP_BUILDDIR/src/tierfsctl
command -v tmux > /dev/null || skip "no tmux"
S=tfs-top-$$
export TMUX_TMPDIR=$T
trap 'rc=$?; tmux kill-server 2>/dev/null; kill $R 2>/dev/null; tfs_cleanup $rc' EXIT
R=

# screen_has PATTERN [SECONDS]: wait until the pane shows PATTERN
screen_has() {
	local i
	for i in $(seq 1 $((${2:-20} * 5))); do
		tmux capture-pane -t "$S" -p -J > "$T/screen" 2>/dev/null
		grep -q -- "$1" "$T/screen" && return 0
		sleep 0.2
	done
	echo "# screen:"; sed 's/^/#   /' "$T/screen"
	return 1
}

tfs_mkfs --pmem "$T/p.img:64M" --zns "$T/z.img" --zones 16 --zone-size 8M --max-open 4 \
	--block "$T/b.img:256M"
tfs_mount "$T/b.img"
mkdir -p "$MNT/data/deeper"
head -c 4M /dev/urandom > "$MNT/data/deeper/hotfile"
head -c 2M /dev/urandom > "$MNT/coldfile"
for i in $(seq 1 10); do dd if="$MNT/data/deeper/hotfile" of=/dev/null bs=256k iflag=direct status=none; done
"$CTL" migrate "$MNT" --wait > /dev/null

"$CTL" top "$MNT" --once > "$T/once"
check test $? = 0 "top --once prints one frame and exits 0"
check grep -q "^pmem " "$T/once" "with the pmem tier"
check grep -q "zns dev 1: cleaning" "$T/once" "zone cleaning of the zoned device"
check test "$(sed -n '/hottest files/{n;p}' "$T/once" | awk '{print $3}')" = /data/deeper/hotfile \
	"the hottest file first, by its path"

# a reader keeps going while top runs
( while :; do dd if="$MNT/data/deeper/hotfile" of=/dev/null bs=256k iflag=direct status=none || break; done ) &
R=$!
tmux new-session -d -s "$S" -x 44 -y 14 "$CTL top $MNT"
check screen_has "hottest files" "top draws its screen in tmux"
check screen_has "/data/deeper/hotfile" "the hottest file is on it"
# the reader's IOPS show up in the pmem row (a frame while it reads)
iops_seen() {
	local i
	for i in $(seq 1 100); do
		tmux capture-pane -t "$S" -p -J > "$T/screen"
		awk '$1 == "pmem" && $4 > 0 { found = 1 } END { exit !found }' "$T/screen" && return 0
		sleep 0.2
	done
	sed 's/^/#   /' "$T/screen"
	return 1
}
check iops_seen "the reads show as pmem read IOPS"
# (-J joins lines the terminal wrapped: a line top did not cut shows whole)
check test "$(awk '{ if (length($0) > 44) n++ } END { print n + 0 }' "$T/screen")" = 0 \
	"no line is wider than the 44-column terminal"
kill $R
wait $R 2>/dev/null
R=
tmux send-keys -t "$S" q
ended() { local i; for i in $(seq 1 50); do tmux has-session -t "$S" 2>/dev/null || return 0; sleep 0.2; done; return 1; }
check ended "q quits"
tfs_umount
finish
