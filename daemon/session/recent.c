/* Recently finished contacts: see recent.h. */
#include "session/recent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strmap.h"
#include "util/xalloc.h"

#define RECENT_MAX 8192

struct recent_entry {
	char id[96];
	char by[72];
	enum recent_kind kind;
	bool used;
};

struct recent {
	struct recent_entry ring[RECENT_MAX]; /* oldest overwritten first */
	size_t next;
	struct strmap ids; /* id -> its ring entry */
};

struct recent *recent_new(void)
{
	struct recent *r = xcalloc(1, sizeof *r);
	strmap_init(&r->ids);
	return r;
}

void recent_free(struct recent *r)
{
	if (r == NULL)
		return;
	strmap_free(&r->ids);
	free(r);
}

void recent_add(struct recent *r, const char *contact_id, const char *by, enum recent_kind kind)
{
	struct recent_entry *e = &r->ring[r->next];

	r->next = (r->next + 1) % RECENT_MAX;
	if (e->used && strmap_get(&r->ids, e->id) == e)
		strmap_del(&r->ids, e->id);
	snprintf(e->id, sizeof e->id, "%s", contact_id);
	snprintf(e->by, sizeof e->by, "%s", by);
	e->kind = kind;
	e->used = true;
	strmap_put(&r->ids, e->id, e);
}

bool recent_done(const struct recent *r, const char *contact_id, const char *by,
		 enum recent_kind kind)
{
	const struct recent_entry *e = strmap_get(&r->ids, contact_id);
	return e != NULL && e->kind == kind && strcmp(e->by, by) == 0;
}
