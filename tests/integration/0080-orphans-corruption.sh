#!/bin/bash
# A file unlinked while open, then the daemon killed: fsck reports the orphan
# and its space comes back at the next mount.  A byte flipped in a file's data
# on the device: reading that range is EIO, the rest of the pool stays
# readable, fsck --scrub names it.  A damaged superblock copy: fsck -y
# rewrites it.
FSCK=${FSCK:-$TOP_BUILDDIR/src/fsck.tierfs}
. "$(dirname "$0")/lib/common.sh"
tfs_setup
tfs_mkfs --block "$T/a.img:256M"

tfs_mount "$T/a.img" -o commit=60
free0=$(df -B1M --output=avail "$MNT" | tail -1)
dd if=/dev/urandom of="$MNT/orphan" bs=1M count=40 conv=fsync status=none
exec 3< "$MNT/orphan"
rm "$MNT/orphan"
: > "$MNT/sync-me" && dd if=/dev/null of="$MNT/sync-me" conv=fsync status=none  # commits the unlink
kill -9 "$DAEMON_PID"
exec 3<&-
umount "$MNT" 2>/dev/null || umount -l "$MNT"
tfs_wait_exit
"$FSCK" -n "$T/a.img" > "$T/fsck.out"
check test $? = 0 "fsck -n: an orphan left by a crash is recovery, not an error"
check grep -q 'orphan.*freed at the next mount' "$T/fsck.out" "fsck names the orphan"
"$TIERFS" "$T/a.img" "$MNT" 2> "$T/mount.err" || fail "remount after kill"
DAEMON_PID=$(pgrep -n -f "$TIERFS.*$T/a.img")
check grep -q 'orphaned inode' "$T/mount.err" "mount reports the orphan it freed"
free1=$(df -B1M --output=avail "$MNT" | tail -1)
check test "$free1" -ge $((free0 - 2)) "space of the orphan is back ($free0 -> $free1 MiB)"

# corruption: a unique pattern tells where the file's data sits in the image
yes 'TIERFS-CORRUPTION-CANARY' | head -c 1M > "$MNT/victim"
head -c 1M /dev/urandom > "$MNT/bystander"
sum=$(sha256sum < "$MNT/bystander")
tfs_umount
off=$(LC_ALL=C grep -obUa 'TIERFS-CORRUPTION-CANARY' "$T/a.img" | head -1 | cut -d: -f1)
check test -n "$off" "found the victim's data in the image"
printf 'X' | dd of="$T/a.img" bs=1 seek=$((off + 100)) conv=notrunc status=none
tfs_mount "$T/a.img"
check bash -c "! dd if='$MNT/victim' of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null" "read of the damaged block fails"
err=$(dd if="$MNT/victim" of=/dev/null bs=4k count=1 iflag=direct 2>&1 >/dev/null)
check bash -c "echo '$err' | grep -q 'Input/output error'" "... with EIO"
check dd if="$MNT/victim" of=/dev/null bs=4k skip=1 count=255 iflag=direct status=none "the file's other blocks read fine"
check test "$(sha256sum < "$MNT/bystander")" = "$sum" "other files intact"
tfs_umount
"$FSCK" -n "$T/a.img" > "$T/fsck.out"
check test $? = 0 "fsck without --scrub: metadata clean"
"$FSCK" -n --scrub "$T/a.img" > "$T/fsck.out"
check test $? = 4 "fsck --scrub: a bad block is an error left alone (exit 4)"
check grep -q 'fails its checksum' "$T/fsck.out" "fsck --scrub names the bad block"

dd if=/dev/urandom of="$T/a.img" bs=512 count=2 seek=1 conv=notrunc status=none
"$FSCK" -n "$T/a.img" > "$T/fsck.out"
check test $? = 4 "damaged superblock copy: reported by fsck -n"
"$FSCK" -y "$T/a.img" > "$T/fsck.out"
check test $? = 1 "fsck -y repairs it (exit 1)"
"$FSCK" -n "$T/a.img" > "$T/fsck.out"
check test $? = 0 "clean afterwards"
finish
