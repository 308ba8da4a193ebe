/* A routing class's waiting contacts, by key: a heap that keeps its
 * in-order arrivals in a plain sorted run.
 *
 * Within one class most contacts arrive in key order: they share a queue
 * and so an SLA, and the key is (deadline, submit order). Those append to
 * the run, a ring in key order; taking the earliest is then O(1) at the
 * ring's head instead of a heap removal (a cache miss per level, the
 * largest cost of a routing decision at 100 000 waiting). Contacts that
 * arrive out of order (another tier's SLA factor, a reject putting one
 * back, an escalation moving an old one in) go to the heap. The earliest
 * is the earlier of the two heads.
 *
 * An element stores its heap index (idx_off) and its run position
 * (pos_off); removing from the middle of the run leaves a hole that the
 * head skips and that a compaction reclaims when holes are half the ring. */
#ifndef SB_ENGINE_CQUEUE_H
#define SB_ENGINE_CQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/heap.h"

#define CQ_NONE UINT64_MAX

/* Owner: whoever embeds it; it owns its ring and heap arrays. */
struct cqueue {
	struct heap_ent *run; /* ring, in key order; item NULL: a hole */
	uint64_t head, tail;  /* live positions are [head, tail); slot = pos & (cap - 1) */
	size_t cap;
	size_t n_run;             /* elements in the run */
	int64_t last_k1, last_k2; /* the last appended key: appends must not be less */
	struct heap rest;
	heap_key_fn key;
	size_t pos_off; /* offsetof(element, its uint64_t run position) */
};

/* Keys must be unique (the engine's end in a submit order number). */
void cq_init(struct cqueue *q, heap_key_fn key, size_t idx_off, size_t pos_off);
void cq_free(struct cqueue *q);
size_t cq_count(const struct cqueue *q);
void cq_push(struct cqueue *q, void *item);
bool cq_contains(const struct cqueue *q, const void *item);
/* Removes item if it is in the queue. */
void cq_remove(struct cqueue *q, void *item);
/* The earliest entry, key included, or NULL. */
const struct heap_ent *cq_top_ent(const struct cqueue *q);
void *cq_top(const struct cqueue *q);
/* The earliest item for which ok(item, arg) holds, or NULL. */
void *cq_first(const struct cqueue *q, bool (*ok)(const void *item, const void *arg),
	       const void *arg);
/* Iteration in no particular order: for (size_t i = 0; (x = cq_next(q, &i));) */
void *cq_next(const struct cqueue *q, size_t *iter);

#endif
