#!/bin/sh
# contrib/passthrough-hp.sh OUTDIR [LIBFUSE_SRC] - build libfuse 3.14's
# example file system passthrough_hp (the fastest FUSE peer: a pass-through
# of a directory, multithreaded, with splice) against the system's libfuse
# 3.14, outside the repository, as the peer contrib/bench.sh compares
# tierfs with (TFS_PHP=OUTDIR/passthrough_hp).
#
# LIBFUSE_SRC is an unpacked libfuse 3.14 source tree (only example/
# passthrough_hp.cc and example/cxxopts.hpp are used).  Without it the
# release tarball is fetched:
#   https://github.com/libfuse/libfuse/releases/download/fuse-3.14.0/fuse-3.14.0.tar.xz
# (or, with deb-src lines in APT's sources: apt-get source fuse3).
# Needs g++ and libfuse3-dev.
set -e
out=${1:?usage: passthrough-hp.sh OUTDIR [LIBFUSE_SRC]}
srcdir=${2:-}
mkdir -p "$out"
if [ -z "$srcdir" ]; then
	command -v curl > /dev/null || { echo "passthrough-hp: give LIBFUSE_SRC (no curl to fetch it)" >&2; exit 1; }
	curl -fsSL -o "$out/fuse-3.14.0.tar.xz" \
		https://github.com/libfuse/libfuse/releases/download/fuse-3.14.0/fuse-3.14.0.tar.xz
	tar -C "$out" -xJf "$out/fuse-3.14.0.tar.xz"
	srcdir=$out/fuse-3.14.0
fi
[ -f "$srcdir/example/passthrough_hp.cc" ] || { echo "passthrough-hp: $srcdir/example/passthrough_hp.cc missing" >&2; exit 1; }
# shellcheck disable=SC2046
g++ -std=c++17 -O2 -o "$out/passthrough_hp" "$srcdir/example/passthrough_hp.cc" \
	$(pkg-config --cflags --libs fuse3) -lpthread
echo "$out/passthrough_hp"
