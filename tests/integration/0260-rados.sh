#!/bin/bash
# The rados tier against a real single-host Ceph cluster (one monitor, one
# memstore OSD, all of it under the test's directory): chunks sink into
# RADOS objects and come back byte-identical; a second pool on the same
# namespace is refused; the daemon is SIGKILLed in the middle of demotions,
# repeatedly, and every file survives, fsck finds the orphan objects and -y
# removes them; the OSD frozen: reads of rados chunks fail with EIO within
# the timeout, local files and the daemon keep working, and once it answers
# reads work and migration resumes; twenty reads and twenty writes waiting
# on the frozen OSD hold no FUSE worker; an object altered behind the pool's back reads as
# EIO and the scrub names it; a pool whose cluster is gone
# does not mount, except with -o degraded.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/ceph.sh"
tfs_setup
CTL=$TOP_BUILDDIR/src/tierfsctl
FSCK=$TOP_BUILDDIR/src/fsck.tierfs

grep -q "define HAVE_RADOS 1" "$TOP_BUILDDIR/config.h" || skip "tierfs built without librados"
ceph_have || skip "ceph-mon/ceph-osd not installed (contrib/install-deps.sh installs them)"
# the cluster's state is memory (memstore) and small files: /dev/shm when
# it has room
cdir=$T/ceph
[ "$(df --output=avail -k /dev/shm 2> /dev/null | tail -1)" -gt 1048576 ] 2> /dev/null &&
	cdir=$(mktemp -d /dev/shm/tierfs-ceph.XXXXXX)
cleanup() {
	local rc=$?
	if mountpoint -q "$MNT" 2> /dev/null; then umount "$MNT" 2> /dev/null || umount -l "$MNT"; fi
	tfs_wait_exit
	ceph_down
	tfs_cleanup $rc
}
trap cleanup EXIT
ceph_up "$cdir" > "$T/ceph.out" 2>&1 || { cat "$T/ceph.out"; fail "the Ceph cluster did not come up"; }
note "cluster up: $(ceph -c "$CEPH_CONF" -s --connect-timeout 10 2> /dev/null | grep -m1 'osd:' | tr -s ' ')"
ROBJ() { rados -c "$CEPH_CONF" -p tfs -N "$NS" "$@"; }

ontier() {
	"$CTL" where "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['tiers'].get('$2', {}).get('chunks', 0))"
}
status_rados() {
	"$CTL" status "$MNT" --json | python3 -c "
import json,sys
d=[x for x in json.load(sys.stdin)['devices'] if x['tier']=='rados'][0]
print(d['rados']['$1'])"
}
sums() { (cd "$MNT" && sha256sum f* | LC_ALL=C sort); }

NS=tfs-test-$$
SPEC="tfs,conf=$CEPH_CONF,namespace=$NS,size=2G"
tfs_mkfs --pmem "$T/p.img:32M" --block "$T/b.img:128M" --rados "$SPEC"
check grep -q "rados" "$T/mkfs.out" "mkfs.tierfs lists the rados tier"
check test "$(ROBJ ls | grep -c '^tierfs.super$')" = 1 "mkfs wrote the pool's marker object"
# the same namespace for another pool: refused like a foreign device
check expect_failure "holds a tierfs pool" "$MKFS" --block "$T/other.img:64M" --rados "$SPEC" \
	"a second pool on the same RADOS namespace is refused"
check expect_failure "bad part" "$MKFS" --block "$T/other.img:64M" --rados "tfs,colour=blue" \
	"a malformed --rados spec is refused with its reason"

# heat halves every 10 ms: what is not read goes idle at once; rados_after=0
# sinks idle chunks as soon as their heat is gone
tfs_mount "$T/p.img" -o rados_timeout=3,halflife_ms=3600000
for i in 1 2 3; do head -c $((1536 * 1024 + i * 4096 + 17)) /dev/urandom > "$MNT/f$i"; done
sync
sums > "$T/sums"
"$CTL" pin "$MNT/f1" rados > /dev/null
"$CTL" pin "$MNT/f2" rados > /dev/null
"$CTL" migrate "$MNT" --wait > /dev/null
check test "$(ontier "$MNT/f1" rados)" = 7 "a file pinned to rados sinks: 7 of its 7 chunks are objects"
check test "$(ontier "$MNT/f2" rados)" = 7 "and the second"
check test "$(ROBJ ls | grep -c '^tfs\.')" = 14 "14 data objects in the namespace"
# named by chunk and generation: tfs.<inode>.<index>.<generation>
ino1=$(printf '%016x' "$(stat -c %i "$MNT/f1")")
ROBJ ls | grep "^tfs\.$ino1\." | LC_ALL=C sort > "$T/names1"
check test "$(cut -d. -f3 "$T/names1" | tr '\n' ' ')" = "00000000 00000001 00000002 00000003 00000004 00000005 00000006 " \
	"f1's objects are named by its inode and each chunk's index"
