#include "engine/cqueue.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* Where item keeps its run position. */
static uint64_t *cq_pos(const struct cqueue *q, const void *item)
{
	return (uint64_t *)((char *)(uintptr_t)item + q->pos_off);
}

/* Key order: (k1, k2). */
static bool cq_less(int64_t a1, int64_t a2, int64_t b1, int64_t b2)
{
	return a1 != b1 ? a1 < b1 : a2 < b2;
}

/* The ring slot of a run position. */
static struct heap_ent *cq_slot(const struct cqueue *q, uint64_t pos)
{
	return &q->run[pos & (q->cap - 1)];
}

/* An empty queue of elements keyed by key. */
void cq_init(struct cqueue *q, heap_key_fn key, size_t idx_off, size_t pos_off)
{
	memset(q, 0, sizeof *q);
	q->key = key;
	q->pos_off = pos_off;
	heap_init_keyed(&q->rest, key, NULL, idx_off);
}

/* Frees the ring and the heap; the elements are the caller's. */
void cq_free(struct cqueue *q)
{
	free(q->run);
	heap_free(&q->rest);
	q->run = NULL;
	q->cap = q->n_run = 0;
	q->head = q->tail = 0;
}

/* Elements in the run and in the heap. */
size_t cq_count(const struct cqueue *q)
{
	return q->n_run + q->rest.n;
}

/* The ring is full: close the holes if they are half of it (rewriting the
 * positions of the elements that move), else double it. Doubling keeps
 * every position's slot distinct (pos mod 2n is pos mod n or that plus n),
 * so no element is touched. */
static void cq_make_room(struct cqueue *q)
{
	if (q->cap > 0 && q->n_run * 2 <= q->cap) {
		uint64_t to = q->head;
		for (uint64_t from = q->head; from < q->tail; from++) {
			struct heap_ent ent = *cq_slot(q, from);
			if (ent.item == NULL)
				continue;
			*cq_slot(q, to) = ent;
			*cq_pos(q, ent.item) = to;
			to++;
		}
		q->tail = to;
		return;
	}
	size_t cap = q->cap ? q->cap * 2 : 16;
	struct heap_ent *run = xcalloc(cap, sizeof *run);
	for (uint64_t p = q->head; p < q->tail; p++)
		run[p & (cap - 1)] = *cq_slot(q, p);
	free(q->run);
	q->run = run;
	q->cap = cap;
}

/* Appends item to the run when it is in order, else pushes it on the heap. */
void cq_push(struct cqueue *q, void *item)
{
	int64_t k1, k2;

	q->key(item, &k1, &k2);
	if (q->n_run > 0 && cq_less(k1, k2, q->last_k1, q->last_k2)) {
		*cq_pos(q, item) = CQ_NONE;
		heap_push(&q->rest, item);
		return;
	}
	if (q->tail - q->head == q->cap)
		cq_make_room(q);
	uint64_t pos = q->tail++;
	*cq_slot(q, pos) = (struct heap_ent){ k1, k2, item };
	*cq_pos(q, item) = pos;
	q->n_run++;
	q->last_k1 = k1;
	q->last_k2 = k2;
}

/* Whether item is in the run or the heap. */
bool cq_contains(const struct cqueue *q, const void *item)
{
	uint64_t pos = *cq_pos(q, item);
	if (pos != CQ_NONE)
		return pos >= q->head && pos < q->tail && cq_slot(q, pos)->item == item;
	return heap_contains(&q->rest, item);
}

/* Takes item out (a hole in the run, or a heap removal). */
void cq_remove(struct cqueue *q, void *item)
{
	uint64_t pos = *cq_pos(q, item);

	if (pos == CQ_NONE) {
		heap_remove(&q->rest, item);
		return;
	}
	if (!cq_contains(q, item))
		return;
	cq_slot(q, pos)->item = NULL;
	*cq_pos(q, item) = CQ_NONE;
	q->n_run--;
	while (q->head < q->tail && cq_slot(q, q->head)->item == NULL)
		q->head++;
	if (q->n_run == 0)
		q->head = q->tail = 0; /* starts over: any key may append */
}

/* The earlier of the run's head and the heap's top. */
const struct heap_ent *cq_top_ent(const struct cqueue *q)
{
	const struct heap_ent *h = heap_top_ent(&q->rest);
	if (q->n_run == 0)
		return h;
	const struct heap_ent *r = cq_slot(q, q->head);
	return h != NULL && cq_less(h->k1, h->k2, r->k1, r->k2) ? h : r;
}

/* The earliest item, or NULL. */
void *cq_top(const struct cqueue *q)
{
	const struct heap_ent *t = cq_top_ent(q);
	return t ? t->item : NULL;
}

/* The earliest item ok accepts: the run's first and the heap's, compared. */
void *cq_first(const struct cqueue *q, bool (*ok)(const void *item, const void *arg),
	       const void *arg)
{
	const struct heap_ent *r = NULL;
	for (uint64_t p = q->head; p < q->tail; p++) {
		const struct heap_ent *s = cq_slot(q, p);
		if (s->item != NULL && ok(s->item, arg)) {
			r = s;
			break;
		}
	}
	void *h = heap_first(&q->rest, ok, arg);
	if (h == NULL)
		return r ? r->item : NULL;
	if (r == NULL)
		return h;
	int64_t k1, k2;
	q->key(h, &k1, &k2);
	return cq_less(k1, k2, r->k1, r->k2) ? h : r->item;
}

/* The next item of an iteration: the heap's array, then the run. */
void *cq_next(const struct cqueue *q, size_t *iter)
{
	while (*iter < q->rest.n)
		return heap_at(&q->rest, (*iter)++);
	for (;;) {
		uint64_t p = q->head + (*iter - q->rest.n);
		if (p >= q->tail)
			return NULL;
		(*iter)++;
		if (cq_slot(q, p)->item != NULL)
			return cq_slot(q, p)->item;
	}
}
