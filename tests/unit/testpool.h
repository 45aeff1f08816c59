/* tests/unit/testpool.h - pools on files for the in-process tests of the
 * metadata layer: made, opened, "crashed" (dropped without unmounting),
 * unmounted, and described (a manifest of the whole tree) */
#ifndef TFS_TESTPOOL_H
#define TFS_TESTPOOL_H
#include <stdint.h>
#include "tfs.h"

/* a one-device pool of class @cls, @size bytes, chunks of 1 << @shift
 * bytes, journal @jrnl bytes, at a new temporary @path (64 bytes) */
void tp_make(char *path, unsigned int cls, uint64_t size, unsigned int shift, uint64_t jrnl);
/* open it (asserting success unless @want_ret is not 0) */
struct tfs_fs *tp_open(const char *path, unsigned int flags);
int tp_open_ret(const char *path, unsigned int flags, struct tfs_fs **out);
void tp_crash(struct tfs_fs *fs);   /* close without unmounting */
void tp_unmount(struct tfs_fs *fs); /* unmount and close */
void tp_remove(const char *path);
/* every name, type, size, link count, content hash, symlink and xattr of
 * the tree, one line each, into a malloc'd string */
char *tp_manifest(struct tfs_fs *fs);
/* make a file @name in @dir with @len bytes of content seeded by @seed */
uint64_t tp_file(struct tfs_fs *fs, uint64_t dir, const char *name, uint64_t len, unsigned int seed);
/* 1 if @buf holds what tp_file wrote at @off with @seed */
int tp_check_content(const uint8_t *buf, size_t len, uint64_t off, unsigned int seed);
/* the on-media map (fsck.tierfs --map) lines of @kind: offsets into @offs
 * (up to @max), lengths into @lens; returns how many */
unsigned int tp_regions(struct tfs_fs *fs, const char *kind, uint64_t *offs, uint64_t *lens,
			unsigned int max);
/* ... only those whose line contains @has */
unsigned int tp_regions_match(struct tfs_fs *fs, const char *kind, const char *has, uint64_t *offs,
			      uint64_t *lens, unsigned int max);
void tp_flip(const char *path, uint64_t off);
#endif
