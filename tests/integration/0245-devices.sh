#!/bin/bash
# Devices added to and removed from a mounted pool (tierfsctl device):
# what is refused and why; a removal killed in the middle of its evacuation
# leaves every file identical and resumes after the remount; a removed
# device is no longer needed to mount; a crash between the superblock
# writes of a device table change mounts with the newest table.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
CTL=$TOP_BUILDDIR/src/tierfsctl
FSCK=$TOP_BUILDDIR/src/fsck.tierfs

# state DEV: "<state> <slots in use> <slots at start>"
state() {
	"$CTL" device list "$MNT" --json | python3 -c "
import json, sys
d = json.load(sys.stdin)['devices'][$1]
print(d['state'], d.get('slots_in_use', 0), d.get('slots_at_start', 0))"
}
ndev() { "$CTL" device list "$MNT" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["devices"]))'; }
gen() { "$CTL" device list "$MNT" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }

tfs_mkfs --pmem "$T/p.img:32M" --block "$T/b1.img:128M"
tfs_mount "$T/b1.img"
mkdir -p "$MNT/d/e"
for i in 1 2 3; do head -c $((14 * 1024 * 1024 + i * 4096)) /dev/urandom > "$MNT/d/f$i"; done
head -c 5M /dev/urandom > "$MNT/d/e/g"
ln -s f1 "$MNT/d/link"
setfattr -n user.k -v v "$MNT/d/f2"
sync
tfs_manifest "$MNT" > "$T/m0"

# --- refusals
check expect_failure "journal and checkpoint" "$CTL" device remove "$MNT" "$T/p.img" \
	"the metadata device cannot be removed"
check expect_failure "room for" "$CTL" device remove "$MNT" 1 \
	"removing the only block device is refused while pmem cannot hold its chunks"
check test "$(state 1)" = "active 0 0" "and it stays active"
check expect_failure "No such file" "$CTL" device add "$MNT" "$T/nothing.img" "a missing path is refused"
check expect_failure "already" "$CTL" device add "$MNT" "$T/b1.img" "a device of the pool is refused"
truncate -s 64M "$T/x.img"
mkfs.ext4 -q -F "$T/x.img"
check expect_failure "ext2/3/4.*--force" "$CTL" device add "$MNT" "$T/x.img" \
	"a device holding a file system needs --force"
check test "$(ndev)" = 2 "nothing was added by the refused requests"
check expect_failure "permission denied" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$CTL" device add "$MNT" "$T/x.img" --force "only root may add devices"

# --- add
truncate -s 128M "$T/b2.img"
check "$CTL" device add "$MNT" "$T/b2.img" "a block device is added to the mounted pool"
check test "$(state 2)" = "active 0 0" "it is device 2, active"
g1=$(gen)
head -c 12M /dev/urandom > "$T/new"
cp "$T/new" "$MNT/new"
sync
"$CTL" where "$MNT/new" --json > "$T/where"
check grep -q '"device": 2' "$T/where" "new data lands on the new device"
tfs_manifest "$MNT" > "$T/m0"
tfs_umount
tfs_mount "$T/p.img"
check test "$(ndev)" = 3 "the new device is found at the next mount (by the path in the table)"
check test "$(tfs_manifest "$MNT")" = "$(cat "$T/m0")" "and every file reads back"

# --- remove, killed in the middle of the evacuation
"$CTL" policy "$MNT" migrate_mbps=4 batch=4 > /dev/null
"$CTL" device remove "$MNT" "$T/b1.img" > "$T/out"
check grep -q "being emptied" "$T/out" "the removal starts"
# keep what a crash between the superblock writes of the next change
# would leave on b1 and b2: this table (b1 draining)
dd if="$T/b1.img" of="$T/b1.sb" bs=16k count=1 status=none
dd if="$T/b2.img" of="$T/b2.sb" bs=16k count=1 status=none
read -r st used total < <(state 1)
check test "$st" = draining "device 1 is draining"
check test "$total" -gt 40 "with its chunks counted ($total slots)"
# slots are freed only by the commit after a batch of moves: wait until
# one is durable, then kill the daemon (at 4 MB/s the rest takes seconds)
for i in $(seq 1 600); do
	read -r st used total < <(state 1)
	[ "$used" -lt "$total" ] && break
	sleep 0.1
