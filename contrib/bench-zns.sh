#!/bin/bash
# contrib/bench-zns.sh DIR - the zns tier on an emulated zoned device.
#
# 1. Write amplification of zone cleaning: a pool of an emulated zoned device
#    (130 zones of 16 MiB, capacity 15 MiB, 14 open: 128 data zones after the
#    two superblock zones; TFS_BENCH_ZONES to change the count) and a small
#    block device for metadata; migration on; a file of 50 %
#    and then 80 % of the zns capacity, overwritten 3 times its size with
#    random 256 KiB O_DIRECT writes, uniform and zipf-like skewed
#    (tests/integration/overwrite.py); WA = bytes written into zones / bytes
#    of user data written into them, as tierfsctl reports it.
# 2. Sequential write throughput into zones (1 MiB O_DIRECT writes, fsync at
#    the end) against a plain file on the same disk (DIR).
# 3. One big buffered write (TFS_BENCH_FILL_MIB, 3072 by default, through
#    tee) into an empty pool of pmem 512 MiB (in /dev/shm) + zns 32 x 64 MiB
#    + a 16 GiB block file, against the same write into a block-only pool on
#    the same disk: the fast tiers fill up on the way and must not slow the
#    writer down.
# 4. p99 latency of 4 KiB O_DIRECT random reads (fio, QD1, 10 s) of a 64 MiB
#    file in zones while random 256 KiB overwrites run on a file of 80 % of
#    the zones' capacity (cleaning all the time), against the same on three
#    times the zones (the writes leave garbage but need no cleaning yet), and
#    with no writes.
# Prints each number and the ratio.  Needs root and python3.  TFS_BENCH_UTILS
# (default "50 80") picks the fill levels of part 1, TFS_BENCH_PARTS (default
# "1 2 3 4") the parts to run.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: bench-zns.sh DIR}
bin=${TFS_BIN:-$src/build/src}
zones=${TFS_BENCH_ZONES:-130}
ow=$src/tests/integration/overwrite.py
[ -x "$bin/tierfs" ] || sh "$src/contrib/build.sh" "$src/build"
mnt=$dir/zmnt
mkdir -p "$mnt"
cleanup() {
	umount "$mnt" 2> /dev/null || true
	rm -f "$dir/bz.img" "$dir/ba.img" "$dir/model" "$dir/plain" "$dir/fz.img" "$dir/fb.img" \
		/dev/shm/tierfs-bench-fill.img
}
trap cleanup EXIT
mountpoint -q "$mnt" && umount "$mnt"

pool() { # [ZONES]
	"$bin/mkfs.tierfs" --force --zns "$dir/bz.img" --zone-size 16M --zone-capacity 15M \
		--zones "${1:-$zones}" --max-open 14 --max-active 14 --block "$dir/ba.img:64M" > /dev/null
	"$bin/tierfs" "$dir/ba.img" "$mnt"
}
zns() { # python expression on the zns device's status entry
	"$bin/tierfsctl" status "$mnt" --json |
		python3 -c "import json,sys; d=[x for x in json.load(sys.stdin)['devices'] if x['tier']=='zns'][0]; print($1)"
}
settle() { # wait for the daemon to exit after umount
	local i
	for i in $(seq 1 100); do pgrep -f "tierfs $dir/[bf][ab].img" > /dev/null || return 0; sleep 0.1; done
}

parts=" ${TFS_BENCH_PARTS:-1 2 3 4} "
part() { [[ $parts == *" $1 "* ]]; }

part 1 && printf '%-6s %-8s %10s %8s %14s   %s\n' util pattern "data MiB" WA "zones cleaned" "WA by stream since mount"
part 1 && for util in ${TFS_BENCH_UTILS:-50 80}; do
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
		# per stream since mount (the first fill included)
		ws=$(zns "' '.join('%s %s' % (s['name'], s['write_amplification']) for s in d['streams'] if s['write_amplification'])")
		printf '%-6s %-8s %10d %8s %14s   %s\n' "$util%" "$pat" $((size >> 20)) "$wa" "$(zns "d['cleaned_zones']")" "$ws"
		umount "$mnt"; settle
	done
done

