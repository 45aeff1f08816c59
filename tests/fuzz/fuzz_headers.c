/*
 * tests/fuzz/fuzz_headers.c - the fixed-size metadata headers: checkpoint
 * header, log segment header, log page, checksum page.
 *
 * The first input byte picks the decoder (low two bits) and whether the
 * harness puts a valid checksum over the rest first (bit 2), so that the
 * fuzzer also reaches the field checks behind the checksum; the rest is the
 * page (zero-padded).  A decoded checkpoint header must re-encode to one
 * that decodes the same; a decoded log page or checksum page must be
 * internally consistent (its payload within the page).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEED 0x1234567890abcdefull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[TFS_CKH_SIZE], again[TFS_CKH_SIZE];
	unsigned int sel, fix;

	if (size < 1)
		return 0;
	sel = data[0] & 3;
	fix = data[0] & 4;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, data + 1, size - 1 < sizeof(buf) ? size - 1 : sizeof(buf));
	switch (sel) {
	case 0: { /* checkpoint header */
		struct tfs_ckh h, h2;
		uint64_t magic = TFS_CKH_MAGIC, gen, cs;

		if (fix) {
			memcpy(buf, &magic, 8);
			memcpy(&gen, buf + 8, 8);
			cs = tfs_hash(buf, TFS_CKH_SIZE - 8, SEED ^ gen ^ 'C');
			memcpy(buf + TFS_CKH_SIZE - 8, &cs, 8);
		}
		if (tfs_ckh_decode(&h, SEED, buf) != 0)
			return 0;
		tfs_ckh_encode(&h, SEED, again);
		if (tfs_ckh_decode(&h2, SEED, again) != 0 || memcmp(&h, &h2, sizeof(h)) != 0)
			abort();
		return 0;
	}
	case 1: { /* log segment header */
		struct tfs_seg_hdr s, s2;
		uint32_t magic = TFS_SEG_MAGIC;
		uint64_t seq, cs;

		if (fix) {
			memcpy(buf, &magic, 4);
			memcpy(&seq, buf + 8, 8);
			cs = tfs_hash(buf, TFS_LOG_PAGE - 8, SEED ^ seq ^ 'S');
			memcpy(buf + TFS_LOG_PAGE - 8, &cs, 8);
		}
		if (tfs_seg_decode(&s, SEED, buf) != 0)
			return 0;
		tfs_seg_encode(&s, SEED, again);
		if (tfs_seg_decode(&s2, SEED, again) != 0 || memcmp(&s, &s2, sizeof(s)) != 0)
			abort();
		return 0;
	}
	case 2: { /* log page */
		struct tfs_lpg_hdr h;
		uint64_t lpos;

		memcpy(&lpos, buf + 8, 8);
		if (fix) {
			struct tfs_lpg_hdr w;

			memcpy(&w.first, buf + 4, 2);
			memcpy(&w.used, buf + 6, 2);
			memcpy(&w.gen, buf + 16, 8);
			w.lpos = lpos;
			tfs_lpg_seal(&w, SEED, buf);
		}
		if (tfs_lpg_check(&h, SEED, lpos, buf) != 0)
			return 0;
		if (h.used > TFS_LPG_PAYLOAD || (h.first != TFS_LPG_NOREC && h.first >= h.used))
			abort(); /* the reader trusts these */
		return 0;
	}
	default: { /* checksum page */
		struct tfs_cs_hdr h;
		uint32_t psize, per;

		tfs_cs_geometry(16, &psize, &per);
		if (psize > sizeof(buf))
			abort();
		if (fix) {
			struct tfs_cs_hdr w = { .dev = buf[1], .copy = buf[2] & 1, .page = buf[3],
						.gen = buf[4], .entries = buf[5] };

			memcpy(w.poison, buf + 24, sizeof(w.poison));
			tfs_cs_seal(&w, SEED, buf, psize);
		}
		if (tfs_cs_check(&h, SEED, buf[1], buf[3], buf[2] & 1, buf, psize) != 0)
			return 0;
		if (h.entries > TFS_CS_POISON_MAX)
			abort();
		return 0;
	}
	}
}
