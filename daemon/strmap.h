/* A string-keyed hash map (open addressing, linear probing). Keys are not
 * copied: the caller keeps each key alive while it is in the map, which suits
 * maps keyed by a field of the value they point to. */
#ifndef SB_STRMAP_H
#define SB_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap_slot {
	const char *key; /* NULL: empty; STRMAP_TOMB: deleted */
	void *value;
	uint64_t hash; /* probes compare it before the strings; growth reuses it */
};

/* Owner: whoever embeds it; the map owns only its slot array. */
struct strmap {
	struct strmap_slot *slots;
	size_t cap, used, live;
};

void strmap_init(struct strmap *m);
void strmap_free(struct strmap *m);
void *strmap_get(const struct strmap *m, const char *key);
/* Inserts or replaces; returns the previous value or NULL. */
void *strmap_put(struct strmap *m, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *strmap_del(struct strmap *m, const char *key);
size_t strmap_count(const struct strmap *m);
/* Iteration: for (size_t i = 0; strmap_next(m, &i, &k, &v);) */
int strmap_next(const struct strmap *m, size_t *iter, const char **key, void **value);

#endif
