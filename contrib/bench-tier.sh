#!/bin/bash
# contrib/bench-tier.sh DIR - does heat-driven tiering pay?
#
# Pool: pmem 256 MiB (a file in /dev/shm), zns 1 GiB (emulated, 64 zones of
# 16 MiB), block 4 GiB (a file in DIR).  Dataset: one 2 GiB file written
# sequentially (so it starts spread pmem -> zns -> block in write order).
# Workload: contrib/fio/tier-zipf-4k-qd16.fio (4 KiB random reads, zipf:1.1,
# direct, QD16) for TFS_BENCH_SECS (default 120) seconds.  Runs:
#   on    migration on (defaults)
#   off   -o migrate=0: chunks stay where they were written
#   scan  migration on, and in the middle a full sequential read of the
#         dataset (dd, 1 MiB direct reads) alongside fio
# Every 5 s the share of 4 KiB reads served by pmem in that window is taken
# from tierfsctl status (per-tier read_requests).  Reported: (a) the pmem
# share over the last half of "on", (b) IOPS on/off, (c) the pmem share
# after the scan, (d) the oracle share: the fraction of accesses the hottest
# 256 MiB (by 256 KiB chunk) received, from an fio I/O log of the same
# workload; and the same job on a plain file beside the images and in
# /dev/shm, for the ratio to the raw backing storage.  Needs root, fio and
# python3.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: bench-tier.sh DIR}
bin=${TFS_BIN:-$src/build/src}
secs=${TFS_BENCH_SECS:-120}
job=$src/contrib/fio/tier-zipf-4k-qd16.fio
pm=/dev/shm/tierfs-bench-pmem.img
mnt=$dir/tmnt
[ -x "$bin/tierfs" ] || sh "$src/contrib/build.sh" "$src/build"
mkdir -p "$mnt"
cleanup() {
	umount "$mnt" 2> /dev/null || true
	rm -f "$pm" "$dir/tz.img" "$dir/tb.img" "$dir/iolog"* "$dir/tierfs-bench-raw" /dev/shm/tierfs-bench-raw
}
trap cleanup EXIT
mountpoint -q "$mnt" && umount "$mnt"

settle() {
	local i
	for i in $(seq 1 100); do pgrep -f "tierfs .*$pm" > /dev/null || return 0; sleep 0.1; done
}

pool() { # tierfs options
	"$bin/mkfs.tierfs" --force --pmem "$pm:256M" --zns "$dir/tz.img" --zone-size 16M \
		--zones 64 --block "$dir/tb.img:4G" > /dev/null
	"$bin/tierfs" "$@" "$pm" "$mnt"
	dd if=/dev/urandom of="$mnt/data" bs=1M count=2048 oflag=direct status=none
}

reqs() { # "pmem_requests total_requests"
	"$bin/tierfsctl" status "$mnt" --json | python3 -c '
import json, sys
t = json.load(sys.stdin)["tiers"]
print(sum(x["read_requests"] for x in t if x["name"] == "pmem"), sum(x["read_requests"] for x in t))'
}

# run NAME [scan]: fio for $secs s, pmem share every 5 s into $dir/NAME.share
run() {
	local name=$1 scan=${2:-} i p0 t0 p1 t1 iops
	: > "$dir/$name.share"
	FILENAME=$mnt/data RUNTIME=$secs fio --output-format=json "$job" > "$dir/$name.json" &
	local fpid=$!
	sleep 1
	read -r p0 t0 < <(reqs)
	for i in $(seq 5 5 "$secs"); do
		if [ -n "$scan" ] && [ "$i" = $((secs / 2 / 5 * 5)) ]; then
			( s0=$(date +%s.%N)
			  dd if="$mnt/data" of=/dev/null bs=1M iflag=direct status=none
			  python3 -c "print(round($(date +%s.%N) - $s0, 1))" > "$dir/scan.secs" ) &
		fi
		sleep 5
		read -r p1 t1 < <(reqs)
		# a window without reads (fio already done) says nothing
		[ "$t1" -gt "$t0" ] && python3 -c "print($i, round(($p1 - $p0) / ($t1 - $t0), 3))" >> "$dir/$name.share"
		p0=$p1; t0=$t1
	done
	wait "$fpid"
	wait
	iops=$(python3 -c "import json; print(round(json.load(open('$dir/$name.json'))['jobs'][0]['read']['iops']))")
	echo "$iops" > "$dir/$name.iops"
	"$bin/tierfsctl" status "$mnt" > "$dir/$name.status"
}

