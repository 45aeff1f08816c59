#!/bin/bash
# The real zoned backend (io/backend_zns.c), on a host-managed zoned block
# device played by the stand-in kernel (io/zbd_standin.c, TIERFS_ZBD_STANDIN):
# mkfs selects it by what the path is and resets its zones, the pool mounts
# and appends through the ring, a remount checks write pointers, and the
# error paths run: a write pointer moved under the pool, a zone gone
# READONLY (retired, its data moved out), resets that fail (retried; three
# in a row retire the zone), a SIGKILL in the middle of appends, a zone gone
# OFFLINE (retired, its data reported lost) and a live zone reset behind the
# pool's back (found by fsck).
. "$(dirname "$0")/lib/common.sh"
tfs_setup
CTL=$TOP_BUILDDIR/src/tierfsctl
FSCK=$TOP_BUILDDIR/src/fsck.tierfs
ZC=$HELPERS/zonectl
command -v python3 > /dev/null || skip "python3 is needed"

export TIERFS_ZBD_STANDIN=$T/zbd.img
# 64 zones of 8 MiB with 7 MiB capacity, 8 open and 12 active
"$ZC" "$T/zbd.img" create 64 8192 7168 8 12 || fail "making the stand-in device"
check test "$("$ZC" "$T/zbd.img" backend)" = zns "the stand-in device is driven by the real zoned backend"

"$MKFS" --zns "$T/zbd.img" --zone-size 8M --zones 64 --block "$T/a.img:256M" > "$T/out" 2>&1
check test $? != 0 "mkfs refuses zone geometry options for a real zoned device"
check grep -q "reports its own zone geometry" "$T/out" "mkfs says why ($(head -c 120 "$T/out"))"
"$ZC" "$T/zbd.img" poke 5 wp=1024
tfs_mkfs --zns "$T/zbd.img" --block "$T/a.img:256M"
check grep -q "64 zones of 8192 KiB (capacity 7168 KiB), max open 8, max active 12$" "$T/mkfs.out" \
	"mkfs shows the device's own geometry, not an emulated one"
check test "$("$ZC" "$T/zbd.img" report | awk '$1 == 5 {print $2}')" = empty "mkfs reset a zone that held data"

tfs_mount "$T/a.img" -o migrate=0
json() { "$CTL" status "$MNT" --json; }
zget() { json | python3 -c "import json,sys; d=[x for x in json.load(sys.stdin)['devices'] if x['tier']=='zns'][0]; print(d$1)"; }
open_zone() { "$ZC" "$T/zbd.img" report | awk '$2 == "implicit_open" {print $1; exit}'; }
full_zones() { "$ZC" "$T/zbd.img" report | awk '$1 >= 2 && $2 == "full" {print $1}'; }
check test "$(zget "['backend']")" = zns "tierfsctl status names the real backend"
# honest space: the free zones kept for the cleaner are not free to users
reserve=$(zget "['cleaner_reserve_bytes']")
check test "$reserve" -gt 0 "status shows the cleaner's reserve ($reserve bytes)"
check python3 -c "
import json, os, subprocess, sys
d = json.loads(subprocess.check_output(['$CTL', 'status', '$MNT', '--json']))['devices']
room = sum(x['capacity_bytes'] - x['used_bytes'] for x in d)
sv = os.statvfs('$MNT')
sys.exit(0 if sv.f_bfree * sv.f_frsize + $reserve <= room else 1)" "df does not count the cleaner's reserve as free"
head -c $((48 << 20)) /dev/urandom > "$T/m1"
dd if="$T/m1" of="$MNT/f1" bs=1M oflag=direct conv=fsync status=none
check cmp -s "$T/m1" "$MNT/f1" "48 MiB appended into zones"
check test "$(zget "['used_bytes']")" -ge $((48 << 20)) "the data is in zones"

# a write pointer moved under the pool: the next append there fails, the
# zone is finished, the data goes elsewhere
z=$(open_zone)
check test -n "$z" "a zone is open after the writes"
wp=$("$ZC" "$T/zbd.img" report | awk -v z="$z" '$1 == z {print $3}')
"$ZC" "$T/zbd.img" poke "$z" "wp=$((wp + 256))"
head -c $((8 << 20)) /dev/urandom > "$T/m2"
dd if="$T/m2" of="$MNT/f2" bs=1M oflag=direct conv=fsync status=none
check test $? = 0 "writes go on after an append off the write pointer"
check cmp -s "$T/m2" "$MNT/f2" "and their data is right"
check test "$(zget "['zones_retired']")" = 0 "a zone with a moved write pointer is not retired"

# a zone gone read-only while mounted: found at the next append, retired,
# its live data moved out by the cleaner, no write lost
z=$(open_zone)
check test -n "$z" "a zone is open"
"$ZC" "$T/zbd.img" poke "$z" readonly
head -c $((8 << 20)) /dev/urandom > "$T/m3"
dd if="$T/m3" of="$MNT/f3" bs=1M oflag=direct conv=fsync status=none
check test $? = 0 "writes go on after a zone turned read-only"
check test "$(zget "['zones_retired']")" = 1 "the read-only zone is retired"
for i in $(seq 300); do
	[ "$(zget "['cleaned_chunks']")" -gt 0 ] && break
	sleep 0.1
