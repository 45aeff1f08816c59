#!/bin/bash
# RocksDB on tierfs through db_bench (Debian's rocksdb-tools): fillrandom,
# overwrite, readrandom and verifychecksum, with direct reads and direct I/O
# for flush and compaction off and then on (O_DIRECT through FUSE); after a
# remount the database is opened again: every SST checksum verifies and a
# full scan (ldb) gives exactly what it gave before the unmount.  Skips (77) without db_bench.
. "$(dirname "$0")/lib/common.sh"
DBB=$(command -v db_bench) || skip "db_bench is not installed (Debian package rocksdb-tools)"
tfs_setup
NUM=${TFS_ROCKS_NUM:-$((100000 / TFS_SCALE))}
declare -A scan
command -v ldb > /dev/null || skip "ldb is not installed (Debian package rocksdb-tools)"
tfs_mkfs --pmem "$T/pmem.img:64M" --block "$T/a.img:2G"
tfs_mount "$T/a.img"
common="--seed=42 --num=$NUM --value_size=400 --compression_type=none --threads=1 --statistics=0
	--write_buffer_size=4194304 --target_file_size_base=4194304 --max_bytes_for_level_base=16777216"
for direct in false true; do
	db=$MNT/rocks-direct-$direct
	# shellcheck disable=SC2086
	"$DBB" --db="$db" $common --use_direct_reads=$direct --use_direct_io_for_flush_and_compaction=$direct \
		--benchmarks=fillrandom,overwrite,readrandom,verifychecksum > "$T/bench-$direct.out" 2>&1
	rc=$?
	[ $rc = 0 ] || tail -20 "$T/bench-$direct.out"
	check test $rc = 0 "db_bench fillrandom,overwrite,readrandom,verifychecksum (direct I/O $direct)"
	grep -E "^(fillrandom|overwrite|readrandom) " "$T/bench-$direct.out" | sed 's/^/# /'
	scan[$direct]=$(ldb --db="$db" scan --hex 2> /dev/null | sha256sum | cut -c1-32)
	note "$(ldb --db="$db" scan --hex 2> /dev/null | wc -l) keys, scan hash ${scan[$direct]}"
done
# the same seed: buffered and direct I/O must have built the same database
check test -n "${scan[false]}" -a "${scan[false]}" = "${scan[true]}" "direct I/O on and off give the same contents"
tfs_umount
tfs_mount "$T/a.img"
for direct in false true; do
	db=$MNT/rocks-direct-$direct
	# shellcheck disable=SC2086
	"$DBB" --db="$db" $common --use_existing_db=1 --use_direct_reads=$direct \
		--benchmarks=readrandom,verifychecksum > "$T/again-$direct.out" 2>&1
	rc=$?
	[ $rc = 0 ] || tail -20 "$T/again-$direct.out"
	check test $rc = 0 "after remount: readrandom and verifychecksum (direct I/O $direct)"
	got=$(ldb --db="$db" scan --hex 2> /dev/null | sha256sum | cut -c1-32)
	check test "$got" = "${scan[$direct]}" "after remount: a full scan gives the same keys and values (direct I/O $direct)"
done
tfs_umount
finish
