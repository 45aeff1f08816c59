#!/bin/bash
# Device faults injected into the running daemon (TIERFS_FAULT, io/fault.c):
# EIO and ENOSPC on data writes reach the application and lose nothing that
# was acknowledged; a torn journal write and a failed flush make the pool
# refuse further changes, and after a remount every acknowledged file is
# there and fsck is clean; short transfers are finished by the engine.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
FSCK=$TOP_BUILDDIR/src/fsck.tierfs

# acked FILE...: create each with random content, fsync it, remember its hash
ack() {
	local f
	for f in "$@"; do
		head -c $((RANDOM * 7 + ${ACK_MIN:-5000})) /dev/urandom > "$T/src" || return 1
		dd if="$T/src" of="$MNT/$f" bs=64k conv=fsync status=none 2>/dev/null || return 1
		echo "$f $(sha256sum < "$T/src" | cut -c1-32)" >> "$T/acked"
	done
}
verify_acked() { # after a remount: every acknowledged file with its content
	local f sum bad=0
	while read -r f sum; do
		[ "$(sha256sum < "$MNT/$f" 2>/dev/null | cut -c1-32)" = "$sum" ] || { echo "# $f lost"; bad=1; }
	done < "$T/acked"
	return $bad
}
remount_clean() { # $1: what happened
	umount "$MNT" 2>/dev/null || umount -l "$MNT"
	tfs_wait_exit
	unset TIERFS_FAULT
	check "$FSCK" -n "$T/a.img" "$1: fsck -n clean afterwards"
	tfs_mount "$T/a.img"
	check verify_acked "$1: every acknowledged file intact after remount"
	[ -z "${2:-}" ] && tfs_umount
}

tfs_mkfs --block "$T/a.img:256M" --block "$T/b.img:256M"
: > "$T/acked"

out=$(TIERFS_FAULT="write:sometimes" "$TIERFS" "$T/a.img" "$MNT" 2>&1); rc=$?
check test $rc = 1 "a bad TIERFS_FAULT is refused"
check grep -q "bad TIERFS_FAULT" <<<"$out" "and named"

# ---- EIO on every data write to the second device (dwrite: the copies of
# the metadata log there are written; a failed metadata write would stop
# all changes, which is tested below)
TIERFS_FAULT="dwrite:EIO:count=0:dev=b.img" tfs_mount "$T/a.img"
ack base1 base2 2>/dev/null
head -c $((4 << 20)) /dev/urandom > "$T/big"
out=$(dd if="$T/big" of="$MNT/big" bs=1M conv=fsync 2>&1); rc=$?
echo "$out" | tail -1
check test $rc != 0 "data write EIO reaches the application"
check grep -qi "input/output error" <<<"$out" "as EIO"
remount_clean "write EIO"

# ---- ENOSPC from the device on data writes
TIERFS_FAULT="dwrite:ENOSPC:count=0:dev=b.img" tfs_mount "$T/a.img"
out=$(dd if="$T/big" of="$MNT/big2" bs=1M conv=fsync 2>&1); rc=$?
echo "$out" | tail -1
check test $rc != 0 "device ENOSPC reaches the application"
check grep -qi "no space left" <<<"$out" "as ENOSPC"
remount_clean "write ENOSPC"

# ---- a torn journal write: that fsync fails, the pool refuses changes.
# Files of 8 MiB or more: their transactions (the checksums of 2048 blocks
# written since the last commit) are longer than 8 KiB, so the torn half
# really cuts the records.
TIERFS_FAULT="jwrite:torn:after=4" tfs_mount "$T/a.img"
n=0
for i in $(seq 1 12); do ACK_MIN=$((8 << 20)) ack "torn$i" 2>/dev/null && n=$((n + 1)) || break; done
note "$n fsyncs acknowledged before the torn journal write"
check test "$n" -ge 2 "fsyncs before the fault succeed"
check test "$n" -lt 12 "the torn journal write fails an fsync"
out=$(touch "$MNT/after-fault" 2>&1); rc=$?
check test $rc != 0 "no change accepted after a failed commit ($out)"
remount_clean "torn journal write" keep
check test ! -e "$MNT/torn$((n + 1))" "the file of the torn transaction is not there"
tfs_umount

# ---- the flush before a commit fails
TIERFS_FAULT="flush:EIO:after=3" tfs_mount "$T/a.img"
n=0
for i in $(seq 1 12); do ack "flush$i" 2>/dev/null && n=$((n + 1)) || break; done
note "$n fsyncs acknowledged before the failed flush"
check test "$n" -lt 12 "a failed device flush fails fsync"
remount_clean "flush EIO"

# ---- short transfers everywhere: nothing fails, nothing is lost
TIERFS_FAULT="write:short:count=0" tfs_mount "$T/a.img"
ack short1 short2 short3
cp "$T/big" "$MNT/short-big" && sync "$MNT/short-big"
echo "short-big $(sha256sum < "$T/big" | cut -c1-32)" >> "$T/acked"
remount_clean "short writes"
finish