echo 3 > /proc/sys/vm/drop_caches
check diff <(sums) "$T/sums" "read back from rados, every byte is the same"
check test "$(status_rados objects)" = 14 "tierfsctl status counts the objects"
check test "$(status_rados online)" = True "and says the cluster is online"

# idle chunks sink by themselves once rados_after has passed
"$CTL" policy "$MNT" rados_after=0 halflife_ms=10 > /dev/null
sleep 0.2 # (twenty half-lives: heat is a clock, this is no race)
# one tier a pass: pmem to block, then block to rados
for i in 1 2 3; do "$CTL" migrate "$MNT" --wait > /dev/null; done
check test "$(ontier "$MNT/f3" rados)" = 7 "with rados_after=0 an idle file sinks without a pin"
"$CTL" policy "$MNT" halflife_ms=3600000 rados_after=24 > /dev/null
# and heat brings it back: read f3 over and over, the next pass promotes
for i in $(seq 1 20); do dd if="$MNT/f3" of=/dev/null bs=1M iflag=direct status=none; done
"$CTL" migrate "$MNT" --wait > /dev/null
note "after 20 reads f3 has $(ontier "$MNT/f3" rados) chunks in rados, $(ontier "$MNT/f3" block) in block, $(ontier "$MNT/f3" pmem) in pmem"
check test "$(ontier "$MNT/f3" rados)" = 0 "read hot, f3 comes back from rados by itself"

# and come back: a pin to block brings the chunks up, the objects go
"$CTL" pin "$MNT/f1" block > /dev/null
"$CTL" migrate "$MNT" --wait > /dev/null
check test "$(ontier "$MNT/f1" block)" = 7 "pinned to block, the file's chunks come back"
for i in $(seq 1 300); do [ "$(ROBJ ls | grep -c '^tfs\.')" = 7 ] && break; sleep 0.1; done
check test "$(ROBJ ls | grep -c '^tfs\.')" = 7 "their 7 objects are removed (7 left, f2's)"
check test "$(grep -c "^tfs\.$ino1\." <(ROBJ ls))" = 0 "none of f1's objects is left"
echo 3 > /proc/sys/vm/drop_caches
check diff <(sums) "$T/sums" "and the data is the same"
# down again: new objects, never the old names (an object is written once)
"$CTL" pin "$MNT/f1" rados > /dev/null
"$CTL" migrate "$MNT" --wait > /dev/null
ROBJ ls | grep "^tfs\.$ino1\." | LC_ALL=C sort > "$T/names2"
check test "$(wc -l < "$T/names2")" = 7 "sunk again, f1 is 7 objects"
check test -z "$(comm -12 "$T/names1" "$T/names2")" "with new generations: no name is used twice"
"$CTL" pin "$MNT/f1" block > /dev/null
"$CTL" migrate "$MNT" --wait > /dev/null
tfs_umount
check "$FSCK" -n "$T/p.img" "fsck -n is clean after the round trips"

# SIGKILL in the middle of demotions, three times
for cycle in 1 2 3; do
	tfs_mount "$T/p.img" -o rados_timeout=3,halflife_ms=3600000
	head -c $((2 * 1024 * 1024)) /dev/urandom > "$MNT/fk$cycle"
	# (fsync: sync(1) is no durability point on FUSE, see tierfs(8))
	sync "$MNT/fk$cycle"
	(cd "$MNT" && sha256sum "fk$cycle") >> "$T/ksums"
	"$CTL" pin "$MNT" rados > /dev/null
	"$CTL" migrate "$MNT" --wait > /dev/null 2>&1 &
	tfs_crash_during $!
	tfs_mount "$T/p.img" -o rados_timeout=3,halflife_ms=3600000
	echo 3 > /proc/sys/vm/drop_caches
	check bash -c "cd '$MNT' && sha256sum -c --quiet '$T/ksums'" "cycle $cycle: every file killed mid-demotion is intact"
	check diff <(cd "$MNT" && sha256sum f1 f2 f3 | LC_ALL=C sort) "$T/sums" "cycle $cycle: the older files too"
	"$CTL" unpin "$MNT" > /dev/null
	tfs_umount
