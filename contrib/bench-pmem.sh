#!/bin/bash
# contrib/bench-pmem.sh DIR - what the pmem tier buys, measured in one run.
#
# Three targets side by side:
#   pmem   a tierfs pool of an emulated pmem device (a 256 MiB file in
#          /dev/shm, TFS_BENCH_PMEM to move it) and a 4 GiB block file in DIR
#   block  a tierfs pool of one 4 GiB block file in DIR
#   ext4   a plain file in DIR (the file system holding the pool images)
# and runs:
#   1. fio 4 KiB randwrite, fsync=1, QD1 (contrib/fio/pmem-rand-write-4k-fsync.fio)
#      on all three: IOPS and mean fsync-inclusive latency;
#   2. SQLite, 10,000 inserts in autocommit mode, synchronous=FULL, on all three;
#   3. fio 4 KiB randread, direct, QD32 (contrib/fio/pmem-rand-read-4k-qd32.fio)
#      on the pmem pool (the file lives wholly on pmem) and on tmpfs directly.
# Prints each number and the ratios.  Needs root, fio, sqlite3, python3.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: bench-pmem.sh DIR}
bin=${TFS_BIN:-$src/build/src}
pm=${TFS_BENCH_PMEM:-/dev/shm/tierfs-bench-pmem.img}
for t in fio sqlite3 python3; do
	command -v $t > /dev/null || { echo "bench-pmem: $t is not installed" >&2; exit 1; }
done
[ -x "$bin/tierfs" ] || sh "$src/contrib/build.sh" "$src/build"
mkdir -p "$dir/pmem" "$dir/block" "$dir/ext4"
shm=$(mktemp -d /dev/shm/tierfs-bench.XXXXXX)
cleanup() {
	umount "$dir/pmem" 2>/dev/null || true
	umount "$dir/block" 2>/dev/null || true
	rm -rf "$shm" "$pm"
}
trap cleanup EXIT
for m in pmem block; do mountpoint -q "$dir/$m" && umount "$dir/$m"; done
rm -f "$pm" "$dir/pa.img" "$dir/pb.img" "$dir/ext4"/*
"$bin/mkfs.tierfs" --force --pmem "$pm:256M" --block "$dir/pa.img:4G" > /dev/null
"$bin/mkfs.tierfs" --force --block "$dir/pb.img:4G" > /dev/null
"$bin/tierfs" "$dir/pa.img" "$dir/pmem"
"$bin/tierfs" "$dir/pb.img" "$dir/block"

# fio JSON -> "iops mean_latency_us" of the job's direction (fsync included
# in the write latency: clat of the write plus the sync's)
fio_run() { # JOB FILE
	fio --output-format=json --filename="$2" "$1" | python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
d = j["write"] if j["write"]["io_bytes"] else j["read"]
iops = d["iops"]
print("%.0f %.1f" % (iops, 1e6 / iops if iops else 0))'
}

printf '%-34s %12s %12s %12s\n' "" pmem-pool block-pool ext4
read -r pw plat < <(fio_run "$src/contrib/fio/pmem-rand-write-4k-fsync.fio" "$dir/pmem/testfile")
read -r bw blat < <(fio_run "$src/contrib/fio/pmem-rand-write-4k-fsync.fio" "$dir/block/testfile")
read -r ew elat < <(fio_run "$src/contrib/fio/pmem-rand-write-4k-fsync.fio" "$dir/ext4/testfile")
printf '%-34s %12s %12s %12s\n' "randwrite 4K fsync=1 QD1 IOPS" "$pw" "$bw" "$ew"
printf '%-34s %12s %12s %12s\n' "  per write+fsync (us)" "$plat" "$blat" "$elat"
printf '%-34s %12.2f %12.2f %12.2f\n' "  pmem pool IOPS ratio" 1 "$(echo "$pw/$bw" | bc -l)" \
	"$(echo "$pw/$ew" | bc -l)"
rm -f "$dir/pmem/testfile" "$dir/block/testfile" "$dir/ext4/testfile"

sqlite_run() { # DIR -> seconds for 10,000 autocommit inserts
	rm -f "$1/bench.db" "$1/bench.db-journal"
	local t0 t1
	t0=$(date +%s.%N)
	{
		echo "PRAGMA synchronous=FULL; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
		for i in $(seq 1 10000); do echo "INSERT INTO t(v) VALUES('row $i padding padding padding');"; done
	} | sqlite3 "$1/bench.db"
	t1=$(date +%s.%N)
	[ "$(sqlite3 "$1/bench.db" 'SELECT count(*) FROM t')" = 10000 ] || { echo "sqlite: rows missing" >&2; exit 1; }
	echo "$t1 - $t0" | bc -l
}
sp=$(sqlite_run "$dir/pmem"); sb=$(sqlite_run "$dir/block"); se=$(sqlite_run "$dir/ext4")
printf '%-34s %12.0f %12.0f %12.0f\n' "sqlite 10k autocommit inserts/s" "$(echo "10000/$sp" | bc -l)" \
	"$(echo "10000/$sb" | bc -l)" "$(echo "10000/$se" | bc -l)"
printf '%-34s %12.2f %12.2f %12.2f\n' "  pmem pool speedup" 1 "$(echo "$sb/$sp" | bc -l)" "$(echo "$se/$sp" | bc -l)"

# random reads of a file wholly on pmem vs the same on tmpfs
head -c $((64 << 20)) /dev/urandom > "$shm/testfile"
cp "$shm/testfile" "$dir/pmem/testfile"
read -r pr _ < <(fio_run "$src/contrib/fio/pmem-rand-read-4k-qd32.fio" "$dir/pmem/testfile")
read -r tr _ < <(fio_run "$src/contrib/fio/pmem-rand-read-4k-qd32.fio" "$shm/testfile")
printf '\n%-34s %12s %12s %12s\n' "" pmem-pool tmpfs ratio
printf '%-34s %12s %12s %12.2f\n' "randread 4K direct QD32 IOPS" "$pr" "$tr" "$(echo "$pr/$tr" | bc -l)"
