#!/bin/bash
# tierfsctl metrics: Prometheus text that promtool accepts, whose counters
# move with the I/O that happens (device bytes and requests, FUSE requests
# and their histogram, zone writes, checksum errors).
. "$(dirname "$0")/lib/common.sh"
tfs_setup
CTL=$TOP_BUILDDIR/src/tierfsctl
SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
command -v promtool > /dev/null || skip "no promtool (Debian package prometheus)"

# metric FILE NAME LABEL-SUBSTRING: the value of the first sample of NAME
# whose labels contain the substring
metric() {
	python3 - "$@" << 'EOF'
import re, sys
path, name, sub = sys.argv[1:4]
for line in open(path):
    m = re.match(r'^(\w+)\{(.*)\} (\S+)$', line.strip())
    if m and m.group(1) == name and sub in m.group(2):
        print(m.group(3)); break
else:
    print("missing")
EOF
}
gt() { python3 -c "import sys; sys.exit(0 if float('$1') > float('$2') else 1)" 2>/dev/null; }
fails() { ! "$@"; }
fails_read() { ! dd if="$MNT/g" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null; }
promcheck() { promtool check metrics < "$1" > "$T/promtool.out" 2>&1 || { cat "$T/promtool.out"; return 1; }; }

tfs_mkfs --pmem "$T/p.img:64M" --zns "$T/z.img" --zones 16 --zone-size 8M --max-open 4 \
	--block "$T/b.img:256M"
tfs_mount "$T/b.img"
"$CTL" metrics "$MNT" > "$T/m0"
check test $? = 0 "tierfsctl metrics exits 0"
check promcheck "$T/m0" "promtool check metrics accepts the output of a fresh mount"
check grep -q '^# TYPE tierfs_fuse_request_duration_seconds histogram' "$T/m0" "FUSE service times are a histogram"
check grep -q '^tierfs_zones{.*tier="zns".*state="free"}' "$T/m0" "zone states of the zoned device"
uuid=$("$CTL" status "$MNT" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pool_uuid"])')
check grep -q "^tierfs_pool_info{pool=\"$uuid\",label=\"\",mount=\"$MNT\"" "$T/m0" "every sample names the pool"

head -c 8M /dev/urandom > "$T/data"
dd if="$T/data" of="$MNT/f" bs=256k oflag=direct status=none
dd if="$MNT/f" of=/dev/null bs=256k iflag=direct status=none
setfattr -n user.tierfs.pin -v zns "$MNT/f"
"$CTL" migrate "$MNT" --wait > /dev/null
"$CTL" metrics "$MNT" > "$T/m1"
check promcheck "$T/m1" "promtool accepts it after I/O"
w0=$(metric "$T/m0" tierfs_device_write_bytes_total 'tier="pmem"')
w1=$(metric "$T/m1" tierfs_device_write_bytes_total 'tier="pmem"')
check test "$((w1 - w0))" -ge $((8 << 20)) "pmem write bytes grew by the 8 MiB written ($w0 -> $w1)"
r1=$(metric "$T/m1" tierfs_device_read_requests_total 'tier="pmem"')
check gt "$r1" 0 "pmem read requests counted ($r1)"
n0=$(metric "$T/m0" tierfs_fuse_requests_total 'op="WRITE"')
n1=$(metric "$T/m1" tierfs_fuse_requests_total 'op="WRITE"')
check test "$n0" = missing "no WRITE before any write"
check test "$n1" -ge 32 "32 or more WRITE requests after 32 writes of 256 KiB ($n1)"
c1=$(metric "$T/m1" tierfs_fuse_request_duration_seconds_count 'op="WRITE"')
i1=$(metric "$T/m1" tierfs_fuse_request_duration_seconds_bucket 'op="WRITE",le="+Inf"')
check test "$c1" = "$n1" "the WRITE histogram counts every WRITE request"
check test "$i1" = "$n1" "and its +Inf bucket holds them all"
z1=$(metric "$T/m1" tierfs_zone_bytes_written_total 'tier="zns"')
check test "$z1" -ge $((8 << 20)) "pinning to zns moved the file into zones ($z1 bytes written there)"
mv1=$(metric "$T/m1" tierfs_migration_moved_bytes_total 'pool=')
check test "$mv1" -ge $((8 << 20)) "migration's moved bytes counted ($mv1)"
ck0=$(metric "$T/m0" tierfs_checkpoints_total 'pool=')
"$CTL" checkpoint "$MNT" > /dev/null
"$CTL" metrics "$MNT" > "$T/m2"
ck2=$(metric "$T/m2" tierfs_checkpoints_total 'pool=')
check test "$ck2" -gt "$ck0" "a checkpoint counted ($ck0 -> $ck2)"
tfs_umount

# a damaged data block: read fails with EIO and the device's checksum error
# counter moves
tfs_mkfs --force --block "$T/c.img:128M"
tfs_mount "$T/c.img"
head -c 256K /dev/urandom > "$T/d2"
dd if="$T/d2" of="$MNT/g" bs=256k oflag=direct status=none
tfs_umount
python3 - "$T/c.img" "$T/d2" << 'EOF'
import sys
img, data = sys.argv[1], open(sys.argv[2], 'rb').read()
with open(img, 'r+b') as f:
    buf = f.read()
    at = buf.find(data[:4096])
    assert at > 0, "data not found in the image"
    f.seek(at + 100)
    f.write(bytes([buf[at + 100] ^ 0xff]))
EOF
tfs_mount "$T/c.img"
"$CTL" metrics "$MNT" > "$T/m3"
check fails_read "a damaged block reads as an error"
"$CTL" metrics "$MNT" > "$T/m4"
e3=$(metric "$T/m3" tierfs_device_checksum_errors_total 'tier="block"')
e4=$(metric "$T/m4" tierfs_device_checksum_errors_total 'tier="block"')
check test "$e3" = 0 "no checksum error before the read"
check test "$e4" -ge 1 "the checksum error is counted ($e4)"
check promcheck "$T/m4" "promtool accepts the output of a block-only pool"
check fails grep -q tierfs_zone "$T/m4" "a pool without zoned devices has no zone families"
tfs_umount

# the textfile collector script writes one file per mount, atomically
tfs_mount "$T/c.img"
mkdir "$T/textfile"
check env PATH="$TOP_BUILDDIR/src:$PATH" sh "$SRCDIR/contrib/prometheus/tierfs-textfile.sh" "$T/textfile" "$MNT" \
	"contrib/prometheus/tierfs-textfile.sh runs"
f=$(ls "$T"/textfile/*.prom 2>/dev/null | head -1)
check test -n "$f" "it wrote a .prom file"
check grep -q "mount=\"$MNT\"" "${f:-/dev/null}" "for this mount"
check promcheck "${f:-/dev/null}" "which promtool accepts"
tfs_umount
finish
