#!/bin/bash
# SQLite (synchronous=FULL) in WAL and rollback-journal modes on tierfs; the
# daemon is SIGKILLed in the middle of the transactions.  After recovery
# every committed transaction id is there and PRAGMA integrity_check is ok.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
command -v sqlite3 > /dev/null || skip "sqlite3 not installed (apt-get install sqlite3)"
CYCLES=${TFS_SQLITE_CYCLES:-5}
tfs_mkfs --block "$T/a.img:256M"

for mode in wal delete; do
	ACK=$T/ack.$mode
	: > "$ACK"
	tfs_mount "$T/a.img" -o commit=30
	sqlite3 "$MNT/$mode.db" "PRAGMA journal_mode=$mode; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);" > /dev/null ||
		fail "create database ($mode)"
	next=1
	for c in $(seq 1 "$CYCLES"); do
		(
			i=$next
			while sqlite3 "$MNT/$mode.db" "PRAGMA synchronous=FULL; BEGIN; INSERT INTO t VALUES($i, randomblob(3000)); UPDATE t SET v=randomblob(200) WHERE id=$((i / 2)); COMMIT;" \
				> /dev/null 2>&1; do
				echo $i >> "$ACK"
				i=$((i + 1))
			done
		) &
		tfs_crash_during $!
		tfs_mount "$T/a.img" -o commit=30
		ic=$(sqlite3 "$MNT/$mode.db" "PRAGMA integrity_check;" 2>&1)
		check test "$ic" = ok "$mode cycle $c: integrity_check ok"
		sqlite3 "$MNT/$mode.db" "SELECT id FROM t ORDER BY id;" > "$T/have" 2>&1
		missing=$(sort -n "$ACK" | comm -23 - <(sort -n "$T/have") | wc -l)
		[ "$missing" = 0 ] || echo "# missing: $(sort -n "$ACK" | comm -23 - <(sort -n "$T/have") | tr "\n" " ") (last acknowledged $(tail -1 "$ACK"))"
		check test "$missing" = 0 "$mode cycle $c: all $(wc -l < "$ACK") committed ids present"
		next=$(( $(sort -n "$T/have" | tail -1) + 1 ))
	done
	tfs_umount
done
finish
