#!/bin/bash
# contrib/bench-scale.sh DIR [CHUNKS] [INODES] - metadata at scale.
#
# A pool of one sparse block device file in DIR (64 KiB chunks), filled
# through the mount with INODES small files (1,000 per directory, 11-byte
# names) and CHUNKS chunks allocated by fallocate in 100 large files (chunks
# that were allocated but never written need no data I/O, so this is cheap).
# Defaults: 10,000,000 chunks, 1,000,000 inodes.  Reported:
#   - mkfs time; the time to unmount (the checkpoint of everything);
#   - mount time with a cold page cache (drop_caches first);
#   - daemon memory per chunk and per inode: from `tierfsctl memory` (the
#     structures) and from the daemon's RSS after cold mounts of the empty
#     pool, of the pool with the files, and with the chunks too;
#   - a checkpoint after changing 1 % of the files (a byte appended to each):
#     its time and bytes, from `tierfsctl checkpoint`;
#   - the longest pool-lock hold of checkpoints and commits while 8 writers
#     (fio, 4 KiB random writes, fsync every 32) run and checkpoints are
#     forced every 2 s for 30 s;
#   - 4 KiB random read IOPS (fio, QD16, direct, 30 s) on a 2 GiB file of a
#     block-only pool, against the same job on a plain file beside it, and
#     against the tierfs in TFS_BASELINE (a directory with an older build's
#     tierfs and mkfs.tierfs) when given.
# Needs root, fio and python3.  Not part of the tests.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: bench-scale.sh DIR [CHUNKS] [INODES]}
chunks=${2:-10000000}
inodes=${3:-1000000}
bin=${TFS_BIN:-$src/build/src}
base=${TFS_BASELINE:-}
mnt=$dir/smnt
img=$dir/scale.img
command -v fio > /dev/null || { echo "bench-scale: fio is not installed" >&2; exit 1; }
[ -x "$bin/tierfs" ] || sh "$src/contrib/build.sh" "$src/build"
mkdir -p "$mnt"
cleanup() {
	umount "$mnt" 2> /dev/null || true
	rm -f "$img" "$dir/rr.img" "$dir/rr-raw"
}
trap cleanup EXIT
mountpoint -q "$mnt" && umount "$mnt"

now() { date +%s.%N; }
since() { python3 -c "import sys; print('%.2f' % ($(now) - $1))"; }
daemon_pid() { pgrep -n -f "tierfs.* $mnt\$"; }
wait_gone() {
	local i
	for i in $(seq 1 600); do pgrep -f "tierfs.* $mnt\$" > /dev/null || return 0; sleep 0.1; done
	echo "daemon did not exit" >&2
	return 1
}
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$(daemon_pid)/status"; }
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print(d$1)"; }

# 10 % more slots than chunks, for the files, the log and the reserve
size=$((chunks * 65536 / 10 * 12 + (4 << 30)))
t=$(now)
"$bin/mkfs.tierfs" --force --chunk-size 64K --block "$img:$size" > /dev/null
echo "mkfs of a $((size >> 30)) GiB device: $(since "$t") s"