done
# what the kills left: objects written for moves that never committed
"$FSCK" -y "$T/p.img" > "$T/fsck.out" 2>&1
note "after the kills: $(grep -c "is named by no chunk" "$T/fsck.out") orphan objects named, $(grep -o "[0-9]* orphan objects\? removed" "$T/fsck.out")"
check "$FSCK" -n "$T/p.img" "fsck -n is clean after -y"
# orphans for certain: objects no chunk names (an older generation of a
# chunk of f1, and a format-6 name of a slot no chunk uses)
head -c 4096 /dev/urandom > "$T/junk"
orphan=tfs.$ino1.00000000.ffffffff
ROBJ put "$orphan" "$T/junk"
ROBJ put tfs.0000000007ff "$T/junk"
"$FSCK" -n "$T/p.img" > "$T/fsck.out" 2>&1
check grep -q "$orphan is named by no chunk" "$T/fsck.out" "fsck -n lists an orphan object"
check grep -q "tfs.0000000007ff is named by no chunk" "$T/fsck.out" "and one with a format-6 name"
"$FSCK" -y "$T/p.img" > "$T/fsck.out" 2>&1
check grep -q "2 orphan objects removed" "$T/fsck.out" "fsck -y removes both"
check "$FSCK" -n "$T/p.img" "fsck -n is clean after -y"
check test "$(ROBJ ls | grep -c "^$orphan\$\|^tfs.0000000007ff\$")" = 0 "the orphans are gone from the pool"

# the OSD stops answering: rados reads fail within the timeout, the rest works
tfs_mount "$T/p.img" -o rados_timeout=3,halflife_ms=3600000
"$CTL" pin "$MNT/f1" block > /dev/null
head -c 1048576 /dev/urandom > "$MNT/local"
sync
lsum=$(sha256sum < "$MNT/local")
"$CTL" pin "$MNT/f2" rados > /dev/null
"$CTL" migrate "$MNT" --wait > /dev/null
echo 3 > /proc/sys/vm/drop_caches
ceph_osd_pause
start=$(date +%s)
timeout 120 cat "$MNT/f2" > /dev/null 2> "$T/cat.err"
rc=$?
took=$(($(date +%s) - start))
check test "$rc" = 1 "a read of a rados chunk fails while the OSD does not answer (exit $rc)"
check grep -q "Input/output error" "$T/cat.err" "with EIO"
note "the failed read took $took s (timeout 3 s)"
check test "$took" -lt 60 "it returns within a bound, not forever"
check test "$(sha256sum < "$MNT/local")" = "$lsum" "a local file reads as before"
head -c 4096 /dev/urandom > "$T/patch"
check expect_failure "" dd if="$T/patch" of="$MNT/f2" bs=4096 seek=3 count=1 conv=notrunc oflag=direct \
	"a 4 KiB write into a chunk in rados fails (its chunk cannot be read)"
check touch "$MNT/new" "the daemon still serves writes"
check test "$(status_rados errors)" -gt 0 "tierfsctl status counts the errors"
# a demotion while the cluster is down fails and waits; nothing is lost
"$CTL" pin "$MNT/local" rados > /dev/null
"$CTL" migrate "$MNT" > /dev/null
check test "$(ontier "$MNT/local" rados)" = 0 "no chunk sinks while the OSD does not answer"
check test "$(sha256sum < "$MNT/local")" = "$lsum" "and the file is whole"
ceph_osd_resume > "$T/osd.out" 2>&1 || { cat "$T/osd.out"; fail "the OSD did not come back"; }
ok=0
for i in $(seq 1 60); do
	if cat "$MNT/f2" > /dev/null 2>&1; then ok=1; break; fi
	sleep 1
done
if [ $ok != 1 ]; then
	note "the cluster after the OSD was let go on:"
	timeout 20 ceph -c "$CEPH_CONF" -s 2>&1 | sed 's/^/# /'
	grep -v "collect_metadata\|DBG\|pg_epoch" "$CEPH_DIR/log/osd.$CEPH_OSD_ID.log" | tail -30 | sed 's/^/# osd: /'
	tail -30 "$CEPH_DIR/log/mon.a.log" | sed 's/^/# mon: /'
fi
check test $ok = 1 "reads of rados chunks work again once the OSD answers again"
for i in $(seq 1 60); do
	"$CTL" migrate "$MNT" --wait > /dev/null 2>&1
	[ "$(ontier "$MNT/local" rados)" = 4 ] && break
	sleep 1
