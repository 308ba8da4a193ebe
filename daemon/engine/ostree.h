/* An order-statistic treap: a balanced search tree whose nodes know their
 * subtree sizes, so a contact's place in its queue's deadline order is
 * found in O(log n) instead of by counting. Intrusive, like heap.h.
 *
 * Each node carries its key and the size of its left subtree, so a walk
 * from the root reads only the nodes on its path: at 100 000+ contacts
 * every node is a cache miss, and reading keys from the element or sizes
 * from the sibling subtree tripled them. */
#ifndef SB_ENGINE_OSTREE_H
#define SB_ENGINE_OSTREE_H

#include <stddef.h>
#include <stdint.h>

struct ostnode {
	struct ostnode *l, *r;
	int64_t k1, k2; /* the order: (k1, k2), set before insertion */
	uint32_t prio;
	uint32_t size;  /* nodes in this subtree */
	uint32_t lsize; /* nodes in the left subtree */
};

/* Owner: whoever embeds it; the tree owns no memory. */
struct ostree {
	struct ostnode *root;
	uint32_t seed;
};

void ostree_init(struct ostree *t);
/* Inserts n (keys set, not in the tree); returns its rank. */
uint32_t ostree_insert(struct ostree *t, struct ostnode *n);
void ostree_remove(struct ostree *t, struct ostnode *n);
/* Number of nodes ordered before n (n must be in the tree). */
uint32_t ostree_rank(const struct ostree *t, const struct ostnode *n);
uint32_t ostree_count(const struct ostree *t);

#endif
