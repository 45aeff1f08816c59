#!/bin/sh
# Configure and build tierfs in the source tree (or in $1, a build directory,
# with extra configure flags after it).  Used by demo.sh, test.sh and CI.
set -e
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src}
[ $# -gt 0 ] && shift
cd "$src"
[ -x configure ] || ./autogen.sh > /dev/null 2>&1
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$src/configure" -nt Makefile ]; then
	"$src/configure" --enable-werror "$@" > configure.out || { cat configure.out; exit 1; }
fi
make -j"$(nproc)" > make.out 2>&1 || { cat make.out; exit 1; }
