/* The offer table: live and accepted offers by offer id.
 *
 * Every offer is added and, when its contact finishes, removed: two
 * operations per decision, while looking an offer up by id is rare (the
 * agent's own held list answers accept and reject; this table only tells
 * "another agent's" from "no such offer", and catches duplicates on
 * restore). So the table is built for adding and removing.
 *
 * The key of one of our ids is its number ("o-<prefix>-<n>"); other ids
 * (restored from another prefix) are keyed by a string hash. Keys only have
 * to agree, not be unique: lookups compare the id itself.
 *
 * - The ring: slot = key mod its size, at least 8 slots per live offer.
 *   Consecutive offers land in consecutive slots, so an add writes the line
 *   the previous add wrote, and a remove clears one slot. A slot still held
 *   by an older offer (one that outlived the ring's turn) sends the new one
 *   to the overflow table instead; with 8 slots per live offer that is rare.
 * - The overflow table: linear probing on a Fibonacci hash of the key
 *   (plain numbers as indexes would pile up behind survivors),
 *   backward-shift deletion, no tombstones; at most half full.
 * Slots hold the key and the contact: growing never reads a contact. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "util/xalloc.h"

/* FNV-1a, for ids that are not ours. */
static uint64_t offer_table_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Our ids key by their number (no hashing on the hot path); others by hash. */
uint64_t offer_table_key(const struct engine *e, const char *id)
{
	if (strncmp(id, e->offer_head, e->offer_head_len) == 0) {
		const char *d = id + e->offer_head_len;
		uint64_t n = 0;
		size_t len = 0;
		for (; d[len] >= '0' && d[len] <= '9' && len < 19; len++)
			n = n * 10 + (uint64_t)(d[len] - '0');
		if (len > 0 && d[len] == '\0')
			return n;
	}
	return offer_table_hash(id);
}

/* Releases both arrays; the contacts are the engine's. */
void offer_table_free(struct offer_table *t)
{
	free(t->ring);
	free(t->slots);
	memset(t, 0, sizeof *t);
}

/* ---- the overflow table ---- */

/* An overflow key's first slot: Fibonacci hashing spreads runs of numbers. */
static size_t offer_table_home(uint64_t key, size_t mask)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & mask;
}

/* Places an entry into a table known to have room. */
static void offer_table_place(struct offer_slot *slots, size_t mask, uint64_t key,
			      struct econtact *c)
{
	size_t i = offer_table_home(key, mask);
	while (slots[i].c != NULL)
		i = (i + 1) & mask;
	slots[i].key = key;
	slots[i].c = c;
}

/* Lists c in the overflow table, doubling it first to stay at most half full. */
static void offer_table_overflow_add(struct offer_table *t, struct econtact *c, uint64_t key)
{
	if ((t->n_over + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct offer_slot *slots = xcalloc(cap, sizeof *slots);
		for (size_t i = 0; i < t->cap; i++)
			if (t->slots[i].c != NULL)
				offer_table_place(slots, cap - 1, t->slots[i].key, t->slots[i].c);
		free(t->slots);
		t->slots = slots;
		t->cap = cap;
	}
	offer_table_place(t->slots, t->cap - 1, key, c);
	t->n_over++;
}

/* Finds an id in the overflow table, comparing ids (keys may be shared). */
static struct econtact *offer_table_overflow_get(const struct offer_table *t, uint64_t key,
						 const char *id)
{
	if (t->cap == 0)
		return NULL;
	size_t mask = t->cap - 1;
	for (size_t i = offer_table_home(key, mask); t->slots[i].c != NULL; i = (i + 1) & mask)
		if (t->slots[i].key == key && strcmp(t->slots[i].c->offer_id, id) == 0)
			return t->slots[i].c;
	return NULL;
}

/* Unlists c from the overflow table without leaving a tombstone. */
static void offer_table_overflow_remove(struct offer_table *t, const struct econtact *c)
{
	size_t mask = t->cap - 1;
	size_t i = offer_table_home(c->offer_key, mask);
	while (t->slots[i].c != c)
		i = (i + 1) & mask;
	/* Backward shift: pull later entries of the run into the hole unless
	 * their home slot lies cyclically in (hole, their slot]. */
	for (size_t j = (i + 1) & mask; t->slots[j].c != NULL; j = (j + 1) & mask) {
		size_t home = offer_table_home(t->slots[j].key, mask);
		bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (stays)
			continue;
		t->slots[i] = t->slots[j];
		i = j;
	}
	t->slots[i].c = NULL;
	t->slots[i].key = 0;
	t->n_over--;
}

/* ---- the ring, and the table as a whole ---- */

/* Doubling keeps every ring entry in the ring: key mod 2n is key mod n or
 * that plus n, so two entries in different slots stay in different slots. */
static void offer_table_ring_grow(struct offer_table *t)
{
	size_t cap = t->ring_cap ? t->ring_cap * 2 : 256;
	struct offer_slot *ring = xcalloc(cap, sizeof *ring);

	for (size_t i = 0; i < t->ring_cap; i++)
		if (t->ring[i].c != NULL)
			ring[t->ring[i].key & (cap - 1)] = t->ring[i];
	free(t->ring);
	t->ring = ring;
	t->ring_cap = cap;
}

/* Lists c under key: in the ring when its slot is free, else in the overflow. */
void offer_table_add(struct offer_table *t, struct econtact *c, uint64_t key)
{
	while ((t->live + 1) * 8 > t->ring_cap)
		offer_table_ring_grow(t);
	struct offer_slot *s = &t->ring[key & (t->ring_cap - 1)];
	c->offer_key = key;
	c->offer_listed = true;
	c->offer_in_ring = s->c == NULL;
	if (c->offer_in_ring) {
		s->key = key;
		s->c = c;
	} else {
		offer_table_overflow_add(t, c, key);
	}
	t->live++;
}

/* Finds the contact whose offer id is id: ring slot first, then the overflow. */
struct econtact *offer_table_get(const struct offer_table *t, uint64_t key, const char *id)
{
	if (t->ring_cap == 0)
		return NULL;
	const struct offer_slot *s = &t->ring[key & (t->ring_cap - 1)];
	if (s->c != NULL && s->key == key && strcmp(s->c->offer_id, id) == 0)
		return s->c;
	return offer_table_overflow_get(t, key, id);
}

/* Lets a completion's miss on c's ring slot overlap its other misses. */
void offer_table_prefetch(const struct offer_table *t, const struct econtact *c)
{
	if (c->offer_listed && c->offer_in_ring)
		__builtin_prefetch(&t->ring[c->offer_key & (t->ring_cap - 1)], 1);
}

/* Unlists c wherever it is; a contact never listed is left alone. */
void offer_table_remove(struct offer_table *t, struct econtact *c)
{
	if (!c->offer_listed)
		return;
	if (c->offer_in_ring) {
		struct offer_slot *s = &t->ring[c->offer_key & (t->ring_cap - 1)];
		s->c = NULL;
		s->key = 0;
	} else {
		offer_table_overflow_remove(t, c);
	}
	t->live--;
	c->offer_listed = false;
}
