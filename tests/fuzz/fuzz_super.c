/*
 * tests/fuzz/fuzz_super.c - the superblock decoder.
 *
 * The input is one 8 KiB superblock copy (shorter inputs are zero-padded).
 * When its first byte is odd, the harness writes a valid checksum over it
 * first, so that the fuzzer reaches the field checks behind the checksum.
 * A decoded superblock must re-encode to something that decodes the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[TFS_SB_SIZE], again[TFS_SB_SIZE];
	struct tfs_sb sb, sb2;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
	if (size && (data[0] & 1)) {
		uint64_t magic = TFS_SB_MAGIC, csum;

		memcpy(buf, &magic, 8); /* little-endian hosts, as the fuzz build */
		csum = tfs_hash(buf, TFS_SB_SIZE - 8, TFS_SB_SEED);
		memcpy(buf + TFS_SB_SIZE - 8, &csum, 8);
	}
	if (tfs_sb_decode(&sb, buf) != 0)
		return 0;
	tfs_sb_encode(&sb, again);
	if (tfs_sb_decode(&sb2, again) != 0 || memcmp(&sb, &sb2, sizeof(sb)) != 0)
		abort(); /* what we decode, we must write back identically */
	return 0;
}