done
check test "$(ontier "$MNT/local" rados)" = 4 "migration into rados resumes"
echo 3 > /proc/sys/vm/drop_caches
check test "$(sha256sum < "$MNT/local")" = "$lsum" "and the sunk file reads back the same"
check diff <(cd "$MNT" && sha256sum f1 f2 f3 | LC_ALL=C sort) "$T/sums" "every older file too"

# many readers and writers of rados chunks during an outage hold no FUSE
# worker: the daemon has 16, and 20 reads and 20 writes (each into a chunk
# in rados, which it copies to a local tier; twenty files, as the kernel
# lets one direct write into a file at a time) wait on the cluster while local
# files, the directory tree and new files are served (before the cold-read
# loop they held every worker until the rados timeout)
tfs_umount
# (a timeout far longer than the checks below take, on a slow machine too)
tfs_mount "$T/p.img" -o rados_timeout=90,halflife_ms=3600000
# (no background pass moves anything behind the checks below)
"$CTL" policy "$MNT" migrate=0 > /dev/null
for i in $(seq 1 20); do
	head -c $((256 * 1024 + 4096)) /dev/urandom > "$T/g$i.want"
	cp "$T/g$i.want" "$MNT/g$i"
	"$CTL" pin "$MNT/g$i" rados > /dev/null
done
sync
"$CTL" migrate "$MNT" --wait > /dev/null
check test "$(ontier "$MNT/f2" rados)" = 7 "f2 is in rados"
check test "$(cat $(for i in $(seq 1 20); do echo "$MNT/g$i"; done) | wc -c)" = $((20 * (256 * 1024 + 4096))) \
	"(twenty more files)"
check test "$(for i in $(seq 1 20); do ontier "$MNT/g$i" rados; done | sort -u)" = 2 "and each of them too"
echo 3 > /proc/sys/vm/drop_caches
ceph_osd_pause
pids=
for i in $(seq 0 19); do
	dd if="$MNT/f2" of=/dev/null bs=4096 count=1 skip=$((i * 17)) iflag=direct status=none 2> /dev/null &
	pids="$pids $!"
done
wpids=
for i in $(seq 1 20); do
	head -c 4096 /dev/urandom > "$T/w$i"
	dd if="$T/w$i" of="$MNT/g$i" bs=4096 seek=5 count=1 conv=notrunc oflag=direct status=none \
		2> /dev/null &
	wpids="$wpids $!"
done
for i in $(seq 1 200); do
	[ "$(status_rados in_flight)" -ge 40 ] && break
	sleep 0.1
done
check test "$(status_rados in_flight)" -ge 40 "40 object reads are in flight at once (20 reads, 20 writes)"
check test "$(ontier "$MNT/f1" rados)" = 0 "(f1 is on local tiers)"
check test "$(sha256sum < "$MNT/f1" | cut -d' ' -f1)" = "$(grep ' f1$' "$T/sums" | cut -d' ' -f1)" \
	"while they wait, a local file reads"
check touch "$MNT/new2" "a file is made"
check ls "$MNT" "and a directory is listed"
alive=0
for p in $pids $wpids; do kill -0 "$p" 2> /dev/null && alive=$((alive + 1)); done
check test "$alive" = 40 "all before any of the 40 requests ended (no worker was held by them)"
ceph_osd_resume > "$T/osd.out" 2>&1 || { cat "$T/osd.out"; fail "the OSD did not come back"; }
for p in $pids; do wait "$p" || true; done
# a write that got through is in its file; one that timed out is not
nw=0
for i in $(seq 1 20); do
	p=$(echo $wpids | cut -d' ' -f$i)
	if wait "$p"; then
		dd if="$T/w$i" of="$T/g$i.want" bs=4096 seek=5 count=1 conv=notrunc status=none
		nw=$((nw + 1))
	fi
done
note "$nw of the 20 writes went through once the OSD was back"
ok=0
for i in $(seq 1 60); do
	if [ "$(sha256sum < "$MNT/f2" 2> /dev/null | cut -d' ' -f1)" = "$(grep ' f2$' "$T/sums" | cut -d' ' -f1)" ]; then
		ok=1
		break
	fi
	sleep 1
done
check test $ok = 1 "once the OSD answers, f2 reads back the same"
same=0
moved=0
for i in $(seq 1 20); do
	cmp -s "$MNT/g$i" "$T/g$i.want" && same=$((same + 1))
	moved=$((moved + 2 - $(ontier "$MNT/g$i" rados)))
