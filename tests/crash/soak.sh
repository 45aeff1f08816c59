#!/bin/bash
# tests/crash/soak.sh [N] - the long crash loop: N (default 1000) SIGKILL
# cycles of the integration crash case, then the SQLite crash loop with N/10
# cycles per journal mode.  Needs root and a built tree (contrib/build.sh).
# Not run by CI (CI runs 30 and 5 cycles).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-1000}
export TOP_BUILDDIR=${TOP_BUILDDIR:-$top/build}
[ -x "$TOP_BUILDDIR/src/tierfs" ] || sh "$top/contrib/build.sh" "$TOP_BUILDDIR"
echo "soak: $n SIGKILL cycles"
TFS_KILL_CYCLES=$n bash "$top/tests/integration/0070-kill-recovery.sh" | grep -v '^ok' || true
echo "soak: $((n / 10)) SQLite crash cycles per journal mode"
TFS_SQLITE_CYCLES=$((n / 10)) bash "$top/tests/integration/0100-sqlite-crash.sh" | grep -v '^ok' || true
echo "soak: done (any 'not ok' line above is a failure)"
