#!/bin/bash
# Operations: a device of a mounted pool is never formatted or checked
# behind the daemon's back; every failure of `tierfs` is the command's
# failure (also one that happens after it detached), whatever the order of
# the options; pins to fast tiers are a privilege; tierfsctl says why it
# cannot help a user who is not root.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
FSCK=$TOP_BUILDDIR/src/fsck.tierfs
CTL=$TOP_BUILDDIR/src/tierfsctl
AS65534="setpriv --reuid 65534 --regid 65534"
NOBODY="$AS65534 --clear-groups"

not_mounted() { ! mountpoint -q "$MNT"; }
fails() { ! "$@"; }

tfs_mkfs --pmem "$T/p.img:64M" --zns "$T/z.img" --zones 16 --zone-size 8M --max-open 4 \
	--block "$T/b.img:256M"
cp "$T/z.img" "$T/z.orig"

# --- mkfs and fsck refuse a device of a mounted pool, naming the mount
tfs_mount "$T/b.img" -o allow_other
head -c 3M /dev/urandom > "$T/data"
cp "$T/data" "$MNT/data"
sync "$MNT/data"
check expect_failure "in use by the tierfs pool mounted on $MNT" "$MKFS" --force --block "$T/b.img" \
	"mkfs --force on the pool's block device refused, naming the mount"
check expect_failure "in use by the tierfs pool mounted on $MNT" "$MKFS" --force --zns "$T/z.img" \
	--zones 16 --zone-size 8M --block "$T/other.img:64M" "mkfs --force on its zoned device refused"
check test ! -e "$T/other.img" "and nothing else was created"
check expect_failure "in use by the tierfs pool mounted on $MNT" "$MKFS" --force --pmem "$T/p.img" \
	"mkfs --force on its pmem device refused"
(cd "$MNT" && expect_failure "in use by the tierfs pool mounted on $MNT" "$MKFS" --force --block ../b.img)
check test $? = 0 "a relative path names the mount too"
s=$(date +%s)
check expect_failure "in use by the tierfs pool mounted on $MNT" "$FSCK" -y "$T/b.img" \
	"fsck -y on a mounted pool refused, naming the mount"
check test $(($(date +%s) - s)) -lt 8 "at once, not after waiting for the lock (fsck waits up to 10 s for an exiting daemon)"
check expect_failure "in use by the tierfs pool mounted on $MNT" "$FSCK" -n "$T/b.img" "fsck -n too"
check cmp -s "$T/data" "$MNT/data" "the mounted pool's file is intact"

# --- reports as JSON
"$FSCK" -n --json "$T/b.img" > "$T/fsck.json" 2> "$T/fsck.err"
check test $? = 8 "fsck --json on a mounted pool: exit 8"
check python3 -c "import json; d=json.load(open('$T/fsck.json')); exit(0 if d['exit_status'] == 8 else 1)" \
	"and one JSON object saying so on stdout"
check grep -q "in use by the tierfs pool mounted on $MNT" "$T/fsck.err" "the message on stderr"

# --- tierfsctl as a user who is not root
$NOBODY "$CTL" status "$MNT" > /dev/null 2> "$T/err"
rc=$?
check test $rc != 0 "tierfsctl status as uid 65534 fails"
check grep -q "permission denied (root only)" "$T/err" "and says why: $(head -c 200 "$T/err")"

# --- pins: owners may pin to the slowest tier; faster ones are a privilege
mkdir "$MNT/pub"
chmod 1777 "$MNT/pub"
head -c 1M /dev/urandom > "$MNT/pub/rootfile"
chmod 666 "$MNT/pub/rootfile"
$NOBODY sh -c "head -c 1M /dev/zero > '$MNT/pub/mine'"
pin() { $NOBODY setfattr -n user.tierfs.pin -v "$2" "$1" 2> "$T/err"; }
unpin() { $NOBODY setfattr -x user.tierfs.pin "$1" 2> "$T/err"; }
check fails pin "$MNT/pub/mine" pmem "uid 65534 cannot pin its own file to pmem"
check grep -q "not permitted" "$T/err" "EPERM: $(cat "$T/err")"
check fails pin "$MNT/pub/mine" zns "nor to zns (faster than block)"
check fails getfattr --absolute-names -n user.tierfs.pin "$MNT/pub/mine" "no pin was recorded"
check pin "$MNT/pub/mine" block "it may pin its own file to block, the slowest tier"
check unpin "$MNT/pub/mine" "and take its pin off"
check fails pin "$MNT/pub/rootfile" block "it may not pin root's file, even one it may write"
setfattr -n user.tierfs.pin -v pmem "$MNT/pub/rootfile"
check fails unpin "$MNT/pub/rootfile" "nor take root's pin off it"
check test "$(getfattr --absolute-names -n user.tierfs.pin --only-values "$MNT/pub/rootfile")" = pmem "root's pin stays"
mkdir "$MNT/pub/fast"
setfattr -n user.tierfs.pin -v pmem "$MNT/pub/fast"
chmod 1777 "$MNT/pub/fast"
$NOBODY sh -c "echo x > '$MNT/pub/fast/f'"
check test "$(getfattr --absolute-names -n user.tierfs.pin --only-values "$MNT/pub/fast/f")" = pmem \
	"a file made in a directory root pinned inherits the pin"
