/*
 * tests/integration/blockcmp.c - is FILE made of the blocks of STATEs?
 *
 * usage: blockcmp FILE STATE...
 *
 * After a crash, a file that was being changed must hold, in each 4 KiB
 * block, what one of its possible states (the last acknowledged one, or the
 * one in flight) holds there, and must have the size of one of them: never
 * garbage, zeros from nowhere, or a block of another file.  Exit 0 if so, 1
 * with the first offending block named, 2 on a usage or I/O error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLK 4096
#define MAXS 16

struct state {
	const char *name;
	unsigned char *data;
	size_t len;
};

static int slurp(const char *name, struct state *s)
{
	FILE *f = fopen(name, "rb");
	size_t cap = 1 << 16, n;

	s->name = name;
	s->len = 0;
	s->data = malloc(cap);
	if (!f || !s->data) {
		fprintf(stderr, "blockcmp: %s: %s\n", name, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	while ((n = fread(s->data + s->len, 1, cap - s->len, f)) > 0) {
		s->len += n;
		if (s->len == cap) {
			unsigned char *p = realloc(s->data, cap *= 2);

			if (!p) {
				fclose(f);
				return -1;
			}
			s->data = p;
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "blockcmp: reading %s: %s\n", name, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static int check(struct state *file, struct state *st, int ns);

int main(int argc, char *argv[])
{
	struct state file = { 0 }, st[MAXS];
	int ns = argc - 2, i, ret = 2;

	if (argc < 3 || ns > MAXS) {
		fprintf(stderr, "usage: blockcmp FILE STATE... (at most %d states)\n", MAXS);
		return 2;
	}
	memset(st, 0, sizeof(st));
	if (slurp(argv[1], &file) == 0) {
		for (i = 0; i < ns; i++)
			if (slurp(argv[i + 2], &st[i]) < 0)
				break;
		if (i == ns)
			ret = check(&file, st, ns);
	}
	free(file.data);
	for (i = 0; i < ns; i++)
		free(st[i].data);
	return ret;
}

/* 0: @file is made of the states' blocks; 1: it is not (and says why) */
static int check(struct state *fp, struct state *st, int ns)
{
	struct state file = *fp;
	int i, size_ok = 0;
	size_t off;

	for (i = 0; i < ns; i++)
		size_ok |= st[i].len == file.len;
	if (!size_ok) {
		printf("blockcmp: %s has size %zu, which no state has\n", file.name, file.len);
		return 1;
	}
	for (off = 0; off < file.len; off += BLK) {
		size_t n = file.len - off < BLK ? file.len - off : BLK;
		int ok = 0;

		for (i = 0; i < ns && !ok; i++)
			ok = st[i].len >= off + n && !memcmp(file.data + off, st[i].data + off, n);
		if (!ok) {
			size_t z = 0;

			while (z < n && !file.data[off + z])
				z++;
			printf("blockcmp: %s: the block at offset %zu matches no state%s\n", file.name, off,
			       z == n ? " (it is all zeros)" : "");
			for (i = 0; i < ns; i++) {
				size_t same = 0;

				if (st[i].len > off)
					while (same < n && off + same < st[i].len &&
					       file.data[off + same] == st[i].data[off + same])
						same++;
				printf("  state %s: %zu bytes, the block's first %zu bytes agree\n",
				       st[i].name, st[i].len, same);
			}
			return 1;
		}
	}
	return 0;
}
