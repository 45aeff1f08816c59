#!/bin/bash
# POSIX behaviour: run the syscall exerciser on the mount.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
tfs_mkfs --block "$T/a.img:8G"
tfs_mount "$T/a.img"
mkdir "$MNT/work"
"$HELPERS/syscalls" "$MNT/work" || FAILS=$((FAILS + 1))
# state after all that survives a remount
tfs_manifest "$MNT" > "$T/before"
tfs_umount
tfs_mount "$T/a.img"
tfs_manifest "$MNT" > "$T/after"
check diff -u "$T/before" "$T/after" "tree identical after remount"
tfs_umount
finish
