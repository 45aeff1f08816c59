/*
 * tiering/chunkmap.c - chunk objects (a slab allocator) and the per-file
 * chunk map (a radix tree of 64-chunk groups).
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "tier.h"

/* ---------------------------------------------------------------- slabs */

#define SLAB_SIZE (64u << 10)

struct tier_slab {
	struct tier_slab *next, *prev;	/* the partial list */
	void *free;			/* free objects of this slab */
	uint32_t used, pad;
};

#define SLAB_HDR ((sizeof(struct tier_slab) + 15) & ~(size_t)15)

void tier_chunks_init(struct tier_chunks *a, uint32_t nblocks)
{
	size_t words = (nblocks + 63) / 64;

	memset(a, 0, sizeof(*a));
	a->nblocks = nblocks;
	a->objsz = (sizeof(struct tfs_chunk) + words * 8 + 7) & ~(size_t)7;
	a->per_slab = (uint32_t)((SLAB_SIZE - SLAB_HDR) / a->objsz);
}

static void partial_del(struct tier_chunks *a, struct tier_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		a->partial = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static void partial_add(struct tier_chunks *a, struct tier_slab *s)
{
	s->prev = NULL;
	s->next = a->partial;
	if (a->partial)
		a->partial->prev = s;
	a->partial = s;
}

static struct tier_slab *slab_new(struct tier_chunks *a)
{
	struct tier_slab *s = aligned_alloc(SLAB_SIZE, SLAB_SIZE);
	uint32_t i;

	if (!s)
		return NULL;
	memset(s, 0, SLAB_HDR);
	for (i = a->per_slab; i-- > 0;) {
		void **o = (void **)((char *)s + SLAB_HDR + (size_t)i * a->objsz);

		*o = s->free;
		s->free = o;
	}
	a->slabs++;
	return s;
}

struct tfs_chunk *tier_chunk_new(struct tier_chunks *a, uint64_t ino, uint64_t idx)
{
	struct tier_slab *s = a->partial;
	struct tfs_chunk *c;
	void **o;

	if (!s) {
		s = slab_new(a);
		if (!s)
			return NULL;
		partial_add(a, s);
	}
	o = s->free;
	s->free = *o;
	s->used++;
	if (!s->free)
		partial_del(a, s);
	a->count++;
	c = (struct tfs_chunk *)o;
	memset(c, 0, a->objsz);
	c->c_ino = ino;
	c->c_idx = (uint32_t)idx;
	/* neither hot nor idle: what a new chunk (and a remount) starts with,
	 * so nothing sinks before it had a chance */
	c->c_heat = TIER_HEAT_INIT;
	return c;
}

void tier_chunk_free(struct tier_chunks *a, struct tfs_chunk *c)
{
	struct tier_slab *s;
	void **o = (void **)c;

	if (!c)
		return;
	s = (struct tier_slab *)((uintptr_t)c & ~(uintptr_t)(SLAB_SIZE - 1));
	if (!s->free)
		partial_add(a, s);
	*o = s->free;
	s->free = o;
	s->used--;
	a->count--;
	/* an empty slab goes back, unless it is the only one with room */
	if (s->used == 0 && (s->next || s->prev)) {
		partial_del(a, s);
		free(s);
		a->slabs--;
	}
}

void tier_chunks_destroy(struct tier_chunks *a)
{
	/* every chunk has been freed by its map: only empty slabs remain */
	while (a->partial) {
		struct tier_slab *s = a->partial;

		partial_del(a, s);
		free(s);
		a->slabs--;
	}
}

uint64_t tier_chunks_bytes(const struct tier_chunks *a)
{
	return a->slabs * (uint64_t)SLAB_SIZE;
}

uint32_t tier_chunk_count(const struct tfs_chunk *c, uint32_t nblocks)
{
	uint32_t n = 0, w;

	for (w = 0; w < (nblocks + 63) / 64; w++)
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

/* ---------------------------------------------------------------- the map */

struct tier_cnode {
	void *n[TIER_GROUP];
};

static uint64_t groups_under(unsigned int height)
{
	return height ? 1ull << (TIER_GROUP_SHIFT * height) : 1;
}

/* where group @g hangs (NULL if its path does not exist) */
static void **group_slot(const struct tier_cmap *m, uint64_t g)
{
	void **p = (void **)&m->m_root;
	unsigned int h;

	if (g >= groups_under(m->m_height))
		return NULL;
	for (h = m->m_height; h > 0; h--) {
		struct tier_cnode *n = *p;

		if (!n)
			return NULL;
		p = &n->n[(g >> (TIER_GROUP_SHIFT * (h - 1))) & (TIER_GROUP - 1)];
	}
	return p;
}

/* the same, creating nodes */
static void **group_slot_make(struct tier_cmap *m, uint64_t g)
{
	void **p;
	unsigned int h;

	while (g >= groups_under(m->m_height)) {
		struct tier_cnode *n = calloc(1, sizeof(*n));

		if (!n)
			return NULL;
		n->n[0] = m->m_root;
		m->m_root = n;
		m->m_height++;
	}
	p = &m->m_root;
	for (h = m->m_height; h > 0; h--) {
		struct tier_cnode *n = *p;

		if (!n) {
			n = calloc(1, sizeof(*n));
			if (!n)
				return NULL;
			*p = n;
		}
		p = &n->n[(g >> (TIER_GROUP_SHIFT * (h - 1))) & (TIER_GROUP - 1)];
	}
	return p;
}

static unsigned int rank(uint64_t present, unsigned int bit)
{
	return (unsigned int)__builtin_popcountll(present & ((1ull << bit) - 1));
}

struct tfs_chunk *tier_cmap_get(const struct tier_cmap *m, uint64_t idx)
{
	void **p = group_slot(m, idx >> TIER_GROUP_SHIFT);
	const struct tier_cgroup *g;
	unsigned int bit = (unsigned int)(idx & (TIER_GROUP - 1));

	if (!p || !*p)
		return NULL;
	g = *p;
	if (!((g->g_present >> bit) & 1))
		return NULL;
	return g->g_c[rank(g->g_present, bit)];
}

struct tier_cgroup *tier_cmap_group(const struct tier_cmap *m, uint64_t g)
{
	void **p = group_slot(m, g);

	return p ? *p : NULL;
}

struct tier_cgroup *tier_cmap_group_get(struct tier_cmap *m, uint64_t g)
{
	void **p = group_slot_make(m, g);
	struct tier_cgroup *grp;

	if (!p)
		return NULL;
	if (*p)
		return *p;
	grp = calloc(1, sizeof(*grp) + sizeof(grp->g_c[0]));
	if (!grp)
		return NULL;
	grp->g_cap = 1;
	*p = grp;
	return grp;
}

int tier_cmap_set(struct tier_cmap *m, uint64_t idx, struct tfs_chunk *c)
{
	unsigned int bit = (unsigned int)(idx & (TIER_GROUP - 1)), r, n;
	struct tier_cgroup *g;
	void **p;

	if (!tier_cmap_group_get(m, idx >> TIER_GROUP_SHIFT))
		return -ENOMEM;
	p = group_slot(m, idx >> TIER_GROUP_SHIFT);
	g = *p;
	if ((g->g_present >> bit) & 1)
		return -EEXIST;
	n = (unsigned int)__builtin_popcountll(g->g_present);
	if (n == g->g_cap) {
		unsigned int cap = g->g_cap * 2 > TIER_GROUP ? TIER_GROUP : g->g_cap * 2;
		struct tier_cgroup *ng = realloc(g, sizeof(*g) + cap * sizeof(g->g_c[0]));

		if (!ng)
			return -ENOMEM;
		ng->g_cap = (uint8_t)cap;
		*p = g = ng;
	}
	r = rank(g->g_present, bit);
	memmove(&g->g_c[r + 1], &g->g_c[r], (n - r) * sizeof(g->g_c[0]));
	g->g_c[r] = c;
	g->g_present |= 1ull << bit;
	m->m_count++;
	return 0;
}

struct tfs_chunk *tier_cmap_take(struct tier_cmap *m, uint64_t idx)
{
	unsigned int bit = (unsigned int)(idx & (TIER_GROUP - 1)), r, n;
	void **p = group_slot(m, idx >> TIER_GROUP_SHIFT);
	struct tier_cgroup *g;
	struct tfs_chunk *c;

	if (!p || !*p)
		return NULL;
	g = *p;
	if (!((g->g_present >> bit) & 1))
		return NULL;
	n = (unsigned int)__builtin_popcountll(g->g_present);
	r = rank(g->g_present, bit);
	c = g->g_c[r];
	memmove(&g->g_c[r], &g->g_c[r + 1], (n - r - 1) * sizeof(g->g_c[0]));
	g->g_present &= ~(1ull << bit);
	m->m_count--;
	return c;
}

void tier_cmap_group_drop(struct tier_cmap *m, uint64_t g)
{
	void **p = group_slot(m, g);

	if (!p || !*p || ((struct tier_cgroup *)*p)->g_present)
		return;
	free(*p);
	*p = NULL;
	/* nodes left empty stay until the map is destroyed: cheap, and a file
	 * that lost a region tends to get it back */
}

/* first group with index >= @want under @p (height @h, first index @base) */
static struct tier_cgroup *gfirst(void *p, unsigned int h, uint64_t base, uint64_t want,
				  uint64_t *out)
{
	struct tier_cnode *n = p;
	unsigned int i, shift;

	if (!p)
		return NULL;
	if (h == 0) {
		if (base < want)
			return NULL;
		*out = base;
		return p;
	}
	shift = TIER_GROUP_SHIFT * (h - 1);
	i = want > base ? (unsigned int)((want - base) >> shift) : 0;
	if (want > base && ((want - base) >> shift) >= TIER_GROUP)
		return NULL;
	for (; i < TIER_GROUP; i++) {
		struct tier_cgroup *g = gfirst(n->n[i], h - 1, base + ((uint64_t)i << shift), want, out);

		if (g)
			return g;
	}
	return NULL;
}

struct tier_cgroup *tier_cmap_group_next(const struct tier_cmap *m, uint64_t *g)
{
	uint64_t out = 0;
	struct tier_cgroup *grp;

	if (*g >= groups_under(m->m_height))
		return NULL;
	grp = gfirst(m->m_root, m->m_height, 0, *g, &out);
	if (grp)
		*g = out;
	return grp;
}

struct tfs_chunk *tier_cmap_next(const struct tier_cmap *m, uint64_t idx)
{
	uint64_t g = idx >> TIER_GROUP_SHIFT;
	unsigned int bit = (unsigned int)(idx & (TIER_GROUP - 1));
	struct tier_cgroup *grp;

	while ((grp = tier_cmap_group_next(m, &g))) {
		uint64_t mask = grp->g_present;

		if (g == idx >> TIER_GROUP_SHIFT)
			mask &= bit ? ~((1ull << bit) - 1) : ~0ull;
		if (mask)
			return grp->g_c[rank(grp->g_present, (unsigned int)__builtin_ctzll(mask))];
		g++;
	}
	return NULL;
}

static void destroy(void *p, unsigned int h,
		    void (*fn)(void *arg, struct tfs_chunk *c, struct tier_cgroup *g), void *arg)
{
	unsigned int i;

	if (!p)
		return;
	if (h == 0) {
		struct tier_cgroup *g = p;
		unsigned int n = (unsigned int)__builtin_popcountll(g->g_present);

		for (i = 0; fn && i < n; i++)
			fn(arg, g->g_c[i], g);
		free(g);
		return;
	}
	for (i = 0; i < TIER_GROUP; i++)
		destroy(((struct tier_cnode *)p)->n[i], h - 1, fn, arg);
	free(p);
}

void tier_cmap_destroy(struct tier_cmap *m, void (*fn)(void *arg, struct tfs_chunk *c,
						       struct tier_cgroup *g), void *arg)
{
	destroy(m->m_root, m->m_height, fn, arg);
	memset(m, 0, sizeof(*m));
}

/* what the allocator spends on @p: what it can hold and its header */
static uint64_t heap(const void *p)
{
	return malloc_usable_size((void *)p) + sizeof(size_t);
}

static uint64_t bytes(const void *p, unsigned int h)
{
	uint64_t n = 0;
	unsigned int i;

	if (!p)
		return 0;
	if (h == 0)
		return heap(p);
	for (i = 0; i < TIER_GROUP; i++)
		n += bytes(((const struct tier_cnode *)p)->n[i], h - 1);
	return n + heap(p);
}

uint64_t tier_cmap_bytes(const struct tier_cmap *m)
{
	return bytes(m->m_root, m->m_height);
}
