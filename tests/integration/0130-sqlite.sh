#!/bin/bash
# SQLite on tierfs: WAL and rollback-journal modes, each with memory-mapped
# I/O off and on (PRAGMA mmap_size): one writer commits rows one transaction
# at a time while three readers query; readers never see an error or a
# count going backwards, and PRAGMA integrity_check is ok after each run and
# after a remount.  Also flock(1) and POSIX locks between two processes.
# (The crash loop with SQLite is 0100.)  Skips (77) without sqlite3.
. "$(dirname "$0")/lib/common.sh"
command -v sqlite3 > /dev/null || skip "sqlite3 is not installed (Debian package sqlite3)"
tfs_setup
ROWS=${TFS_SQLITE_ROWS:-$((1500 / TFS_SCALE))}
tfs_mkfs --pmem "$T/pmem.img:64M" --block "$T/a.img:1G"
tfs_mount "$T/a.img"

reader() { # DB OUT: count rows until told to stop; any error or step back is logged
	local db=$1 out=$2 last=0 n
	while [ ! -e "$T/stop" ]; do
		n=$(sqlite3 -cmd ".timeout 10000" "$db" "SELECT count(*) FROM t" 2>&1)
		case $n in
		''|*[!0-9]*) echo "error: $n" >> "$out" ;;
		*) [ "$n" -lt "$last" ] && echo "went back: $last -> $n" >> "$out"; last=$n ;;
		esac
	done
}

for mode in wal delete; do
	for mm in 0 268435456; do
		db=$MNT/$mode-$mm.db
		sqlite3 "$db" "PRAGMA journal_mode=$mode; PRAGMA mmap_size=$mm; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);" > /dev/null
		rm -f "$T/stop" "$T"/r*.out
		for r in 1 2 3; do : > "$T/r$r.out"; reader "$db" "$T/r$r.out" & done
		{
			echo ".timeout 10000"
			echo "PRAGMA synchronous=FULL; PRAGMA mmap_size=$mm;"
			for i in $(seq 1 "$ROWS"); do echo "INSERT INTO t(v) VALUES(hex(randomblob(64)));"; done
		} | sqlite3 "$db" > "$T/w.out" 2>&1
		wrc=$?
		touch "$T/stop"
		wait
		check test $wrc = 0 "$mode, mmap_size=$mm: writer committed $ROWS transactions"
		[ $wrc = 0 ] || head -5 "$T/w.out"
		check test ! -s "$T/r1.out" -a ! -s "$T/r2.out" -a ! -s "$T/r3.out" \
			"$mode, mmap_size=$mm: readers saw no error and no step back"
		cat "$T"/r*.out | head -5
		check test "$(sqlite3 "$db" "PRAGMA mmap_size=$mm; SELECT count(*) FROM t" | tail -1)" = "$ROWS" \
			"$mode, mmap_size=$mm: all rows there"
		check test "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok "$mode, mmap_size=$mm: integrity_check ok"
	done
done
tfs_umount
tfs_mount "$T/a.img"
for db in "$MNT"/*.db; do
	check test "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok "$(basename "$db") ok after remount"
done

# ---- locks between two processes
f=$MNT/lockfile
: > "$f"
flock "$f" sleep 3 &
holder=$!
sleep 1
check test "$(flock -n "$f" true; echo $?)" = 1 "flock: a second process cannot take a held lock"
wait $holder
check flock -n "$f" true "flock: free again once the holder is gone"
tfs_umount
finish
