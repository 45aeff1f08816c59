#!/bin/sh
# Install the Debian 12 packages tierfs needs to build and test.  Idempotent;
# run as root.  Set TFS_DEPS_QUIET=1 for less output.
set -e
pkgs="build-essential autoconf automake libtool pkg-config \
libfuse3-dev fuse3 liburing-dev libxxhash-dev check \
attr libcap2-bin util-linux e2fsprogs procps fio bc sqlite3 \
clang libclang-rt-14-dev postgresql rocksdb-tools prometheus tmux \
librados-dev ceph-mon ceph-osd ceph-common ceph-base"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing:$missing (run as root to install)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing > /dev/null
echo "install-deps: done"
