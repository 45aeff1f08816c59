#!/bin/bash
# tests/crash/soak.sh [N] - the long crash loops: N (default 1000) SIGKILL
# cycles of the integration crash case on a block pool, N/4 on a pmem+block
# pool in shadow mode and N/4 with a 1 MiB journal (kills inside
# checkpoints), then the SQLite crash loop with N/10 cycles per journal mode.
# Needs root and a built tree (contrib/build.sh).  Not run by CI (CI runs 30,
# 20, 20 and 5).  Prints every failure; exits 1 if there was any.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-1000}
export TOP_BUILDDIR=${TOP_BUILDDIR:-$top/build}
[ -x "$TOP_BUILDDIR/src/tierfs" ] || sh "$top/contrib/build.sh" "$TOP_BUILDDIR"
log=$(mktemp /tmp/tierfs-soak.XXXXXX)
run() { # NAME ENV... SCRIPT
	local name=$1
	shift
	echo "soak: $name"
	env "$@" >> "$log" 2>&1
	echo "soak: $name: $(grep -c '^ok' "$log") checks passed so far, $(grep -c '^not ok' "$log") failed"
}
run "$n SIGKILL cycles, block pool" TFS_KILL_CYCLES="$n" bash "$top/tests/integration/0070-kill-recovery.sh"
run "$((n / 4)) cycles, pmem+block pool in shadow mode" TFS_PMEM_KILL_CYCLES=$((n / 4)) \
	bash "$top/tests/integration/0075-kill-recovery-pmem.sh"
run "$((n / 4)) cycles, 1 MiB journal" TFS_CKPT_KILL_CYCLES=$((n / 4)) \
	bash "$top/tests/integration/0076-kill-recovery-checkpoints.sh"
run "$((n / 4)) cycles, zns+block pool" TFS_ZNS_KILL_CYCLES=$((n / 4)) \
	bash "$top/tests/integration/0077-kill-recovery-zns.sh"
run "$((n / 10)) SQLite crash cycles per journal mode" TFS_SQLITE_CYCLES=$((n / 10)) \
	bash "$top/tests/integration/0100-sqlite-crash.sh"
grep '^not ok' "$log"
bad=$(grep -c '^not ok' "$log")
echo "soak: done, $(grep -c '^ok' "$log") checks passed, $bad failed (log: $log)"
[ "$bad" = 0 ]
