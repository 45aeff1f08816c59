#!/bin/bash
# Heat survives a remount: a hot file keeps its heat (decayed only for the
# time the pool was unmounted), so when pmem fills after the remount the
# engine keeps the hot file there and demotes the cold ones, with no pass
# spent learning the hot set again.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
CTL=$TOP_BUILDDIR/src/tierfsctl

# maxheat FILE: the largest heat of FILE's chunks; ontier FILE TIER: its
# chunks on TIER
maxheat() {
	"$CTL" where "$1" --json | python3 -c 'import json,sys; print(max([e["max_heat"] for e in json.load(sys.stdin)["extents"]] or [0]))'
}
ontier() {
	"$CTL" where "$1" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['tiers'].get('$2', {}).get('chunks', 0))"
}
le() { [ "$1" -le "$2" ]; }
ge() { [ "$1" -ge "$2" ]; }

tfs_mkfs --pmem "$T/p.img:40M" --block "$T/b.img:512M"
# heat halves once an hour: nothing decays while the test runs
HOUR="-o halflife_ms=3600000"
tfs_mount "$T/b.img" $HOUR
head -c 8M /dev/urandom > "$T/H"
head -c 12M /dev/urandom > "$T/C"
dd if="$T/H" of="$MNT/hot" bs=256k oflag=direct conv=fsync status=none
dd if="$T/C" of="$MNT/cold" bs=256k oflag=direct conv=fsync status=none
for i in $(seq 1 20); do dd if="$MNT/hot" of=/dev/null bs=256k iflag=direct status=none; done
h0=$(maxheat "$MNT/hot")
c0=$(maxheat "$MNT/cold")
note "before the remount: hot file heat $h0, cold file heat $c0"
check test "$(ontier "$MNT/hot" pmem)" = 32 "the hot file is in pmem"
check ge "$h0" 40 "20 reads made it hot ($h0)"
tfs_umount
tfs_mount "$T/b.img" $HOUR
h1=$(maxheat "$MNT/hot")
c1=$(maxheat "$MNT/cold")
check ge "$h1" $((h0 / 2)) "after the remount the hot file's heat is kept ($h0 -> $h1; at most one halving in an hour)"
check le "$c1" "$c0" "the cold file did not warm up ($c0 -> $c1)"
check le "$c1" $((h1 / 4)) "and stays far colder than the hot one"

# fill pmem past its high watermark: the engine must choose what to demote.
# Without the saved heat, the hot and the cold file would both be lukewarm
# (heat 4), colder than the new one (its writes add heat): they would go
# first.
head -c 16M /dev/urandom > "$T/N"
dd if="$T/N" of="$MNT/new" bs=256k oflag=direct conv=fsync status=none
"$CTL" migrate "$MNT" --wait > /dev/null
check test "$(ontier "$MNT/hot" pmem)" = 32 "after pmem filled up, every chunk of the hot file is still in pmem"
down=$(( $(ontier "$MNT/cold" block) + $(ontier "$MNT/new" block) ))
check ge "$down" 1 "colder data gave way ($down chunks of the cold and the new file on block)"
check cmp -s "$T/H" "$MNT/hot" "the hot file's data is intact"
check cmp -s "$T/C" "$MNT/cold" "and the cold one's"
h2=$(maxheat "$MNT/hot")
tfs_umount

# unmounted for 3 s or more with a half-life of 1 s: at least 3 halvings
sleep 3
tfs_mount "$T/b.img" -o halflife_ms=1000
h3=$(maxheat "$MNT/hot")
check le "$h3" $((h2 / 8)) "heat decays for the time the pool was unmounted ($h2 -> $h3 after >= 3 half-lives)"
tfs_umount

# fsck reads the records with their heat and finds them sound
check "$TOP_BUILDDIR/src/fsck.tierfs" -n "$T/b.img" "fsck -n finds the pool clean"
finish
