#!/bin/bash
# Format a two-device pool, mount it, see it work, unmount cleanly, remount.
. "$(dirname "$0")/lib/common.sh"
tfs_setup

check "$TIERFS" --version "tierfs --version"
check "$MKFS" --version "mkfs.tierfs --version"
check bash -c "'$TIERFS' --help | grep -q 'devices='" "tierfs --help lists options"
check bash -c "'$MKFS' --help | grep -q -- '--chunk-size'" "mkfs.tierfs --help"

tfs_mkfs --label demo --block "$T/a.img:256M" --block "$T/b.img:256M"
check grep -q 'capacity' "$T/mkfs.out" "mkfs prints the pool"
tfs_mount "$T/a.img"
check bash -c "grep -q ' $MNT fuse.tierfs ' /proc/mounts" "mounted as fuse.tierfs"
check bash -c "grep ' $MNT ' /proc/mounts | grep -q default_permissions" "default_permissions on"
echo hello > "$MNT/hello"
dd if=/dev/urandom of="$MNT/striped" bs=1M count=8 status=none
sum=$(sha256sum < "$MNT/striped")
check test "$(cat "$MNT/hello")" = hello "write and read"
df_out=$(df -B1 --output=size "$MNT" | tail -1)
check test "$df_out" -gt $((400 * 1024 * 1024)) "statfs covers both devices ($df_out bytes)"
tfs_umount
check test ! -e "$MNT/hello" "unmounted"
# both devices got data: chunks are striped
a_used=$(du -k "$T/a.img" | cut -f1); b_used=$(du -k "$T/b.img" | cut -f1)
check test "$b_used" -gt 2048 "second device holds striped chunks (${b_used} KiB)"

tfs_mount "$T/b.img"   # any device of the pool finds the others
check test "$(cat "$MNT/hello")" = hello "remount through the second device"
check test "$(sha256sum < "$MNT/striped")" = "$sum" "striped file intact"
tfs_umount

# relative paths, and SIGTERM (systemctl stop) instead of umount: the daemon
# unmounts itself and writes its checkpoint
(cd "$T" && "$TIERFS" a.img mnt) || fail "mount with relative paths"
DAEMON_PID=$(pgrep -n -f "$TIERFS a.img mnt")
echo term > "$MNT/term"
kill -TERM "$DAEMON_PID"
tfs_wait_exit
check bash -c "! grep -q ' $MNT ' /proc/mounts" "SIGTERM: the daemon unmounted itself"
tfs_mount "$T/a.img"
check test "$(cat "$MNT/term")" = term "SIGTERM: data written before it is there"
tfs_umount

# -o threads=1: eight concurrent readers add no thread (libfuse adds a
# worker whenever all are busy, up to the most; io_uring's own workers are
# named iou-wrk-*)
tfs_mount "$T/a.img" -o threads=1
head -c 8M /dev/urandom > "$MNT/par"
nthreads() { grep -lx tierfs /proc/"$DAEMON_PID"/task/*/comm | wc -l; }
before=$(nthreads)
pids=
for i in $(seq 1 8); do
	dd if="$MNT/par" of=/dev/null bs=4k iflag=direct status=none &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
check test "$(nthreads)" = "$before" "-o threads=1: one worker serves eight concurrent readers ($before threads in all)"
check cmp "$MNT/par" <(dd if="$MNT/par" bs=4k iflag=direct status=none) "and serves them right"
tfs_umount
finish
