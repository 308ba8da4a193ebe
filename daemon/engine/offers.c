/* The offers table: live and accepted offers by offer id.
 *
 * Every offer is added and, when its contact finishes, removed: two
 * operations per decision, while looking an offer up by id is rare (the
 * agent's own held list answers accept and reject; this table only tells
 * "another agent's" from "no such offer", and catches duplicates on
 * restore). So the table is built for adding and removing:
 *
 * - The key of one of our ids is its number ("o-<prefix>-<n>"), used as the
 *   slot index itself: consecutive offers land in consecutive slots, so an
 *   insert writes the line the previous one wrote. Other ids (restored from
 *   another prefix) are keyed by a string hash; the id itself is compared on
 *   lookup, so keys only have to agree, not be unique.
 * - Slots hold the key and the contact (16 bytes): probing and moving never
 *   read a contact, and removal compares pointers.
 * - Linear probing with backward-shift deletion: no tombstones, so the table
 *   only ever rebuilds to grow (its peak of live offers), never to clean. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"
#include "xalloc.h"

/* FNV-1a, for ids that are not ours. */
static uint64_t offers_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

uint64_t offers_key(const struct engine *e, const char *id)
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
	return offers_hash(id);
}

void offers_free(struct offers *t)
{
	free(t->slots);
	memset(t, 0, sizeof *t);
}

/* A key's home slot: Fibonacci hashing spreads consecutive numbers, which
 * used as indexes themselves pile up behind surviving old offers. */
static size_t offers_home(uint64_t key, size_t mask)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & mask;
}

/* Places an entry into a table known to have room. */
static void offers_place(struct offer_slot *slots, size_t mask, uint64_t key, struct econtact *c)
{
	size_t i = offers_home(key, mask);
	while (slots[i].c != NULL)
		i = (i + 1) & mask;
	slots[i].key = key;
	slots[i].c = c;
}

static void offers_grow(struct offers *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	struct offer_slot *slots = xcalloc(cap, sizeof *slots);

	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].c != NULL)
			offers_place(slots, cap - 1, t->slots[i].key, t->slots[i].c);
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
}

void offers_add(struct offers *t, struct econtact *c, uint64_t key)
{
	/* At most half full: probe runs stay short even where keys are hashes. */
	if ((t->live + 1) * 2 > t->cap)
		offers_grow(t);
	offers_place(t->slots, t->cap - 1, key, c);
	t->live++;
	c->offer_key = key;
	c->offer_listed = true;
}

struct econtact *offers_get(const struct offers *t, uint64_t key, const char *id)
{
	if (t->cap == 0)
		return NULL;
	size_t mask = t->cap - 1;
	for (size_t i = offers_home(key, mask); t->slots[i].c != NULL; i = (i + 1) & mask)
		if (t->slots[i].key == key && strcmp(t->slots[i].c->offer_id, id) == 0)
			return t->slots[i].c;
	return NULL;
}

void offers_prefetch(const struct offers *t, const struct econtact *c)
{
	if (c->offer_listed)
		__builtin_prefetch(&t->slots[offers_home(c->offer_key, t->cap - 1)], 1);
}

void offers_remove(struct offers *t, struct econtact *c)
{
	if (!c->offer_listed)
		return;
	size_t mask = t->cap - 1;
	size_t i = offers_home(c->offer_key, mask);
	while (t->slots[i].c != c)
		i = (i + 1) & mask;
	/* Backward shift: pull later entries of the run into the hole unless
	 * their home slot lies cyclically in (hole, their slot]. */
	for (size_t j = (i + 1) & mask; t->slots[j].c != NULL; j = (j + 1) & mask) {
		size_t home = offers_home(t->slots[j].key, mask);
		bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (stays)
			continue;
		t->slots[i] = t->slots[j];
		i = j;
	}
	t->slots[i].c = NULL;
	t->slots[i].key = 0;
	t->live--;
	c->offer_listed = false;
}
