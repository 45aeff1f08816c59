#!/bin/bash
# tierfsctl scrub: an online read-back of every data block against its
# checksum, while the pool is in use; each damaged block named by path,
# offset, device and device offset; --json; a rate limit; no false alarms
# while files are being written.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
CTL=$TOP_BUILDDIR/src/tierfsctl
js() { python3 -c "import json,sys; d=json.load(open('$1')); print($2)"; }

tfs_mkfs --pmem "$T/p.img:64M" --block "$T/b.img:256M"
tfs_mount "$T/b.img"
mkdir -p "$MNT/d/e" "$MNT/blk"
setfattr -n user.tierfs.pin -v block "$MNT/blk"
head -c 3M /dev/urandom > "$T/victim"
cp "$T/victim" "$MNT/blk/victim"
head -c 5M /dev/urandom > "$MNT/d/e/other"
ln "$MNT/d/e/other" "$MNT/d/link"
head -c 2M /dev/urandom > "$MNT/d/onpmem"
sync
"$CTL" scrub "$MNT" --wait --json > "$T/s1.json"
check test $? = 0 "scrub --wait of a sound pool exits 0"
check test "$(js "$T/s1.json" 'd["state"], d["damaged_blocks"], d["files"]')" = "done 0 3" \
	"every file read once (a hard link is not read twice), nothing damaged"
check test "$(js "$T/s1.json" 'd["read_bytes"] >= 10 << 20')" = True "all 10 MiB read"
tfs_umount

# damage one block of the file on the block device
off=$(python3 - "$T/b.img" "$T/victim" << 'EOF'
import sys
img, data = sys.argv[1], open(sys.argv[2], 'rb').read()
buf = open(img, 'rb').read()
at = buf.find(data[8192:12288])
assert at > 0
with open(img, 'r+b') as f:
    f.seek(at + 10)
    f.write(bytes([buf[at + 10] ^ 1]))
print(at)
EOF
)
tfs_mount "$T/b.img"
"$CTL" scrub "$MNT" --wait > "$T/s2.txt"
check test $? = 1 "scrub --wait exits 1 when it finds damage"
check grep -q "^  /blk/victim offset 8192: $T/b.img offset $off$" "$T/s2.txt" \
	"the damaged block is named by path, offset in the file, device and device offset ($off)"
check grep -q "1 damaged blocks" "$T/s2.txt" "one damaged block, no more"
"$CTL" scrub "$MNT" --status --json > "$T/s3.json"
check test "$(js "$T/s3.json" 'd["damaged"][0]["path"], d["damaged"][0]["offset"], d["damaged"][0]["device_offset"]')" = "/blk/victim 8192 $off" \
	"--status --json reports the same"
check cmp -s <(dd if="$MNT/d/e/other" bs=1M status=none) <(dd if="$MNT/d/link" bs=1M status=none) "the other files read fine"

# no false alarms while a file is rewritten during the scrub, at a rate
# limit (a lower bound on the time: a slow machine only takes longer)
rm "$MNT/blk/victim"
( for i in $(seq 1 40); do dd if=/dev/urandom of="$MNT/d/busy" bs=256k count=8 conv=notrunc,fsync status=none; done ) &
w=$!
s=$(date +%s%N)
"$CTL" scrub "$MNT" --rate 2 --wait --json > "$T/s4.json"
rc=$?
e=$(( ($(date +%s%N) - s) / 1000000 ))
wait $w
check test $rc = 0 "a scrub during writes exits 0"
check test "$(js "$T/s4.json" 'd["damaged_blocks"]')" = 0 "and reports no damage"
mib=$(js "$T/s4.json" 'd["read_bytes"] >> 20')
check test "$e" -ge $(( (mib - 2) * 1000 / 2 )) "--rate 2 held it to 2 MB/s or less ($mib MiB in $e ms)"
check test "$("$CTL" scrub "$MNT" --status | head -1 | cut -d: -f1)" = "scrub done" "--status after it"
check test "$(js "$T/s4.json" 'd["metadata_checked"], d["metadata_damaged"]')" = "True 0" \
	"the metadata was checked too, and is sound"
tfs_umount

# one copy of a metadata log page damaged under the mounted pool: the
# scrub finds it (the other copy keeps the pool whole)
loff=$("$TOP_BUILDDIR/src/fsck.tierfs" --map "$T/b.img" | awk '$1 == "logpage" && /copy 1/ { print $3; exit }')
check test -n "$loff" "fsck --map names a log page copy"
tfs_mount "$T/b.img"
printf '\377\377\377\377' | dd of="$T/b.img" bs=1 seek=$((loff + 100)) conv=notrunc status=none
"$CTL" scrub "$MNT" --wait > "$T/s5.txt"
check test $? = 1 "scrub --wait exits 1 when a metadata copy is damaged"
check grep -q "0 damaged blocks, 1 damaged metadata copies" "$T/s5.txt" "one damaged metadata copy, no data"
check grep -q "^  metadata:" "$T/s5.txt" "listed under metadata"
sed -n '/^  metadata:/,$p' "$T/s5.txt" > "$T/s5.meta"
check grep -q "$T/b.img.*$loff" "$T/s5.meta" "naming the device and the page's offset ($loff): $(tail -n +2 "$T/s5.meta" | head -2)"
"$CTL" scrub "$MNT" --status --json > "$T/s6.json"
check test "$(js "$T/s6.json" 'd["metadata_damaged"]')" = 1 "--json: metadata_damaged 1"
check cmp -s <(dd if="$MNT/d/e/other" bs=1M status=none) <(dd if="$MNT/d/link" bs=1M status=none) "the files still read"
tfs_umount
finish
