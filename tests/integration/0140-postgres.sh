#!/bin/bash
# PostgreSQL on tierfs, run by an unprivileged user, socket in a temporary
# directory, no TCP: initdb with data checksums, pgbench -i -s 10 and a timed
# run; then a second run during which the tierfs daemon is SIGKILLed (and the
# server with it, as in a power cut), remount, the server must recover; then
# pg_amcheck, the pgbench invariant, and (server stopped) pg_checksums --check.
# The runs use pgbench -n: without it pgbench empties pgbench_history at the
# start of each run, and the invariant (every balance change is in the
# history) only holds within one run.
# No PANIC may appear in the server log.  Skips (77) without PostgreSQL.
. "$(dirname "$0")/lib/common.sh"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || skip "PostgreSQL is not installed (Debian package postgresql)"
PGBENCH=$PGBIN/pgbench
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench) || skip "pgbench is not installed"
tfs_setup
SECS=${TFS_PG_SECS:-$((30 / TFS_SCALE))}
PGUSER_OS=postgres
if ! id "$PGUSER_OS" > /dev/null 2>&1; then
	PGUSER_OS=tfspg
	id "$PGUSER_OS" > /dev/null 2>&1 || useradd -r -M -s /bin/sh "$PGUSER_OS" || skip "cannot create a user for PostgreSQL"
fi
as_pg() { runuser -u "$PGUSER_OS" -- "$@"; }
SOCK=$T/sock
mkdir -p "$SOCK" && chmod 777 "$SOCK"
DATA=$MNT/pg/data
PGOPTS="-c listen_addresses='' -c unix_socket_directories=$SOCK -c fsync=on -c full_page_writes=on -c max_wal_size=256MB"

