/*
 * src/hash.c - intrusive chained hash table, and the byte buffers records are
 * encoded into.  Keys are 64-bit hashes; equal keys chain together and the
 * caller compares what it needs (dirent names).
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

	if (t->t_count >= t->t_size && !t->t_frozen)
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

uint64_t tfs_hash(const void *p, size_t n, uint64_t seed)
{
	return XXH3_64bits_withSeed(p, n, seed);
}

uint64_t tfs_hash_str(const char *s, size_t len)
{
	return XXH3_64bits(s, len);
}

static int wbuf_reserve(struct tfs_wbuf *w, size_t n)
{
	size_t cap;
	uint8_t *b;

	if (w->err)
		return w->err;
	if (w->len + n <= w->cap)
		return 0;
	cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n)
		cap *= 2;
	b = realloc(w->b, cap);
	if (!b) {
		w->err = -ENOMEM;
		return w->err;
	}
	w->b = b;
	w->cap = cap;
	return 0;
}

void tfs_put_bytes(struct tfs_wbuf *w, const void *p, size_t n)
{
	if (wbuf_reserve(w, n))
		return;
	if (n)
		memcpy(w->b + w->len, p, n);
	w->len += n;
}

/* on-media integers are little-endian, as the machines this runs on */
void tfs_put_u8(struct tfs_wbuf *w, uint8_t v)
{
	tfs_put_bytes(w, &v, 1);
}
void tfs_put_u16(struct tfs_wbuf *w, uint16_t v)
{
	uint16_t le = htole16(v);
	tfs_put_bytes(w, &le, 2);
}
void tfs_put_u32(struct tfs_wbuf *w, uint32_t v)
{
	uint32_t le = htole32(v);
	tfs_put_bytes(w, &le, 4);
}
void tfs_put_u64(struct tfs_wbuf *w, uint64_t v)
{
	uint64_t le = htole64(v);
	tfs_put_bytes(w, &le, 8);
}

void tfs_wbuf_free(struct tfs_wbuf *w)
{
	free(w->b);
	memset(w, 0, sizeof(*w));
}

const void *tfs_get_bytes(struct tfs_rbuf *r, size_t n)
{
	const void *p;

	if (r->err || n > r->len - r->pos) {
		r->err = -EINVAL;
		return NULL;
	}
	p = r->p + r->pos;
	r->pos += n;
	return p;
}

uint8_t tfs_get_u8(struct tfs_rbuf *r)
{
	const uint8_t *p = tfs_get_bytes(r, 1);
	return p ? *p : 0;
}
uint16_t tfs_get_u16(struct tfs_rbuf *r)
{
	const void *p = tfs_get_bytes(r, 2);
	uint16_t v = 0;
	if (p)
		memcpy(&v, p, 2);
	return le16toh(v);
}
uint32_t tfs_get_u32(struct tfs_rbuf *r)
{
	const void *p = tfs_get_bytes(r, 4);
	uint32_t v = 0;
	if (p)
		memcpy(&v, p, 4);
	return le32toh(v);
}
uint64_t tfs_get_u64(struct tfs_rbuf *r)
{
	const void *p = tfs_get_bytes(r, 8);
	uint64_t v = 0;
	if (p)
		memcpy(&v, p, 8);
	return le64toh(v);
}