# sequential writes: zones vs a plain file on the same disk
seq_part() {
pool
mib=$(( $(zns "d['capacity_bytes']") * 6 / 10 >> 20 ))
rate() { # dd output -> MB/s
	sed -n 's/.* copied, \([0-9.]*\) s, .*/\1/p' | awk -v b=$((mib << 20)) '{ printf "%.0f", b / $1 / 1e6 }'
}
z=$(dd if=/dev/zero of="$mnt/seq" bs=1M count="$mib" oflag=direct conv=fsync 2>&1 | rate)
p=$(dd if=/dev/zero of="$dir/plain" bs=1M count="$mib" oflag=direct conv=fsync 2>&1 | rate)
echo
echo "sequential 1 MiB O_DIRECT writes, $mib MiB: zns pool $z MB/s, plain file $p MB/s, ratio $(awk -v a="$z" -v b="$p" 'BEGIN { printf "%.2f", a / b }')"
umount "$mnt"; settle
}
part 2 && seq_part

# one big buffered write: 3-tier pool against a block-only pool
fill_mib=${TFS_BENCH_FILL_MIB:-3072}
fill() { # mkfs args... -> seconds for the write (and its flush at close)
	umount "$mnt" 2> /dev/null || true
	settle
	rm -f "$dir/fz.img" "$dir/fb.img" /dev/shm/tierfs-bench-fill.img
	"$bin/mkfs.tierfs" --force "$@" --block "$dir/fb.img:16G" > /dev/null
	"$bin/tierfs" "$dir/fb.img" "$mnt"
	local t0 t1
	t0=$(date +%s.%N)
	head -c $((fill_mib << 20)) /dev/zero | tr '\0' x | tee "$mnt/big" > /dev/null
	t1=$(date +%s.%N)
	umount "$mnt"
	settle
	rm -f "$dir/fz.img" "$dir/fb.img" /dev/shm/tierfs-bench-fill.img
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
}
fill_part() {
tb=$(fill)
t3=$(fill --pmem /dev/shm/tierfs-bench-fill.img:512M --zns "$dir/fz.img" --zone-size 64M --zones 32)
echo
echo "one $fill_mib MiB buffered write (tee): block-only pool $tb s ($(awk -v s="$tb" -v m="$fill_mib" 'BEGIN { printf "%.0f", m * 1.048576 / s }') MB/s), pmem + zns + block pool $t3 s ($(awk -v s="$t3" -v m="$fill_mib" 'BEGIN { printf "%.0f", m * 1.048576 / s }') MB/s), ratio $(awk -v a="$tb" -v b="$t3" 'BEGIN { printf "%.2f", a / b }')"
}
part 3 && fill_part

# read latency while the cleaner works
p99() { # fio json -> p99 of reads in us
	python3 -c "import json,sys; d=json.load(sys.stdin)['jobs'][0]['read']['clat_ns']['percentile']; print(round(d['99.000000'] / 1000))"
}
lat() { # UTIL [ZONES] -> "idle-p99 busy-p99 zones-cleaned-during": UTIL % of
	# the default geometry's capacity, on ZONES zones
	local util=$1 wl c0
	pool "$zones"
	cap=$(zns "d['capacity_bytes']")
	umount "$mnt"; settle
	pool "${2:-$zones}"
	size=$((cap * util / 100 / 262144 * 262144 - (64 << 20)))
	head -c "$size" /dev/urandom > "$dir/model"
	dd if="$dir/model" of="$mnt/f" bs=1M oflag=direct status=none
	dd if=/dev/urandom of="$mnt/r" bs=1M count=64 oflag=direct status=none
	local idle busy
	idle=$(fio --name=r --filename="$mnt/r" --rw=randread --bs=4k --direct=1 --iodepth=1 \
		--runtime=10 --time_based --output-format=json | p99)
	c0=$(zns "d['cleaned_zones']")
	DIRECT=1 python3 "$ow" "$mnt/f" "$dir/model" 100 9 uniform &
	wl=$!
	sleep 2
	busy=$(fio --name=r --filename="$mnt/r" --rw=randread --bs=4k --direct=1 --iodepth=1 \
		--runtime=10 --time_based --output-format=json | p99)
	kill "$wl" 2> /dev/null || true
	wait "$wl" 2> /dev/null || true
	echo "$idle $busy $(( $(zns "d['cleaned_zones']") - c0 ))"
	umount "$mnt"; settle
}
if part 4 && command -v fio > /dev/null; then
	read -r i80 b80 c80 <<< "$(lat 80)"
	# the same data and writes on three times the zones: nothing to clean
	# in the 12 s the writes run
	read -r ix bx cx <<< "$(lat 80 $((zones * 3)))"
	echo
	echo "p99 of 4 KiB random reads (us): no writes $i80; during overwrites of a file of 80 % of the zones with cleaning $b80 ($c80 zones cleaned meanwhile), without (the same on $((zones * 3)) zones: $cx zones cleaned) $bx; ratio $(awk -v a="$b80" -v b="$bx" 'BEGIN { printf "%.2f", a / b }')"
fi