tfs_umount

tfs_mount "$T/b.img" -o allow_other,pin_group=65534
$AS65534 --groups 65534 setfattr -n user.tierfs.pin -v pmem "$MNT/pub/mine" 2> "$T/err"
check test $? = 0 "with -o pin_group, a member may pin to pmem $(cat "$T/err")"
check fails pin "$MNT/pub/rootfile" block "but still not another user's file"
tfs_umount
check expect_failure "no such group" "$TIERFS" -o pin_group=no-such-group-here "$T/b.img" "$MNT" \
	"an unknown pin_group is refused"

# --- every failure of tierfs is the command's failure
check expect_failure "must be below" "$TIERFS" -o low_watermark=95 "$T/b.img" "$MNT" \
	"inconsistent watermarks refused"
check not_mounted "and nothing is mounted"
check expect_failure "must be below" "$TIERFS" -o high_watermark=50,low_watermark=60 "$T/b.img" "$MNT" \
	"in either order of the two keys"
tfs_mount "$T/b.img" -o high_watermark=50,low_watermark=40
check mountpoint -q "$MNT" "high_watermark=50,low_watermark=40: accepted (the order of options does not matter)"
check test "$("$CTL" policy "$MNT" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["high_watermark"], d["low_watermark"])')" = "50 40" \
	"and both took effect"
check expect_failure "must be below" "$CTL" policy "$MNT" high_watermark=30 "tierfsctl policy refuses high below low"
"$CTL" policy "$MNT" high_watermark=30 low_watermark=20 > /dev/null
check test "$("$CTL" policy "$MNT" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["high_watermark"], d["low_watermark"])')" = "30 20" \
	"but takes both keys of a change together, in any order"
tfs_umount
check expect_failure "devices: $T/nonexistent: No such file" "$TIERFS" -o "devices=$T/nonexistent" \
	"$T/b.img" "$MNT" "-o devices= with a missing path is an error"
check not_mounted "and nothing is mounted"
truncate -s 64M "$T/stranger.img"
check expect_failure "not a device of this pool" "$TIERFS" -o "devices=$T/stranger.img" "$T/b.img" "$MNT" \
	"-o devices= with a path of no pool is an error"
tfs_mount "$T/b.img" -o max_read=16384
check cmp -s "$T/data" "$MNT/data" "-o max_read=16384 mounts (it used to fail after detaching) and reads"
tfs_umount
check expect_failure "giving up the mount" env TIERFS_FAULT=init:EIO "$TIERFS" "$T/b.img" "$MNT" \
	"a mount failing after detaching fails the command, the daemon's message on its stderr"
check not_mounted "and nothing is mounted"
for i in $(seq 1 100); do pgrep -f "^$TIERFS $T/b.img $MNT\$" > /dev/null || break; sleep 0.1; done
check fails pgrep -f "^$TIERFS $T/b.img $MNT\$" "and its daemon is gone"

# --- fsck and mkfs --json on an unmounted pool
"$FSCK" -n --scrub --json "$T/b.img" > "$T/fsck.json" 2> /dev/null
check test $? = 0 "fsck -n --scrub --json of a clean pool: exit 0"
check python3 -c "import json; d=json.load(open('$T/fsck.json')); exit(0 if d['problems'] == 0 and d['exit_status'] == 0 and len(d['devices']) == 3 and d['scrub']['bad_blocks'] == 0 and d['scrub']['blocks_read'] >= 768 else 1)" \
	"its JSON: no problems, three devices, the scrub read the 3 MiB file"
"$MKFS" --json --block "$T/j.img:64M" --zns "$T/jz.img" --zones 16 --zone-size 8M --max-open 4 > "$T/mkfs.json"
check python3 -c "import json; d=json.load(open('$T/mkfs.json')); z=[x for x in d['devices'] if x['tier'] == 'zns'][0]; exit(0 if len(d['pool_uuid']) == 36 and z['zones'] == 16 and z['emulated'] else 1)" \
	"mkfs --json describes the new pool"

# --- a damaged emulated zoned device is named as damaged
dd if=/dev/urandom of="$T/z.img" bs=1 count=16 seek=64 conv=notrunc status=none
check expect_failure "zns, $T/z.img) is damaged" "$TIERFS" "$T/b.img" "$MNT" \
	"a damaged zone header: the device is named as damaged"
check fails grep -q "devices=" "$T/err" "without the hint about moved devices"
cp "$T/z.orig" "$T/z.img"
tfs_mount "$T/b.img"
check cmp -s "$T/data" "$MNT/data" "the restored device mounts with the data"
tfs_umount
finish
