#!/usr/bin/env python3
"""randread.py FILE SECONDS [BLOCK]: random block-aligned O_DIRECT reads of
FILE for SECONDS (a hot file, as far as the daemon can tell: the page cache
is bypassed, so every read reaches it).  Prints the number of reads."""
import mmap
import os
import random
import sys
import time

path, secs = sys.argv[1], float(sys.argv[2])
bs = int(sys.argv[3]) if len(sys.argv) > 3 else 4096
fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
size = os.fstat(fd).st_size
buf = mmap.mmap(-1, bs)  # page aligned, as O_DIRECT wants
n = 0
end = time.monotonic() + secs
while time.monotonic() < end:
    off = random.randrange(0, max(1, size // bs)) * bs
    os.preadv(fd, [buf], off)
    n += 1
os.close(fd)
print(n)
