#!/bin/bash
# tests/fuzz/run.sh SECONDS [TARGET...] - build the fuzz targets with clang's
# libFuzzer (+ ASan + UBSan) and run each for SECONDS.
#
# Targets, one per on-media parser:
#   fuzz_super    superblock decoder
#   fuzz_headers  checkpoint header, log segment header, log page and
#                 checksum page decoders
#   fuzz_journal  journal replay at mount: fuzzed records in transactions
#                 framed (and checksummed) as the journal writes them
#   fuzz_log      loading a checkpoint's metadata log: fuzzed pages (sealed
#                 so that they verify) in place of its real ones
#   fuzz_zemu     header and zone tables of an emulated zoned device
# Seeds come from a pool made with mkfs.tierfs (and filled through a mount
# when run as root with /dev/fuse); corpora and crash files go to
# $TFS_FUZZ_DIR (default build/fuzz).  Exit 0 when no target found a crash,
# 1 if one did, 77 if clang's libFuzzer is missing.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
shift || true
targets=${*:-fuzz_super fuzz_headers fuzz_journal fuzz_log fuzz_zemu}
build=${TOP_BUILDDIR:-$src/build}
out=${TFS_FUZZ_DIR:-$build/fuzz}
cc=${CLANG:-clang}

[ -f "$build/config.h" ] || { echo "fuzz: no $build/config.h: configure first"; exit 1; }
mkdir -p "$out"
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){return d && n;}' > "$out.probe.c"
if ! $cc -fsanitize=fuzzer "$out.probe.c" -o "$out.probe" 2> /dev/null; then
	rm -f "$out.probe.c"
	echo "SKIP: $cc cannot build libFuzzer targets (install clang and libclang-rt-14-dev)"
	exit 77
fi
rm -f "$out.probe.c" "$out.probe"

# the library sources, as the Makefiles list them (dir/Makefile.am VAR)
sources() {
	sed -n "/^$2 *=/,/[^\\]\$/p" "$src/$1/Makefile.am" | tr ' \t\\' '\n\n\n' |
		grep '\.c$' | sed "s|^|$src/$1/|"
}
lib="$(sources src libtfsmeta_a_SOURCES) $(sources src libtfs_a_SOURCES)
     $(sources tiering libtiering_a_SOURCES) $(sources io libtfsio_a_SOURCES)
     $src/tests/unit/testpool.c"
# (libtfs holds the FUSE transport too: libfuse's headers and library)
flags="-g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -include $build/config.h -DTFS_TESTPOOL_ABORT -I$build -I$src/tests/unit -I$src/src
       -I$src/src/meta -I$src/tiering -I$src/io $(pkg-config --cflags fuse3)"

# seeds: a real superblock and checkpoint header, and a few inputs for the
# harnesses that frame their own pages (their pools are made in process)
seeds=$out/seeds
rm -rf "$seeds"
for t in fuzz_super fuzz_headers fuzz_journal fuzz_log fuzz_zemu; do mkdir -p "$seeds/$t"; done
img=$out/seed.img
if [ -x "$build/src/mkfs.tierfs" ] && "$build/src/mkfs.tierfs" --force --block "$img:64M" > /dev/null; then
	mnt=$out/mnt
	mkdir -p "$mnt"
	if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ] && "$build/src/tierfs" "$img" "$mnt" 2> /dev/null; then
		mkdir -p "$mnt/d/e" && echo hello > "$mnt/d/f" && ln "$mnt/d/f" "$mnt/hard" &&
			ln -s d/f "$mnt/sym" && setfattr -n user.k -v v "$mnt/d/f" 2> /dev/null
		head -c 300000 /dev/urandom > "$mnt/data"
		truncate -s 10M "$mnt/sparse"
		umount "$mnt"
		sleep 1
	fi
	dd if="$img" of="$seeds/fuzz_super/sb" bs=8192 count=1 status=none
	# checkpoint headers at 64 KiB and 68 KiB, selector byte 0 in front
	for h in 0 1; do
		{ printf '\0'; dd if="$img" bs=4096 skip=$((16 + h)) count=1 status=none; } \
			> "$seeds/fuzz_headers/ckh$h"
	done
	rm -f "$img"
fi
printf '\001' > "$seeds/fuzz_headers/seg"
printf '\006' > "$seeds/fuzz_headers/page"
printf '\007' > "$seeds/fuzz_headers/cs"
printf '\010\000\001\000\000\000\010\000\000\000\001\000\000\000\000\000\000\000' \
	> "$seeds/fuzz_journal/free"
printf '\000\000\040\000\001\000\000\000\030\000\000\000\001' > "$seeds/fuzz_log/rec"
printf '\001' > "$seeds/fuzz_zemu/empty"

# the harnesses' pool files, in a directory of this run's own: a fuzzer
# stopped at its time limit leaves its file behind, removed below
TFS_TEST_DIR=$(mktemp -d /dev/shm/tfs-fuzz.XXXXXX) || exit 1
export TFS_TEST_DIR
rc=0
for t in $targets; do
	echo "== $t: building"
	# shellcheck disable=SC2086
	$cc $flags -o "$out/$t" "$src/tests/fuzz/$t.c" $lib \
		$(pkg-config --libs fuse3) -luring -lxxhash $(grep -q "define HAVE_RADOS 1" "$build/config.h" && echo -lrados) -lpthread || { echo "fuzz: building $t failed"; exit 1; }
	mkdir -p "$out/corpus/$t" "$out/crashes/$t"
	echo "== $t: fuzzing for $secs s"
	ASAN_OPTIONS=detect_leaks=1 "$out/$t" -max_total_time="$secs" -max_len=65536 -timeout=10 \
		-artifact_prefix="$out/crashes/$t/" -print_final_stats=1 \
		"$out/corpus/$t" "$seeds/$t" > "$out/$t.log" 2>&1
	r=$?
	grep -E "^stat::number_of_executed_units|^#[0-9]+ *DONE" "$out/$t.log" | tail -2
	if [ $r != 0 ]; then
		echo "fuzz: $t found a problem (exit $r):"
		grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$out/$t.log" | head -20
		rc=1
	fi
done
rm -rf "$TFS_TEST_DIR"
exit $rc
