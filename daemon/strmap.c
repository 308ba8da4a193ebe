#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static const char strmap_tomb_mark;
#define STRMAP_TOMB (&strmap_tomb_mark)

/* FNV-1a: short keys, no adversary can pick them (ids are assigned by us or
 * come from config), so a simple hash is enough. */
static uint64_t strmap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

void strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof *m);
}

void strmap_free(struct strmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof *m);
}

static struct strmap_slot *strmap_find(const struct strmap *m, const char *key, uint64_t h)
{
	if (m->cap == 0)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct strmap_slot *s = &m->slots[i];
		if (s->key == NULL)
			return NULL;
		if (s->hash == h && s->key != STRMAP_TOMB && strcmp(s->key, key) == 0)
			return s;
	}
}

/* Places a key known to be absent, into a table with room. */
static void strmap_place(struct strmap *m, const char *key, void *value, uint64_t h)
{
	size_t mask = m->cap - 1;
	size_t i = h & mask;

	while (m->slots[i].key != NULL && m->slots[i].key != STRMAP_TOMB)
		i = (i + 1) & mask;
	if (m->slots[i].key == NULL)
		m->used++;
	m->slots[i] = (struct strmap_slot){ key, value, h };
	m->live++;
}

static void strmap_grow(struct strmap *m)
{
	struct strmap old = *m;

	/* Rehash in place when tombstones, not live keys, filled the table. */
	if (old.cap == 0)
		m->cap = 16;
	else
		m->cap = old.live * 2 >= old.cap / 2 ? old.cap * 2 : old.cap;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	m->used = m->live = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key != NULL && old.slots[i].key != STRMAP_TOMB)
			strmap_place(m, old.slots[i].key, old.slots[i].value, old.slots[i].hash);
	free(old.slots);
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_slot *s = strmap_find(m, key, strmap_hash(key));
	return s ? s->value : NULL;
}

void *strmap_put(struct strmap *m, const char *key, void *value)
{
	uint64_t h = strmap_hash(key);
	struct strmap_slot *s = strmap_find(m, key, h);
	if (s != NULL) {
		void *prev = s->value;
		s->key = key;
		s->value = value;
		return prev;
	}
	if ((m->used + 1) * 4 > m->cap * 3)
		strmap_grow(m);
	strmap_place(m, key, value, h);
	return NULL;
}

void *strmap_del(struct strmap *m, const char *key)
{
	struct strmap_slot *s = strmap_find(m, key, strmap_hash(key));
	if (s == NULL)
		return NULL;
	void *v = s->value;
	s->key = STRMAP_TOMB;
	s->value = NULL;
	m->live--;
	return v;
}

size_t strmap_count(const struct strmap *m)
{
	return m->live;
}

int strmap_next(const struct strmap *m, size_t *iter, const char **key, void **value)
{
	while (*iter < m->cap) {
		struct strmap_slot *s = &m->slots[(*iter)++];
		if (s->key != NULL && s->key != STRMAP_TOMB) {
			*key = s->key;
			*value = s->value;
			return 1;
		}
	}
	return 0;
}
