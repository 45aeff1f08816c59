#!/bin/bash
# contrib/request-mix.sh DIR - which FUSE requests a database transaction
# costs on tierfs: the daemon's request counters (tierfsctl status --json,
# "requests") before and after each workload, divided by its transactions.
#
# Pool: 512 MiB emulated pmem (a file in /dev/shm; TFS_BENCH_PMEM moves it)
# and a 4 GiB block file in DIR.  Workloads, each in a fresh directory:
#   sqlite-wal, sqlite-delete  $TFS_MIX_TX (default 2000) transactions of one
#                              INSERT, synchronous=FULL
#   pgbench                    initdb, pgbench -i -s 2, pgbench -n -c 4 -j 2
#                              -T $TFS_PG_SECS (default 15)
#   rocksdb-fillrandom         db_bench --benchmarks=fillrandom --num=100000
#                              (per 1000 keys; skipped without db_bench)
# Prints, per workload, requests per transaction and mean service time in
# the daemon for every opcode seen.  Needs root, sqlite3, PostgreSQL.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: request-mix.sh DIR}
bin=${TFS_BIN:-$src/build/src}
pm=${TFS_BENCH_PMEM:-/dev/shm/tierfs-mix-pmem.img}
ntx=${TFS_MIX_TX:-2000}
secs=${TFS_PG_SECS:-15}
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
command -v sqlite3 > /dev/null || { echo "request-mix: sqlite3 missing" >&2; exit 1; }
[ -x "$bin/tierfs" ] || sh "$src/contrib/build.sh" "$src/build"
mnt=$dir/mnt
sock=$(mktemp -d /tmp/tierfs-mix.XXXXXX)
chmod 777 "$sock"
cleanup() {
	[ -f "$mnt/pg/data/postmaster.pid" ] &&
		runuser -u postgres -- "$pgbin/pg_ctl" -D "$mnt/pg/data" -m immediate stop > /dev/null 2>&1
	umount "$mnt" 2> /dev/null || true
	rm -rf "$sock" "$pm"
}
trap cleanup EXIT
mkdir -p "$mnt"
mountpoint -q "$mnt" && umount "$mnt"
"$bin/mkfs.tierfs" --force --pmem "$pm:512M" --block "$dir/mix.img:4G" > /dev/null
"$bin/tierfs" -o allow_other "$dir/mix.img" "$mnt"

snap() { "$bin/tierfsctl" status "$mnt" --json > "$1"; }
report() { # NAME BEFORE AFTER COUNT UNIT (what one of COUNT is)
	python3 - "$@" <<'PY'
import json, sys
name, a, b, n, unit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
ra = json.load(open(a))["requests"]; rb = json.load(open(b))["requests"]
rows = []
for op, v in rb.items():
    c0 = ra.get(op, {}).get("count", 0)
    t0 = ra.get(op, {}).get("total_us", 0.0)
    dc = v["count"] - c0
    if dc <= 0:
        continue
    mean = (v["total_us"] - t0) / dc
    rows.append((dc / n, op, mean))
rows.sort(reverse=True)
total = sum(r[0] for r in rows)
print(f"{name}: {int(n)} x {unit}, {total:.2f} requests per {unit}")
for per, op, mean in rows:
    print(f"    {op:<16} {per:9.2f}  mean {mean:8.1f} us")
PY
}

sqlite_mix() { # MODE
	local d=$mnt/sqlite-$1 db
	mkdir -p "$d"
	db=$d/t.db
	sqlite3 "$db" "PRAGMA journal_mode=$1; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);" > /dev/null
	snap "$dir/a.json"
	{
		echo "PRAGMA synchronous=FULL;"
		for i in $(seq "$ntx"); do echo "INSERT INTO t(v) VALUES (hex(randomblob(100)));"; done
	} | sqlite3 "$db"
	snap "$dir/b.json"
	report "sqlite ${1,,}" "$dir/a.json" "$dir/b.json" "$ntx" transaction
}
sqlite_mix WAL
sqlite_mix DELETE

if [ -n "$pgbin" ] && id postgres > /dev/null 2>&1; then
	d=$mnt/pg/data
	mkdir -p "$mnt/pg" && chown postgres "$mnt/pg" && chmod 700 "$mnt/pg"
	runuser -u postgres -- "$pgbin/initdb" -D "$d" -A trust -U postgres > /dev/null
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$d" -l "$mnt/pg/log" -w \
		-o "-c listen_addresses='' -c unix_socket_directories=$sock" start > /dev/null
	runuser -u postgres -- "$pgbin/pgbench" -h "$sock" -U postgres -i -s 2 -q postgres > /dev/null 2>&1
	snap "$dir/a.json"
	out=$(runuser -u postgres -- "$pgbin/pgbench" -h "$sock" -U postgres -n -c 4 -j 2 -T "$secs" postgres 2>&1)
	snap "$dir/b.json"
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$d" -m fast -w stop > /dev/null
	tx=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
	report "pgbench -c 4" "$dir/a.json" "$dir/b.json" "$tx" transaction
else
	echo "pgbench: skipped (no PostgreSQL)"
fi

if command -v db_bench > /dev/null; then
	mkdir -p "$mnt/rocksdb"
	snap "$dir/a.json"
	db_bench --benchmarks=fillrandom --num=100000 --value_size=256 --db="$mnt/rocksdb" > /dev/null 2>&1
	snap "$dir/b.json"
	report "rocksdb fillrandom" "$dir/a.json" "$dir/b.json" 100 "1000 keys"
else
	echo "rocksdb: skipped (no db_bench)"
fi
rm -f "$dir/a.json" "$dir/b.json"
