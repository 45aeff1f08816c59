#!/bin/sh
# Install dependencies, build, and run the whole test suite (unit +
# integration), first in the normal build, then again with ASan+UBSan.
# Then the fuzz targets of the on-media parsers, 40 s each (TFS_FUZZ_SECS;
# 0 skips them).  This is what CI runs.  Set TFS_NO_SANITIZERS=1 to skip the
# sanitizer pass.
set -e
src=$(cd "$(dirname "$0")/.." && pwd)
sh "$src/contrib/install-deps.sh"
sh "$src/contrib/build.sh" "$src/build"
echo "== test suite (build/)"
make -C "$src/build" check || { tail -n 50 "$src"/build/tests/*/*.log; exit 1; }
if [ -z "${TFS_NO_SANITIZERS:-}" ]; then
	sh "$src/contrib/build.sh" "$src/build-asan" --enable-sanitizers
	echo "== test suite under AddressSanitizer + UBSan (build-asan/)"
	# the sanitized daemon is slower: the big-file case writes 1 GiB instead of
	# 2, the database cases do half the work, and the crash loops (30 + 20 +
	# 20 cycles in the first pass) run fewer cycles, to keep CI well under 30
	# minutes.  A detached daemon has no stderr: sanitizer reports go to
	# files, and any report fails the run.
	rm -rf "$src/build-asan/sanitizer" && mkdir -p "$src/build-asan/sanitizer"
	ASAN_OPTIONS="detect_leaks=1:log_path=$src/build-asan/sanitizer/asan" \
	UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$src/build-asan/sanitizer/ubsan" \
		TFS_SCALE=2 TFS_KILL_CYCLES=10 TFS_PMEM_KILL_CYCLES=6 TFS_CKPT_KILL_CYCLES=6 TFS_ZNS_KILL_CYCLES=8 \
		make -C "$src/build-asan" check ||
		{ tail -n 50 "$src"/build-asan/tests/*/*.log; cat "$src"/build-asan/sanitizer/* 2>/dev/null; exit 1; }
	if ls "$src"/build-asan/sanitizer/* > /dev/null 2>&1; then
		echo "sanitizer reports:"; cat "$src"/build-asan/sanitizer/*; exit 1
	fi
fi
secs=${TFS_FUZZ_SECS:-40}
if [ "$secs" != 0 ]; then
	echo "== fuzz targets, $secs s each (tests/fuzz/run.sh)"
	bash "$src/tests/fuzz/run.sh" "$secs" || { [ $? = 77 ] || exit 1; }
fi
echo "== all tests passed"
