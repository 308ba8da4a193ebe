#include "util/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static const char strmap_tomb_mark;
#define STRMAP_TOMB (&strmap_tomb_mark)

/* Old slots moved per insert while a move is under way. Any value >= 2
 * finishes the move before the new array fills (it has room for at least
 * half the old capacity of inserts); 8 keeps each insert's share small. */
#define STRMAP_MOVE_STEP 8

/* FNV-1a: short keys, no adversary can pick them (ids are assigned by us or
 * come from config), so a simple hash is enough. */
static uint64_t strmap_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int strmap_is_live(const struct strmap_slot *s)
{
	return s->key != NULL && s->key != STRMAP_TOMB;
}

void strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof *m);
}

void strmap_free(struct strmap *m)
{
	free(m->slots);
	free(m->old);
	memset(m, 0, sizeof *m);
}

static struct strmap_slot *strmap_find_in(struct strmap_slot *slots, size_t cap, const char *key,
					  uint64_t h)
{
	if (cap == 0)
		return NULL;
	size_t mask = cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct strmap_slot *s = &slots[i];
		if (s->key == NULL)
			return NULL;
		if (s->hash == h && s->key != STRMAP_TOMB && strcmp(s->key, key) == 0)
			return s;
	}
}

/* key's slot in either array, or NULL. */
static struct strmap_slot *strmap_find(const struct strmap *m, const char *key, uint64_t h)
{
	struct strmap_slot *s = strmap_find_in(m->slots, m->cap, key, h);
	if (s == NULL && m->old != NULL)
		s = strmap_find_in(m->old, m->old_cap, key, h);
	return s;
}

/* Places a key known to be absent into the new array, which has room. */
static void strmap_place(struct strmap *m, const char *key, void *value, uint64_t h)
{
	size_t mask = m->cap - 1;
	size_t i = h & mask;

	while (m->slots[i].key != NULL && m->slots[i].key != STRMAP_TOMB)
		i = (i + 1) & mask;
	if (m->slots[i].key == NULL)
		m->used++;
	m->slots[i] = (struct strmap_slot){ key, value, h };
}

/* Moves up to n old slots into the new array; frees the old one when done.
 * A moved slot becomes a tombstone, not empty: lookups of keys still in the
 * old array may probe across it. */
static void strmap_move(struct strmap *m, size_t n)
{
	for (; n > 0 && m->moved < m->old_cap; n--, m->moved++) {
		struct strmap_slot *s = &m->old[m->moved];
		if (strmap_is_live(s)) {
			strmap_place(m, s->key, s->value, s->hash);
			s->key = STRMAP_TOMB;
			s->value = NULL;
		}
	}
	if (m->old != NULL && m->moved == m->old_cap) {
		free(m->old);
		m->old = NULL;
		m->old_cap = m->moved = 0;
	}
}

/* Starts moving to a fresh array: twice the size when live keys, not
 * tombstones, filled this one; the same size otherwise. */
static void strmap_begin_move(struct strmap *m)
{
	if (m->old != NULL)
		strmap_move(m, SIZE_MAX); /* finish the last move first */
	if ((m->used + 1) * 4 <= m->cap * 3)
		return;
	if (m->cap == 0) {
		m->cap = 16;
		m->slots = xcalloc(m->cap, sizeof *m->slots);
		return;
	}
	m->old = m->slots;
	m->old_cap = m->cap;
	m->moved = 0;
	m->cap = m->live * 2 >= m->old_cap / 2 ? m->old_cap * 2 : m->old_cap;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	m->used = 0;
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
		strmap_begin_move(m);
	strmap_place(m, key, value, h);
	m->live++;
	if (m->old != NULL)
		strmap_move(m, STRMAP_MOVE_STEP);
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

void strmap_prefetch(const struct strmap *m, const char *key)
{
	if (m->cap != 0)
		__builtin_prefetch(&m->slots[strmap_hash(key) & (m->cap - 1)], 1);
}

size_t strmap_count(const struct strmap *m)
{
	return m->live;
}

/* *iter runs over the new array, then the old one. */
int strmap_next(const struct strmap *m, size_t *iter, const char **key, void **value)
{
	while (*iter < m->cap + m->old_cap) {
		size_t i = (*iter)++;
		const struct strmap_slot *s = i < m->cap ? &m->slots[i] : &m->old[i - m->cap];
		if (strmap_is_live(s)) {
			*key = s->key;
			*value = s->value;
			return 1;
		}
	}
	return 0;
}
