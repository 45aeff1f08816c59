/*
 * src/hash.c - intrusive chained hash table (fsck's bookkeeping).  Keys are
 * 64-bit hashes; equal keys chain together and the caller compares what it
 * needs.
 */
#include "config.h"

#include <errno.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "tfs.h"

int tfs_htab_init(struct tfs_htab *t, size_t size)
{
	size_t n = 8;

	while (n < size)
		n *= 2;
	t->t_b = calloc(n, sizeof(*t->t_b));
	if (!t->t_b)
		return -ENOMEM;
	t->t_size = n;
	t->t_count = 0;
	return 0;
}

void tfs_htab_destroy(struct tfs_htab *t)
{
	free(t->t_b);
	memset(t, 0, sizeof(*t));
}

static void htab_grow(struct tfs_htab *t)
{
	size_t n = t->t_size * 2, i;
	struct tfs_hnode **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* keep chaining longer; still correct */
	for (i = 0; i < t->t_size; i++) {
		struct tfs_hnode *e = t->t_b[i], *next;

		for (; e; e = next) {
			next = e->h_next;
			e->h_next = b[e->h_key & (n - 1)];
			b[e->h_key & (n - 1)] = e;
		}
	}
	free(t->t_b);
	t->t_b = b;
	t->t_size = n;
}

int tfs_htab_insert(struct tfs_htab *t, struct tfs_hnode *n)
{
	struct tfs_hnode **b;

	if (t->t_count >= t->t_size)
		htab_grow(t);
	b = &t->t_b[n->h_key & (t->t_size - 1)];
	n->h_next = *b;
	*b = n;
	t->t_count++;
	return 0;
}

void tfs_htab_remove(struct tfs_htab *t, struct tfs_hnode *n)
{
	struct tfs_hnode **p = &t->t_b[n->h_key & (t->t_size - 1)];

	for (; *p; p = &(*p)->h_next) {
		if (*p == n) {
			*p = n->h_next;
			t->t_count--;
			return;
		}
	}
}

struct tfs_hnode *tfs_htab_find(const struct tfs_htab *t, uint64_t key)
{
	struct tfs_hnode *e = t->t_b[key & (t->t_size - 1)];

	while (e && e->h_key != key)
		e = e->h_next;
	return e;
}

struct tfs_hnode *tfs_htab_next(const struct tfs_hnode *n)
{
	struct tfs_hnode *e = n->h_next;

	while (e && e->h_key != n->h_key)
		e = e->h_next;
	return e;
}

uint64_t tfs_hash_str(const char *s, size_t len)
{
	return XXH3_64bits(s, len);
}
