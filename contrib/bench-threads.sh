#!/bin/bash
# contrib/bench-threads.sh DIR - what -o threads= changes, in one run.
#
# For each thread count in TFS_THREADS_LIST (default "2 16"), interleaved,
# TFS_REPS times (default 2):
#   - pgbench -n -c 4 -j 2, scale 10, TFS_PG_SECS (default 30) seconds, on a
#     pmem pool (512 MiB emulated pmem in /dev/shm + 4 GiB block file in DIR),
#     and on ext4 (DIR) right after it;
#   - fio 4 KiB random reads and writes, O_DIRECT, QD 32, 10 s each, of a
#     256 MiB file on that pmem pool and on a block pool (4 GiB file in DIR).
# Prints each run and the ratios: pgbench against ext4 of the same
# repetition, fio against the default thread count (16).
# Needs root, PostgreSQL (Debian postgresql), pgbench and fio.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: bench-threads.sh DIR}
bin=${TFS_BIN:-$src/build/src}
pm=${TFS_BENCH_PMEM:-/dev/shm/tierfs-bench-threads-pmem.img}
secs=${TFS_PG_SECS:-30}
reps=${TFS_REPS:-2}
list=${TFS_THREADS_LIST:-2 16}
. "$src/contrib/pgbench-lib.sh"
pg_tools "$(command -v fio)"
[ -x "$bin/tierfs" ] || sh "$src/contrib/build.sh" "$src/build"
sock=$(mktemp -d /tmp/tierfs-bench-threads.XXXXXX)
chmod 777 "$sock"
mkdir -p "$dir/mnt" "$dir/ext4"
cleanup() {
	pg_kill "$dir/mnt"
	pg_kill "$dir/ext4"
	umount "$dir/mnt" 2> /dev/null || true
	rm -rf "$sock" "$pm" "$dir/pa.img"
}
trap cleanup EXIT

pool() { # pmem|block THREADS: a fresh pool mounted on DIR/mnt
	rm -f "$pm" "$dir/pa.img"
	if [ "$1" = pmem ]; then
		"$bin/mkfs.tierfs" --force --pmem "$pm:512M" --block "$dir/pa.img:4G" > /dev/null
	else
		"$bin/mkfs.tierfs" --force --block "$dir/pa.img:4G" > /dev/null
	fi
	"$bin/tierfs" -o "allow_other,threads=$2${TFS_TRANSPORT:+,transport=$TFS_TRANSPORT}" "$dir/pa.img" "$dir/mnt"
}
fio4k() { # RW -> IOPS of 4 KiB O_DIRECT QD32 on DIR/mnt/f
	fio --name=t --filename="$dir/mnt/f" --size=256M --rw="$1" --bs=4k --direct=1 \
		--ioengine=libaio --iodepth=32 --runtime=10 --time_based --output-format=terse |
		awk -F';' -v rw="$1" '{ print rw == "randread" ? $8 : $49 }'
}
fio_pool() { # pmem|block THREADS -> "read write"
	local r w
	pool "$1" "$2"
	fio --name=prep --filename="$dir/mnt/f" --size=256M --rw=write --bs=1M --direct=1 --output=/dev/null
	echo 3 > /proc/sys/vm/drop_caches
	r=$(fio4k randread)
	w=$(fio4k randwrite)
	umount "$dir/mnt"
	echo "$r $w"
}

declare -A pgs ext pr pw br bw
for rep in $(seq 1 "$reps"); do
	for th in $list; do
		pool pmem "$th"
		read -r t _ < <(pg_run "$dir/mnt" "$secs")
		umount "$dir/mnt"
		read -r e _ < <(pg_run "$dir/ext4" "$secs")
		t=${t%.*} e=${e%.*}
		pgs[$th]="${pgs[$th]:-} $t"
		ext[$th]="${ext[$th]:-} $e"
		read -r a b < <(fio_pool pmem "$th")
		read -r c d < <(fio_pool block "$th")
		pr[$th]=$((${pr[$th]:-0} + a)) pw[$th]=$((${pw[$th]:-0} + b))
		br[$th]=$((${br[$th]:-0} + c)) bw[$th]=$((${bw[$th]:-0} + d))
		echo "rep $rep threads=$th: pgbench pmem $t TPS (ext4 $e); fio QD32 pmem read $a write $b, block read $c write $d IOPS"
	done
done
sum() { local s=0 x; for x in $1; do s=$((s + x)); done; echo "$s"; }
echo
printf '%-8s %16s %14s %12s %12s %12s %12s\n' threads "pgbench TPS" "pmem/ext4" "pmem rd" "pmem wr" "block rd" "block wr"
for th in $list; do
	p=$(sum "${pgs[$th]}")
	e=$(sum "${ext[$th]}")
	printf '%-8s %16d %14.2f %12d %12d %12d %12d\n' "$th" $((p / reps)) "$(echo "$p / $e" | bc -l)" \
		$((pr[$th] / reps)) $((pw[$th] / reps)) $((br[$th] / reps)) $((bw[$th] / reps))
done
if [ -n "${pr[16]:-}" ]; then
	echo
	echo "against threads=16 (pgbench TPS, fio pmem read, write, block read, write):"
	for th in $list; do
		[ "$th" = 16 ] && continue
		printf 'threads=%s: %.2f %.2f %.2f %.2f %.2f\n' "$th" \
			"$(echo "$(sum "${pgs[$th]}") / $(sum "${pgs[16]}")" | bc -l)" \
			"$(echo "${pr[$th]} / ${pr[16]}" | bc -l)" "$(echo "${pw[$th]} / ${pw[16]}" | bc -l)" \
			"$(echo "${br[$th]} / ${br[16]}" | bc -l)" "$(echo "${bw[$th]} / ${bw[16]}" | bc -l)"
	done
fi
