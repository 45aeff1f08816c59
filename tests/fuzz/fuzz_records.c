/*
 * tests/fuzz/fuzz_records.c - the metadata record decoder.
 *
 * Checkpoint payloads and journal transactions are record streams; mount
 * applies them to an empty pool and then checks the result (link counts,
 * placeholders, chunk slots).  The input is applied as one stream, then the
 * load is finished and the pool freed: any input must end in 0 or an error,
 * never a crash, a leak or undefined behaviour.  When it loads, the pool is
 * serialised and loaded again, and both loads must agree on the inode count.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tfs_fs *empty_pool(void)
{
	struct tfs_fs *fs = tfs_fs_new();

	if (!fs)
		abort();
	fs->ndev = 2;
	fs->sb.s_ndev = 2;
	fs->sb.s_dev[0].sd_nslots = 64;
	fs->sb.s_dev[1].sd_nslots = 64;
	fs->sb.s_dev[1].sd_class = TFS_CLASS_BLOCK;
	fs->sb.s_ckpt_len = 1 << 20;
	fs->chunk_shift = 16;
	fs->chunk_size = 1 << 16;
	fs->chunk_blocks = 16;
	fs->loading = 1;
	return fs;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tfs_fs *fs = empty_pool(), *fs2;
	struct tfs_wbuf w = { 0 };
	uint64_t n;

	tfs_log_verbose = -1; /* errors about bad records are expected */
	if (meta_apply_all(fs, data, size) == 0) {
		fs->loading = 0;
		if (meta_finish_load(fs) == 0) {
			n = fs->ninodes;
			if (meta_serialize(fs, &w) == 0) {
				fs2 = empty_pool();
				if (meta_apply_all(fs2, w.b, w.len) != 0)
					abort(); /* we cannot read what we wrote */
				fs2->loading = 0;
				if (meta_finish_load(fs2) != 0 || fs2->ninodes != n)
					abort();
				tfs_fs_close(fs2);
			}
			tfs_wbuf_free(&w);
		}
	}
	tfs_fs_close(fs);
	return 0;
}
