#!/bin/bash
# The SIGKILL crash loop of 0070 on a pmem+block pool, with the pmem device
# in shadow mode (TIERFS_PMEM_SHADOW=1): stores tierfs did not persist never
# reach the file, so a missing persist point loses acknowledged data here.
export TFS_KILL_POOL=pmem
export TFS_KILL_CYCLES=${TFS_PMEM_KILL_CYCLES:-20}
exec bash "$(dirname "$0")/0070-kill-recovery.sh"
