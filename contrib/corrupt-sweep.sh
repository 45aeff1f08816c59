#!/bin/bash
# contrib/corrupt-sweep.sh [FLIPS] - the corruption sweep of the test suite
# (tests/integration/0095-corruption-sweep.sh), long: FLIPS random byte
# flips (default 100) for every kind of on-media region and every case
# (pmem and block journals, clean and killed pools) - about 3,000 with the
# default.  Prints the seed (TFS_SWEEP_SEED=... repeats a run) and one line
# per flip; exits non-zero if any flip had an outcome the sweep does not
# allow.  Needs root and /dev/fuse; builds the tree first if needed.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$src/build/src/tierfs" ] || sh "$src/contrib/build.sh" "$src/build"
make -C "$src/build/tests" -s integration/syscalls integration/blockcmp integration/zonectl > /dev/null
TOP_BUILDDIR=$src/build TFS_SWEEP_TRIALS=${1:-100} exec bash "$src/tests/integration/0095-corruption-sweep.sh"
