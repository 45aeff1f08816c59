#!/bin/bash
# Bad input: one clear line on stderr, exit 1, never a crash.
. "$(dirname "$0")/lib/common.sh"
tfs_setup

# expect_fail PATTERN COMMAND...: exit 1 and stderr matching PATTERN; a
# program killed by a signal (exit 128 + N: a crash, whatever the system's
# core_pattern does with it) is counted in CRASHED
CRASHED=
expect_fail() {
	local pat=$1 rc
	shift
	"$@" > "$T/out" 2> "$T/err"
	rc=$?
	[ $rc -ge 128 ] && CRASHED="$CRASHED [signal $((rc - 128)): $*]"
	if [ $rc -ne 1 ]; then echo "# exit $rc from: $*"; cat "$T/err"; return 1; fi
	if ! grep -qi -- "$pat" "$T/err"; then echo "# stderr of '$*':"; cat "$T/err"; return 1; fi
	return 0
}

check expect_fail 'does not exist' "$MKFS" --block "$T/missing.img" "mkfs on a missing path"
check expect_fail 'too small' "$MKFS" --block "$T/tiny.img:1M" "mkfs on a device too small"
check expect_fail 'chunk-size' "$MKFS" --chunk-size 100K --block "$T/c.img:64M" "mkfs with a bad chunk size"
check expect_fail 'no device' "$MKFS" "mkfs without devices"
check expect_fail 'how many zones' "$MKFS" --zns "$T/z.img" --block "$T/c.img:64M" "mkfs --zns without a zone count refused clearly"
check expect_fail 'unrecognized\|see mkfs' "$MKFS" --bogus "mkfs with an unknown flag"

truncate -s 64M "$T/zero.img"
check expect_fail 'not a tierfs device' "$TIERFS" "$T/zero.img" "$MNT" "mount an unformatted file"
if command -v mkfs.ext4 >/dev/null; then
	truncate -s 64M "$T/ext4.img"
	mkfs.ext4 -q -F "$T/ext4.img"
	check expect_fail 'ext2/3/4' "$TIERFS" "$T/ext4.img" "$MNT" "mount an ext4 image names it"
	check expect_fail 'holds ext2/3/4' "$MKFS" --block "$T/ext4.img" "mkfs refuses ext4 without --force"
	check "$MKFS" --force --block "$T/ext4.img" "mkfs --force overwrites"
fi
tfs_mkfs --block "$T/a.img:64M"
check expect_fail 'holds a tierfs pool' "$MKFS" --block "$T/a.img" "mkfs refuses an existing pool"
head -c 1M /dev/urandom > "$T/random.img"
truncate -s 64M "$T/random.img"
check expect_fail 'not a tierfs device' "$TIERFS" "$T/random.img" "$MNT" "mount random bytes"
check expect_fail 'mountpoint' "$TIERFS" "$T/a.img" "$T/nowhere" "mount on a missing mountpoint"
check expect_fail 'unknown option' "$TIERFS" --frobnicate "$T/a.img" "$MNT" "unknown command-line flag"
check expect_fail 'bad value for option commit' "$TIERFS" -o commit=soon "$T/a.img" "$MNT" "bad -o value"
check expect_fail 'fuse\|option' "$TIERFS" -o no_such_fuse_option "$T/a.img" "$MNT" "unknown -o option"
check expect_fail 'bad value for option transport' "$TIERFS" -o transport=carrier-pigeon "$T/a.img" "$MNT" \
	"-o transport= takes auto, uring or dev"
check expect_fail 'bad value for option threads' "$TIERFS" -o threads=0 "$T/a.img" "$MNT" \
	"-o threads=0 is refused"
check expect_fail 'bad value for option threads' "$TIERFS" -o threads=257 "$T/a.img" "$MNT" \
	"-o threads=257 is refused"
if grep -q N /sys/module/fuse/parameters/enable_uring 2> /dev/null; then
	check expect_fail 'enable_uring' "$TIERFS" -o transport=uring "$T/a.img" "$MNT" \
		"-o transport=uring while the kernel has it off: says how to turn it on"
fi
check expect_fail 'No such file' "$TIERFS" "$T/missing.img" "$MNT" "mount a missing device"
check expect_fail 'need DEVICE' "$TIERFS" "$T/a.img" "mount without a mountpoint"
# a device of the pool missing
tfs_mkfs --force --block "$T/a.img:64M" --block "$T/b.img:64M"
mv "$T/b.img" "$T/moved.img"
check expect_fail 'devices=' "$TIERFS" "$T/a.img" "$MNT" "missing second device: says how to name it"
tfs_mount "$T/a.img" -o "devices=$T/moved.img"
check mountpoint -q "$MNT" "-o devices= finds a moved device"
check expect_fail 'in use' "$TIERFS" -o lock_wait=1 "$T/a.img" "$T" "second mount of a mounted pool refused"
tfs_umount
# a superblock copy damaged: the other one is used (and rewritten)
dd if=/dev/urandom of="$T/a.img" bs=512 count=1 seek=4 conv=notrunc status=none
tfs_mount "$T/a.img" -o "devices=$T/moved.img"
check mountpoint -q "$MNT" "mount with one damaged superblock copy"
tfs_umount
check test -z "$CRASHED" "no program was killed by a signal${CRASHED:+:$CRASHED}"
finish
