#!/bin/bash
# The SIGKILL crash loop of 0070 on a pool of an emulated zoned device and a
# small block device: chunk appends, copies into new zones, zone resets and
# cleaning are all under way when the daemon dies; fsck -n (which checks
# every zone's write pointer against metadata) must stay clean.
export TFS_KILL_POOL=zns
export TFS_KILL_CYCLES=${TFS_ZNS_KILL_CYCLES:-20}
exec bash "$(dirname "$0")/0070-kill-recovery.sh"