echo "== migration on"; pool; run on; umount "$mnt"; settle
echo "== migration off"; pool -o migrate=0; run off; umount "$mnt"; settle
echo "== migration on, a full sequential read at $((secs / 2)) s"; pool; run scan scan
# the oracle: the same access pattern, logged by fio (20 s is plenty for a
# stationary distribution)
FILENAME=$mnt/data RUNTIME=20 fio --write_iolog="$dir/iolog" "$job" > /dev/null
umount "$mnt"; settle
# the raw backing storage: the same job on a plain file beside the images,
# and on a file in /dev/shm (where emulated pmem lives)
echo "== raw: a plain 2 GiB file in $dir, and in /dev/shm"
for where in "$dir" /dev/shm; do
	dd if=/dev/urandom of="$where/tierfs-bench-raw" bs=1M count=2048 status=none
	FILENAME=$where/tierfs-bench-raw RUNTIME=$secs fio --output-format=json "$job" |
		python3 -c "import json,sys; print(round(json.load(sys.stdin)['jobs'][0]['read']['iops']))" \
		> "$dir/raw-$(basename "$where").iops"
	rm -f "$where/tierfs-bench-raw"
done

python3 - "$dir" "$secs" << 'PY'
import sys, collections
d, secs = sys.argv[1], int(sys.argv[2])
def share(name):
    return [tuple(map(float, l.split())) for l in open(f"{d}/{name}.share")]
def iops(name):
    return int(open(f"{d}/{name}.iops").read())
on, scan = share("on"), share("scan")
last = [s for t, s in on if t > secs / 2]
a = sum(last) / max(1, len(last))
print(f"(a) pmem share of reads, last {secs // 2} s, migration on: {a:.3f} (target >= 0.90)")
print(f"    per 5 s window: {' '.join(f'{s:.2f}' for _, s in on)}")
b = iops("on") / max(1, iops("off"))
print(f"(b) IOPS migration on {iops('on')}, off {iops('off')}: {b:.2f}x (target >= 3x)")
import glob, os
for f in sorted(glob.glob(f"{d}/raw-*.iops")):
    r = int(open(f).read())
    where = os.path.basename(f)[4:-5]
    print(f"    raw file in {where}: {r} IOPS; tierfs with migration on is {iops('on') / max(1, r):.2f} of it")
mid = secs // 2 // 5 * 5
before = [s for t, s in scan if mid - 15 < t <= mid]
b0 = sum(before) / max(1, len(before))
after = [(t, s) for t, s in scan if t > mid]
low = min((s for _, s in after), default=0)
rec = next((t - mid for t, s in after if s >= b0 - 0.02), None)
took = open(f"{d}/scan.secs").read().strip()
print(f"(c) a full sequential read of the 2 GiB at {mid} s (took {took} s): pmem share "
      f"{b0:.3f} before, lowest {low:.3f} after, back within 0.02 after "
      f"{rec if rec is not None else 'never'} s (target: > 0.80 within 30 s or no drop)")
print(f"    per 5 s window: {' '.join(f'{s:.2f}' for _, s in scan)}")
cnt = collections.Counter()
n = 0
for line in open(f"{d}/iolog"):
    f = line.split()  # fio iolog v3: time file action offset length
    if len(f) == 5 and f[2] == "read":
        cnt[int(f[3]) >> 18] += 1
        n += 1
top = sum(c for _, c in cnt.most_common(1024))
print(f"(d) oracle: the hottest 256 MiB (1024 chunks) received {top / max(1, n):.3f} of {n} logged reads")
PY
