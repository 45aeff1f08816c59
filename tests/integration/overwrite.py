#!/usr/bin/env python3
# overwrite.py FILE MODEL PASSES [SEED [uniform|zipf]]: PASSES times the size
# of FILE in random 256 KiB writes at 256 KiB boundaries, the same bytes to
# MODEL (a plain copy to compare with), fsync after each pass.  DIRECT=1
# opens FILE with O_DIRECT; BS=N writes N bytes at a time instead.  Any
# error (ENOSPC, EIO) ends it non-zero.
import mmap
import os
import random
import sys

path, model, passes = sys.argv[1], sys.argv[2], int(sys.argv[3])
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
zipf = len(sys.argv) > 5 and sys.argv[5] == 'zipf'
bs = int(os.environ.get('BS', 256 * 1024))
n = os.path.getsize(path) // bs
rnd = random.Random(seed)
buf = mmap.mmap(-1, bs)  # page aligned, as O_DIRECT wants
fd = os.open(path, os.O_WRONLY | (os.O_DIRECT if os.environ.get('DIRECT') else 0))
md = os.open(model, os.O_WRONLY)
for p in range(passes):
    for i in range(n):
        if zipf:
            # a few chunks get most writes (Pareto ranks spread over the file)
            k = min(int(rnd.paretovariate(1.2)) - 1, n - 1)
            blk = (k * 7919) % n
        else:
            blk = rnd.randrange(n)
        data = rnd.randbytes(bs)
        buf[:] = data
        os.pwrite(fd, buf, blk * bs)
        os.pwrite(md, data, blk * bs)
    os.fsync(fd)
os.close(fd)
os.close(md)