pg_start() { as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -o "$PGOPTS" -w -t 120 start > /dev/null; }
# a new server log for each phase: the server killed with the daemon may
# PANIC on the vanished file system (that is the crash itself); no other may
newlog() { LOG=$T/pg-$1.log; touch "$LOG" && chmod 666 "$LOG"; }
pg_stop() { as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 120 stop > /dev/null; }
psql_q() { as_pg "$PGBIN/psql" -h "$SOCK" -X -A -t -q -d postgres -c "$1"; }
# run CMD... > $OUT, then count it as a check named DESC
OUT=/dev/null
ran() { local what=${!#} n=$(($# - 1)); "${@:1:$n}" > "$OUT" 2>&1; local rc=$?
	[ $rc = 0 ] || tail -20 "$OUT"; check test $rc = 0 "$what"; }
# the pgbench invariant: every change to a balance is in the history
invariant() {
	local r
	r=$(psql_q "SELECT (SELECT coalesce(sum(delta),0) FROM pgbench_history) = (SELECT sum(abalance) FROM pgbench_accounts)
	  AND (SELECT coalesce(sum(delta),0) FROM pgbench_history) = (SELECT sum(tbalance) FROM pgbench_tellers)
	  AND (SELECT coalesce(sum(delta),0) FROM pgbench_history) = (SELECT sum(bbalance) FROM pgbench_branches)")
	[ "$r" = t ] && return 0
	psql_q "SELECT 'history', count(*), sum(delta) FROM pgbench_history UNION ALL
		SELECT 'accounts', count(*), sum(abalance) FROM pgbench_accounts UNION ALL
		SELECT 'tellers', count(*), sum(tbalance) FROM pgbench_tellers UNION ALL
		SELECT 'branches', count(*), sum(bbalance) FROM pgbench_branches" | sed 's/^/# /'
	return 1
}
cleanup_pg() { # a server left behind must not keep the mount busy
	local pids
	pids=$(pgrep -u "$PGUSER_OS" -f -- "-D $DATA" || true)
	[ -n "$pids" ] && kill -9 $pids 2> /dev/null
	return 0
}

newlog 1
tfs_mkfs --pmem "$T/pmem.img:256M" --block "$T/a.img:4G"
tfs_mount "$T/a.img" -o allow_other
mkdir -p "$MNT/pg" && chown "$PGUSER_OS" "$MNT/pg" && chmod 700 "$MNT/pg"
OUT=$T/initdb.out ran as_pg "$PGBIN/initdb" -D "$DATA" --data-checksums -A trust -U postgres \
	"initdb --data-checksums on the mount"
check pg_start "server starts"
OUT=$T/init.out ran as_pg "$PGBENCH" -h "$SOCK" -U postgres -i -s 10 -q postgres "pgbench -i -s 10"
OUT=$T/run1.out ran as_pg "$PGBENCH" -h "$SOCK" -U postgres -n -c 4 -j 2 -T "$SECS" postgres \
	"pgbench -c 4 -T $SECS"
note "$(grep -E '^(tps|latency average)' "$T/run1.out" | tr '\n' ' ')"
check invariant "pgbench invariant after the first run"
check pg_stop "server stops"

# ---- second round: the daemon dies under load
newlog 2
check pg_start "server starts again"
pm=$(head -1 "$DATA/postmaster.pid")
export pm
as_pg "$PGBENCH" -h "$SOCK" -U postgres -n -c 4 -j 2 -T 120 postgres > "$T/run2.out" 2>&1 &
bench=$!
sleep $((SECS / 3 + 2 + RANDOM % 4))
kill -9 "$DAEMON_PID"
# the machine "lost power": the server goes too, backends first (a backend
# waiting for a lock would not notice its postmaster is gone)
pkill -9 -P "$pm" 2> /dev/null
kill -9 "$pm" 2> /dev/null
wait "$bench" 2> /dev/null
for i in $(seq 1 50); do pgrep -u "$PGUSER_OS" -f -- "-D $DATA" > /dev/null || break; sleep 0.2; done
cleanup_pg
# a killed postmaster may linger as a zombie until whoever adopted it reaps
# it; its socket lock then names a PID that still exists and the next
# server refuses to start.  Power loss clears the socket directory: so does
# this (after a bounded wait, not a guess about timing)
for i in $(seq 1 50); do kill -0 "$pm" 2> /dev/null || break; sleep 0.2; done
kill -0 "$pm" 2> /dev/null && note "the killed postmaster $pm lingers: $(ps -o stat=,ppid= -p "$pm" 2>/dev/null)"
rm -f "$SOCK"/.s.PGSQL.*
umount "$MNT" 2> /dev/null || umount -l "$MNT"
tfs_wait_exit
"$TOP_BUILDDIR/src/fsck.tierfs" -n "$T/a.img" > "$T/fsck.out" 2>&1
check test $? = 0 "fsck -n clean after the kill"
tfs_mount "$T/a.img" -o allow_other
rm -f "$DATA/postmaster.pid"
newlog 3
pg_start
rc=$?
[ $rc = 0 ] || { echo "# the server log:"; tail -n 30 "$T/pg-3.log" | sed 's/^/# /'; }
check test $rc = 0 "server recovers after the daemon was killed under load"
check grep -q "redo done\|database system was not properly shut down\|database system was interrupted" "$T/pg-3.log" \
	"it ran crash recovery"
OUT=$T/amcheck.out ran as_pg "$PGBIN/pg_amcheck" -h "$SOCK" -U postgres --install-missing --all \
	"pg_amcheck --all"
check invariant "pgbench invariant after recovery"
note "history rows: $(psql_q 'SELECT count(*) FROM pgbench_history')"
check pg_stop "server stops after recovery"
OUT=$T/checksums.out ran as_pg "$PGBIN/pg_checksums" --check -D "$DATA" "pg_checksums --check"
tail -3 "$T/checksums.out"
if grep -q PANIC "$T/pg-1.log" "$T/pg-3.log"; then
	grep -B2 -A2 PANIC "$T/pg-1.log" "$T/pg-3.log" | head -20
	check false "no PANIC in the server logs (but the one killed with the daemon)"
else
	check true "no PANIC in the server logs (but the one killed with the daemon)"
fi
grep PANIC "$T/pg-2.log" | head -2 | sed 's/^/# killed server: /'
cleanup_pg
tfs_umount
finish
