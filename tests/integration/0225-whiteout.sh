#!/bin/bash
# renameat2(RENAME_WHITEOUT), as overlayfs uses it on its upper directory:
# the same results as on the directory the test runs in (ext4 on the
# machines this runs on), kept across a remount; and an overlay mount with
# its upper and work directories on tierfs.
. "$(dirname "$0")/lib/common.sh"
tfs_setup

# renameat2 through the raw system call; prints what each case gives
cat > "$T/wo.py" << 'EOF'
import ctypes, os, stat, sys
libc = ctypes.CDLL(None, use_errno=True)
NR = {"x86_64": 316, "aarch64": 276}[os.uname().machine]
NOREPLACE, EXCHANGE, WHITEOUT = 1, 2, 4
def rn(a, b, flags):
    r = libc.syscall(NR, -100, a.encode(), -100, b.encode(), flags)
    return "ok" if r == 0 else os.strerror(ctypes.get_errno())
def desc(p):
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return "absent"
    if stat.S_ISCHR(st.st_mode):
        return "chr %d:%d mode %o nlink %d" % (os.major(st.st_rdev), os.minor(st.st_rdev),
                                               stat.S_IMODE(st.st_mode), st.st_nlink)
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    return "file %r" % open(p).read()
d = sys.argv[1]
out = []
open(d + "/a", "w").write("A")
out.append(("whiteout onto a free name", rn(d + "/a", d + "/b", WHITEOUT), desc(d + "/a"), desc(d + "/b")))
open(d + "/c", "w").write("C")
open(d + "/e", "w").write("E")
out.append(("whiteout onto an existing file", rn(d + "/c", d + "/e", WHITEOUT), desc(d + "/c"), desc(d + "/e")))
os.mkdir(d + "/dir")
open(d + "/dir/x", "w").write("X")
out.append(("whiteout of a directory", rn(d + "/dir", d + "/moved", WHITEOUT), desc(d + "/dir"), desc(d + "/moved/x")))
open(d + "/f", "w").write("F")
open(d + "/g", "w").write("G")
out.append(("whiteout with noreplace onto a file", rn(d + "/f", d + "/g", WHITEOUT | NOREPLACE), desc(d + "/f"), desc(d + "/g")))
out.append(("whiteout with exchange", rn(d + "/f", d + "/g", WHITEOUT | EXCHANGE), desc(d + "/f"), desc(d + "/g")))
out.append(("whiteout of a missing name", rn(d + "/nope", d + "/h", WHITEOUT), desc(d + "/nope"), desc(d + "/h")))
for o in out:
    print(" | ".join(o))
EOF

mkdir "$T/ref"
python3 "$T/wo.py" "$T/ref" > "$T/ref.out" 2>&1
note "reference ($(stat -f -c %T "$T/ref")):"
sed 's/^/#   /' "$T/ref.out"

tfs_mkfs --block "$T/b.img:256M"
tfs_mount "$T/b.img"
mkdir "$MNT/t"
python3 "$T/wo.py" "$MNT/t" > "$T/tfs.out" 2>&1
check diff -u "$T/ref.out" "$T/tfs.out" "every case gives what the reference file system gives"
check grep -q "whiteout onto a free name | ok | chr 0:0 mode 0" "$T/tfs.out" "the whiteout is a character device 0:0"
ls -ln "$MNT/t" | sort > "$T/ls1"
tfs_umount
tfs_mount "$T/b.img"
ls -ln "$MNT/t" | sort > "$T/ls2"
check diff -u "$T/ls1" "$T/ls2" "whiteouts and renamed files are the same after a remount"

# a whiteout rename made durable by fsync of the directory survives a
# SIGKILL of the daemon: the journal replays rename and whiteout together
mkdir "$MNT/k"
echo K > "$MNT/k/src"
sync "$MNT/k"
python3 -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
NR = {'x86_64': 316, 'aarch64': 276}[os.uname().machine]
assert libc.syscall(NR, -100, b'$MNT/k/src', -100, b'$MNT/k/dst', 4) == 0
fd = os.open('$MNT/k', os.O_RDONLY | os.O_DIRECTORY)
os.fsync(fd)
"
check test $? = 0 "whiteout rename and fsync of its directory"
kill -9 "$DAEMON_PID"
umount "$MNT" 2>/dev/null || umount -l "$MNT"
tfs_wait_exit
tfs_mount "$T/b.img"
check test "$(stat -c '%F %t:%T %a' "$MNT/k/src")" = "character special file 0:0 0" \
	"after the kill: the whiteout is there"
check test "$(cat "$MNT/k/dst")" = K "and the renamed file, with its data"

# overlayfs with its upper layer on tierfs
mkdir "$T/lower" "$T/ovl" "$MNT/up" "$MNT/work"
echo lower-f > "$T/lower/f"
echo lower-g > "$T/lower/g"
if mount -t overlay overlay -o "lowerdir=$T/lower,upperdir=$MNT/up,workdir=$MNT/work" "$T/ovl" 2> "$T/ovl.err"; then
	rm "$T/ovl/f"
	mv "$T/ovl/g" "$T/ovl/h"
	echo new > "$T/ovl/n"
	check test "$(ls "$T/ovl" | tr '\n' ' ')" = "h n " "overlay: removed and renamed lower files are hidden ($(ls "$T/ovl" | tr '\n' ' '))"
	check test "$(cat "$T/ovl/h")" = lower-g "overlay: the renamed file has the lower file's data"
	check test -c "$MNT/up/f" "overlay: a whiteout for the removed file in the upper directory on tierfs"
	umount "$T/ovl"
	mount -t overlay overlay -o "lowerdir=$T/lower,upperdir=$MNT/up,workdir=$MNT/work" "$T/ovl"
	check test "$(ls "$T/ovl" | tr '\n' ' ')" = "h n " "overlay: the same after mounting it again"
	umount "$T/ovl"
else
	note "no overlay mount here: $(cat "$T/ovl.err")"
fi
tfs_umount
check "$TOP_BUILDDIR/src/fsck.tierfs" -n "$T/b.img" "fsck -n finds the pool clean"
finish
