#!/bin/bash
# contrib/bench-rados.sh DIR - the rados tier against the block tier, in one
# run, on a throw-away single-host Ceph cluster (one monitor, one memstore
# OSD: tests/integration/lib/ceph.sh) on this machine.
#
# A pool of a block file in DIR and the cluster's pool; TFS_BENCH_MIB
# (default 256) MiB written into two files.  Then:
#   - demotion: one file pinned to rados, `tierfsctl migrate --wait` with
#     the engine unpaced, timed (MB/s), the largest number of operations in
#     flight tierfsctl status saw meanwhile;
#   - cold reads, migration off, O_DIRECT (so every read reaches the
#     daemon and the tier): fio random 4 KiB and 1 MiB reads, one at a
#     time, of the file in rados and of the one on block: p50 and p99;
#   - promotion: the file pinned back to block, timed;
#   - raw: `rados bench` writes of chunk-sized objects, one at a time and
#     16 at a time, on the same cluster: what the cluster takes.
# Needs root, fio, ceph-mon, ceph-osd.  Numbers are printed, ratios against
# block in the same run.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: bench-rados.sh DIR}
bin=${TFS_BIN:-$src/build/src}
mib=${TFS_BENCH_MIB:-256}
secs=${TFS_BENCH_SECS:-10}
[ -x "$bin/tierfs" ] || sh "$src/contrib/build.sh" "$src/build"
. "$src/tests/integration/lib/ceph.sh"
mnt=$dir/rmnt
mkdir -p "$mnt"
cdir=$(mktemp -d /dev/shm/tierfs-bench-ceph.XXXXXX)
cleanup() {
	umount "$mnt" 2> /dev/null || true
	ceph_down
	rm -f "$dir/rb.img"
}
trap cleanup EXIT
now() { date +%s.%N; }
ctl() { "$bin/tierfsctl" "$@"; }

ceph_up "$cdir" > /dev/null
"$bin/mkfs.tierfs" --force --block "$dir/rb.img:$((mib * 3))M" \
	--rados "bench,conf=$CEPH_CONF,size=$((mib * 4))M" > /dev/null
"$bin/tierfs" -o halflife_ms=3600000 "$dir/rb.img" "$mnt"
half=$((mib / 2))
dd if=/dev/urandom of="$mnt/cold" bs=1M count=$half oflag=direct status=none
dd if=/dev/urandom of="$mnt/warm" bs=1M count=$half oflag=direct status=none
sync
ctl pin "$mnt/warm" block > /dev/null
ctl policy "$mnt" migrate_duty=100 > /dev/null

inflight() {
	ctl status "$mnt" --json | python3 -c "
import json,sys
d=[x for x in json.load(sys.stdin)['devices'] if x['tier']=='rados'][0]
print(d['rados']['in_flight'])"
}
ctl pin "$mnt/cold" rados > /dev/null
maxfl=0
t0=$(now)
ctl migrate "$mnt" --wait > /dev/null &
mig=$!
while kill -0 $mig 2> /dev/null; do
	f=$(inflight)
	[ "$f" -gt "$maxfl" ] && maxfl=$f
	sleep 0.05
done
wait $mig
t1=$(now)
down=$(echo "$half / ($t1 - $t0)" | bc -l)
printf 'demotion into rados: %d MiB in %.2f s = %.1f MiB/s; most operations in flight seen: %d\n' \
	"$half" "$(echo "$t1 - $t0" | bc -l)" "$down" "$maxfl"

ctl policy "$mnt" migrate=0 > /dev/null
lat() { # FILE BS: p50 and p99 completion latency in us
	fio --name=r --filename="$1" --rw=randread --bs="$2" --direct=1 --ioengine=psync \
		--time_based --runtime="$secs" --output-format=json 2> /dev/null |
		python3 -c "
import json,sys
c=json.load(sys.stdin)['jobs'][0]['read']['clat_ns']['percentile']
print('%.0f %.0f' % (c['50.000000']/1000, c['99.000000']/1000))"
}
echo 3 > /proc/sys/vm/drop_caches
for bs in 4k 1m; do
	read -r rp50 rp99 <<< "$(lat "$mnt/cold" $bs)"
	read -r bp50 bp99 <<< "$(lat "$mnt/warm" $bs)"
	printf '%s random reads, one at a time: rados p50 %s us p99 %s us; block p50 %s us p99 %s us; rados/block p50 %.1fx p99 %.1fx\n' \
		"$bs" "$rp50" "$rp99" "$bp50" "$bp99" "$(echo "$rp50 / $bp50" | bc -l)" \
		"$(echo "$rp99 / $bp99" | bc -l)"
done
ctl policy "$mnt" migrate=1 > /dev/null
ctl pin "$mnt/cold" block > /dev/null
t0=$(now)
ctl migrate "$mnt" --wait > /dev/null
t1=$(now)
printf 'promotion out of rados: %d MiB in %.2f s = %.1f MiB/s\n' "$half" \
	"$(echo "$t1 - $t0" | bc -l)" "$(echo "$half / ($t1 - $t0)" | bc -l)"
umount "$mnt"
for t in 1 16; do
	bw=$(rados -c "$CEPH_CONF" -p bench bench 3 write -b 262144 -t $t 2> /dev/null |
		awk '/^Bandwidth \(MB\/sec\)/ {print $3}' || true)
	printf 'rados bench, 256 KiB objects, %2d in flight: %s MB/s\n' "$t" "$bw"
done
