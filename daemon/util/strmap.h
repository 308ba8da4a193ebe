/* A string-keyed hash map (open addressing, linear probing). Keys are not
 * copied: the caller keeps each key alive while it is in the map, which suits
 * maps keyed by a field of the value they point to.
 *
 * Growing (or clearing tombstones) is incremental: a new slot array takes
 * the inserts while each later insert moves a few slots of the old one
 * across, so no single call pays for rehashing the whole map (which took
 * milliseconds at 100 000+ keys). Lookups and deletes look in both arrays
 * while the move lasts. Deleting during iteration is safe; inserting is not. */
#ifndef SB_STRMAP_H
#define SB_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap_slot {
	const char *key; /* NULL: empty; STRMAP_TOMB: deleted (or moved) */
	void *value;
	uint64_t hash; /* probes compare it before the strings; growth reuses it */
};

/* Owner: whoever embeds it; the map owns only its slot arrays. */
struct strmap {
	struct strmap_slot *slots; /* the array inserts go to */
	size_t cap, used;          /* used: its non-empty slots, tombstones included */
	size_t live;               /* keys in the map, in either array */
	struct strmap_slot *old;   /* the array being moved out, or NULL */
	size_t old_cap, moved;     /* old[0, moved) has been moved */
};

void strmap_init(struct strmap *m);
void strmap_free(struct strmap *m);
void *strmap_get(const struct strmap *m, const char *key);
/* Inserts or replaces; returns the previous value or NULL. */
void *strmap_put(struct strmap *m, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *strmap_del(struct strmap *m, const char *key);
size_t strmap_count(const struct strmap *m);
/* Asks for the cache line where key's probe starts, ahead of a get, put or
 * del of it that would otherwise wait for that miss when it comes. */
void strmap_prefetch(const struct strmap *m, const char *key);
/* Iteration: for (size_t i = 0; strmap_next(m, &i, &k, &v);) */
int strmap_next(const struct strmap *m, size_t *iter, const char **key, void **value);

#endif
