#!/bin/bash
# A full pool is ENOSPC, never a read-only or unmountable one, and an
# unprivileged user cannot take the last of it.  For each way of filling it
# (4095-byte symlinks, empty files, xattrs of 60,000 bytes, 1 MiB files), on
# a fresh small pool mounted allow_other:
#   - uid 65534 fills it until ENOSPC; every call that succeeded is listed;
#   - removing things and writing into existing files still works when full;
#   - root still has its reserve (5 %): root makes files, a symlink, data;
#   - root fills the rest until ENOSPC too;
#   - after an unmount and a mount, everything that was acknowledged is
#     there, intact, and fsck.tierfs -n finds nothing wrong;
#   - deleting makes room again.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
command -v setpriv > /dev/null || skip "setpriv (util-linux) missing"
FSCK=$TOP_BUILDDIR/src/fsck.tierfs
FILL=$(dirname "$0")/fill.py
# the system python: another one (pyenv) may not be reachable by uid 65534
PY=$(command -v /usr/bin/python3 || command -v python3)
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
# what root made in its reserve
reserve_manifest() {
	local f
	for f in r1 r2 r3 r4 r5 longlink before; do
		stat -c '%n %F %s %a' "$MNT/root/$f"
		[ -L "$MNT/root/$f" ] && readlink "$MNT/root/$f" | sha256sum
		[ -f "$MNT/root/$f" ] && [ ! -L "$MNT/root/$f" ] && sha256sum < "$MNT/root/$f"
		getfattr -h -d -m - --absolute-names "$MNT/root/$f" 2> /dev/null | sha256sum
	done
}

for mode in symlink empty xattr data; do
	rm -f "$T/a.img"
	tfs_mkfs --chunk-size 64K --block "$T/a.img:64M"
	tfs_mount "$T/a.img" -o allow_other
	mkdir -m 1777 "$MNT/pub"
	mkdir "$MNT/root" "$MNT/root/small"
	echo "keep me" > "$MNT/root/before"
	: > "$T/user.list"
	chmod 666 "$T/user.list"
	timeout 1200 setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		"$PY" "$FILL" "$mode" "$MNT/pub" "$T/user.list" > "$T/fill.out" 2>&1
	rc=$?
	cat "$T/fill.out"
	check test $rc = 0 "$mode: uid 65534 fills the pool until ENOSPC (exit $rc)"
	n=$(grep -vc '^file ' "$T/user.list")
	check test "$n" -gt 0 "$mode: uid 65534 made $n objects first"
	# full for the user: removing still works, and a tenth of what was made
	# makes room again (one small object may not free a whole slot)
	grep -v '^file ' "$T/user.list" | head -$((n / 10 + 1)) > "$T/rm.list"
	case $mode in
	xattr) check as_nobody sh -c "while read -r f a i; do setfattr -x \$a \$f || exit 1; done < '$T/rm.list'" \
		"$mode: removing xattrs works when full" ;;
	*) check as_nobody sh -c "while read -r f; do rm \$f || exit 1; done < '$T/rm.list'" \
		"$mode: removing works when full" ;;
	esac
	grep -vxF -f "$T/rm.list" "$T/user.list" > "$T/keep.list"
	mv "$T/keep.list" "$T/user.list"
	check as_nobody touch "$MNT/pub/after-rm" "$mode: and makes room again"
	# root has its reserve
	check bash -c "for i in 1 2 3 4 5; do head -c 200000 /dev/urandom > '$MNT/root/r'\$i || exit 1; done" \
		"$mode: root writes 1 MB in its reserve"
	check ln -s "$(printf 'r%.0s' $(seq 1 4000))" "$MNT/root/longlink" "$mode: root makes a long symlink"
	check setfattr -n user.big -v "$(head -c 30000 /dev/zero | tr '\0' v)" "$MNT/root/before" \
		"$mode: root sets an xattr"
	# and then root fills the rest
	: > "$T/root.list"
	: > "$T/root-e.list"
	timeout 1200 "$PY" "$FILL" "$mode" "$MNT/root" "$T/root.list" > "$T/fill.out" 2>&1
	rc=$?
	cat "$T/fill.out"
	check test $rc = 0 "$mode: root fills the rest until ENOSPC (exit $rc)"
	# what is left fits only small objects: those too, then nothing
	"$PY" "$FILL" empty "$MNT/root/small" "$T/root-e.list" > "$T/fill.out" 2>&1
	check test $? = 0 "$mode: root fills what is left with empty files until ENOSPC ($(cat "$T/fill.out"))"
	mkdir "$MNT/root/newdir" 2> "$T/err"
	check grep -q "No space left" "$T/err" "$mode: full for root too: mkdir says ENOSPC ($(cat "$T/err"))"
	check bash -c "echo more >> '$MNT/root/before'" "$mode: root appends to a file when full"
	check mountpoint -q "$MNT" "$mode: still mounted"
	reserve_manifest > "$T/root.want"
	tfs_umount
	tfs_mount "$T/a.img" -o allow_other
	check "$PY" "$FILL" check "$mode" "$T/user.list" "$mode: everything uid 65534 was told was made is there"
	check "$PY" "$FILL" check "$mode" "$T/root.list" "$mode: everything root was told was made is there"
	[ ! -s "$T/root-e.list" ] ||
		check "$PY" "$FILL" check empty "$T/root-e.list" "$mode: and the empty files root made last"
	check test -e "$MNT/pub/after-rm" "$mode: the file made after the removal is there"
	check test "$(readlink "$MNT/root/longlink" | wc -c)" = 4001 "$mode: root's long symlink is there"
	check test "$(getfattr --only-values -n user.big "$MNT/root/before" | wc -c)" = 30000 \
		"$mode: root's xattr is there"
	reserve_manifest > "$T/root.got"
	check diff -q "$T/root.want" "$T/root.got" "$mode: root's files are as they were"
	# deleting makes room for everyone
	find "$MNT/pub" "$MNT/root" -mindepth 1 -name "[a-z]0*" -delete
	find "$MNT/pub" -mindepth 1 -delete
	check as_nobody sh -c "head -c 1000000 /dev/urandom > '$MNT/pub/new'" \
		"$mode: after deleting, uid 65534 writes 1 MB again"
	tfs_umount
	"$FSCK" -n "$T/a.img" > "$T/fsck.out" 2>&1
	rc=$?
	check test $rc = 0 "$mode: fsck -n clean (exit $rc)"
	[ $rc = 0 ] || tail -5 "$T/fsck.out"
done
finish
