#!/bin/bash
# Either checkpoint slot may be damaged: the other one and the journal still
# give the whole pool.  Both damaged: a clear error, nothing mounted.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
FSCK=$TOP_BUILDDIR/src/fsck.tierfs
tfs_mkfs --block "$T/a.img:256M"
# geometry of a 256 MiB device (see mkfs.tierfs(8)): journal 4 MiB at 64 KiB,
# then checkpoint slots of 2 MiB
SLOT_A=$((65536 + 4 * 1048576)); SLOT_B=$((SLOT_A + 2 * 1048576))
damage() { printf 'garbage!' | dd of="$T/a.img" bs=1 seek=$(($1 + 16)) conv=notrunc status=none; }

tfs_mount "$T/a.img"
mkdir "$MNT/one" && echo first > "$MNT/one/f"
tfs_umount            # checkpoint 2 -> slot B
tfs_mount "$T/a.img"
mkdir "$MNT/two" && echo second > "$MNT/two/f"
sync "$MNT/two/f"
tfs_manifest "$MNT" > "$T/want"
tfs_umount            # checkpoint 3 -> slot A (newest)

damage $SLOT_A        # the newest
"$FSCK" -n "$T/a.img" > "$T/fsck.out" 2>&1
check test $? = 4 "fsck -n reports the damaged newest checkpoint"
tfs_mount "$T/a.img"
tfs_manifest "$MNT" > "$T/got"
check diff -u "$T/want" "$T/got" "older checkpoint + journal give the whole pool"
echo third > "$MNT/two/g"
tfs_manifest "$MNT" > "$T/want"
tfs_umount
tfs_mount "$T/a.img"
tfs_manifest "$MNT" > "$T/got"
check diff -u "$T/want" "$T/got" "and the pool goes on normally after it"
tfs_umount

damage $SLOT_B
tfs_mount "$T/a.img"
tfs_manifest "$MNT" > "$T/got"
check diff -u "$T/want" "$T/got" "damage in the other slot: still whole"
tfs_umount
"$FSCK" -n "$T/a.img" > "$T/fsck.out" 2>&1
check test $? = 0 "fsck clean after the mount rewrote the checkpoint"

damage $SLOT_A; damage $SLOT_B
"$TIERFS" "$T/a.img" "$MNT" 2> "$T/err"
check test $? = 1 "both slots damaged: mount refuses (exit 1)"
check grep -q 'no valid checkpoint' "$T/err" "and says why"
check bash -c "! mountpoint -q '$MNT'" "nothing mounted"
finish
