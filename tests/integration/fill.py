#!/usr/bin/env python3
"""fill.py MODE DIR LIST [MAX]: fill a file system until it says ENOSPC.
fill.py check MODE LIST: every object LIST names is there, intact.

MODE is one of
  symlink  symlinks with 4095-byte targets
  empty    empty files
  xattr    one file, then more files, each with user.* xattrs of 60,000 bytes
  data     files of 1 MiB of data
Every object whose call succeeded is appended to LIST (one name per line,
flushed at once), so that a later check can find all of them.  Exit status:
0 when ENOSPC (or EDQUOT) stopped it, 1 on any other error (printed), 2
when MAX objects were made without running out.
"""
import errno
import os
import sys


def target(i):
    t = ("%08d/" % i) * 512
    return t[:4095]


def value(i):
    return (("%08d" % i) * 7500).encode()


def check(mode, listf):
    bad = 0
    n = 0
    for line in open(listf):
        line = line.rstrip("\n")
        if line.startswith("file "):
            continue
        n += 1
        try:
            if mode == "symlink":
                i = int(line[-8:])
                ok = os.readlink(line) == target(i)
            elif mode == "empty":
                ok = os.path.isfile(line) and os.path.getsize(line) == 0
            elif mode == "xattr":
                holder, attr, i = line.split(" ")
                ok = os.getxattr(holder, attr) == value(int(i))
            else:
                i = int(line[-8:])
                with open(line, "rb") as f:
                    ok = f.read() == bytes([i % 251]) * (1 << 20)
        except OSError as e:
            print("%s: %s" % (line, os.strerror(e.errno)))
            ok = False
        if not ok:
            bad += 1
            if bad <= 5:
                print("missing or wrong: %s" % line)
    print("%s: %d of %d intact" % (mode, n - bad, n))
    return 1 if bad or n == 0 else 0


def main():
    if sys.argv[1] == "check":
        return check(sys.argv[2], sys.argv[3])
    mode, d, listf = sys.argv[1], sys.argv[2], sys.argv[3]
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else 10 ** 7
    out = open(listf, "a")
    made = 0
    holder = None
    try:
        for i in range(limit):
            name = os.path.join(d, "%s%08d" % (mode[0], i))
            if mode == "symlink":
                os.symlink(target(i), name)
            elif mode == "empty":
                os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            elif mode == "xattr":
                # four values per file (the per-file limit is 256 KiB)
                if i % 4 == 0:
                    holder = os.path.join(d, "x%08d" % (i // 4))
                    os.close(os.open(holder, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                    out.write("file %s\n" % holder)
                os.setxattr(holder, "user.v%d" % (i % 4), value(i))
                name = "%s user.v%d %d" % (holder, i % 4, i)
            elif mode == "data":
                with open(name, "wb") as f:
                    try:
                        for k in range(16):
                            f.write(bytes([i % 251]) * 65536)
                        f.flush()
                        os.fsync(f.fileno())
                    except OSError:
                        # not acknowledged: not listed; emptied if it can be
                        try:
                            f.truncate(0)
                        except OSError:
                            pass
                        raise
            out.write("%s\n" % name)
            out.flush()
            made += 1
    except OSError as e:
        print("%s: %d made, then %s" % (mode, made, os.strerror(e.errno)))
        return 0 if e.errno in (errno.ENOSPC, errno.EDQUOT) else 1
    print("%s: %d made without running out" % (mode, made))
    return 2


if __name__ == "__main__":
    sys.exit(main())