done
check test "$(zget "['cleaned_chunks']")" -gt 0 "the cleaner moved the retired zone's live chunks out"
check cmp -s "$T/m1" "$MNT/f1" "f1 intact"
check cmp -s "$T/m3" "$MNT/f3" "f3 intact"

# resets that fail: retried; a zone that fails 3 times in a row is retired
r0=$(zget "['zone_resets']")
for z in $(full_zones); do "$ZC" "$T/zbd.img" poke "$z" fail-reset=1; done
rm -f "$MNT/f2"
"$CTL" checkpoint "$MNT" > /dev/null
for i in $(seq 300); do
	[ "$(zget "['zone_resets']")" -gt "$r0" ] && [ "$(zget "['zones_reclaimable']")" = 0 ] && break
	sleep 0.1
done
check test "$(zget "['zone_resets']")" -gt "$r0" "zones whose reset failed once are reset on a retry"
check test "$(zget "['zones_retired']")" = 1 "and are not retired"
for z in $(full_zones); do "$ZC" "$T/zbd.img" poke "$z" fail-reset=3; done
rm -f "$MNT/f3"
"$CTL" checkpoint "$MNT" > /dev/null
for i in $(seq 300); do
	[ "$(zget "['zones_retired']")" -gt 1 ] && break
	sleep 0.1
done
check test "$(zget "['zones_retired']")" -gt 1 "a zone whose reset fails 3 times in a row is retired"
# a zone retired for its resets gets another chance at the next mount;
# the device's READONLY zone stays retired
for z in $(full_zones); do "$ZC" "$T/zbd.img" poke "$z" fail-reset=0; done
tfs_umount
"$FSCK" -n "$T/a.img" > "$T/fsck.out" 2>&1
check test $? = 0 "fsck: a retired zone with nothing lost is no problem"
grep -q " 1 retired" "$T/fsck.out" || cat "$T/fsck.out"
check grep -q " 1 retired" "$T/fsck.out" "fsck counts the read-only zone as retired"

# a remount reads the write pointers back through the backend
tfs_mount "$T/a.img" -o migrate=0
check cmp -s "$T/m1" "$MNT/f1" "f1 intact after a remount"
check test "$(zget "['zones_retired']")" = 1 "the read-only zone stays retired"
check test "$(zget "['zones_reclaimable']")" = 0 "zones that refused resets were reset at mount"

# a SIGKILL while appending: everything fsync'ed before it is there
head -c $((16 << 20)) /dev/urandom > "$T/m4"
dd if="$T/m4" of="$MNT/f4" bs=1M oflag=direct conv=fsync status=none
(while :; do dd if=/dev/urandom of="$MNT/junk" bs=1M count=8 oflag=direct status=none 2>/dev/null || exit 0; done) &
wl=$!
sleep 0.5
kill -9 "$DAEMON_PID"
wait "$wl" 2>/dev/null
umount "$MNT" 2>/dev/null || umount -l "$MNT"
tfs_wait_exit
tfs_mount "$T/a.img" -o migrate=0
check cmp -s "$T/m4" "$MNT/f4" "data fsync'ed before a SIGKILL survives on the real backend"
check cmp -s "$T/m1" "$MNT/f1" "and the older files too"

# a zone gone offline: its data cannot be read; found, retired, reported
tfs_umount
"$FSCK" --map "$T/a.img" > "$T/map" 2>&1
zsize=$((8 << 20))
z=$(awk -v zs=$zsize '$1 == "data" && $2 == 0 {print int($3 / zs); exit}' "$T/map")
check test -n "$z" "fsck --map names a zone holding live data"
tfs_mount "$T/a.img" -o migrate=0
"$ZC" "$T/zbd.img" poke "$z" offline
cat "$MNT"/f* "$MNT"/junk > /dev/null 2>&1
check test $? != 0 "reading data in an offline zone fails (EIO)"
check test "$(zget "['zones_retired']")" = 2 "the offline zone is retired"
check test "$(zget "['lost_chunks']")" -gt 0 "its live chunks are counted as lost"
tfs_umount
"$FSCK" -n "$T/a.img" > "$T/fsck.out" 2>&1
rc=$?
check test $rc = 4 "fsck reports data lost in an offline zone (exit $rc)"
check grep -q "offline zones" "$T/fsck.out" "fsck says where it was lost"

# a live zone reset behind the pool's back: found by fsck's mount-time check
z2=$(awk -v zs=$zsize -v z="$z" '$1 == "data" && $2 == 0 && int($3 / zs) != z {print int($3 / zs); exit}' "$T/map")
check test -n "$z2" "another zone holds live data"
"$ZC" "$T/zbd.img" reset "$z2"
"$FSCK" -n "$T/a.img" > "$T/fsck.out" 2>&1
check grep -q "write pointer" "$T/fsck.out" "fsck names the write pointer of a zone reset under the pool"
finish
