#!/bin/bash
# A 2 GiB file written and read back after a remount, hashes compared.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
MIB=$((2048 / TFS_SCALE))
tfs_mkfs --block "$T/a.img:3G"
tfs_mount "$T/a.img"
src_sum=$(head -c $((MIB * 1024 * 1024)) /dev/urandom | tee "$MNT/big" | sha256sum)
check test "$(stat -c %s "$MNT/big")" = $((MIB * 1024 * 1024)) "size is $MIB MiB"
tfs_umount
tfs_mount "$T/a.img"
check test "$(sha256sum < "$MNT/big")" = "$src_sum" "content identical after remount"
# direct reads bypass the kernel cache and check the daemon's path
check test "$(dd if="$MNT/big" bs=1M iflag=direct status=none | sha256sum)" = "$src_sum" "O_DIRECT read identical"
rm "$MNT/big"
for i in $(seq 1 50); do  # the kernel sends FORGET for the inode shortly after
	free=$(df -B1M --output=avail "$MNT" | tail -1)
	[ "$free" -gt 2800 ] && break
	sleep 0.1
done
check test "$free" -gt 2800 "space freed after unlink ($free MiB free)"
tfs_umount
finish