done
check test "$same" = 20 "the twenty files read back as written"
check test "$moved" = "$nw" "each write that went through took its chunk out of rados"
# a cached write into a chunk in rados (written back at fsync: a WRITE of
# cached pages, answered from the cold-read loop in its turn)
head -c 4096 /dev/urandom > "$T/cw"
dd if="$T/cw" of="$MNT/g1" bs=4096 seek=64 count=1 conv=notrunc,fsync status=none
dd if="$T/cw" of="$T/g1.want" bs=4096 seek=64 count=1 conv=notrunc status=none
echo 3 > /proc/sys/vm/drop_caches
check cmp "$MNT/g1" "$T/g1.want" "a cached write into a chunk in rados reads back after fsync"
check test "$(ontier "$MNT/g1" rados)" = 0 "and took that chunk out of rados"
cat "$MNT/f2" > "$T/f2.want"
# one read of a local chunk and objects together: a 4 KiB write brings its
# chunk up (copied to a local tier), the 1 MiB reads then span both
head -c 4096 /dev/urandom > "$T/patch"
dd if="$T/patch" of="$MNT/f2" bs=4096 seek=3 count=1 conv=notrunc oflag=direct status=none
dd if="$T/patch" of="$T/f2.want" bs=4096 seek=3 count=1 conv=notrunc status=none
check test "$(ontier "$MNT/f2" rados)" = 6 "the written chunk left rados, six are still objects"
check cmp <(dd if="$MNT/f2" bs=1M iflag=direct status=none) "$T/f2.want" \
	"reads spanning a local chunk and objects return the file as written"
# an object gone behind the pool's back: EIO and a log line, not zeros
ino2=$(printf '%016x' "$(stat -c %i "$MNT/f2")")
gone=$(ROBJ ls | grep "^tfs\.$ino2\.00000006\.")
ROBJ get "$gone" "$T/gone"
ROBJ rm "$gone"
echo 3 > /proc/sys/vm/drop_caches
errs=$(status_rados errors)
check expect_failure "Input/output error" dd if="$MNT/f2" of=/dev/null bs=4096 skip=$((6 * 64)) count=1 iflag=direct \
	"a block of a missing object reads as EIO"
check test "$(status_rados errors)" = $((errs + 2)) \
	"tierfsctl status counts the failed object read and its retry (the chunk might have moved)"
ROBJ put "$gone" "$T/gone"
check cmp <(dd if="$MNT/f2" bs=1M iflag=direct status=none) "$T/f2.want" "put back, it reads again"

# an object altered behind the pool's back
# (f2's second chunk, pinned there: a chunk that left rados a moment ago
# may still have its object, until the commit that freed it is done)
obj=$(ROBJ ls | grep "^tfs\.$ino2\.00000001\.")
ROBJ get "$obj" "$T/obj"
printf 'X' | dd of="$T/obj" bs=1 seek=5000 conv=notrunc status=none
ROBJ put "$obj" "$T/obj"
echo 3 > /proc/sys/vm/drop_caches
bad=0
for f in f1 f2 f3 local; do cat "$MNT/$f" > /dev/null 2>&1 || bad=$((bad + 1)); done
check test "$bad" = 1 "the file holding the altered object reads as EIO, the others do not"
tfs_umount
"$FSCK" -n --scrub "$T/p.img" > "$T/scrub.out" 2>&1
check grep -q "data at offset .* fails its checksum" "$T/scrub.out" "fsck --scrub names the damaged data by file and offset"
check grep -q "object $obj (inode [0-9]*, offset [0-9]*) fails its checksum" "$T/scrub.out" "and the object by name, file and offset, against the checksum stored with it"

# the cluster gone: no mount, unless degraded
tfs_mount "$T/p.img" -o rados_timeout=3,halflife_ms=3600000
"$CTL" pin "$MNT/f3" rados > /dev/null
"$CTL" pin "$MNT/f1" block > /dev/null
"$CTL" migrate "$MNT" --wait > /dev/null
check test "$(ontier "$MNT/f3" rados)" = 7 "f3 is in rados before the cluster goes"
tfs_umount
ceph_stop
check expect_failure "rados" "$TIERFS" -o rados_timeout=2 "$T/p.img" "$MNT" \
	"without the cluster the pool does not mount, and says why"
tfs_mount "$T/p.img" -o rados_timeout=2,degraded
check test "$(sha256sum < "$MNT/f1" | cut -d' ' -f1)" = "$(grep ' f1$' "$T/sums" | cut -d' ' -f1)" \
	"-o degraded: a file on block reads"
check expect_failure "" cat "$MNT/f3" "a file in rados reads as EIO"
check test "$(status_rados online)" = False "tierfsctl status says the tier is offline"
tfs_umount
finish
