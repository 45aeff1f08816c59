#!/bin/bash
# A real tree (copied with cp -a) plus links and xattrs: identical after a
# remount, and identical to its source.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
tfs_mkfs --chunk-size 64K --block "$T/a.img:512M" --block "$T/b.img:512M"
tfs_mount "$T/a.img"
SRC=/usr/include/linux
mkdir "$T/src"
cp -a "$SRC" "$T/src/linux"
cp -a "$T/src/linux" "$MNT/linux"
check test "$(cd "$T/src" && tfs_manifest . | sed 's/|[^|]*$//' | sha256sum)" = \
	"$(cd "$MNT" && tfs_manifest . | grep -v '^\./\(extra\|lost\)' | sed 's/|[^|]*$//' | sha256sum)" \
	"cp -a copy matches the source"
mkdir -p "$MNT/extra/d1/d2"
echo one > "$MNT/extra/f"
ln "$MNT/extra/f" "$MNT/extra/d1/hard"
ln -s ../f "$MNT/extra/d1/soft"
setfattr -n user.color -v blue "$MNT/extra/f"
setfattr -n user.empty "$MNT/extra/d1"
chmod 2751 "$MNT/extra/d1"
chown 12:34 "$MNT/extra/d1/d2"
mkfifo "$MNT/extra/fifo"
truncate -s 1G "$MNT/extra/sparse"
echo end >> "$MNT/extra/sparse"
touch -d '2001-02-03 04:05:06.123456789' "$MNT/extra/f"
tfs_manifest "$MNT" > "$T/before"
stat -c '%n %y %i' "$MNT/extra/f" "$MNT/extra/d1" > "$T/times.before"
tfs_umount
tfs_mount "$T/a.img"
tfs_manifest "$MNT" > "$T/after"
check diff -u "$T/before" "$T/after" "manifest identical after remount ($(wc -l < "$T/before") entries)"
stat -c '%n %y %i' "$MNT/extra/f" "$MNT/extra/d1" > "$T/times.after"
check diff "$T/times.before" "$T/times.after" "timestamps (ns) and inode numbers stable"
check test "$(stat -c %h "$MNT/extra/f")" = 2 "hard link count kept"
tfs_umount
finish
