#!/bin/bash
# The zns tier on an emulated zoned device: bad geometries refused at mkfs;
# 32 zones of 4 MiB with 3.5 MiB capacity and 6 open zones, filled to 80 %,
# then overwritten 5 times over with random 256 KiB writes, migration on: no
# ENOSPC, every byte right, cleaning ran, write amplification within a bound
# (greedy cleaning of 30 zones of 14 chunks at 80 % costs about 3.7 counting
# the first fill) and the journaled counters at unmount (fsck reads them)
# equal to those after the remount; tierfsctl is root only; a zone whose
# write pointer was moved under the pool is reported by fsck.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
CTL=$TOP_BUILDDIR/src/tierfsctl
FSCK=$TOP_BUILDDIR/src/fsck.tierfs
command -v python3 > /dev/null || skip "python3 is needed"

refuse() { # WHAT-IN-MESSAGE mkfs args...
	local what=$1
	shift
	"$MKFS" "$@" > "$T/out" 2>&1
	local rc=$?
	check test "$rc" != 0 "mkfs refuses: $*"
	check grep -q -- "$what" "$T/out" "mkfs says: $what ($(head -c 160 "$T/out"))"
}
G="--zone-capacity 3584K --zones 32"
refuse "power of two" --zns "$T/z.img" --zone-size 3M --zones 32 --block "$T/a.img:16M"
refuse "not larger than the zone size" --zns "$T/z.img" --zone-size 4M --zone-capacity 5M --zones 32 --block "$T/a.img:16M"
refuse "max-open cannot be larger than max-active" --zns "$T/z.img" --zone-size 4M $G --max-open 8 --max-active 6 --block "$T/a.img:16M"
refuse "too few" --zns "$T/z.img" --zone-size 4M --zone-capacity 3584K --zones 5 --max-open 2 --max-active 2 --block "$T/a.img:16M"
refuse "cannot hold the journal" --zns "$T/z.img" --zone-size 4M $G
refuse "at least 2 open zones" --zns "$T/z.img" --zone-size 4M $G --max-open 1 --max-active 1 --block "$T/a.img:16M"
refuse "how many zones" --zns "$T/z.img" --zone-size 4M --block "$T/a.img:16M"

tfs_mkfs --zns "$T/z.img" --zone-size 4M $G --max-open 6 --max-active 6 --block "$T/a.img:16M"
check grep -q "32 zones of 4096 KiB (capacity 3584 KiB), max open 6, max active 6" "$T/mkfs.out" "mkfs shows the zone geometry"
tfs_mount "$T/a.img"
json() { "$CTL" status "$MNT" --json; }
zget() { json | python3 -c "import json,sys; d=[x for x in json.load(sys.stdin)['devices'] if x['tier']=='zns'][0]; print(d$1)"; }
cap=$(zget "['capacity_bytes']")
size=$((cap * 8 / 10 / 262144 * 262144))
note "zns data capacity $cap bytes; the file: $size bytes (80 %)"
head -c "$size" /dev/urandom > "$T/model"
# whole chunks (O_DIRECT, 1 MiB): buffered writes may reach the daemon cut
# anywhere, and partial chunks go to the block device
dd if="$T/model" of="$MNT/f" bs=1M oflag=direct conv=fsync status=none
check cmp -s "$T/model" "$MNT/f" "filled to 80 %"
used=$(zget "['used_bytes']")
check test "$used" -ge $((size * 9 / 10)) "the data is in zones ($used bytes)"
DIRECT=1 python3 "$(dirname "$0")/overwrite.py" "$MNT/f" "$T/model" 5 2>"$T/ow.err"
rc=$?
[ -s "$T/ow.err" ] && cat "$T/ow.err"
check test $rc = 0 "5 overwrite passes of random 256 KiB writes, no error (no ENOSPC)"
check cmp -s "$T/model" "$MNT/f" "every byte right after the overwrites"
# the cleaner goes on after the last write until enough zones are free or
# no sealed zone has garbage left to take; migration (chunks that spilled to
# block going back into the zones) makes it run again, so the plan is
# finished first
"$CTL" migrate "$MNT" --wait > /dev/null
check test $? = 0 "tierfsctl migrate --wait finishes the plan"
for i in $(seq 600); do
	[ "$(zget "['cleaning']")" = idle ] && break
	sleep 0.1
done
check test "$(zget "['cleaning']")" = idle "the cleaner comes to rest after the writes"
[ "$(zget "['cleaning']")" = idle ] || "$CTL" status "$MNT" --json
"$CTL" status "$MNT"
wa=$(zget "['write_amplification']")
cleaned=$(zget "['cleaned_zones']")
note "write amplification $wa, $cleaned zones cleaned"
echo "ZNS write amplification (80 % full, uniform 256 KiB overwrites): $wa"
check python3 -c "import sys; sys.exit(0 if 1.0 < $wa <= 5.0 else 1)" "write amplification above 1 (cleaning copied), at most 5: $wa"
check test "$cleaned" -gt 0 "zones were cleaned"
check test "$(zget "['zones']['implicit_open'] + d['zones']['explicit_open']")" -le 6 "no more than 6 zones open"
# root only
if command -v setpriv > /dev/null; then
	setpriv --reuid 65534 --regid 65534 --clear-groups "$CTL" status "$MNT" > "$T/np.out" 2>&1
	check test $? != 0 "tierfsctl refuses a user who is not root"
fi
"$CTL" where "$MNT/f" --json > "$T/where.json"
check python3 -c "import json,sys; d=json.load(open('$T/where.json')); n=sum(e['chunks'] for e in d['extents']); sys.exit(0 if n == d['chunks'] == $size // 262144 and d['tiers']['zns']['chunks'] > 0 else 1)" "tierfsctl where accounts for every chunk of the file"
tfs_umount
"$FSCK" -n "$T/a.img" > "$T/fsck.out" 2>&1
check test $? = 0 "fsck clean after the overwrites"
# what the unmount journaled, as fsck reads it
at_umount=$(sed -n 's/.*write amplification [0-9.]* (\([0-9]*\) bytes written for \([0-9]*\) bytes of user data).*/\1 \2/p' "$T/fsck.out")
check test -n "$at_umount" "fsck reports the zone counters ($(grep -m1 "write amplification" "$T/fsck.out"))"
tfs_mount "$T/a.img"
at_mount="$(zget "['zone_bytes_written_at_mount']") $(zget "['user_bytes_written_at_mount']")"
check test "$at_umount" = "$at_mount" "the zone counters journaled at unmount ($at_umount) are those after the remount ($at_mount)"
check cmp -s "$T/model" "$MNT/f" "every byte right after a remount"
tfs_umount
# tamper: reset a zone holding live data behind the pool's back
z=$("$HELPERS/zonectl" "$T/z.img" live-zone)
check test -n "$z" "a full zone to tamper with"
"$HELPERS/zonectl" "$T/z.img" reset "$z"
"$FSCK" -n "$T/a.img" > "$T/fsck.out" 2>&1
rc=$?
cat "$T/fsck.out" | head -5
check test $rc = 4 "fsck reports the moved write pointer (exit $rc)"
check grep -q "write pointer" "$T/fsck.out" "fsck names the write pointer"
finish
