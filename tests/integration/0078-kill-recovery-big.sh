#!/bin/bash
# The SIGKILL crash loop of 0070 on a pool holding 300,000 chunks with a
# 1 MiB journal: while files are made, renamed, removed, appended to,
# overwritten and truncated, and ranges of a 300,000-chunk file are punched
# and allocated again, checkpoints are taken every few dozen commits, each
# writing what changed of a large state; kills land before, during and
# after them.
export TFS_KILL_POOL=big
export TFS_KILL_CYCLES=${TFS_BIG_KILL_CYCLES:-15}
exec bash "$(dirname "$0")/0070-kill-recovery.sh"
