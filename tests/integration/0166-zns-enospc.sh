#!/bin/bash
# A full pool of zones and a small block device: O_DIRECT writes of 4 MiB
# (16 chunks each) until ENOSPC.  The write that fails has appended some of
# its chunks into zones already; none of that may stay past the end of file,
# so extending the file afterwards shows zeros, fsck is clean and the file
# reads back as written up to its size.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
FSCK=$TOP_BUILDDIR/src/fsck.tierfs
command -v python3 > /dev/null || skip "python3 is needed"
tfs_mkfs --zns "$T/z.img" --zone-size 1M --zone-capacity 1M --zones 16 --max-open 4 --max-active 4 \
	--block "$T/a.img:16M"
tfs_mount "$T/a.img" -o migrate=0
python3 - "$MNT/f" > "$T/out" 2>&1 <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR | os.O_DIRECT, 0o644)
buf = mmap.mmap(-1, 4 << 20)
buf.write(b'\xab' * (4 << 20))
n = 0
while True:
    try:
        n += os.pwrite(fd, buf, n)
    except OSError as e:
        print("ENOSPC" if e.errno == 28 else "error %d" % e.errno, "after", n)
        break
size = os.fstat(fd).st_size
print("size", size, "written", n)
os.ftruncate(fd, size + (8 << 20))
os.close(fd)
with open(sys.argv[1], "rb") as f:
    head = f.read(size)
    tail = f.read()
print("head ok" if head == b'\xab' * size else "head differs")
print("tail", len(tail), "nonzero", sum(1 for b in tail if b))
PY
cat "$T/out"
check grep -q "^ENOSPC" "$T/out" "writes end in ENOSPC"
check grep -q "head ok" "$T/out" "what was written reads back"
check grep -q "^tail 8388608 nonzero 0$" "$T/out" "nothing of the failed write shows past the old end of file"
tfs_umount
"$FSCK" -n "$T/a.img" > "$T/fsck.out" 2>&1
rc=$?
[ $rc = 0 ] || cat "$T/fsck.out"
check test $rc = 0 "fsck clean after the failed write"
finish
