# contrib/pgbench-lib.sh - sourced by the benchmarks that run pgbench
# (bench-db.sh, bench-threads.sh).  Needs $sock, a directory for the server's
# socket that user postgres may use.
#
# pg_tools EXTRA...   exit with a message unless initdb, pgbench, the given
#                     tools and the postgres user are there; sets $pgbin
# pg_run DIR SECS     a fresh cluster in DIR/pg: initdb, pgbench -i -s 10,
#                     pgbench -n -c 4 -j 2 -T SECS, stop; prints "TPS ms"
#                     (transactions per second, average latency)
# pg_kill DIR         stop a cluster left running in DIR/pg (for a trap)
pg_tools() {
	local t
	pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	for t in "$pgbin/initdb" "$pgbin/pgbench" "$@"; do
		[ -x "$t" ] || { echo "$(basename "$0"): $t missing" >&2; exit 1; }
	done
	id postgres > /dev/null 2>&1 || { echo "$(basename "$0"): no postgres user" >&2; exit 1; }
}
pg_run() {
	local d=$1/pg/data out
	rm -rf "$1/pg"
	mkdir -p "$1/pg" && chown postgres "$1/pg" && chmod 700 "$1/pg"
	runuser -u postgres -- "$pgbin/initdb" -D "$d" -A trust -U postgres > /dev/null
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$d" -l "$1/pg/log" -w \
		-o "-c listen_addresses='' -c unix_socket_directories=$sock" start > /dev/null
	runuser -u postgres -- "$pgbin/pgbench" -h "$sock" -U postgres -i -s 10 -q postgres > /dev/null 2>&1
	out=$(runuser -u postgres -- "$pgbin/pgbench" -h "$sock" -U postgres -n -c 4 -j 2 -T "$2" postgres 2>&1)
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$d" -m fast -w stop > /dev/null
	echo "$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p') $(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')"
}
pg_kill() {
	[ -f "$1/pg/data/postmaster.pid" ] &&
		runuser -u postgres -- "$pgbin/pg_ctl" -D "$1/pg/data" -m immediate stop > /dev/null 2>&1
	return 0
}
