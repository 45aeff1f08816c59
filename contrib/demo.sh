#!/bin/sh
# Demo: install dependencies, build, format a pool of an emulated pmem device
# (a file in /dev/shm), an emulated zoned device and two file-backed block
# devices, mount it, put data on it and show where it went: new data fills
# pmem up to its high watermark, then the zones, then spills to block;
# overwrites of zoned data are copied and the zone cleaner reclaims space;
# then a file read at random becomes hot and moves up to pmem.
# Leaves the pool mounted and says how to unmount.
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
rm -f "$dir/dev0.img" "$dir/dev1.img" "$dir/zns.img" "$pmem"
echo "== mkfs.tierfs: 64 MiB emulated pmem ($pmem), an emulated zoned device"
echo "   (24 zones of 8 MiB, capacity 7.5 MiB), two 1 GiB sparse files as block devices"
"$bin/mkfs.tierfs" --label demo --pmem "$pmem:64M" --zns "$dir/zns.img" --zone-size 8M \
	--zone-capacity 7680K --zones 24 --max-open 6 --max-active 6 \
	--block "$dir/dev0.img:1G" --block "$dir/dev1.img:1G"
echo "== tierfs $dir/dev0.img $mnt"
"$bin/tierfs" "$dir/dev0.img" "$mnt"
echo "== writing a 16 MiB file (fits pmem), a small tree, an xattr, then a 256 MiB file"
dd if=/dev/urandom of="$mnt/hot.bin" bs=1M count=16 status=none
cp -a "$src/src" "$mnt/sources"
setfattr -n user.note -v "hello from tierfs" "$mnt/hot.bin"
dd if=/dev/urandom of="$mnt/random.bin" bs=1M count=256 status=none
echo "== overwriting 64 MiB of it in place, 3 times (zoned chunks are copied, zones cleaned)"
for i in 1 2 3; do
	dd if=/dev/urandom of="$mnt/random.bin" bs=256K count=256 seek=$((i * 64)) \
		oflag=direct conv=notrunc status=none
done
sync "$mnt/random.bin"
df -h "$mnt"
ls -la "$mnt"
echo "== tierfsctl status $mnt"
"$bin/tierfsctl" status "$mnt"
hot=$(sha256sum < "$mnt/hot.bin")
sum=$(sha256sum < "$mnt/random.bin")
umount "$mnt"
sleep 0.5
echo "== where the chunks went (fsck.tierfs -n lists each device): pmem filled"
echo "   up to its 90 % high watermark, then the zones, the rest striped over block"
"$bin/fsck.tierfs" -n "$dir/dev0.img"
echo "== remount by another device, heat halving every 2 s (a fast clock for the demo)"
"$bin/tierfs" -o halflife_ms=2000 "$dir/dev1.img" "$mnt"
[ "$(sha256sum < "$mnt/hot.bin")" = "$hot" ] && echo "hot.bin identical after remount"
[ "$(sha256sum < "$mnt/random.bin")" = "$sum" ] && echo "random.bin identical after remount"
getfattr -n user.note "$mnt/hot.bin"
echo "== tiering at work: a new 16 MiB file lands where there is room (pmem and the"
echo "   zones are at their high watermark, so block)"
dd if=/dev/urandom of="$mnt/db.bin" bs=1M count=16 oflag=direct status=none
"$bin/tierfsctl" where "$mnt/db.bin"
echo "== 8 s of random 4 KiB O_DIRECT reads of it: it becomes hot and moves up to pmem,"
echo "   while chunks nobody reads sink a tier"
python3 "$src/tests/integration/randread.py" "$mnt/db.bin" 8 > /dev/null
"$bin/tierfsctl" where "$mnt/db.bin"
"$bin/tierfsctl" status "$mnt" | sed -n '/^tier /,$p'
echo "== pin it to block, and back to automatic"
"$bin/tierfsctl" pin "$mnt/db.bin" block --wait
"$bin/tierfsctl" unpin "$mnt/db.bin"
echo
echo "tierfs is mounted on $mnt (devices: $pmem, $dir/zns.img and $dir/dev*.img)."
echo "See it with: $bin/tierfsctl status $mnt"
echo "Unmount with: umount $mnt"
echo "($pmem lives in memory: after a reboot it is gone, and the pool with it.)"
