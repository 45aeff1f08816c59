#!/bin/bash
# The SIGKILL crash loop of 0070 on a pool with a 1 MiB journal: checkpoints
# are taken every few dozen commits while the workloads go on, so kills land
# before, during and after them, and recovery must load a checkpoint that was
# taken while the pool changed, or fall back to the older one.
export TFS_KILL_POOL=small
export TFS_KILL_CYCLES=${TFS_CKPT_KILL_CYCLES:-20}
exec bash "$(dirname "$0")/0070-kill-recovery.sh"
