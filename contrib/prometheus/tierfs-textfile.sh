#!/bin/sh
# tierfs-textfile.sh [DIR [MOUNT...]]
# Feed node_exporter's textfile collector: one file per mounted tierfs pool
# (or per MOUNT given), tierfs<mount>.prom in DIR (default: Debian's
# /var/lib/prometheus/node-exporter), each written to a temporary name and
# renamed, so the collector never reads half a file.  Without MOUNTs, the
# files of pools no longer mounted are removed.  Run it from a timer (tierfs-metrics.timer)
# as root: tierfsctl is root's.
set -u
dir=${1:-/var/lib/prometheus/node-exporter}
[ $# -gt 0 ] && shift
[ -d "$dir" ] || { echo "tierfs-textfile: $dir: no such directory" >&2; exit 1; }
all=0
[ $# -gt 0 ] || { all=1; set -- $(awk '$3 == "fuse.tierfs" { print $2 }' /proc/self/mounts); }
rc=0
keep=""
# mount points from /proc/self/mounts have octal escapes for spaces and tabs
for mnt in "$@"; do
	mnt=$(printf '%b' "$mnt")
	name=tierfs$(printf '%s' "$mnt" | tr -c 'A-Za-z0-9_\n' '_').prom
	keep="$keep $name"
	if tierfsctl metrics "$mnt" > "$dir/.$name.tmp"; then
		mv -f "$dir/.$name.tmp" "$dir/$name"
	else
		rm -f "$dir/.$name.tmp"
		rc=1
	fi
done
[ $all = 1 ] && for f in "$dir"/tierfs*.prom; do
	[ -e "$f" ] || continue
	case " $keep " in *" ${f##*/} "*) ;; *) rm -f "$f" ;; esac
done
exit $rc
