#!/bin/bash
# 10,000 files in one directory; readdir complete while files are created.
. "$(dirname "$0")/lib/common.sh"
tfs_setup
tfs_mkfs --block "$T/a.img:512M"
tfs_mount "$T/a.img"
D=$MNT/big
mkdir "$D"
(cd "$D" && seq -f 'pre%05g' 1 5000 | xargs touch)
# creator in the background, listers in the foreground
(cd "$D" && seq -f 'new%05g' 1 5000 | xargs -n 100 touch) &
creator=$!
bad=0; rounds=0
while kill -0 $creator 2>/dev/null || [ $rounds -lt 3 ]; do
	ls -f "$D" > "$T/list"
	pre=$(grep -c '^pre' "$T/list")
	dups=$(sort "$T/list" | uniq -d | wc -l)
	if [ "$pre" -ne 5000 ] || [ "$dups" -ne 0 ]; then
		echo "# listing $rounds: $pre of 5000 old entries, $dups duplicates"; bad=1
	fi
	rounds=$((rounds + 1))
done
wait $creator
check test $bad = 0 "every listing during creates had all old entries once ($rounds listings)"
check test "$(ls -f "$D" | grep -vc '^\.\.\?$')" = 10000 "10,000 entries"
inos=$(ls -i "$D" | awk '{print $1}' | sort -u | wc -l)
check test "$inos" = 10000 "10,000 distinct inode numbers"
tfs_umount
tfs_mount "$T/a.img"
check test "$(ls -f "$D" | grep -vc '^\.\.\?$')" = 10000 "10,000 entries after remount"
(cd "$D" && ls | xargs rm -f)
check test "$(ls -f "$D" | wc -l)" = 2 "all removed"
check rmdir "$D" "rmdir the emptied directory"
tfs_umount
finish
