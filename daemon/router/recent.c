/* Contacts that finished a moment ago. Two uses: a retried CompleteContact
 * or CancelContact is answered as done instead of NOT_FOUND (a client
 * retries when its first answer was lost, or when Redis did not answer in
 * time); and if Redis loses its last writes, what these contacts became is
 * written back (reseed.c). Bounded: the last RECENT_MAX contacts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/record.h"
#include "router/internal.h"
#include "util/strmap.h"
#include "util/xalloc.h"

/* A minute of finishes at 12 000 contacts a second is more; a loss is
 * noticed within the lease (seconds), and older finishes are on disk in
 * any Redis that fsyncs once a second. */
#define RECENT_MAX 65536

struct recent_entry {
	char id[96];
	char by[72];
	enum recent_kind kind;
	bool used;
	struct record_finished *f; /* owned */
};

struct recent {
	struct recent_entry *ring; /* oldest overwritten first */
	size_t next;
	struct strmap ids; /* id -> its ring entry */
};

struct recent *recent_new(void)
{
	struct recent *rc = xcalloc(1, sizeof *rc);

	rc->ring = xcalloc(RECENT_MAX, sizeof *rc->ring);
	strmap_init(&rc->ids);
	return rc;
}

void recent_free(struct recent *rc)
{
	if (rc == NULL)
		return;
	for (size_t i = 0; i < RECENT_MAX; i++)
		record_finished_free(rc->ring[i].f);
	free(rc->ring);
	strmap_free(&rc->ids);
	free(rc);
}

void recent_add(struct recent *rc, const char *contact_id, const char *by, enum recent_kind kind,
		struct record_finished *f)
{
	struct recent_entry *e = &rc->ring[rc->next];

	rc->next = (rc->next + 1) % RECENT_MAX;
	if (e->used && strmap_get(&rc->ids, e->id) == e)
		strmap_del(&rc->ids, e->id);
	record_finished_free(e->f);
	snprintf(e->id, sizeof e->id, "%s", contact_id);
	snprintf(e->by, sizeof e->by, "%s", by);
	e->kind = kind;
	e->used = true;
	e->f = f;
	strmap_put(&rc->ids, e->id, e);
}

bool recent_done(const struct recent *rc, const char *contact_id, const char *by,
		 enum recent_kind kind)
{
	const struct recent_entry *e = strmap_get(&rc->ids, contact_id);
	return e != NULL && e->kind == kind && strcmp(e->by, by) == 0;
}

const struct record_finished *recent_finished(const struct recent *rc, const char *contact_id)
{
	const struct recent_entry *e = strmap_get(&rc->ids, contact_id);
	return e != NULL ? e->f : NULL;
}

void recent_each_since(const struct recent *rc, int64_t since_ms,
		       void (*fn)(void *arg, const struct record_finished *f), void *arg)
{
	for (size_t i = 0; i < RECENT_MAX; i++) {
		const struct recent_entry *e = &rc->ring[i];
		if (e->used && e->f != NULL && e->f->finished_ms >= since_ms &&
		    strmap_get(&rc->ids, e->id) == e)
			fn(arg, e->f);
	}
}
