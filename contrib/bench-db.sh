#!/bin/bash
# contrib/bench-db.sh DIR - databases on tierfs against plain ext4, one run.
#
# Targets:
#   pmem   a tierfs pool of 512 MiB emulated pmem (a file in /dev/shm;
#          TFS_BENCH_PMEM moves it) and a 4 GiB block file in DIR
#   block  a tierfs pool of one 4 GiB block file in DIR
#   ext4   DIR itself (the file system holding the pool images)
# Runs on each:
#   PostgreSQL: initdb, pgbench -i -s 10, pgbench -n -c 4 -j 2 -T $TFS_PG_SECS
#     (default 30): TPS and average latency;
#   SQLite: $TFS_SQLITE_ROWS (default 100000) inserts, one row per
#     transaction, synchronous=FULL, in WAL mode and in rollback-journal mode;
#   RocksDB (db_bench, Debian rocksdb-tools; skipped without it):
#     fillrandom of $TFS_ROCKS_KEYS (default 1000000) 256-byte values, and
#     fillsync ($TFS_ROCKS_SYNC_KEYS, default 20000, each write synced).
# TFS_TRANSPORT=uring|dev|auto mounts the pools with -o transport= (uring
# needs /sys/module/fuse/parameters/enable_uring set to Y).
# Needs root, PostgreSQL (Debian postgresql), pgbench, sqlite3.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: bench-db.sh DIR}
bin=${TFS_BIN:-$src/build/src}
pm=${TFS_BENCH_PMEM:-/dev/shm/tierfs-bench-db-pmem.img}
secs=${TFS_PG_SECS:-30}
rows=${TFS_SQLITE_ROWS:-100000}
keys=${TFS_ROCKS_KEYS:-1000000}
synckeys=${TFS_ROCKS_SYNC_KEYS:-20000}
. "$src/contrib/pgbench-lib.sh"
pg_tools "$(command -v sqlite3)"
[ -x "$bin/tierfs" ] || sh "$src/contrib/build.sh" "$src/build"
sock=$(mktemp -d /tmp/tierfs-bench-db.XXXXXX)
chmod 777 "$sock"
cleanup() {
	for m in pmem block ext4; do pg_kill "$dir/$m"; done
	umount "$dir/pmem" 2> /dev/null || true
	umount "$dir/block" 2> /dev/null || true
	rm -rf "$sock" "$pm"
}
trap cleanup EXIT
mkdir -p "$dir/pmem" "$dir/block" "$dir/ext4"
for m in pmem block; do mountpoint -q "$dir/$m" && umount "$dir/$m"; done
rm -rf "$pm" "$dir/pa.img" "$dir/pb.img" "$dir/ext4/"*
"$bin/mkfs.tierfs" --force --pmem "$pm:512M" --block "$dir/pa.img:4G" > /dev/null
"$bin/mkfs.tierfs" --force --block "$dir/pb.img:4G" > /dev/null
topt=allow_other${TFS_TRANSPORT:+,transport=$TFS_TRANSPORT}
"$bin/tierfs" -o "$topt" "$dir/pa.img" "$dir/pmem"
"$bin/tierfs" -o "$topt" "$dir/pb.img" "$dir/block"

sqlite_run() { # DIR MODE -> inserts per second
	local db=$1/bench.db t0 t1
	rm -f "$db" "$db-wal" "$db-shm" "$db-journal"
	sqlite3 "$db" "PRAGMA journal_mode=$2; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);" > /dev/null
	t0=$(date +%s.%N)
	{
		echo "PRAGMA synchronous=FULL;"
		for i in $(seq 1 "$rows"); do echo "INSERT INTO t(v) VALUES('row $i');"; done
	} | sqlite3 "$db"
	t1=$(date +%s.%N)
	[ "$(sqlite3 "$db" 'SELECT count(*) FROM t')" = "$rows" ] || { echo "bench-db: rows missing" >&2; exit 1; }
	rm -f "$db" "$db-wal" "$db-shm"
	echo "$rows / ($t1 - $t0)" | bc -l
}

rocks() { # DIR BENCHMARK KEYS -> ops per second (0 without db_bench)
	local d=$1/rocks n
	command -v db_bench > /dev/null || { echo 0; return; }
	rm -rf "$d"
	n=$(db_bench --benchmarks="$2" --num="$3" --value_size=256 --db="$d" 2>&1 |
		sed -n "s/^$2 *: *[0-9.]* micros\/op \([0-9]*\) ops\/sec.*/\1/p")
	rm -rf "$d"
	echo "${n:-0}"
}

declare -A tps lat wal del rfr rfs
for m in pmem block ext4; do
	read -r tps[$m] lat[$m] < <(pg_run "$dir/$m" "$secs")
	wal[$m]=$(sqlite_run "$dir/$m" wal)
	del[$m]=$(sqlite_run "$dir/$m" delete)
	rfr[$m]=$(rocks "$dir/$m" fillrandom "$keys")
	rfs[$m]=$(rocks "$dir/$m" fillsync "$synckeys")
done
printf '%-40s %12s %12s %12s\n' "" pmem-pool block-pool ext4
printf '%-40s %12.0f %12.0f %12.0f\n' "pgbench -c 4 TPS (scale 10, ${secs} s)" "${tps[pmem]}" "${tps[block]}" "${tps[ext4]}"
printf '%-40s %12.2f %12.2f %12.2f\n' "  average latency (ms)" "${lat[pmem]}" "${lat[block]}" "${lat[ext4]}"
printf '%-40s %12.0f %12.0f %12.0f\n' "SQLite WAL, $rows single-row txns/s" "${wal[pmem]}" "${wal[block]}" "${wal[ext4]}"
printf '%-40s %12.0f %12.0f %12.0f\n' "SQLite rollback journal, txns/s" "${del[pmem]}" "${del[block]}" "${del[ext4]}"
printf '%-40s %12.0f %12.0f %12.0f\n' "RocksDB fillrandom ops/s ($keys keys)" "${rfr[pmem]}" "${rfr[block]}" "${rfr[ext4]}"
printf '%-40s %12.0f %12.0f %12.0f\n' "RocksDB fillsync ops/s ($synckeys keys)" "${rfs[pmem]}" "${rfs[block]}" "${rfs[ext4]}"
ratio() { [ "${2%.*}" != 0 ] && echo "$1 / $2" | bc -l || echo 0; }
printf '%-40s %12s %12s\n' "ratio against ext4" pmem-pool block-pool
for row in "pgbench TPS:tps" "SQLite WAL:wal" "SQLite rollback journal:del" "RocksDB fillrandom:rfr" "RocksDB fillsync:rfs"; do
	declare -n v=${row#*:}
	printf '%-40s %12.2f %12.2f\n' "  ${row%%:*}" "$(ratio "${v[pmem]}" "${v[ext4]}")" "$(ratio "${v[block]}" "${v[ext4]}")"
	unset -n v
done
