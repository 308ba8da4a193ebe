#include "engine/ostree.h"

static uint32_t ostree_size(const struct ostnode *n)
{
	return n ? n->size : 0;
}

static void ostree_fix(struct ostnode *n)
{
	n->size = 1 + ostree_size(n->l) + ostree_size(n->r);
}

void ostree_init(struct ostree *t, ostree_cmp_fn cmp)
{
	t->root = NULL;
	t->cmp = cmp;
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
static void ostree_split(const struct ostree *t, struct ostnode *root, const struct ostnode *n,
			 struct ostnode **l, struct ostnode **r)
{
	if (root == NULL) {
		*l = *r = NULL;
		return;
	}
	if (t->cmp(root, n) < 0) {
		ostree_split(t, root->r, n, &root->r, r);
		*l = root;
	} else {
		ostree_split(t, root->l, n, l, &root->l);
		*r = root;
	}
	ostree_fix(root);
}

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

static struct ostnode *ostree_insert_at(struct ostree *t, struct ostnode *root, struct ostnode *n)
{
	if (root == NULL)
		return n;
	if (n->prio > root->prio) {
		ostree_split(t, root, n, &n->l, &n->r);
		ostree_fix(n);
		return n;
	}
	if (t->cmp(n, root) < 0)
		root->l = ostree_insert_at(t, root->l, n);
	else
		root->r = ostree_insert_at(t, root->r, n);
	ostree_fix(root);
	return root;
}

void ostree_insert(struct ostree *t, struct ostnode *n)
{
	n->l = n->r = NULL;
	n->size = 1;
	n->prio = ostree_rand(t);
	t->root = ostree_insert_at(t, t->root, n);
}

static struct ostnode *ostree_remove_at(const struct ostree *t, struct ostnode *root,
					const struct ostnode *n)
{
	if (root == n)
		return ostree_merge(root->l, root->r);
	if (t->cmp(n, root) < 0)
		root->l = ostree_remove_at(t, root->l, n);
	else
		root->r = ostree_remove_at(t, root->r, n);
	ostree_fix(root);
	return root;
}

void ostree_remove(struct ostree *t, struct ostnode *n)
{
	t->root = ostree_remove_at(t, t->root, n);
	n->l = n->r = NULL;
}

uint32_t ostree_rank(const struct ostree *t, const struct ostnode *n)
{
	uint32_t rank = 0;

	for (const struct ostnode *cur = t->root; cur != NULL && cur != n;) {
		if (t->cmp(n, cur) < 0) {
			cur = cur->l;
		} else {
			rank += 1 + ostree_size(cur->l);
			cur = cur->r;
		}
	}
	/* n itself: everything in its left subtree comes first. */
	return rank + ostree_size(n->l);
}

uint32_t ostree_count(const struct ostree *t)
{
	return ostree_size(t->root);
}
