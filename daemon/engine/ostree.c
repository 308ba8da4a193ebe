#include "engine/ostree.h"

/* A subtree's node count (0 for none). */
static uint32_t ostree_size(const struct ostnode *n)
{
	return n ? n->size : 0;
}

/* Recomputes n's sizes from its children. */
static void ostree_fix(struct ostnode *n)
{
	n->lsize = ostree_size(n->l);
	n->size = 1 + n->lsize + ostree_size(n->r);
}

/* Node order: (k1, k2). */
static int ostree_less(const struct ostnode *a, const struct ostnode *b)
{
	return a->k1 != b->k1 ? a->k1 < b->k1 : a->k2 < b->k2;
}

/* An empty tree with a fixed seed: runs are reproducible. */
void ostree_init(struct ostree *t)
{
	t->root = NULL;
	t->seed = 2463534242u;
}

/* xorshift: treap priorities need only be unpredictable to the key order. */
static uint32_t ostree_rand(struct ostree *t)
{
	uint32_t x = t->seed;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return t->seed = x;
}

/* Splits root into keys < n (*l) and keys > n (*r); n is not in the tree. */
static void ostree_split(struct ostnode *root, const struct ostnode *n, struct ostnode **l,
			 struct ostnode **r)
{
	if (root == NULL) {
		*l = *r = NULL;
		return;
	}
	if (ostree_less(root, n)) {
		ostree_split(root->r, n, &root->r, r);
		*l = root;
	} else {
		ostree_split(root->l, n, l, &root->l);
		*r = root;
	}
	ostree_fix(root);
}

/* Joins two treaps, every key of l before every key of r. */
static struct ostnode *ostree_merge(struct ostnode *l, struct ostnode *r)
{
	if (l == NULL)
		return r;
	if (r == NULL)
		return l;
	if (l->prio > r->prio) {
		l->r = ostree_merge(l->r, r);
		ostree_fix(l);
		return l;
	}
	r->l = ostree_merge(l, r->l);
	ostree_fix(r);
	return r;
}

/* Sizes on the way down are counted, not recomputed from the children:
 * the path is the only part of the tree touched. *rank gathers what is
 * ordered before n. */
static struct ostnode *ostree_insert_at(struct ostnode *root, struct ostnode *n, uint32_t *rank)
{
	if (root == NULL)
		return n;
	if (n->prio > root->prio) {
		ostree_split(root, n, &n->l, &n->r);
		ostree_fix(n);
		*rank += n->lsize;
		return n;
	}
	root->size++;
	if (ostree_less(n, root)) {
		root->lsize++;
		root->l = ostree_insert_at(root->l, n, rank);
	} else {
		*rank += root->lsize + 1;
		root->r = ostree_insert_at(root->r, n, rank);
	}
	return root;
}

/* Inserts n with a fresh priority; returns how many come before it. */
uint32_t ostree_insert(struct ostree *t, struct ostnode *n)
{
	uint32_t rank = 0;

	n->l = n->r = NULL;
	n->size = 1;
	n->lsize = 0;
	n->prio = ostree_rand(t);
	t->root = ostree_insert_at(t->root, n, &rank);
	return rank;
}

/* Removes n from the subtree at root, counting sizes down on the way. */
static struct ostnode *ostree_remove_at(struct ostnode *root, const struct ostnode *n)
{
	if (root == n)
		return ostree_merge(root->l, root->r);
	root->size--;
	if (ostree_less(n, root)) {
		root->lsize--;
		root->l = ostree_remove_at(root->l, n);
	} else {
		root->r = ostree_remove_at(root->r, n);
	}
	return root;
}

/* Takes n out of the tree. */
void ostree_remove(struct ostree *t, struct ostnode *n)
{
	t->root = ostree_remove_at(t->root, n);
	n->l = n->r = NULL;
}

/* How many nodes come before n, from one walk down from the root. */
uint32_t ostree_rank(const struct ostree *t, const struct ostnode *n)
{
	uint32_t rank = 0;

	for (const struct ostnode *cur = t->root; cur != NULL && cur != n;) {
		if (ostree_less(n, cur)) {
			cur = cur->l;
		} else {
			rank += 1 + cur->lsize;
			cur = cur->r;
		}
	}
	/* n itself: everything in its left subtree comes first. */
	return rank + n->lsize;
}

/* Nodes in the tree. */
uint32_t ostree_count(const struct ostree *t)
{
	return ostree_size(t->root);
}
