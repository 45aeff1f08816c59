#!/bin/bash
# The pmem tier on an emulated device (a file): placement fills pmem up to
# its high watermark and spills to block, reads of pmem chunks come from the
# mapping and verify their checksums, POSIX behaviour and remount on a
# pmem+block pool and on a pmem-only pool, fsck, and bad input (too small,
# deleted between mounts, a pmem file from another pool).
. "$(dirname "$0")/lib/common.sh"
tfs_setup
FSCK=$TOP_BUILDDIR/src/fsck.tierfs
P=$T/pmem.img
# migration off: a check below flips a byte in the first pmem slot and must
# know whose chunk is there

# used slots of device N as fsck reports them
slots() { "$FSCK" -n "$1" | sed -n "s/^  device $2 .*: \([0-9]*\) of \([0-9]*\) slots used.*/\1 \2/p"; }

# ---- bad input
out=$("$MKFS" --pmem "$T/tiny.img:1M" --block "$T/a.img:256M" 2>&1); rc=$?
echo "$out"
check test $rc = 1 "mkfs refuses a pmem device that is too small"
check grep -q 'too small for a pmem device.*at least .* is needed (superblocks, journal' <<<"$out" \
	"and says the minimum"

# ---- a pmem+block pool: pmem fills to its watermark, then block
tfs_mkfs --pmem "$P:24M" --block "$T/a.img:256M"
check grep -q 'journal .* on .*pmem.img' "$T/mkfs.out" "journal on pmem"
check grep -q 'checksums .* tables of zoned devices on .*a.img' "$T/mkfs.out" "checksum tables of the pool on block"
tfs_mount "$T/a.img" -o migrate=0
head -c $((4 << 20)) /dev/urandom > "$T/small"
cp "$T/small" "$MNT/small"
tfs_umount
read -r used total < <(slots "$T/a.img" 0)
note "pmem: $used of $total slots after a 4 MiB file"
check test "$used" = 16 "a new 4 MiB file lives on pmem (16 chunks of 256 KiB)"
tfs_mount "$P" -o migrate=0
head -c $((40 << 20)) /dev/urandom > "$T/big"
cp "$T/big" "$MNT/big"
tfs_umount
read -r used total < <(slots "$T/a.img" 0)
read -r bused btotal < <(slots "$T/a.img" 1)
note "pmem: $used of $total slots, block: $bused of $btotal after 44 MiB"
check test $((used * 100)) -ge $((total * 89)) "pmem filled to its high watermark"
check test $((used * 100)) -le $((total * 91)) "and not beyond"
# the metadata log takes a few slots of block too
check test $((used + bused)) -ge 176 "the rest spilled to block (176 chunks in all)"
check test $((used + bused)) -le 180 "... and the metadata log took at most 4 slots"

# reads: whole files (pmem and block chunks mixed), O_DIRECT, odd offsets
tfs_mount "$T/a.img" -o migrate=0
check cmp -s "$T/small" "$MNT/small" "pmem file reads back"
check cmp -s "$T/big" "$MNT/big" "pmem+block file reads back"
check cmp -s <(dd if="$MNT/big" bs=1M iflag=direct status=none) "$T/big" "O_DIRECT read"
check cmp -s <(dd if="$MNT/small" bs=4099 skip=3 status=none) \
	<(dd if="$T/small" bs=4099 skip=3 status=none) "reads at unaligned offsets"
# a hole in a pmem chunk reads as zeros
printf x | dd of="$MNT/sparse" bs=1 seek=200000 conv=notrunc status=none
check cmp -s <(head -c 200000 "$MNT/sparse") <(head -c 200000 /dev/zero) "hole in a pmem chunk"
mkdir "$MNT/work"
"$HELPERS/syscalls" "$MNT/work" > "$T/syscalls.out" 2>&1 || { cat "$T/syscalls.out"; FAILS=$((FAILS + 1)); }
check grep -q '^ok' "$T/syscalls.out" "syscall exerciser on a pmem+block pool"
tfs_manifest "$MNT" > "$T/before"
tfs_umount
check "$FSCK" -n "$T/a.img" "fsck -n clean on a pmem+block pool"
tfs_mount "$P" -o migrate=0
tfs_manifest "$MNT" > "$T/after"
check diff -u "$T/before" "$T/after" "tree identical after remount (mounted by the pmem path)"
tfs_umount

# a flipped byte in a pmem chunk is EIO, never wrong data; scrub names it
off=$(( (2 << 20) + 12345 ))
printf '\xff' | dd of="$P" bs=1 seek=$off conv=notrunc status=none
tfs_mount "$T/a.img" -o migrate=0
check_eio() { ! cat "$MNT/small" > /dev/null 2>&1; }
check check_eio "flipped byte on pmem: read fails"
tfs_umount
"$FSCK" -n --scrub "$T/a.img" > "$T/fsck.out"
check grep -q 'fails its checksum' "$T/fsck.out" "fsck --scrub finds the bad pmem block"

# ---- a pmem file from another pool, then a deleted pmem file
"$MKFS" --pmem "$T/other-p.img:24M" --block "$T/other-a.img:64M" > /dev/null || fail "mkfs other"
cp "$P" "$T/pmem.keep"
cp "$T/other-p.img" "$P"
out=$("$TIERFS" "$T/a.img" "$MNT" 2>&1); rc=$?
echo "$out"
check test $rc = 1 "mount with another pool's pmem device fails"
check grep -q 'is not device 0 of this pool' <<<"$out" "and says so"
rm -f "$P"
out=$("$TIERFS" "$T/a.img" "$MNT" 2>&1); rc=$?
echo "$out"
check test $rc = 1 "mount with the pmem device deleted fails"
check grep -q "device 0 of the pool (pmem, .*pmem.img): No such file" <<<"$out" "and names it"
check test -f "$T/a.img" "the block device is untouched"
mv "$T/pmem.keep" "$P"
tfs_mount "$T/a.img" -o migrate=0
check cmp -s "$T/big" "$MNT/big" "back with the right pmem device: data intact"
tfs_umount

# ---- a pmem-only pool
rm -f "$T/solo.img"
tfs_mkfs --pmem "$T/solo.img:32M"
check grep -q 'journal .* on .*solo.img' "$T/mkfs.out" "pmem-only: metadata on pmem"
tfs_mount "$T/solo.img" -o migrate=0
cp "$T/small" "$MNT/s"
check cmp -s "$T/small" "$MNT/s" "pmem-only pool reads back"
tfs_umount
tfs_mount "$T/solo.img" -o migrate=0
check cmp -s "$T/small" "$MNT/s" "pmem-only pool after remount"
tfs_umount
check "$FSCK" -n "$T/solo.img" "fsck -n clean on a pmem-only pool"
finish
