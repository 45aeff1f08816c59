#!/bin/bash
# Heat-driven tiering on a pmem + zns + block pool of files, with a fast heat
# clock (halflife 400 ms): a file read at random becomes resident in pmem; a
# file nobody reads sinks to block; a sequential scan of a big file neither
# evicts the hot file nor gets promoted; pins move data and keep it, new
# files inherit a directory's pin; policy and migrate --wait work; data is
# byte-identical through every move, with writes racing the moves, and
# through moves cut by SIGKILL.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
CTL=$TOP_BUILDDIR/src/tierfsctl
FSCK=$TOP_BUILDDIR/src/fsck.tierfs
command -v python3 > /dev/null || skip "python3 is needed"
command -v getfattr > /dev/null || skip "getfattr (attr) is needed"
RR="python3 $(dirname "$0")/randread.py"
OPTS="-o halflife_ms=400,scan_min_kib=1024"

P=/dev/shm/tierfs-0170-$$.img
trap 'rc=$?; rm -f "$P"; tfs_cleanup $rc' EXIT
tfs_mkfs --force --pmem "$P:16M" --zns "$T/z.img" --zone-size 4M --zones 16 --block "$T/b.img:64M"
tfs_mount "$P" $OPTS

# chunks of FILE on TIER
on() { "$CTL" where "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['tiers']['$2']['chunks'])"; }
tier() { "$CTL" status "$MNT" --json | python3 -c "import json,sys; d=[t for t in json.load(sys.stdin)['tiers'] if t['name']=='$1'][0]; print(d['$2'])"; }
# until COMMAND... is true, for at most SECS seconds
until_true() {
	local secs=$1 i
	shift
	for i in $(seq 1 $((secs * 5))); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}
eq() { [ "$(on "$1" "$2")" = "$3" ]; }

