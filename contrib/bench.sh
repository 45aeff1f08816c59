#!/bin/bash
# contrib/bench.sh DIR - tierfs against the raw backing storage, same run.
#
# Formats a pool of one file-backed device in DIR, mounts it on DIR/mnt, and
# runs each contrib/fio job twice: on DIR/mnt/testfile and on DIR/raw/testfile
# (a plain file on the file system that holds the pool image).  Prints
# bandwidth or IOPS of both and the ratio tierfs/raw.  Then runs metabench
# (10,000 small files) on both, and on libfuse's passthrough_hp over the same
# file system when TFS_PHP names its binary (contrib/passthrough-hp.sh builds
# it), with tierfs's rate against it.  TFS_TRANSPORT=uring|dev|auto mounts
# tierfs with -o transport=.  Needs root and fio.  Not part of the tests.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: bench.sh DIR}
bin=${TFS_BIN:-$src/build/src}
mb=${TFS_METABENCH:-$src/build/contrib/metabench}
command -v fio > /dev/null || { echo "bench: fio is not installed" >&2; exit 1; }
[ -x "$bin/tierfs" ] || sh "$src/contrib/build.sh" "$src/build"
mkdir -p "$dir/mnt" "$dir/raw"
mountpoint -q "$dir/mnt" && umount "$dir/mnt" && sleep 1
rm -f "$dir/pool.img" "$dir/raw/testfile"
"$bin/mkfs.tierfs" --force --block "$dir/pool.img:${TFS_BENCH_SIZE:-4G}" > /dev/null
"$bin/tierfs" ${TFS_TRANSPORT:+-o transport=$TFS_TRANSPORT} "$dir/pool.img" "$dir/mnt"
trap 'umount "$dir/mnt" 2>/dev/null || true; umount "$dir/php" 2>/dev/null || true' EXIT

# terse v3: field 7/8 read KiB/s and IOPS, 48/49 write KiB/s and IOPS
run() { # JOB FILE -> "kib_s iops" of the job's direction
	local out
	out=$(fio --output-format=terse --terse-version=3 --filename="$2" "$1" | tail -1)
	case "$1" in
	*write*) echo "$out" | awk -F';' '{print $48, $49}' ;;
	*) echo "$out" | awk -F';' '{print $7, $8}' ;;
	esac
}

printf '%-22s %14s %14s %7s\n' job raw tierfs ratio
for job in seq-write-1m seq-read-1m rand-read-4k-qd32 rand-write-4k-fsync; do
	f=$src/contrib/fio/$job.fio
	case $job in
	seq-read-1m) # lay the files out first
		fio --output-format=terse --filename="$dir/raw/testfile" "$src/contrib/fio/seq-write-1m.fio" > /dev/null
		fio --output-format=terse --filename="$dir/mnt/testfile" "$src/contrib/fio/seq-write-1m.fio" > /dev/null ;;
	esac
	read -r rbw riops < <(run "$f" "$dir/raw/testfile")
	read -r tbw tiops < <(run "$f" "$dir/mnt/testfile")
	case $job in
	seq-*) printf '%-22s %9.0f MiB/s %9.0f MiB/s %7.2f\n' "$job" "$(echo "$rbw/1024" | bc -l)" \
		"$(echo "$tbw/1024" | bc -l)" "$(echo "$tbw/$rbw" | bc -l)" ;;
	*) printf '%-22s %10.0f IOPS %10.0f IOPS %7.2f\n' "$job" "$riops" "$tiops" \
		"$(echo "$tiops/$riops" | bc -l)" ;;
	esac
done
rm -f "$dir/raw/testfile" "$dir/mnt/testfile"

if [ -x "$mb" ]; then
	mkdir -p "$dir/raw/meta" "$dir/mnt/meta"
	rm -rf "$dir/raw/meta/"* "$dir/phpsrc" && mkdir -p "$dir/phpsrc" "$dir/php"
	"$mb" "$dir/raw/meta" 10000 > "$dir/meta.raw"
	"$mb" "$dir/mnt/meta" 10000 > "$dir/meta.tfs"
	if [ -n "${TFS_PHP:-}" ] && [ -x "$TFS_PHP" ]; then
		# passthrough_hp of a directory on the same file system as raw/
		"$TFS_PHP" "$dir/phpsrc" "$dir/php" > "$dir/php.log" 2>&1 &
		for _ in $(seq 50); do mountpoint -q "$dir/php" && break; sleep 0.1; done
		mkdir -p "$dir/php/meta"
		"$mb" "$dir/php/meta" 10000 > "$dir/meta.php"
		umount "$dir/php"
		printf '\n%-22s %12s %15s %12s %8s %8s\n' "10,000 files" "raw ops/s" "passthrough_hp" "tierfs" "/raw" "/php"
		paste "$dir/meta.raw" "$dir/meta.php" "$dir/meta.tfs" | while read -r op r _ p _ t; do
			printf '%-22s %12.0f %15.0f %12.0f %8.2f %8.2f\n' "$op" "$r" "$p" "$t" \
				"$(echo "$t/$r" | bc -l)" "$(echo "$t/$p" | bc -l)"
		done
	else
		printf '\n%-22s %14s %14s %7s\n' "10,000 files" "raw ops/s" "tierfs ops/s" ratio
		paste "$dir/meta.raw" "$dir/meta.tfs" | while read -r op r _ t; do
			printf '%-22s %14.0f %14.0f %7.2f\n' "$op" "$r" "$t" "$(echo "$t/$r" | bc -l)"
		done
	fi
fi
