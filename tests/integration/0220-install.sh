#!/bin/bash
# make install: the commands, man pages, the systemd mount template and the
# metrics timer; then a pool mounted the way an administrator does at boot,
# through an fstab line ("DEV MNT fuse.tierfs defaults,allow_other 0 0"),
# mount(8) and mount.fuse3, written, unmounted and mounted again.
#
# mount(8) runs mount.fuse3 without PATH, so only an install into a
# directory /bin/sh searches by default can serve an fstab line: that part
# installs into the build's prefix (/usr/local) and uninstalls at the end.
# It is skipped when a tierfs is installed there already (set
# TFS_TEST_INSTALL=1 to overwrite it).
. "$(dirname "$0")/lib/common.sh"
tfs_setup
command -v mount.fuse3 > /dev/null || skip "no mount.fuse3 (package fuse3)"
prefix=$(sed -n 's/^prefix = //p' "$TOP_BUILDDIR/Makefile")
sbindir=$(sed -n 's/^sbindir = //p' "$TOP_BUILDDIR/Makefile" | sed "s|\${exec_prefix}|$prefix|")
unitdir=$prefix/lib/systemd/system
installed=
uninstall() {
	[ -n "$installed" ] && make -C "$TOP_BUILDDIR" uninstall > "$T/uninstall.log" 2>&1
	installed=
}
trap 'rc=$?; uninstall; tfs_cleanup $rc' EXIT

# --- into a scratch root
make -C "$TOP_BUILDDIR" install DESTDIR="$T/root" > "$T/install.log" 2>&1
check test $? = 0 "make install DESTDIR=... succeeds"
for f in "$sbindir/tierfs" "$sbindir/mkfs.tierfs" "$sbindir/fsck.tierfs" "$sbindir/tierfsctl"; do
	check test -x "$T/root$f" "installs $f"
done
for f in man8/tierfs.8 man8/mkfs.tierfs.8 man8/fsck.tierfs.8 man8/tierfsctl.8 man7/tierfs.7 man5/tierfs.conf.5; do
	check test -f "$T/root$prefix/share/man/$f" "installs man page $f"
done
check test -x "$T/root$prefix/share/tierfs/tierfs-textfile.sh" "installs the textfile collector script"
for f in tierfs@.service tierfs-metrics.service tierfs-metrics.timer; do
	check test -f "$T/root$unitdir/$f" "installs the systemd unit $f"
done
check grep -q "^ExecStart=$sbindir/tierfs " "$T/root$unitdir/tierfs@.service" \
	"the mount template runs the installed tierfs"
check grep -q "^ExecStart=$prefix/share/tierfs/tierfs-textfile.sh " "$T/root$unitdir/tierfs-metrics.service" \
	"the metrics service runs the installed script"
if command -v systemd-analyze > /dev/null; then
	# an instance of the template, pointing at the scratch root's binary
	mkdir "$T/units"
	sed "s|$sbindir/tierfs|$T/root$sbindir/tierfs|" "$T/root$unitdir/tierfs@.service" \
		> "$T/units/tierfs@mnt-pool.service"
	sed "s|$prefix/share|$T/root$prefix/share|" "$T/root$unitdir/tierfs-metrics.service" \
		> "$T/units/tierfs-metrics.service"
	cp "$T/root$unitdir/tierfs-metrics.timer" "$T/units/"
	verify() { systemd-analyze verify --man=no "$1" > "$T/verify.out" 2>&1 && ! [ -s "$T/verify.out" ] ||
		{ cat "$T/verify.out"; return 1; }; }
	check verify "$T/units/tierfs@mnt-pool.service" "systemd-analyze verify: the mount template, without a complaint"
	check verify "$T/units/tierfs-metrics.timer" "systemd-analyze verify: the metrics timer and its service"
else
	note "no systemd-analyze: units not verified"
fi

# --- through fstab, with a system install
if [ -e "$sbindir/tierfs" ] && [ -z "${TFS_TEST_INSTALL:-}" ]; then
	note "$sbindir/tierfs is installed already: the fstab part is skipped (TFS_TEST_INSTALL=1 overwrites it)"
	finish
fi
installed=1
make -C "$TOP_BUILDDIR" install > "$T/install.log" 2>&1
check test $? = 0 "make install (prefix $prefix)"
tfs_mkfs --pmem "$T/p.img:64M" --block "$T/b.img:256M"
echo "$T/b.img $MNT fuse.tierfs defaults,allow_other 0 0" > "$T/fstab"
daemon() { pgrep -n -f "tierfs $T/b.img $MNT" ; }
mount -T "$T/fstab" "$MNT"
check test $? = 0 "mount MOUNTPOINT through an fstab line"
check mountpoint -q "$MNT" "the pool is mounted when mount returns"
check grep -q " $MNT fuse.tierfs rw" /proc/self/mounts "as fuse.tierfs, read-write"
DAEMON_PID=$(daemon)
head -c 5M /dev/urandom > "$T/data"
cp "$T/data" "$MNT/data"
check setpriv --reuid 65534 --regid 65534 --clear-groups test -r "$MNT/data" "allow_other from the fstab line took effect"
umount "$MNT"
check test $? = 0 "umount"
check tfs_wait_exit "the daemon exits after the unmount"
mount -T "$T/fstab" "$MNT"
check mountpoint -q "$MNT" "mounted again through fstab"
DAEMON_PID=$(daemon)
check cmp -s "$T/data" "$MNT/data" "the file written before is there, intact"
umount "$MNT"
tfs_wait_exit
uninstall
check test ! -e "$sbindir/tierfs" "make uninstall removes the commands"
finish