done
check test "$used" -lt "$total" "some chunks moved ($((total - used)) slots freed)"
kill -9 "$DAEMON_PID"
umount "$MNT" 2>/dev/null || umount -l "$MNT"
tfs_wait_exit
tfs_mount "$T/p.img"
read -r st used2 total2 < <(state 1)
check test "$st" = draining "after the crash device 1 is still draining"
check test "$used2" -gt 0 "with chunks left ($used2)"
check test "$(tfs_manifest "$MNT")" = "$(cat "$T/m0")" "every file is identical after the crash"
"$CTL" device remove "$MNT" 1 --wait --timeout 120 > "$T/out" 2>&1
check grep -q "device 1 removed" "$T/out" "the evacuation resumes and ends with --wait"
check test "$(state 1)" = "removed 0 0" "device 1 is removed"
check test "$(tfs_manifest "$MNT")" = "$(cat "$T/m0")" "every file is identical after the removal"
g2=$(gen)
check test "$g2" -gt "$g1" "the device table generation went up ($g1 -> $g2)"
tfs_umount
check expect_failure "not a tierfs device" "$TIERFS" "$T/b1.img" "$MNT" \
	"the removed device's superblocks are erased"
"$FSCK" -n "$T/p.img" > "$T/fsck" 2>&1
check test $? = 0 "fsck finds nothing wrong"
check grep -q "device 1 block.*removed" "$T/fsck" "and lists device 1 as removed"

# --- a crash between the superblock writes of the last change: b1 and b2
# still hold the draining table, the metadata device the newest one
dd if="$T/b1.sb" of="$T/b1.img" bs=16k conv=notrunc status=none
dd if="$T/b2.sb" of="$T/b2.img" bs=16k conv=notrunc status=none
tfs_mount "$T/b2.img"
check test "$(state 1)" = "removed 0 0" "mounted through an older table, the newest one wins"
check test "$(gen)" = "$g2" "generation $g2"
check test "$(tfs_manifest "$MNT")" = "$(cat "$T/m0")" "every file is identical"
tfs_umount
mv "$T/b1.img" "$T/b1.gone"
tfs_mount "$T/b2.img"
check test "$(tfs_manifest "$MNT")" = "$(cat "$T/m0")" "the pool mounts without the removed device"
tfs_umount
check expect_failure "removed from its pool" "$TIERFS" "$T/b1.gone" "$MNT" \
	"the old device, still holding the draining table, is told it was removed"

# --- a zoned device: added (a file gets emulated zones), used, kept across
# a remount, removed
tfs_mount "$T/b2.img"
truncate -s 256M "$T/z.img"
check "$CTL" device add "$MNT" "$T/z.img" --tier zns --zone-size 8 "a file is added as a zoned device"
check test "$(state 3)" = "active 0 0" "it is device 3"
check "$CTL" pin "$MNT/d/f1" zns --wait "a file pinned to zns moves there"
cat > "$T/ow.py" << 'PY'
import os, random, sys
fd = os.open(sys.argv[1], os.O_RDWR)
size = os.fstat(fd).st_size
random.seed(7)
for i in range(100):
    os.pwrite(fd, bytes([i]) * 8192, random.randrange(0, size - 8192) & ~4095)
os.fsync(fd)
PY
python3 "$T/ow.py" "$MNT/d/f1"
tfs_manifest "$MNT" > "$T/m1"
tfs_umount
"$FSCK" -n "$T/p.img" > "$T/fsck" 2>&1
check test $? = 0 "fsck finds nothing wrong with the zoned device's table in the block device's slots"
tfs_mount "$T/p.img"
check test "$(tfs_manifest "$MNT")" = "$(cat "$T/m1")" "every file is identical after a remount"
"$CTL" device remove "$MNT" "$T/z.img" --wait --timeout 120 > "$T/out" 2>&1
check grep -q "device 3 removed" "$T/out" "the zoned device is emptied and removed"
check test "$(tfs_manifest "$MNT")" = "$(cat "$T/m1")" "every file is identical"
tfs_umount
rm "$T/z.img"
"$FSCK" -n "$T/p.img" > "$T/fsck" 2>&1
check test $? = 0 "fsck finds nothing wrong without it"
tfs_mount "$T/p.img"
check test "$(tfs_manifest "$MNT")" = "$(cat "$T/m1")" "and the pool mounts without it"

# --- a device that holds no part of the metadata log (b2 does): its
# removal ends all the same
truncate -s 128M "$T/b3.img"
"$CTL" device add "$MNT" "$T/b3.img" > /dev/null
head -c 40M /dev/urandom > "$MNT/d/striped"
sync
"$CTL" device list "$MNT" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["devices"][4]["used_bytes"])' > "$T/u3"
check test "$(cat "$T/u3")" -gt 0 "new data is striped onto the added block device too ($(cat "$T/u3") bytes)"
tfs_manifest "$MNT" > "$T/m2"
"$CTL" device remove "$MNT" "$T/b3.img" --wait --timeout 120 > "$T/out" 2>&1
check grep -q "device 4 removed" "$T/out" "it is emptied and removed: $(tail -1 "$T/out")"
check test "$(tfs_manifest "$MNT")" = "$(cat "$T/m2")" "every file is identical"
tfs_umount
rm "$T/b3.img"
tfs_mount "$T/p.img"
check test "$(tfs_manifest "$MNT")" = "$(cat "$T/m2")" "and after a remount without it"
tfs_umount
finish
