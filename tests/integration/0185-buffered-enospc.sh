#!/bin/bash
# Buffered writers hear ENOSPC: a writer that keeps writing into a full pool
# through the page cache gets ENOSPC from write(2) within the stated bound
# (tierfs(8), SPACE: the mount's dirty limit, at most dirty_max = 64 MiB,
# plus one 1 MiB request), and the file it wrote holds exactly a prefix of
# its data: no zeros inside, nothing past what was stored.  Then the same
# with cp(1), the case that once left a file with 2 MiB of zeros inside.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
BOUND=$(((64 + 1) << 20))

writer() { # FILE MAXMIB: 1 MiB writes of a known pattern until an error
	python3 - "$1" "$2" <<'PY'
import errno, hashlib, os, sys
path, maxmib = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
acked, werr, cerr = 0, 0, 0
for i in range(maxmib):
    blk = hashlib.sha256(b"%d" % i).digest() * (1 << 15)
    try:
        acked += os.write(fd, blk)
    except OSError as e:
        werr = e.errno
        break
try:
    os.close(fd)
except OSError as e:
    cerr = e.errno
print(acked, werr, cerr)
PY
}
prefix_ok() { # FILE: the file is an exact prefix of the writer's pattern
	python3 - "$1" <<'PY'
import hashlib, sys
data = open(sys.argv[1], "rb").read()
for i in range(0, len(data), 1 << 20):
    blk = hashlib.sha256(b"%d" % (i >> 20)).digest() * (1 << 15)
    piece = data[i:i + (1 << 20)]
    if piece != blk[:len(piece)]:
        bad = next(j for j in range(len(piece)) if piece[j] != blk[j])
        print("differs at byte", i + bad)
        sys.exit(1)
PY
}

tfs_mkfs --block "$T/a.img:64M"
tfs_mount "$T/a.img"
room=$(python3 -c "import os; s=os.statvfs('$MNT'); print(s.f_bfree * s.f_frsize)")
read -r acked werr cerr < <(writer "$MNT/big" 400)
note "room $room bytes; write(2) acknowledged $acked bytes, then errno $werr; close errno $cerr"
check test "$werr" = "$(python3 -c 'import errno; print(errno.ENOSPC)')" "write(2) failed with ENOSPC"
check test "$acked" -lt 400000000 "the writer stopped: it did not write 400 MiB into a 64 MiB pool"
check test "$((acked - room))" -le "$BOUND" "acknowledged at most the bound past the room ($((acked - room)) bytes)"
tfs_umount
tfs_mount "$T/a.img"
size=$(stat -c %s "$MNT/big")
note "stored $size bytes"
check prefix_ok "$MNT/big" "the file is an exact prefix of what was written"
check test "$size" -le "$acked" "nothing stored that was not acknowledged"
check test "$size" -ge "$((room - (2 << 20)))" "the pool was filled (not stopped early)"
tfs_umount
check "$TOP_BUILDDIR/src/fsck.tierfs" -n "$T/a.img" "fsck.tierfs -n is clean after the full pool"
tfs_mount "$T/a.img"

# cp of a file larger than the room left: an error, and no zeros inside
rm "$MNT/big"
python3 -c "
import hashlib
with open('$T/src', 'wb') as f:
    for i in range(100):
        f.write(hashlib.sha256(b'%d' % i).digest() * (1 << 15))"
check bash -c "! cp '$T/src' '$MNT/copy' 2> '$T/cp.err'" "cp of 100 MiB into 64 MiB fails"
check grep -q "No space left" "$T/cp.err" "cp says: No space left on device"
tfs_umount
tfs_mount "$T/a.img"
note "cp stored $(stat -c %s "$MNT/copy") bytes"
check prefix_ok "$MNT/copy" "the copy is an exact prefix of the source"
# and deleting makes room again
rm "$MNT/copy"
check dd if="$T/src" of="$MNT/again" bs=1M count=32 conv=fsync status=none "space is back after the delete"
tfs_umount
finish
