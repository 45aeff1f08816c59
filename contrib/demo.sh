#!/bin/sh
# Demo: install dependencies, build, format a pool of an emulated pmem device
# (a file in /dev/shm) and two file-backed block devices, mount it, put data
# on it and show where it went: new data fills pmem up to its high watermark,
# then spills to block.  Leaves the pool mounted and says how to unmount.
# Run as root on Debian 12.
set -e
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${TFS_DEMO_DIR:-/var/tmp/tierfs-demo}
mnt=$dir/mnt
pmem=${TFS_DEMO_PMEM:-/dev/shm/tierfs-demo-pmem.img}

sh "$src/contrib/install-deps.sh"
sh "$src/contrib/build.sh" "$src/build"
bin=$src/build/src

if mountpoint -q "$mnt" 2>/dev/null; then
	echo "demo: $mnt is mounted from an earlier run; unmounting it"
	umount "$mnt"
	sleep 1
fi
mkdir -p "$mnt"
rm -f "$dir/dev0.img" "$dir/dev1.img" "$pmem"
echo "== mkfs.tierfs: 64 MiB emulated pmem ($pmem) + two 1 GiB sparse files as block devices"
"$bin/mkfs.tierfs" --label demo --pmem "$pmem:64M" --block "$dir/dev0.img:1G" \
	--block "$dir/dev1.img:1G"
echo "== tierfs $dir/dev0.img $mnt"
"$bin/tierfs" "$dir/dev0.img" "$mnt"
echo "== writing a 16 MiB file (fits pmem), a small tree, an xattr, then a 128 MiB file"
dd if=/dev/urandom of="$mnt/hot.bin" bs=1M count=16 status=none
cp -a "$src/src" "$mnt/sources"
setfattr -n user.note -v "hello from tierfs" "$mnt/hot.bin"
dd if=/dev/urandom of="$mnt/random.bin" bs=1M count=128 status=none
sync "$mnt/random.bin"
df -h "$mnt"
ls -la "$mnt"
hot=$(sha256sum < "$mnt/hot.bin")
sum=$(sha256sum < "$mnt/random.bin")
umount "$mnt"
sleep 0.5
echo "== where the chunks went (fsck.tierfs -n lists each device): pmem filled"
echo "   up to its 90 % high watermark, the rest striped over the block devices"
"$bin/fsck.tierfs" -n "$dir/dev0.img"
echo "== remount by another device: everything comes back"
"$bin/tierfs" "$dir/dev1.img" "$mnt"
[ "$(sha256sum < "$mnt/hot.bin")" = "$hot" ] && echo "hot.bin identical after remount"
[ "$(sha256sum < "$mnt/random.bin")" = "$sum" ] && echo "random.bin identical after remount"
getfattr -n user.note "$mnt/hot.bin"
echo
echo "tierfs is mounted on $mnt (devices: $pmem and $dir/dev*.img)."
echo "Unmount with: umount $mnt"
echo "($pmem lives in memory: after a reboot it is gone, and the pool with it.)"
