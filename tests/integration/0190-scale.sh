#!/bin/bash
# Metadata at a CI-sized scale: a pool holding 1,000,000 chunks (64 KiB
# chunks allocated by fallocate on a sparse 80 GiB device: no data I/O) and
# 20,000 files.  The daemon's memory must stay within the published
# limits - at most 64 bytes per chunk, 256 bytes per inode plus its name -
# after creating it and after a remount (the load path); removing the big
# file must free every chunk (a walk that is not linear would not end: the
# removal runs under a generous timeout as a hang detector, not as a
# timing), and fsck must be clean.  contrib/bench-scale.sh measures the
# same at 10 million chunks.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
CTL=$TOP_BUILDDIR/src/tierfsctl
FSCK=$TOP_BUILDDIR/src/fsck.tierfs
PY=$(command -v /usr/bin/python3 || command -v python3)
CHUNKS=${TFS_SCALE_CHUNKS:-1000000}
FILES=20000
tfs_mkfs --chunk-size 64K --block "$T/a.img:64M" --block "$T/b.img:80G"
tfs_mount "$T/a.img"
"$PY" - "$MNT" "$FILES" <<'EOF'
import os, sys
mnt, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    if i % 1000 == 0:
        d = os.path.join(mnt, "d%02d" % (i // 1000))
        os.mkdir(d)
    os.close(os.open(os.path.join(d, "f%010d" % i), os.O_CREAT | os.O_WRONLY, 0o644))
EOF
check timeout 600 fallocate -l $((CHUNKS * 65536)) "$MNT/big" "fallocate of $CHUNKS chunks"

# per chunk: chunk objects and maps; per inode: inodes, directory tables
# and entries less the names (11 bytes each, 3 for the directories)
memcheck() {
	local m
	m=$("$CTL" memory "$MNT" --json)
	echo "# $1: $m"
	"$PY" - "$m" "$CHUNKS" "$FILES" <<'EOF'
import json, sys
m, chunks, files = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
per_chunk = (m["chunk_bytes"] + m["map_bytes"]) / m["chunks"]
names = files * 12 + (files // 1000) * 4 + 4
per_inode = (m["inode_bytes"] + m["dirent_bytes"] - names) / m["inodes"]
print("# %.1f bytes per chunk, %.1f bytes per inode plus its name" % (per_chunk, per_inode))
ok = m["chunks"] == chunks and m["inodes"] >= files and per_chunk <= 64 and per_inode <= 256
sys.exit(0 if ok else 1)
EOF
}
check memcheck "after making it" "memory per chunk <= 64 bytes, per inode <= 256 bytes plus the name"
tfs_umount
tfs_mount "$T/a.img"
check memcheck "after a remount" "and the same after a remount (the load)"
check test "$(stat -c %s "$MNT/big")" = $((CHUNKS * 65536)) "the big file is whole after the remount"
check test -e "$MNT/d19/f0000019999" "the last small file is there"
check timeout 300 rm "$MNT/big" "removing the file of $CHUNKS chunks"
tfs_umount
tfs_mount "$T/a.img"
n=$("$CTL" status "$MNT" --json | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["metadata"]["chunks"])')
check test "$n" = 0 "every chunk is freed ($n left)"
tfs_umount
timeout 600 "$FSCK" -n "$T/a.img" > "$T/fsck.out" 2>&1
rc=$?
check test $rc = 0 "fsck -n clean (exit $rc)"
[ $rc = 0 ] || tail -5 "$T/fsck.out"
finish
