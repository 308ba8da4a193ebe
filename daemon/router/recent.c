/* Contacts that finished a moment ago. Two uses: a retried CompleteContact
 * or CancelContact is answered as done instead of NOT_FOUND (a client
 * retries when its first answer was lost, or when Redis did not answer in
 * time); and if Redis loses its last writes, what these contacts became is
 * written back (reseed.c).
 *
 * They are kept in one ring of bytes, oldest overwritten first, for at most
 * RECENT_KEEP_MS: every contact that finishes writes one, so this must not
 * cost an allocation each (kept tens of thousands of contacts apart, those
 * would churn the allocator). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record/record.h"
#include "router/internal.h"
#include "util/strmap.h"
#include "util/xalloc.h"

/* What Redis can lose of what it acknowledged is its last second or two
 * (appendfsync everysec; a replica's lag). About 300 bytes a contact: 8 MiB
 * is more than two seconds at 12 000 contacts a second. A retry comes
 * within seconds, or not at all. */
#define RECENT_BYTES (8u << 20)
#define RECENT_KEEP_MS 30000

enum { RECENT_WRAP = 255 }; /* a header that sends the reader back to 0 */

/* An entry's header in the ring; its record follows. Sizes are multiples
 * of 8, so a header always fits before the end. */
struct recent_head {
	uint32_t size; /* the whole entry */
	uint32_t kind; /* enum recent_kind, or RECENT_WRAP */
};

struct recent {
	uint8_t *buf;      /* RECENT_BYTES */
	size_t head, tail; /* next write, oldest entry */
	size_t n;          /* entries */
	struct strmap ids; /* a record's id -> its header */
};

static struct record_finished *recent_record(struct recent_head *h)
{
	return (struct record_finished *)(h + 1);
}

struct recent *recent_new(void)
{
	struct recent *rc = xcalloc(1, sizeof *rc);

	rc->buf = xmalloc(RECENT_BYTES);
	strmap_init(&rc->ids);
	return rc;
}

void recent_free(struct recent *rc)
{
	if (rc == NULL)
		return;
	strmap_free(&rc->ids);
	free(rc->buf);
	free(rc);
}

/* Moves the tail past a wrap: to the start when the oldest entry is there. */
static void recent_tail_wrap(struct recent *rc)
{
	if (rc->n > 0 && (rc->tail == RECENT_BYTES ||
			  ((struct recent_head *)(rc->buf + rc->tail))->kind == RECENT_WRAP))
		rc->tail = 0;
}

static struct recent_head *recent_oldest(const struct recent *rc)
{
	return (struct recent_head *)(rc->buf + rc->tail);
}

static void recent_drop_oldest(struct recent *rc)
{
	struct recent_head *h = recent_oldest(rc);
	struct record_finished *f = recent_record(h);

	if (strmap_get(&rc->ids, f->id) == h)
		strmap_del(&rc->ids, f->id);
	rc->tail += h->size;
	if (--rc->n == 0)
		rc->head = rc->tail = 0;
	recent_tail_wrap(rc);
}

/* Room for size bytes at the head, dropping the oldest entries as needed;
 * NULL only if size is beyond the ring. */
static struct recent_head *recent_room(struct recent *rc, size_t size)
{
	if (size > RECENT_BYTES / 4)
		return NULL;
	while (rc->n > 0) {
		if (rc->tail < rc->head) {
			/* in use: [tail, head); free: the rest of the end, the start */
			if (RECENT_BYTES - rc->head >= size)
				break;
			if (rc->tail >= size) {
				if (rc->head < RECENT_BYTES)
					((struct recent_head *)(rc->buf + rc->head))->kind = RECENT_WRAP;
				rc->head = 0;
				break;
			}
		} else if (rc->tail - rc->head >= size) {
			/* in use: [tail, end) and [0, head); free: [head, tail) */
			break;
		}
		recent_drop_oldest(rc);
	}
	return (struct recent_head *)(rc->buf + rc->head);
}

void recent_add(struct recent *rc, enum recent_kind kind, const struct engine_contact_view *c,
		const char *text, int64_t ttl_s, int64_t now)
{
	static const char *const states[] = {
		[RECENT_COMPLETED] = "completed",
		[RECENT_CANCELLED] = "cancelled",
		[RECENT_EXPIRED] = "expired",
	};
	size_t size = (sizeof(struct recent_head) +
		       record_finished_size(c, states[kind], text) + 7) & ~(size_t)7;

	while (rc->n > 0 && recent_record(recent_oldest(rc))->finished_ms < now - RECENT_KEEP_MS)
		recent_drop_oldest(rc);
	struct recent_head *h = recent_room(rc, size);
	if (h == NULL)
		return; /* a contact of more than 2 MiB: not kept */
	h->size = (uint32_t)size;
	h->kind = (uint32_t)kind;
	struct record_finished *f =
		record_finished_init(recent_record(h), c, states[kind], text, ttl_s, now);
	rc->head += size;
	rc->n++;
	strmap_put(&rc->ids, f->id, h);
}

bool recent_done(const struct recent *rc, const char *contact_id, const char *by,
		 enum recent_kind kind)
{
	struct recent_head *h = strmap_get(&rc->ids, contact_id);

	if (h == NULL || h->kind != (uint32_t)kind)
		return false;
	/* who finished it: the agent that completed it, the gateway that
	 * cancelled it */
	const struct record_finished *f = recent_record(h);
	const char *who = kind == RECENT_COMPLETED ? f->agent
			  : kind == RECENT_CANCELLED ? f->gateway
						     : "";
	return strcmp(who, by) == 0;
}

const struct record_finished *recent_finished(const struct recent *rc, const char *contact_id)
{
	struct recent_head *h = strmap_get(&rc->ids, contact_id);
	return h != NULL ? recent_record(h) : NULL;
}

void recent_each_since(const struct recent *rc, int64_t since_ms,
		       void (*fn)(void *arg, const struct record_finished *f), void *arg)
{
	size_t at = rc->tail;

	for (size_t i = 0; i < rc->n; i++) {
		struct recent_head *h = (struct recent_head *)(rc->buf + at);
		if (at == RECENT_BYTES || h->kind == RECENT_WRAP) {
			at = 0;
			h = (struct recent_head *)rc->buf;
		}
		const struct record_finished *f = recent_record(h);
		if (f->finished_ms >= since_ms && strmap_get(&rc->ids, f->id) == h)
			fn(arg, f);
		at += h->size;
	}
}