for f in B:20 C:4 H:8; do
	head -c $((${f#*:} << 20)) /dev/urandom > "$T/${f%:*}"
	dd if="$T/${f%:*}" of="$MNT/${f%:*}" bs=1M oflag=direct conv=fsync status=none
done
note "after writing: H has $(on "$MNT/H" pmem) chunks in pmem, $(on "$MNT/H" zns) in zns, $(on "$MNT/H" block) in block"

# --- a hot file moves up
$RR "$MNT/H" 30 > /dev/null &
RRPID=$!
check until_true 25 eq "$MNT/H" pmem 32 "a file read at random becomes resident in pmem"
"$CTL" where "$MNT/H"
check test "$(tier pmem promoted_chunks)" -gt 0 "status counts promotions into pmem"
check test "$(tier pmem read_requests)" -gt 1000 "status counts reads served by pmem"

# --- a cold file moves down (nobody reads C: its heat decays to nothing)
check until_true 25 eq "$MNT/C" block 16 "an unread file sinks to block"
check test "$(tier block demoted_chunks)" -gt 0 "status counts demotions into block"

# --- requests by opcode: five fsyncs are five FSYNC requests; the random
# reads above went through READ
req() { "$CTL" status "$MNT" --json | python3 -c "import json,sys; r=json.load(sys.stdin)['requests']; print(r.get('$1', {}).get('$2', 0))"; }
f0=$(req FSYNC count)
python3 -c "import os; fd=os.open('$MNT/C', os.O_RDONLY); [os.fsync(fd) for i in range(5)]; os.close(fd)"
check test "$(req FSYNC count)" = $((f0 + 5)) "status counts each FSYNC request ($f0 + 5)"
check test "$(req READ count)" -gt 1000 "status counts READ requests ($(req READ count))"
check python3 -c "import sys; sys.exit(0 if $(req READ mean_us) > 0 and $(req READ p99_us) > 0 else 1)" \
	"READ has a mean and a 99th percentile service time"
"$CTL" status "$MNT" > "$T/status.txt"
sed -n '/^request/,$p' "$T/status.txt"
check grep -q "^FSYNC " "$T/status.txt" "the text status lists FSYNC requests"
# FLUSH: the first close gets ENOSYS, and the kernel sends no more (every
# close(2), of a dup too, would send one)
python3 -c "
import os
fd = os.open('$MNT/flushed', os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b'x')
for i in range(50):
    os.close(os.dup(fd))
os.close(fd)"
check test "$(req FLUSH count)" -le 1 "50 closes: at most one FLUSH request ($(req FLUSH count))"
# INIT asked for HANDLE_KILLPRIV_V2: buffered writes send no GETXATTR of
# security.capability each (the kernel looks once per inode at most)
fus() { "$CTL" status "$MNT" --json | python3 -c "import json,sys; d=json.load(sys.stdin); print(str(d$1).lower())"; }
want=${TFS_TRANSPORT:-dev}
[ "$want" = auto ] && want=$(grep -q Y /sys/module/fuse/parameters/enable_uring 2> /dev/null && echo uring || echo dev)
check test "$(fus "['transport']")" = "$want" "status names the transport ($want)"
check test "$(fus "['fuse']['killpriv_v2']")" = true "INIT negotiated HANDLE_KILLPRIV_V2"
g0=$(req GETXATTR count)
python3 -c "
import os
fd = os.open('$MNT/appended', os.O_CREAT | os.O_WRONLY, 0o644)
for i in range(200):
    os.write(fd, b'y' * 4096)
os.close(fd)"
g1=$(req GETXATTR count)
check test $((g1 - g0)) -le 1 "200 writes: at most one GETXATTR ($((g1 - g0)))"
# directories: OPENDIR is answered ENOSYS once, then the kernel opens alone
for i in 1 2 3 4 5; do ls "$MNT" > /dev/null; done
check test "$(req OPENDIR count)" -le 1 "5 listings: at most one OPENDIR ($(req OPENDIR count))"

# --- a scan does not evict the hot set, and is not promoted
check until_true 20 eq "$MNT/B" block 80 "the big file is cold (all in block)"
for i in 1 2; do dd if="$MNT/B" of=/dev/null bs=128k iflag=direct status=none; done
sleep 2
check eq "$MNT/H" pmem 32 "the hot file is still in pmem after two scans of the big file"
b=$(on "$MNT/B" pmem)
check test "$b" -le 4 "the scanned file was not promoted past its first MiB ($b chunks in pmem)"
kill $RRPID 2>/dev/null
wait $RRPID 2>/dev/null

# --- pins
"$CTL" pin "$MNT/C" pmem --wait > "$T/pin.out"
check test $? = 0 "pin C pmem --wait succeeds ($(cat "$T/pin.out"))"
check eq "$MNT/C" pmem 16 "C is in pmem"
check test "$(getfattr -n user.tierfs.pin --only-values "$MNT/C")" = pmem "the pin is the user.tierfs.pin xattr"
sleep 2
check eq "$MNT/C" pmem 16 "pinned to pmem, C stays there while idle"
"$CTL" pin "$MNT/C" block --wait --json > "$T/pin.json"
check python3 -c "import json; d=json.load(open('$T/pin.json')); exit(0 if d['chunks_on_tier'] == d['chunks'] == 16 else 1)" "pin C block --wait --json: all 16 chunks on block"
"$CTL" unpin "$MNT/C" > /dev/null
check test "$(getfattr -n user.tierfs.pin --only-values "$MNT/C" 2>/dev/null)" = "" "unpin removes the xattr"
"$CTL" pin "$MNT/C" ssd > "$T/bad.out" 2>&1
check test $? = 2 "pin to an unknown tier is a usage error"
setfattr -n user.tierfs.pin -v fast "$MNT/C" 2> /dev/null
check test $? != 0 "the pin xattr takes only a tier name"
mkdir "$MNT/D"
"$CTL" pin "$MNT/D" zns > /dev/null
head -c $((1 << 20)) /dev/urandom > "$T/Dn"
dd if="$T/Dn" of="$MNT/D/new" bs=256k oflag=direct conv=fsync status=none
check test "$(getfattr -n user.tierfs.pin --only-values "$MNT/D/new")" = zns "a new file inherits its directory's pin"
check eq "$MNT/D/new" zns 4 "and its data goes straight to zns"
mkdir "$MNT/D/sub"
check test "$(getfattr -n user.tierfs.pin --only-values "$MNT/D/sub")" = zns "so does a new directory"

# --- policy
"$CTL" policy "$MNT" --json > "$T/pol.json"
check python3 -c "import json; d=json.load(open('$T/pol.json')); exit(0 if d['halflife_ms'] == 400 and d['high_watermark'] == 90 else 1)" "policy --json shows the mount options and defaults"
"$CTL" policy "$MNT" nosuch=1 > /dev/null 2> "$T/pol.err"
check test $? = 1 "an unknown policy key fails"
"$CTL" policy "$MNT" low_watermark=95 > /dev/null 2> "$T/pol.err"
check grep -q "below high_watermark" "$T/pol.err" "watermarks must stay ordered"
"$CTL" policy "$MNT" migrate=0 > /dev/null
check test "$("$CTL" policy "$MNT" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["migrate"])')" = 0 "policy migrate=0 turns migration off"

# --- migrate --wait with background migration off
head -c $((2 << 20)) /dev/urandom > "$T/W"
dd if="$T/W" of="$MNT/W" bs=256k oflag=direct conv=fsync status=none
w=$(on "$MNT/W" pmem)
sleep 3
check eq "$MNT/W" pmem "$w" "with migration off, idle chunks stay where they are ($w in pmem)"
"$CTL" migrate "$MNT" --wait --json > "$T/mig.json"
check test $? = 0 "migrate --wait succeeds ($(cat "$T/mig.json"))"
check eq "$MNT/W" pmem 0 "migrate --wait moved the idle file out of pmem"
"$CTL" policy "$MNT" migrate=1 > /dev/null

# --- writes racing moves: the pin flips while 4 KiB writes go on
cp "$T/C" "$T/Cm"
BS=4096 python3 "$(dirname "$0")/overwrite.py" "$MNT/C" "$T/Cm" 3 7 > "$T/ow.out" 2>&1 &
OW=$!
for t in pmem block pmem zns block; do "$CTL" pin "$MNT/C" $t --wait > /dev/null 2>&1; done
wait $OW
check test $? = 0 "4 KiB overwrites during moves succeed"
cp "$T/Cm" "$T/C"
check cmp -s "$T/C" "$MNT/C" "no write lost to a move"
note "moves redone after a write: $("$CTL" status "$MNT" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["migration"]["moves_redone"])')"
"$CTL" unpin "$MNT/C" > /dev/null

same() {
	local f ok=0
	for f in B C H W; do cmp -s "$T/$f" "$MNT/$f" || { echo "# $f differs"; ok=1; }; done
	cmp -s "$T/Dn" "$MNT/D/new" || { echo "# D/new differs"; ok=1; }
	return $ok
}
check same "every file byte-identical after all the moves"
tfs_umount
"$FSCK" -n "$P" > "$T/fsck.out" 2>&1
check test $? = 0 "fsck clean"

# --- moves cut by SIGKILL
for cyc in 1 2 3; do
	tfs_mount "$P" $OPTS
	sync
	for f in B H; do "$CTL" pin "$MNT/$f" $([ $((cyc % 2)) = 1 ] && echo pmem || echo block) > /dev/null 2>&1; done
	"$CTL" migrate "$MNT" > /dev/null
	sleep "0.$((RANDOM % 5 + 1))"
	kill -9 "$DAEMON_PID"
	umount "$MNT" 2>/dev/null || umount -l "$MNT"
	tfs_wait_exit
	"$FSCK" -n "$P" > "$T/fsck.out" 2>&1
	check test $? = 0 "fsck clean after a SIGKILL during moves (cycle $cyc)"
	tfs_mount "$P" $OPTS
	check same "every file byte-identical after a SIGKILL during moves (cycle $cyc)"
	tfs_umount
done
finish
