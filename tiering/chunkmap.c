/*
 * tiering/chunkmap.c - chunks and the per-file chunk map.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "tier.h"

struct tfs_chunk *tier_chunk_new(uint64_t ino, uint64_t idx, uint32_t nblocks)
{
	size_t words = (nblocks + 63) / 64;
	struct tfs_chunk *c;

	c = calloc(1, sizeof(*c) + words * 8 + (size_t)nblocks * 4);
	if (!c)
		return NULL;
	c->c_ino = ino;
	c->c_idx = idx;
	c->c_nblocks = nblocks;
	/* neither hot nor idle: what a remount (heat is not persisted) or a
	 * new chunk starts with, so nothing sinks before it had a chance */
	c->c_heat = TIER_HEAT_INIT;
	tfs_list_init(&c->c_dirty);
	tfs_list_init(&c->c_intent);
	c->c_mask = (uint64_t *)(c + 1);
	c->c_csum = (uint32_t *)(c->c_mask + words);
	return c;
}

void tier_chunk_free(struct tfs_chunk *c)
{
	free(c);
}

uint32_t tier_chunk_count(const struct tfs_chunk *c)
{
	uint32_t n = 0, w;

	for (w = 0; w < (c->c_nblocks + 63) / 64; w++)
		n += (uint32_t)__builtin_popcountll(c->c_mask[w]);
	return n;
}

uint32_t tier_block_csum(const void *data, uint64_t ino, uint64_t fblock)
{
	/* the seed binds the data to its place: a block written for another
	 * file or offset (a misdirected or stale read) does not verify */
	uint64_t seed = (ino * 0x9E3779B97F4A7C15ull) ^ fblock;

	return (uint32_t)XXH3_64bits_withSeed(data, TFS_BLOCK_SIZE, seed);
}

struct tfs_chunk *tier_cmap_get(const struct tier_cmap *m, uint64_t idx)
{
	uint64_t t = idx >> TIER_LEAF_SHIFT;

	if (t >= m->m_ntop || !m->m_top[t])
		return NULL;
	return m->m_top[t][idx & (TIER_LEAF - 1)];
}

int tier_cmap_set(struct tier_cmap *m, uint64_t idx, struct tfs_chunk *c)
{
	uint64_t t = idx >> TIER_LEAF_SHIFT, ntop;
	struct tfs_chunk ***top;
	struct tfs_chunk **slot;

	if (t >= m->m_ntop) {
		ntop = m->m_ntop ? m->m_ntop : 1;
		while (ntop <= t)
			ntop *= 2;
		top = realloc(m->m_top, ntop * sizeof(*top));
		if (!top)
			return -ENOMEM;
		memset(top + m->m_ntop, 0, (ntop - m->m_ntop) * sizeof(*top));
		m->m_top = top;
		m->m_ntop = ntop;
	}
	if (!m->m_top[t]) {
		m->m_top[t] = calloc(TIER_LEAF, sizeof(struct tfs_chunk *));
		if (!m->m_top[t])
			return -ENOMEM;
	}
	slot = &m->m_top[t][idx & (TIER_LEAF - 1)];
	if (*slot)
		return -EEXIST;
	*slot = c;
	m->m_count++;
	m->m_blocks += tier_chunk_count(c);
	return 0;
}

struct tfs_chunk *tier_cmap_take(struct tier_cmap *m, uint64_t idx)
{
	uint64_t t = idx >> TIER_LEAF_SHIFT;
	struct tfs_chunk *c;

	if (t >= m->m_ntop || !m->m_top[t])
		return NULL;
	c = m->m_top[t][idx & (TIER_LEAF - 1)];
	if (!c)
		return NULL;
	m->m_top[t][idx & (TIER_LEAF - 1)] = NULL;
	m->m_count--;
	m->m_blocks -= tier_chunk_count(c);
	return c;
}

struct tfs_chunk *tier_cmap_next(const struct tier_cmap *m, uint64_t idx)
{
	uint64_t t = idx >> TIER_LEAF_SHIFT, i = idx & (TIER_LEAF - 1);

	for (; t < m->m_ntop; t++, i = 0) {
		if (!m->m_top[t])
			continue;
		for (; i < TIER_LEAF; i++)
			if (m->m_top[t][i])
				return m->m_top[t][i];
	}
	return NULL;
}

void tier_cmap_destroy(struct tier_cmap *m)
{
	uint64_t t, i;

	for (t = 0; t < m->m_ntop; t++) {
		if (!m->m_top[t])
			continue;
		for (i = 0; i < TIER_LEAF; i++)
			tier_chunk_free(m->m_top[t][i]);
		free(m->m_top[t]);
	}
	free(m->m_top);
	memset(m, 0, sizeof(*m));
}