# the daemon's RSS on the empty pool, with the files only, and with the
# chunks too - each after a mount with a cold page cache - separates what
# inodes and chunks cost
cold_mount() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	t=$(now)
	"$bin/tierfs" "$img" "$mnt"
	mount_s=$(since "$t")
}
cold_mount
rss0=$(rss_kib)
t=$(now)
python3 - "$mnt" "$inodes" <<'EOF'
import os, sys
mnt, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    if i % 1000 == 0:
        d = os.path.join(mnt, "d%05d" % (i // 1000))
        os.mkdir(d)
    fd = os.open(os.path.join(d, "f%010d" % i), os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(fd)
EOF
echo "created $inodes files: $(since "$t") s"
umount "$mnt"
wait_gone
cold_mount
rss1=$(rss_kib)
mkdir "$mnt/big"
t=$(now)
per=$((chunks / 100))
for i in $(seq 1 100); do
	fallocate -l $((per * 65536)) "$mnt/big/b$i"
done
echo "allocated $((per * 100)) chunks: $(since "$t") s"
t=$(now)
umount "$mnt"
wait_gone
echo "unmount (checkpoint of everything): $(since "$t") s"
cold_mount
echo "mount with $inodes files and $((per * 100)) chunks, cold cache: $mount_s s"
rss2=$(rss_kib)
mem=$("$bin/tierfsctl" memory "$mnt" --json)
echo "tierfsctl memory: $mem"
python3 - "$mem" "$rss0" "$rss1" "$rss2" <<'EOF'
import json, sys
m = json.loads(sys.argv[1])
rss0, rss1, rss2 = (int(x) for x in sys.argv[2:5])
c, i = m["chunks"], m["inodes"]
print("structures: %.1f bytes per chunk (objects and maps), %.1f bytes per inode, "
      "%.1f bytes per directory entry with its 11-byte name"
      % ((m["chunk_bytes"] + m["map_bytes"]) / c, m["inode_bytes"] / i, m["dirent_bytes"] / i))
print("daemon RSS: %.0f MiB empty, %.0f MiB with the files, %.0f MiB with the chunks too: "
      "%.1f bytes per inode (with its entry and name), %.1f bytes per chunk"
      % (rss0 / 1024, rss1 / 1024, rss2 / 1024, (rss1 - rss0) * 1024 / i,
         (rss2 - rss1) * 1024 / c))
EOF

# 1 % of the files changed, then a checkpoint
t=$(now)
python3 - "$mnt" "$inodes" <<'EOF'
import os, sys
mnt, n = sys.argv[1], int(sys.argv[2])
for i in range(0, n, 100):
    p = os.path.join(mnt, "d%05d" % (i // 1000), "f%010d" % i)
    with open(p, "ab") as f:
        f.write(b"x")
EOF
echo "changed $((inodes / 100)) files: $(since "$t") s"
"$bin/tierfsctl" checkpoint "$mnt" > /dev/null # what the changes left
ck=$("$bin/tierfsctl" checkpoint "$mnt" --json)
python3 - "$mnt" "$inodes" <<'EOF'
import os, sys
mnt, n = sys.argv[1], int(sys.argv[2])
for i in range(50, n, 100):
    p = os.path.join(mnt, "d%05d" % (i // 1000), "f%010d" % i)
    with open(p, "ab") as f:
        f.write(b"y")
EOF
ck=$("$bin/tierfsctl" checkpoint "$mnt" --json)
echo "checkpoint after changing 1 % of the files: $(echo "$ck" | json '["bytes"]') bytes in $(echo "$ck" | json '["us"] / 1000') ms"
umount "$mnt"
wait_gone

# lock holds under 8 writers with checkpoints forced every 2 s
"$bin/tierfs" "$img" "$mnt"
fio --name=w --directory="$mnt/big" --filename=b1:b2:b3:b4:b5:b6:b7:b8 --rw=randwrite --bs=4k \
	--numjobs=8 --fsync=32 --time_based --runtime=30 --size=1G --group_reporting \
	--output-format=terse --terse-version=3 > "$dir/fio-w.out" &
fpid=$!
for i in $(seq 1 14); do
	sleep 2
	"$bin/tierfsctl" checkpoint "$mnt" > /dev/null
done
wait $fpid
st=$("$bin/tierfsctl" status "$mnt" --json)
echo "under 8 writers: longest pool-lock hold $(echo "$st" | json '["metadata"]["max_checkpoint_lock_us"]') us in a checkpoint, $(echo "$st" | json '["metadata"]["max_commit_lock_us"]') us in a commit; write IOPS $(awk -F';' '{ print $49 }' "$dir/fio-w.out")"
umount "$mnt"
wait_gone
rm -f "$img"

# random 4 KiB reads on the block tier
rr() { # BIN -> IOPS on a fresh 2 GiB file
	local b=$1
	"$b/mkfs.tierfs" --force --block "$dir/rr.img:4G" > /dev/null
	"$b/tierfs" "$dir/rr.img" "$mnt"
	dd if=/dev/urandom of="$mnt/f" bs=1M count=2048 status=none
	sync
	umount "$mnt"
	wait_gone
	echo 3 > /proc/sys/vm/drop_caches
	"$b/tierfs" "$dir/rr.img" "$mnt"
	fio --name=r --filename="$mnt/f" --rw=randread --bs=4k --iodepth=16 --ioengine=libaio \
		--direct=1 --time_based --runtime=30 --size=2G --output-format=terse \
		--terse-version=3 | awk -F';' '{ print $8 }'
	umount "$mnt"
	wait_gone
}
new=$(rr "$bin")
dd if=/dev/urandom of="$dir/rr-raw" bs=1M count=2048 status=none
sync
echo 3 > /proc/sys/vm/drop_caches
raw=$(fio --name=r --filename="$dir/rr-raw" --rw=randread --bs=4k --iodepth=16 --ioengine=libaio \
	--direct=1 --time_based --runtime=30 --size=2G --output-format=terse --terse-version=3 |
	awk -F';' '{ print $8 }')
echo "4 KiB random reads, QD16: tierfs $new IOPS, raw file $raw IOPS: $(python3 -c "print('%.2f' % ($new / $raw))") x raw"
if [ -n "$base" ]; then
	old=$(rr "$base")
	echo "  the tierfs in $base: $old IOPS: this one is $(python3 -c "print('%.2f' % ($new / $old))") x that"
fi
