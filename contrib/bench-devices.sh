#!/bin/bash
# contrib/bench-devices.sh DIR - how fast a device leaves a mounted pool.
#
# A pool of a 64 MiB pmem file (in /dev/shm) and two block files in DIR;
# TFS_BENCH_MIB (default 1024) MiB of files written, striped over both
# block files; then `tierfsctl device remove --wait` of the second one with
# the engine unpaced (policy migrate_duty=100), timed, against copying the
# same number of bytes from one file to another on the same disk with
# dd (O_DIRECT, 1 MiB, then fsync): the raw cost of moving the data.  Also
# the time of `tierfsctl device add` of a fresh 4 GiB file.  Prints each
# number and the ratio.  Needs root.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: bench-devices.sh DIR}
bin=${TFS_BIN:-$src/build/src}
mib=${TFS_BENCH_MIB:-1024}
[ -x "$bin/tierfs" ] || sh "$src/contrib/build.sh" "$src/build"
mnt=$dir/dmnt
mkdir -p "$mnt"
cleanup() {
	umount "$mnt" 2> /dev/null || true
	rm -f "$dir/d1.img" "$dir/d2.img" "$dir/d3.img" "$dir/raw.a" "$dir/raw.b" \
		/dev/shm/tierfs-bench-dev.img
}
trap cleanup EXIT
now() { date +%s.%N; }

"$bin/mkfs.tierfs" --pmem /dev/shm/tierfs-bench-dev.img:64M --block "$dir/d1.img:$((mib * 2))M" > /dev/null
"$bin/tierfs" "$dir/d1.img" "$mnt"
truncate -s $((mib * 2))M "$dir/d2.img"
"$bin/tierfsctl" device add "$mnt" "$dir/d2.img" > /dev/null
for i in $(seq 1 $((mib / 64))); do
	dd if=/dev/urandom of="$mnt/f$i" bs=1M count=64 oflag=direct status=none
done
sync
on2=$("$bin/tierfsctl" device list "$mnt" --json |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["devices"][2]["used_bytes"] >> 20)')
"$bin/tierfsctl" policy "$mnt" migrate_duty=100 > /dev/null
t0=$(now)
"$bin/tierfsctl" device remove "$mnt" "$dir/d2.img" --wait > /dev/null
t1=$(now)
truncate -s 4G "$dir/d3.img"
t2=$(now)
"$bin/tierfsctl" device add "$mnt" "$dir/d3.img" > /dev/null
t3=$(now)
umount "$mnt"

dd if=/dev/urandom of="$dir/raw.a" bs=1M count="$on2" oflag=direct conv=fsync status=none
t4=$(now)
dd if="$dir/raw.a" of="$dir/raw.b" bs=1M iflag=direct oflag=direct conv=fsync status=none
t5=$(now)

python3 - "$on2" "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" << 'EOF'
import sys
mib = int(sys.argv[1])
t0, t1, t2, t3, t4, t5 = map(float, sys.argv[2:])
rm, add, raw = t1 - t0, t3 - t2, t5 - t4
print(f"device remove of a block device holding {mib} MiB: {rm:.2f} s ({mib / rm:.0f} MiB/s)")
print(f"dd copy of {mib} MiB between two files on the same disk: {raw:.2f} s ({mib / raw:.0f} MiB/s)")
print(f"ratio (raw copy time / removal time): {raw / rm:.2f}")
print(f"device add of a 4 GiB file: {add:.3f} s")
EOF
