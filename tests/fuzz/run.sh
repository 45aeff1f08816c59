#!/bin/bash
# tests/fuzz/run.sh SECONDS [TARGET...] - build the fuzz targets with clang's
# libFuzzer (+ ASan + UBSan) and run each for SECONDS.
#
# Targets: fuzz_super (superblock decoder), fuzz_records (the record decoder
# behind checkpoints and journal transactions), fuzz_journal (replay of a
# framed journal at mount).  Seeds come from a pool made with mkfs.tierfs
# (and filled through a mount when run as root with /dev/fuse); corpora and
# crash files go to $TFS_FUZZ_DIR (default build/fuzz).  Exit 0 when no
# target found a crash, 1 if one did, 77 if clang's libFuzzer is missing.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
shift || true
targets=${*:-fuzz_super fuzz_records fuzz_journal}
build=${TOP_BUILDDIR:-$src/build}
out=${TFS_FUZZ_DIR:-$build/fuzz}
cc=${CLANG:-clang}

[ -f "$build/config.h" ] || { echo "fuzz: no $build/config.h: configure first"; exit 1; }
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){return d && n;}' > "$out.probe.c" 2>/dev/null ||
	{ mkdir -p "$(dirname "$out")"; echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){return d && n;}' > "$out.probe.c"; }
if ! $cc -fsanitize=fuzzer "$out.probe.c" -o "$out.probe" 2> /dev/null; then
	rm -f "$out.probe.c"
	echo "SKIP: $cc cannot build libFuzzer targets (install clang and libclang-rt-14-dev)"
	exit 77
fi
rm -f "$out.probe.c" "$out.probe"
mkdir -p "$out"

lib="src/log.c src/hash.c src/options.c src/super.c src/meta.c src/journal.c src/fs.c src/file.c
     tiering/alloc.c tiering/chunkmap.c io/engine.c io/backend_block.c io/backend_pmem.c
     io/syscall.c io/fault.c io/zone.c io/backend_zns_emu.c io/backend_zns.c
     src/zns.c src/ctl.c src/migrate.c tiering/zalloc.c tiering/heat.c tiering/engine.c"
flags="-g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -include $build/config.h -I$build -I$src/src -I$src/tiering -I$src/io"

# seeds from a real pool
seeds=$out/seeds
rm -rf "$seeds" && mkdir -p "$seeds/fuzz_super" "$seeds/fuzz_records" "$seeds/fuzz_journal"
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
	# the newest checkpoint's payload: header at 64K + 1M (slot A) or + 1M more (B)
	for slot in 0 1; do
		off=$(( 65536 + (1 << 20) + slot * (1 << 20) ))
		len=$(od -An -t u8 -j $((off + 32)) -N 8 "$img" | tr -d ' ')
		[ -n "$len" ] && [ "$len" -gt 0 ] && [ "$len" -lt $((1 << 20)) ] &&
			dd if="$img" of="$seeds/fuzz_records/ckpt$slot" bs=1 skip=$((off + 4096)) count="$len" status=none
	done
	for f in "$seeds"/fuzz_records/*; do
		[ -f "$f" ] || continue
		n=$(stat -c %s "$f")
		# one transaction holding the whole stream, framed for fuzz_journal
		{ printf "\\x$(printf %02x $((n & 255)))\\x$(printf %02x $(((n >> 8) & 255)))"; head -c 65535 "$f"; } \
			> "$seeds/fuzz_journal/$(basename "$f")"
	done
	rm -f "$img"
fi

rc=0
for t in $targets; do
	echo "== $t: building"
	# shellcheck disable=SC2086
	$cc $flags -o "$out/$t" "$src/tests/fuzz/$t.c" $(for f in $lib; do echo "$src/$f"; done) \
		-luring -lxxhash -lpthread || { echo "fuzz: building $t failed"; exit 1; }
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
exit $rc
