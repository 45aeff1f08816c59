#!/bin/sh
# Install dependencies, build, and run the whole test suite (unit +
# integration), first in the normal build, then its POSIX, crash, database
# and tiering cases over FUSE io_uring (when the kernel has it), then all
# again with ASan+UBSan (and three io_uring cases).
# Then the fuzz targets of the on-media parsers, 30 s each (TFS_FUZZ_SECS;
# 0 skips them).  This is what CI runs.  Set TFS_NO_SANITIZERS=1 to skip the
# sanitizer pass.  The two full passes run TFS_CHECK_JOBS cases at a time
# (default 2: most cases wait on sleeps, kills and fsyncs, not on the CPU;
# every case has its own pool, mount point and daemon).
set -e
jobs=${TFS_CHECK_JOBS:-2}
t0=$(date +%s)
stamp() { echo "== $* ($(($(date +%s) - t0)) s after the start)"; }
src=$(cd "$(dirname "$0")/.." && pwd)
# the logs of the cases that failed, last, so that whatever keeps only the
# end of this output keeps them
show_failed() { # BUILDDIR
	local trs
	for trs in "$1"/tests/*/*.trs; do
		grep -q '^:test-result: \(FAIL\|ERROR\)' "$trs" 2> /dev/null || continue
		echo "==== ${trs%.trs}.log (failed; its last 150 lines)"
		tail -n 150 "${trs%.trs}.log"
	done
}
sh "$src/contrib/install-deps.sh"
sh "$src/contrib/build.sh" "$src/build"
stamp "test suite (build/), $jobs cases at a time"
make -C "$src/build" -j"$jobs" check || { show_failed "$src/build"; exit 1; }

# The POSIX, crash, database and tiering cases again with FUSE requests over
# io_uring (-o transport=uring), which root turns on in the kernel for this
# pass; the old setting is put back whatever happens.
uring_param=/sys/module/fuse/parameters/enable_uring
uring_cases="integration/0010-syscalls.sh integration/0020-permissions.sh \
integration/0070-kill-recovery.sh integration/0100-sqlite-crash.sh integration/0130-sqlite.sh \
integration/0140-postgres.sh integration/0150-rocksdb.sh integration/0170-tiering.sh \
integration/0185-buffered-enospc.sh"
uring_pass() { # BUILDDIR CASES [environment...]
	local b=$1 cases=$2 old rc=0
	shift 2
	old=$(cat "$uring_param")
	echo Y > "$uring_param"
	env "$@" TFS_TRANSPORT=uring make -C "$b" check TESTS="$cases" || rc=$?
	echo "$old" > "$uring_param"
	[ "$rc" = 0 ] || { show_failed "$b"; return 1; }
}
if [ -w "$uring_param" ]; then
	stamp "the same cases over FUSE io_uring (build/)"
	uring_pass "$src/build" "$uring_cases" TFS_KILL_CYCLES=10 || exit 1
else
	echo "== this kernel has no FUSE over io_uring ($uring_param): that pass is skipped"
fi
if [ -z "${TFS_NO_SANITIZERS:-}" ]; then
	sh "$src/contrib/build.sh" "$src/build-asan" --enable-sanitizers
	stamp "test suite under AddressSanitizer + UBSan (build-asan/), $jobs cases at a time"
	# the sanitized daemon is slower: the big-file case writes 1 GiB instead of
	# 2, the database cases do half the work, and the crash loops (30 + 20 +
	# 20 cycles in the first pass) run fewer cycles, to keep CI well under 30
	# minutes.  A detached daemon has no stderr: sanitizer reports go to
	# files, and any report fails the run.
	rm -rf "$src/build-asan/sanitizer" && mkdir -p "$src/build-asan/sanitizer"
	# (librados's own allocations are not ours: tests/lsan.supp)
	export LSAN_OPTIONS="suppressions=$src/tests/lsan.supp:print_suppressions=0"
	ASAN_OPTIONS="detect_leaks=1:log_path=$src/build-asan/sanitizer/asan" \
	UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$src/build-asan/sanitizer/ubsan" \
		TFS_SCALE=2 TFS_KILL_CYCLES=10 TFS_PMEM_KILL_CYCLES=6 TFS_CKPT_KILL_CYCLES=6 TFS_ZNS_KILL_CYCLES=8 \
		make -C "$src/build-asan" -j"$jobs" check ||
		{ cat "$src"/build-asan/sanitizer/* 2>/dev/null; show_failed "$src/build-asan"; exit 1; }
	if [ -w "$uring_param" ]; then
		stamp "io_uring cases under AddressSanitizer + UBSan (build-asan/)"
		uring_pass "$src/build-asan" "integration/0010-syscalls.sh integration/0170-tiering.sh integration/0185-buffered-enospc.sh" \
			ASAN_OPTIONS="detect_leaks=1:log_path=$src/build-asan/sanitizer/asan" \
			UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$src/build-asan/sanitizer/ubsan" ||
			{ cat "$src"/build-asan/sanitizer/* 2>/dev/null; exit 1; }
	fi
	if ls "$src"/build-asan/sanitizer/* > /dev/null 2>&1; then
		echo "sanitizer reports:"; cat "$src"/build-asan/sanitizer/*; exit 1
	fi
fi
secs=${TFS_FUZZ_SECS:-30}
if [ "$secs" != 0 ]; then
	stamp "fuzz targets, $secs s each (tests/fuzz/run.sh)"
	bash "$src/tests/fuzz/run.sh" "$secs" || { [ $? = 77 ] || exit 1; }
fi
stamp "all tests passed"
