/* load_ready: the connections sb-load must read without asking the kernel.
 *
 * epoll (like poll) reports sockets with bytes in the kernel; it cannot see
 * frames sbclient has already pulled into its own buffer. A connection with
 * such frames, or one the kernel just reported, goes on this list, and one
 * pass of the loop services exactly the connections on it: the loop's cost
 * follows what is ready, not how many connections exist.
 *
 * A FIFO of ids in [0, n), each queued at most once (a second push of a
 * queued id is a no-op), so the ring never holds more than n.
 *
 * Owner: embedded by value in its user; load_ready_init() allocates the two
 * arrays, load_ready_free() releases them. */
#ifndef SB_BENCH_LOAD_READY_H
#define SB_BENCH_LOAD_READY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct load_ready {
	uint32_t *ring; /* queued ids, oldest at ring[head] */
	size_t cap, head, n;
	bool *queued;   /* queued[id]: id is in the ring */
};

/* An empty list for ids 0 .. n-1. */
void load_ready_init(struct load_ready *r, size_t n);
void load_ready_free(struct load_ready *r);
/* Queues id at the back; false (and nothing changes) when it is queued
 * already or out of range. */
bool load_ready_push(struct load_ready *r, uint32_t id);
/* Takes the oldest id into *id; false when the list is empty. */
bool load_ready_pop(struct load_ready *r, uint32_t *id);
size_t load_ready_count(const struct load_ready *r);
bool load_ready_has(const struct load_ready *r, uint32_t id);

#endif
