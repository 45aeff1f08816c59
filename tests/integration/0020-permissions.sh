#!/bin/bash
# Permissions as an unprivileged user (uid 65534) on an allow_other mount.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
command -v setpriv >/dev/null || skip "setpriv (util-linux) missing"
tfs_mkfs --block "$T/a.img:256M"
tfs_mount "$T/a.img" -o allow_other
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
as_nobody_grp() { setpriv --reuid=65534 --regid=65534 --groups=4242 -- "$@"; }

mkdir "$MNT/rootonly" && chmod 755 "$MNT/rootonly"
mkdir "$MNT/public" && chmod 1777 "$MNT/public"
mkdir "$MNT/grp" && chgrp 4242 "$MNT/grp" && chmod 2770 "$MNT/grp"
echo secret > "$MNT/rootonly/s" && chmod 600 "$MNT/rootonly/s"

check as_nobody ls "$MNT" "other users see the mount (allow_other)"
check bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups -- touch '$MNT/rootonly/x' 2>/dev/null" "create in a 755 root dir: denied"
check bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups -- cat '$MNT/rootonly/s' 2>/dev/null" "read a 600 root file: denied"
check as_nobody touch "$MNT/public/mine" "create in a 1777 dir"
check test "$(stat -c %u:%g "$MNT/public/mine")" = 65534:65534 "new file owned by the caller"
touch "$MNT/public/roots"
check bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups -- rm -f '$MNT/public/roots' 2>/dev/null" "sticky dir: cannot remove another's file"
check bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups -- chmod 777 '$MNT/public/roots' 2>/dev/null" "chmod of another's file: denied"
check as_nobody_grp touch "$MNT/grp/viagroup" "supplementary group grants access"
check test "$(stat -c %g "$MNT/grp/viagroup")" = 4242 "setgid dir: group inherited"
check bash -c "! setpriv --reuid=65534 --regid=65534 --clear-groups -- touch '$MNT/grp/nogroup' 2>/dev/null" "without the group: denied"
# a write by a non-owner clears setuid/setgid
echo x > "$MNT/public/suid" && chmod 6777 "$MNT/public/suid"
check as_nobody sh -c "echo more >> '$MNT/public/suid'" "non-owner writes a 6777 file"
mode=$(stat -c %a "$MNT/public/suid")
check test "$mode" = 777 "setuid/setgid cleared by that write (mode $mode)"
# the daemon kills privileges itself (HANDLE_KILLPRIV_V2): truncate, O_TRUNC
# and chown clear them too; a writer with CAP_FSETID (root) keeps them
echo x > "$MNT/public/tr" && chmod 6777 "$MNT/public/tr"
check as_nobody truncate -s 1 "$MNT/public/tr" "non-owner truncates a 6777 file"
check test "$(stat -c %a "$MNT/public/tr")" = 777 "truncate cleared setuid/setgid"
echo x > "$MNT/public/ot" && chmod 6777 "$MNT/public/ot"
check as_nobody sh -c ": > '$MNT/public/ot'" "non-owner opens a 6777 file with O_TRUNC"
check test "$(stat -c %a "$MNT/public/ot")" = 777 "O_TRUNC cleared setuid/setgid"
echo x > "$MNT/public/ro" && chmod 6777 "$MNT/public/ro"
echo more >> "$MNT/public/ro"
check test "$(stat -c %a "$MNT/public/ro")" = 6777 "a write by root keeps setuid/setgid"
echo x > "$MNT/public/sg" && chmod 2766 "$MNT/public/sg"
check as_nobody sh -c "echo more >> '$MNT/public/sg'" "non-owner writes a 2766 file"
check test "$(stat -c %a "$MNT/public/sg")" = 2766 "setgid without group-execute is kept"
echo x > "$MNT/public/co" && chmod 6755 "$MNT/public/co"
chown 65534 "$MNT/public/co"
check test "$(stat -c %a "$MNT/public/co")" = 755 "chown cleared setuid/setgid"
if command -v setcap >/dev/null; then
	echo x > "$MNT/public/cap" && chmod 666 "$MNT/public/cap"
	check setcap cap_net_raw+ep "$MNT/public/cap" "file capability set"
	check test -n "$(getcap "$MNT/public/cap")" "file capability reads back"
	check as_nobody sh -c "echo more >> '$MNT/public/cap'" "non-owner writes a file with a capability"
	check test -z "$(getcap "$MNT/public/cap")" "that write removed the capability"
fi
tfs_umount
finish
