#!/bin/bash
# -o pin_quota: a user outside pin_group may pin their own files to a tier
# faster than the slowest up to the quota; a pin past it is EDQUOT, and a
# file pinned small and grown past it is placed as if unpinned, so it
# cannot push another user's hot data out of pmem (the attack this was
# filed for: uid 65534 filling pmem with a pinned file).
. "$(dirname "$0")/lib/common.sh"
tfs_setup
CTL=$TOP_BUILDDIR/src/tierfsctl
NOBODY="setpriv --reuid 65534 --regid 65534 --clear-groups"

ontier() {
	"$CTL" where "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['tiers'].get('$2', {}).get('chunks', 0))"
}
over() {
	"$CTL" where "$1" --json | python3 -c "import json,sys; print(str(json.load(sys.stdin)['pin_over_quota']).lower())"
}
pin() { $NOBODY setfattr -n user.tierfs.pin -v "$2" "$1" 2> "$T/err"; }

tfs_mkfs --pmem "$T/p.img:40M" --block "$T/b.img:256M"
# heat halves once an hour: nothing decays while the test runs
tfs_mount "$T/b.img" -o allow_other,pin_quota=8,halflife_ms=3600000
mkdir "$MNT/pub"
chmod 1777 "$MNT/pub"

# root's hot file, in pmem
dd if=/dev/urandom of="$MNT/hot" bs=256k count=32 oflag=direct conv=fsync status=none
for i in $(seq 1 20); do dd if="$MNT/hot" of=/dev/null bs=256k iflag=direct status=none; done
check test "$(ontier "$MNT/hot" pmem)" = 32 "root's hot file is in pmem"

# within the quota
$NOBODY dd if=/dev/urandom of="$MNT/pub/a" bs=256k count=16 conv=fsync status=none
check pin "$MNT/pub/a" pmem "uid 65534 pins its 4 MiB file to pmem (quota 8 MiB)"
"$CTL" migrate "$MNT" --wait > /dev/null
check test "$(ontier "$MNT/pub/a" pmem)" = 16 "the pinned file is in pmem"
check test "$(over "$MNT/pub/a")" = false "and within the quota"

# past it
$NOBODY dd if=/dev/urandom of="$MNT/pub/b" bs=256k count=32 conv=fsync status=none
pin "$MNT/pub/b" pmem
check grep -q "quota exceeded" "$T/err" "pinning 8 MiB more is refused: $(cat "$T/err")"
check test -z "$(getfattr --absolute-names -n user.tierfs.pin --only-values "$MNT/pub/b" 2>/dev/null)" \
	"and no pin is recorded"
check pin "$MNT/pub/b" block "the slowest tier is anyone's to pin to"

# pinned empty, then grown: what does not fit the quota is not pinned
$NOBODY touch "$MNT/pub/c"
check pin "$MNT/pub/c" pmem "an empty file fits the quota"
$NOBODY dd if=/dev/urandom of="$MNT/pub/c" bs=256k count=96 conv=fsync status=none
"$CTL" migrate "$MNT" --wait > /dev/null
"$CTL" migrate "$MNT" --wait > /dev/null
check test "$(over "$MNT/pub/c")" = true "grown to 24 MiB, it is over its owner's quota"
"$CTL" where "$MNT/pub/c" > "$T/where"
check grep -q "over its owner's pin quota" "$T/where" "tierfsctl where says so"
check test "$(ontier "$MNT/hot" pmem)" = 32 "root's hot file is still wholly in pmem"
check test "$(ontier "$MNT/pub/a" pmem)" = 16 "the file within the quota stays pinned in pmem"
check test "$(over "$MNT/pub/a")" = false "and is not over"
c=$(ontier "$MNT/pub/c" pmem)
check test "$c" -lt 96 "the grown file gave way ($c of 96 chunks in pmem)"

# root and pin_group members have no quota
setfattr -n user.tierfs.pin -v pmem "$MNT/pub/b"
check test "$(getfattr --absolute-names -n user.tierfs.pin --only-values "$MNT/pub/b")" = pmem \
	"root pins any file past the quota"
tfs_umount
finish
