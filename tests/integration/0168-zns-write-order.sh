#!/bin/bash
# A write that spans a chunk overwritten in place and a chunk copied (into a
# zone, or a new chunk that placement sends to the zones) lands as a whole:
# the end of file never moves past data that is not there yet.  CI once
# caught a crash (0077) that left an appended file its new size with zeros
# where the part in the in-place chunk should have been: the copied chunk
# had moved the end of file, a commit made that durable, and the in-place
# write had not landed.  Here the in-place write fails (an injected EIO,
# deterministic where a kill is not) after the copy landed: the file must
# stay as it was, before and after a remount, and fsck must be clean.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
FSCK=$TOP_BUILDDIR/src/fsck.tierfs

# new data to the zones; partial chunks and the metadata on a block device
tfs_mkfs --zns "$T/z.img" --zone-size 4M --zone-capacity 3584K --zones 16 \
	--max-open 6 --max-active 6 --block "$T/a.img:24M"

# the file: 237385 bytes, in chunk 0 (256 KiB), a partial chunk in place
tfs_mount "$T/a.img"
head -c 237385 /dev/urandom > "$T/ack"
dd if="$T/ack" of="$MNT/f" bs=1M conv=fsync status=none || fail "writing the file"
tfs_umount
# the append: 43651 bytes, the end of chunk 0 and the start of chunk 1
head -c 43651 /dev/urandom > "$T/piece"
cat "$T/ack" "$T/piece" > "$T/next"

# The append's data writes to a.img: first the copy of chunk 1 (new, so
# written out of place: a partial chunk lands on the block device), then
# the blocks of chunk 0 in place; the second one fails.
TIERFS_FAULT="dwrite:EIO:after=1:dev=a.img" tfs_mount "$T/a.img"
out=$(dd if="$T/piece" of="$MNT/f" bs=1M oflag=append conv=notrunc,fsync status=none 2>&1)
rc=$?
check test "$rc" != 0 "the append fails ($out)"
# what the pool now holds (the kernel's cached size and pages dropped)
size=$(stat -c %s "$MNT/f")
echo 3 > /proc/sys/vm/drop_caches
check "$HELPERS/blockcmp" "$MNT/f" "$T/ack" \
	"the file is as it was before the failed append ($size bytes, $(stat -c %s "$MNT/f") read back)"
# a commit, then a clean unmount: what became durable
dd if=/dev/null of="$MNT/other" conv=fsync status=none
umount "$MNT" 2>/dev/null || umount -l "$MNT"
tfs_wait_exit
check "$FSCK" -n "$T/a.img" "fsck -n clean after the failed append"
tfs_mount "$T/a.img"
check "$HELPERS/blockcmp" "$MNT/f" "$T/ack" \
	"after a remount too ($(stat -c %s "$MNT/f") bytes)"
# and the same append now works, whole
dd if="$T/piece" of="$MNT/f" bs=1M oflag=append conv=notrunc,fsync status=none
check cmp "$MNT/f" "$T/next" "the append done again holds all its bytes"
tfs_umount
check "$FSCK" -n "$T/a.img" "fsck -n clean at the end"
finish
