#!/bin/sh
# Demo: install dependencies, build, format a pool of two file-backed block
# devices, mount it, put data on it and show where it went.  Leaves the pool
# mounted and says how to unmount.  Run as root on Debian 12.
set -e
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${TFS_DEMO_DIR:-/var/tmp/tierfs-demo}
mnt=$dir/mnt

sh "$src/contrib/install-deps.sh"
sh "$src/contrib/build.sh" "$src/build"
bin=$src/build/src

if mountpoint -q "$mnt" 2>/dev/null; then
	echo "demo: $mnt is mounted from an earlier run; unmounting it"
	umount "$mnt"
	sleep 1
fi
mkdir -p "$mnt"
rm -f "$dir/dev0.img" "$dir/dev1.img"
echo "== mkfs.tierfs: two 1 GiB sparse files as capacity devices"
"$bin/mkfs.tierfs" --label demo --block "$dir/dev0.img:1G" --block "$dir/dev1.img:1G"
echo "== tierfs $dir/dev0.img $mnt"
"$bin/tierfs" "$dir/dev0.img" "$mnt"
echo "== writing a 64 MiB file, a small tree and an xattr"
dd if=/dev/urandom of="$mnt/random.bin" bs=1M count=64 status=none
cp -a "$src/src" "$mnt/sources"
setfattr -n user.note -v "hello from tierfs" "$mnt/random.bin"
sync "$mnt/random.bin"
df -h "$mnt"
ls -la "$mnt"
echo "== chunks are striped across both devices (bytes allocated in each image):"
du -h "$dir/dev0.img" "$dir/dev1.img"
echo "== remount: everything comes back"
sum=$(sha256sum < "$mnt/random.bin")
umount "$mnt"
"$bin/tierfs" "$dir/dev1.img" "$mnt"
[ "$(sha256sum < "$mnt/random.bin")" = "$sum" ] && echo "random.bin identical after remount"
getfattr -n user.note "$mnt/random.bin"
echo
echo "tierfs is mounted on $mnt (devices in $dir)."
echo "Unmount with: umount $mnt"
