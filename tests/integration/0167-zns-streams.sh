#!/bin/bash
# Zone streams and zone copies on a pmem + zns + block pool (migration on):
# - a chunk promoted out of a zone keeps its zone copy while unchanged, and
#   demoting it again writes nothing; a changed chunk loses its copy and is
#   written; a removed file's copies go; the cleaner drops copies instead of
#   moving them;
# - new data goes to zone streams by lifetime: log names (pg_wal/, *.log)
#   to SHORT, *.sst to LONG, others to USER; a chunk rewritten soon after it
#   was written to SHORT; after a remount (ages unknown) the names decide;
# - bytes per stream add up to the device's, and every byte reads back.
# Every count checked is exact: nothing else writes into the zones.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
CTL=$TOP_BUILDDIR/src/tierfsctl
FSCK=$TOP_BUILDDIR/src/fsck.tierfs
command -v python3 > /dev/null || skip "python3 is needed"

P=/dev/shm/tierfs-0167-$$.img
trap 'rc=$?; rm -f "$P"; tfs_cleanup $rc' EXIT
tfs_mkfs --force --pmem "$P:32M" --zns "$T/z.img" --zone-size 4M --zone-capacity 3584K --zones 32 \
	--max-open 8 --max-active 8 --block "$T/b.img:64M"
tfs_mount "$P"

C=262144 # chunk
zx() { "$CTL" status "$MNT" --json | python3 -c "import json,sys; d=[x for x in json.load(sys.stdin)['devices'] if x['tier']=='zns'][0]; print($1)"; }
zget() { zx "d$1"; }
sget() { zget "['streams'][[s['name'] for s in d['streams']].index('$1')]['$2']"; }
on() { "$CTL" where "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['tiers']['$2']['chunks'])"; }
put() { # FILE CHUNKS: random data, O_DIRECT whole chunks, and a copy in $T
	head -c $(($2 * C)) /dev/urandom > "$T/$(basename "$1").model"
	dd if="$T/$(basename "$1").model" of="$1" bs=$C oflag=direct status=none
}
same() { cmp -s "$T/$(basename "$1").model" "$1"; }

# ---- zone copies: a file of one zone's worth, pinned to zns
mkdir "$MNT/z"
"$CTL" pin "$MNT/z" zns > /dev/null
put "$MNT/z/cp" 14
check test "$(on "$MNT/z/cp" zns)" = 14 "14 chunks in zones"
z0=$(zget "['zone_bytes_written']")
"$CTL" pin "$MNT/z/cp" pmem --wait > /dev/null
check test "$(on "$MNT/z/cp" pmem)" = 14 "promoted to pmem"
check test "$(zget "['zone_copies_kept']")" = 14 "the zone copies are kept"
check same "$MNT/z/cp" "data right in pmem"
"$CTL" pin "$MNT/z/cp" zns --wait > /dev/null
check test "$(on "$MNT/z/cp" zns)" = 14 "demoted to zns"
check test "$(zget "['zone_bytes_written']")" = "$z0" "the demotion wrote nothing into the zones"
check test "$(zget "['zone_copies_reused']")" = 14 "all 14 copies reused"
check test "$(zget "['zone_copies_kept']")" = 0 "no copy left"
check same "$MNT/z/cp" "data right after coming back to its zone copies"
# a chunk changed on pmem loses its copy; demoting it costs one chunk
"$CTL" pin "$MNT/z/cp" pmem --wait > /dev/null
dd if=/dev/urandom of="$T/one" bs=$C count=1 status=none
dd if="$T/one" of="$MNT/z/cp" bs=$C seek=3 conv=notrunc oflag=direct status=none
dd if="$T/one" of="$T/cp.model" bs=$C seek=3 conv=notrunc status=none
check test "$(zget "['zone_copies_kept']")" = 13 "the changed chunk's copy is dropped"
check test "$(zget "['zone_copies_dropped']")" = 1 "and counted"
"$CTL" pin "$MNT/z/cp" zns --wait > /dev/null
check test "$(zget "['zone_bytes_written']")" = $((z0 + C)) "demoting it wrote one chunk"
check test "$(zget "['zone_copies_reused']")" = 27 "13 more copies reused"
check same "$MNT/z/cp" "data right, the changed chunk too"
# copies of a file that goes
"$CTL" pin "$MNT/z/cp" pmem --wait > /dev/null
check test "$(zget "['zone_copies_kept']")" = 14 "copies kept again"
rm "$MNT/z/cp"
# the chunks go when the kernel forgets the inode, which it sends on its own
for i in $(seq 1 100); do [ "$(zget "['zone_copies_kept']")" = 0 ] && break; sleep 0.1; done
check test "$(zget "['zone_copies_kept']")" = 0 "a removed file leaves no copy"
check test "$(zget "['zone_copies_dropped']")" = 15 "its 14 copies dropped"
put "$MNT/z/cp2" 14

