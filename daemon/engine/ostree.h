/* An order-statistic treap: a balanced search tree whose nodes know their
 * subtree sizes, so a contact's place in its queue's deadline order is
 * found in O(log n) instead of by counting. Intrusive, like heap.h. */
#ifndef SB_ENGINE_OSTREE_H
#define SB_ENGINE_OSTREE_H

#include <stddef.h>
#include <stdint.h>

struct ostnode {
	struct ostnode *l, *r;
	uint32_t prio;
	uint32_t size;
};

typedef int (*ostree_cmp_fn)(const struct ostnode *a, const struct ostnode *b);

/* Owner: whoever embeds it; the tree owns no memory. */
struct ostree {
	struct ostnode *root;
	ostree_cmp_fn cmp;
	uint32_t seed;
};

void ostree_init(struct ostree *t, ostree_cmp_fn cmp);
void ostree_insert(struct ostree *t, struct ostnode *n);
void ostree_remove(struct ostree *t, struct ostnode *n);
/* Number of nodes ordered before n (n must be in the tree). */
uint32_t ostree_rank(const struct ostree *t, const struct ostnode *n);
uint32_t ostree_count(const struct ostree *t);

#endif
