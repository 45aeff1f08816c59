#!/bin/bash
# contrib/bench-zns.sh DIR - the zns tier on an emulated zoned device.
#
# 1. Write amplification of zone cleaning: a pool of an emulated zoned device
#    (64 zones of 16 MiB, capacity 15 MiB, 14 open; TFS_BENCH_ZONES to
#    change the count) and a small block device for metadata; a file of 50 %
#    and then 80 % of the zns capacity, overwritten 3 times its size with
#    random 256 KiB O_DIRECT writes, uniform and zipf-like skewed
#    (tests/integration/overwrite.py); WA = bytes written into zones / bytes
#    of user data written into them, as tierfsctl reports it.
# 2. Sequential write throughput into zones (1 MiB O_DIRECT writes, fsync at
#    the end) against a plain file on the same disk (DIR).
# Prints each number and the ratio.  Needs root and python3.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: bench-zns.sh DIR}
bin=${TFS_BIN:-$src/build/src}
zones=${TFS_BENCH_ZONES:-64}
ow=$src/tests/integration/overwrite.py
[ -x "$bin/tierfs" ] || sh "$src/contrib/build.sh" "$src/build"
mnt=$dir/zmnt
mkdir -p "$mnt"
cleanup() { umount "$mnt" 2> /dev/null || true; rm -f "$dir/bz.img" "$dir/ba.img" "$dir/model" "$dir/plain"; }
trap cleanup EXIT
mountpoint -q "$mnt" && umount "$mnt"

pool() {
	"$bin/mkfs.tierfs" --force --zns "$dir/bz.img" --zone-size 16M --zone-capacity 15M \
		--zones "$zones" --max-open 14 --max-active 14 --block "$dir/ba.img:64M" > /dev/null
	"$bin/tierfs" "$dir/ba.img" "$mnt"
}
zns() { # python expression on the zns device's status entry
	"$bin/tierfsctl" status "$mnt" --json |
		python3 -c "import json,sys; d=[x for x in json.load(sys.stdin)['devices'] if x['tier']=='zns'][0]; print($1)"
}
settle() { # wait for the daemon to exit after umount
	local i
	for i in $(seq 1 100); do pgrep -f "tierfs $dir/ba.img" > /dev/null || return 0; sleep 0.1; done
}

printf '%-6s %-8s %10s %8s %14s\n' util pattern "data MiB" WA "zones cleaned"
for util in 50 80; do
	for pat in uniform zipf; do
		pool
		cap=$(zns "d['capacity_bytes']")
		size=$((cap * util / 100 / 262144 * 262144))
		head -c "$size" /dev/urandom > "$dir/model"
		dd if="$dir/model" of="$mnt/f" bs=1M oflag=direct status=none
		u0=$(zns "d['user_bytes_written']"); d0=$(zns "d['zone_bytes_written']")
		DIRECT=1 python3 "$ow" "$mnt/f" "$dir/model" 3 7 "$pat"
		cmp "$dir/model" "$mnt/f" || { echo "bench-zns: data differs" >&2; exit 1; }
		wa=$(zns "round((d['zone_bytes_written'] - $d0) / max(1, d['user_bytes_written'] - $u0), 3)")
		printf '%-6s %-8s %10d %8s %14s\n' "$util%" "$pat" $((size >> 20)) "$wa" "$(zns "d['cleaned_zones']")"
		umount "$mnt"; settle
	done
done

# sequential writes: zones vs a plain file on the same disk
pool
mib=$(( $(zns "d['capacity_bytes']") * 6 / 10 >> 20 ))
rate() { # dd output -> MB/s
	sed -n 's/.* copied, \([0-9.]*\) s, .*/\1/p' | awk -v b=$((mib << 20)) '{ printf "%.0f", b / $1 / 1e6 }'
}
z=$(dd if=/dev/zero of="$mnt/seq" bs=1M count="$mib" oflag=direct conv=fsync 2>&1 | rate)
p=$(dd if=/dev/zero of="$dir/plain" bs=1M count="$mib" oflag=direct conv=fsync 2>&1 | rate)
echo
echo "sequential 1 MiB O_DIRECT writes, $mib MiB: zns pool $z MB/s, plain file $p MB/s, ratio $(awk -v a="$z" -v b="$p" 'BEGIN { printf "%.2f", a / b }')"