# ---- streams by name: pg_wal/ and *.log short, *.sst long, the rest user
declare -A b0
for s in user short long clean; do b0[$s]=$(sget $s user_bytes_written); done
mkdir -p "$MNT/z/db/pg_wal"
put "$MNT/z/db/pg_wal/000000010000000000000001" 4
put "$MNT/z/db/000007.log" 4
put "$MNT/z/db/000042.sst" 8
put "$MNT/z/db/table" 4
check test $(($(sget short user_bytes_written) - b0[short])) = $((2 << 20)) "pg_wal/ and *.log went to the short stream"
check test $(($(sget long user_bytes_written) - b0[long])) = $((2 << 20)) "*.sst went to the long stream"
check test $(($(sget user user_bytes_written) - b0[user])) = $((1 << 20)) "the rest to the user stream"
# by lifetime: a chunk rewritten right after it was written is short-lived
s0=$(sget short user_bytes_written)
dd if=/dev/urandom of="$T/one" bs=$C count=1 status=none
dd if="$T/one" of="$MNT/z/db/table" bs=$C seek=1 conv=notrunc oflag=direct status=none
dd if="$T/one" of="$T/table.model" bs=$C seek=1 conv=notrunc status=none
check test $(($(sget short user_bytes_written) - s0)) = $C "a chunk rewritten soon goes to the short stream"
# (each side of these sums from one status: the cleaner may be running)
check test "$(zx "d['zone_bytes_written'] - d['zone_bytes_written_at_mount'] == sum(s['zone_bytes_written'] for s in d['streams']) + d['cleaning_evicted_bytes']")" = True \
	"what the streams wrote and cleaning evicted adds up to the device's count since mount"
"$CTL" status "$MNT" | grep -q "per stream" || fail "tierfsctl status shows the streams"

# after a remount ages are unknown: the names decide
tfs_umount
tfs_mount "$P"
for f in 000042.sst table pg_wal/000000010000000000000001; do
	dd if=/dev/urandom of="$T/one" bs=$C count=1 status=none
	dd if="$T/one" of="$MNT/z/db/$f" bs=$C seek=0 conv=notrunc oflag=direct status=none
	dd if="$T/one" of="$T/$(basename "$f").model" bs=$C seek=0 conv=notrunc status=none
done
check test "$(sget long user_bytes_written)" = $C "after a remount: *.sst to the long stream"
check test "$(sget user user_bytes_written)" = $C "the unnamed file to the user stream"
check test "$(sget short user_bytes_written)" = $C "pg_wal/ to the short stream"
for f in db/pg_wal/000000010000000000000001 db/000007.log db/000042.sst db/table cp2; do
	check same "$MNT/z/$f" "$f reads back"
done

# ---- the cleaner drops copies rather than moving them
"$CTL" pin "$MNT/z/cp2" pmem --wait > /dev/null
kept=$(zget "['zone_copies_kept']")
check test "$kept" = 14 "copies kept before the zones fill"
d0=$(zget "['zone_copies_dropped']")
cap=$(zget "['capacity_bytes']")
size=$((cap * 75 / 100 / C * C))
head -c "$size" /dev/urandom > "$T/big.model"
dd if="$T/big.model" of="$MNT/z/big" bs=1M oflag=direct status=none
DIRECT=1 python3 "$(dirname "$0")/overwrite.py" "$MNT/z/big" "$T/big.model" 3 || fail "overwrites"
check test "$(zget "['cleaned_zones']")" -gt 0 "zones were cleaned"
check test "$(zget "['zone_copies_kept']")" = 0 "the cleaner dropped every copy it met"
check test $(($(zget "['zone_copies_dropped']") - d0)) = "$kept" "all $kept counted as dropped"
check test "$(zx "sum(s['cleaned_bytes'] for s in d['streams']) == d['cleaned_chunks'] * $C")" = True "what cleaning moved adds up over the streams"
check same "$MNT/z/big" "the overwritten file reads back"
check same "$MNT/z/cp2" "the promoted file reads back"
tfs_umount
"$FSCK" -n "$P" > "$T/fsck.out" 2>&1
check test $? = 0 "fsck clean"
finish
