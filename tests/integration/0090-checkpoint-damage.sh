#!/bin/bash
# Damage to the newest checkpoint (its header, or a log page only it wrote)
# leaves the older checkpoint and the journal, which hold everything: the
# pool mounts whole and the next checkpoint writes over the damage.  Both
# headers damaged: a clear error, nothing mounted, and fsck says why.
# Where the regions are comes from fsck.tierfs --map, not from offsets
# assumed here.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
FSCK=$TOP_BUILDDIR/src/fsck.tierfs
IMG=$T/a.img
tfs_mkfs --block "$IMG:256M"

# flip one byte at OFFSET
flip() {
	local b
	b=$(dd if="$IMG" bs=1 skip="$1" count=1 status=none | od -An -tu1 | tr -d ' ')
	printf "\\$(printf %03o $(((b ^ 0x5a) & 255)))" |
		dd of="$IMG" bs=1 seek="$1" conv=notrunc status=none
}
# the offset of the first region whose map line matches PATTERN, plus 100
region() {
	"$FSCK" --map "$IMG" | awk -v p="$1" '$0 ~ p { print $3 + 100; exit }'
}
# two checkpoints (an unmount writes one), then changes in the journal only
populate() {
	tfs_mount "$IMG"
	mkdir -p "$MNT/one" && echo "first $1" > "$MNT/one/f$1"
	tfs_umount
	tfs_mount "$IMG"
	mkdir -p "$MNT/two" && echo "second $1" > "$MNT/two/f$1"
	setfattr -n user.k -v "v$1" "$MNT/two/f$1"
	sync "$MNT/two/f$1"
	tfs_manifest "$MNT" > "$T/want"
	tfs_umount
}
remount_whole() {
	tfs_mount "$IMG"
	tfs_manifest "$MNT" > "$T/got"
	check diff -u "$T/want" "$T/got" "$1: the older checkpoint and the journal give the whole pool"
	echo more > "$MNT/two/g$2"
	tfs_manifest "$MNT" > "$T/want"
	tfs_umount
	tfs_mount "$IMG"
	tfs_manifest "$MNT" > "$T/got"
	check diff -u "$T/want" "$T/got" "$1: and the pool goes on normally after it"
	tfs_umount
	"$FSCK" -n "$IMG" > "$T/fsck.out" 2>&1
	check test $? = 0 "$1: fsck clean once checkpoints wrote over the damage"
}

populate 1
off=$(region '^ckh .*\(newest\)')
check test -n "$off" "fsck --map names the newest checkpoint header"
flip "$off"
"$FSCK" -n "$IMG" > "$T/fsck.out" 2>&1
check test $? = 4 "fsck -n reports the damaged newest checkpoint header (exit 4)"
check grep -q 'checkpoint header' "$T/fsck.out" "and names it"
remount_whole "newest header damaged" 1

populate 2
off=$(region '^logpage .*newest checkpoint only')
check test -n "$off" "fsck --map names a log page only the newest checkpoint wrote"
flip "$off"
"$FSCK" -n "$IMG" > "$T/fsck.out" 2>&1
check test $? = 4 "fsck -n reports the damaged log page (exit 4)"
remount_whole "log page of the newest checkpoint damaged" 2

# both headers
for off in $("$FSCK" --map "$IMG" | awk '$1 == "ckh" { print $3 + 100 }'); do
	flip "$off"
done
"$TIERFS" "$IMG" "$MNT" 2> "$T/err"
check test $? = 1 "both headers damaged: mount refuses (exit 1)"
check grep -q 'no usable checkpoint' "$T/err" "and says why"
check bash -c "! mountpoint -q '$MNT'" "nothing mounted"
"$FSCK" -n "$IMG" > "$T/fsck.out" 2>&1
rc=$?
check test $rc -ge 4 "fsck -n cannot make a pool of it (exit $rc)"
finish
