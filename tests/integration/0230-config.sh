#!/bin/bash
# tierfs.conf(5): a pool's options and policy found by UUID or label (here
# in $TIERFS_CONFDIR), or named with -o config=; the command line overrides
# it; tierfsctl policy --save writes changes back; unknown keys and bad
# values are refused with the file and line.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
CTL=$TOP_BUILDDIR/src/tierfsctl
export TIERFS_CONFDIR=$T/etc
mkdir "$TIERFS_CONFDIR"
pol() { "$CTL" policy "$MNT" --json | python3 -c "import json,sys; d=json.load(sys.stdin); print(' '.join(str(d[k]) for k in sys.argv[1:]))" "$@"; }

tfs_mkfs --label lab1 --pmem "$T/p.img:64M" --block "$T/b.img:256M"

# --- by label
cat > "$TIERFS_CONFDIR/lab1.conf" << 'EOF'
# policy of the test pool
halflife_ms = 5000
high_watermark=70   # lower than the default
low_watermark = 60
allow_other
EOF
tfs_mount "$T/b.img"
uuid=$("$CTL" status "$MNT" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pool_uuid"])')
check test "$(pol halflife_ms high_watermark low_watermark)" = "5000 70 60" "the label's file sets the policy"
check grep -q " $MNT fuse.tierfs .*allow_other" /proc/self/mounts "and FUSE options (allow_other)"
tfs_umount

# --- the command line overrides it
tfs_mount "$T/b.img" -o halflife_ms=7000
check test "$(pol halflife_ms high_watermark)" = "7000 70" "-o halflife_ms overrides the file, the rest stays"
# --- policy --save writes back, and a remount reads it
"$CTL" policy "$MNT" busy_iops=5000 halflife_ms=9000 --save > "$T/save.out"
check grep -q "saved to $TIERFS_CONFDIR/lab1.conf" "$T/save.out" "policy --save names the file"
check grep -q "^halflife_ms = 9000$" "$TIERFS_CONFDIR/lab1.conf" "the key's line is replaced"
check grep -q "^busy_iops = 5000$" "$TIERFS_CONFDIR/lab1.conf" "a new key is appended"
check grep -q "^high_watermark=70   # lower than the default$" "$TIERFS_CONFDIR/lab1.conf" "other lines are kept as they were"
check test "$(grep -c halflife_ms "$TIERFS_CONFDIR/lab1.conf")" = 1 "once"
tfs_umount
tfs_mount "$T/b.img"
check test "$(pol halflife_ms busy_iops)" = "9000 5000" "a remount has the saved policy"
tfs_umount

# --- by UUID, which comes before the label
if [ -n "$uuid" ]; then
	echo "halflife_ms = 11000" > "$TIERFS_CONFDIR/$uuid.conf"
	tfs_mount "$T/b.img"
	check test "$(pol halflife_ms)" = 11000 "UUID.conf is found first"
	tfs_umount
	rm "$TIERFS_CONFDIR/$uuid.conf"
else
	check false "fsck -n names the pool's UUID"
fi

# --- -o config=PATH
echo "halflife_ms = 13000" > "$T/other.conf"
tfs_mount "$T/b.img" -o "config=$T/other.conf"
check test "$(pol halflife_ms high_watermark)" = "13000 90" "-o config= reads that file instead"
tfs_umount
check expect_failure "$T/none.conf: No such file" "$TIERFS" -o "config=$T/none.conf" "$T/b.img" "$MNT" \
	"a missing -o config= file is an error"

# --- a relative -o config= path: --save writes that file, not one under /
echo "# relative" > "$T/rel.conf"
(cd "$T" && "$TIERFS" -o config=rel.conf "$T/b.img" "$MNT")
check mountpoint -q "$MNT" "mounted with a relative -o config="
DAEMON_PID=$(pgrep -n -f "^$TIERFS -o config=rel.conf")
"$CTL" policy "$MNT" halflife_ms=15000 --save > "$T/save2.out"
check grep -q "saved to $T/rel.conf" "$T/save2.out" "--save names the file relative to where tierfs ran"
check grep -q "^halflife_ms = 15000$" "$T/rel.conf" "and writes it there"
tfs_umount

# --- refusals with file and line
cp "$TIERFS_CONFDIR/lab1.conf" "$T/good.conf"
echo "frobnicate = 1" >> "$TIERFS_CONFDIR/lab1.conf"
n=$(wc -l < "$TIERFS_CONFDIR/lab1.conf")
check expect_failure "$TIERFS_CONFDIR/lab1.conf:$n: unknown key 'frobnicate'" "$TIERFS" "$T/b.img" "$MNT" \
	"an unknown key is refused with file and line"
cp "$T/good.conf" "$TIERFS_CONFDIR/lab1.conf"
echo "batch = 0" >> "$TIERFS_CONFDIR/lab1.conf"
check expect_failure "lab1.conf:$n: bad value for batch" "$TIERFS" "$T/b.img" "$MNT" "a bad value too"
cp "$T/good.conf" "$TIERFS_CONFDIR/lab1.conf"
echo "low_watermark = 80" >> "$TIERFS_CONFDIR/lab1.conf"
check expect_failure "must be below" "$TIERFS" "$T/b.img" "$MNT" "watermarks out of order across the file are refused"
tfs_mount "$T/b.img" -o low_watermark=50
check test "$(pol high_watermark low_watermark)" = "70 50" "the command line can set them right"
tfs_umount
finish
