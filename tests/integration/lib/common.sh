# tests/integration/lib/common.sh - shared verbs of the integration cases.
#
# A case sources this file, calls tfs_setup, and exits 0 (pass), 1 (fail) or
# 77 (skip, with the reason on stdout).  Everything lives in one temporary
# directory that the exit trap unmounts and removes.

set -u
TOP_BUILDDIR=${TOP_BUILDDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TIERFS=${TIERFS:-$TOP_BUILDDIR/src/tierfs}
MKFS=${MKFS:-$TOP_BUILDDIR/src/mkfs.tierfs}
HELPERS=${HELPERS:-$TOP_BUILDDIR/tests/integration}
# the sanitizer build is several times slower: cases may scale work down
TFS_SCALE=${TFS_SCALE:-1}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
note() { echo "# $*"; }

# check CONDITION-COMMAND... DESCRIPTION: counts a failure, goes on
FAILS=0
check() {
	local what=${!#}
	local n=$(($# - 1))
	if "${@:1:$n}"; then echo "ok - $what"; else echo "not ok - $what"; FAILS=$((FAILS + 1)); fi
}
# expect_failure PATTERN COMMAND...: a non-zero exit that is not a signal,
# and stderr (left in $T/err) matching PATTERN
expect_failure() {
	local pat=$1 rc
	shift
	"$@" > "$T/out" 2> "$T/err"
	rc=$?
	if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then echo "# exit $rc from: $*"; cat "$T/err"; return 1; fi
	grep -qi -- "$pat" "$T/err" || { echo "# stderr of '$*':"; cat "$T/err"; return 1; }
}
finish() {
	if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
	exit 0
}

tfs_setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (FUSE mounts, devices)"
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	[ -x "$TIERFS" ] || fail "$TIERFS not built"
	T=$(mktemp -d "${TMPDIR:-/tmp}/tierfs-test.XXXXXX")
	chmod 755 "$T"
	MNT=$T/mnt
	mkdir -p "$MNT"
	trap tfs_cleanup EXIT
}

# the exit trap: unmount, remove, exit with the case's status (RC if given:
# a trap that runs commands first passes the status it found)
tfs_cleanup() {
	local rc=${1:-$?}
	if mountpoint -q "$MNT" 2>/dev/null; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	fi
	tfs_wait_exit
	rm -rf "$T"
	exit $rc
}

# the daemon of the last mount, found by the pool lock it holds
tfs_wait_exit() {
	local i
	for i in $(seq 1 300); do
		[ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null || return 0
		sleep 0.1
	done
	echo "# daemon $DAEMON_PID still running after 30 s"
	return 1
}

# tfs_mkfs ARGS...: format (quietly)
tfs_mkfs() {
	"$MKFS" "$@" > "$T/mkfs.out" 2>&1 || { cat "$T/mkfs.out"; fail "mkfs.tierfs $*"; }
}

# tfs_mount DEVICE [tierfs options...]; TFS_TRANSPORT=uring|dev|auto picks
# the FUSE transport (contrib/test.sh runs a pass of cases over io_uring)
tfs_mount() {
	local dev=$1
	shift
	"$TIERFS" ${TFS_TRANSPORT:+-o transport=$TFS_TRANSPORT} "$@" "$dev" "$MNT" ||
		fail "tierfs $* $dev $MNT"
	mountpoint -q "$MNT" || fail "not mounted after tierfs returned"
	DAEMON_PID=$(pgrep -n -f "^$TIERFS .*$MNT\$" || pgrep -n -f "$TIERFS.*$dev.*$MNT")
}

# tfs_crash_during PID: after a random 0.1-0.9 s, SIGKILL the daemon while
# the workload PID runs, wait for the workload to fail, clear the dead mount
tfs_crash_during() {
	sleep "0.$((RANDOM % 9 + 1))"
	kill -9 "$DAEMON_PID"
	wait "$1" 2>/dev/null
	umount "$MNT" 2>/dev/null || umount -l "$MNT"
	tfs_wait_exit
}

tfs_umount() {
	umount "$MNT" || fail "umount $MNT"
	tfs_wait_exit || fail "daemon did not exit after umount"
}

# a manifest of a tree: path, type, mode, nlink, uid, gid, size, content hash, xattrs
tfs_manifest() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r p; do
		s=$(stat -c '%F %a %h %u %g' -- "$p")
		# sizes of regular files only: a directory's size is the file system's own
		[ -f "$p" ] && [ ! -L "$p" ] && s="$s $(stat -c %s -- "$p")"
		h=-
		[ -f "$p" ] && [ ! -L "$p" ] && h=$(sha256sum < "$p" | cut -c1-16)
		[ -L "$p" ] && h=$(readlink -- "$p")
		x=$(getfattr -h -d -m - --absolute-names -- "$p" 2>/dev/null | grep -v '^#' | tr '\n' ' ')
		printf '%s|%s|%s|%s\n' "$p" "$s" "$h" "$x"
	done)
}
