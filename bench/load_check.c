/* The load generator's journal, and the check of it against Redis (see
 * load_check.h). hiredis' synchronous API, pipelined in batches: this runs
 * once, after the load, when nothing else waits on it. */
#define _GNU_SOURCE
#include "load_check.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "util/strmap.h"
#include "util/xalloc.h"

/* Commands in flight per pipelined batch. */
#define CHECK_BATCH 1000
/* Stream entries per XRANGE. */
#define CHECK_XRANGE_COUNT 10000

/* One acknowledged contact. Strings owned. */
struct journal_entry {
	char *contact_id;
	char *agent;  /* first agent confirmed, or NULL */
	char *second; /* another agent confirmed after it, or NULL */
	bool acked;   /* its ContactAccepted is in the file */
};

struct load_journal {
	FILE *file;
	struct journal_entry **entries; /* in order of acknowledgement */
	size_t n, cap;
	struct strmap by_id; /* contact id -> entry (key: entry->contact_id) */
	size_t doubles;
};

struct load_journal *load_journal_new(FILE *file)
{
	struct load_journal *j = xcalloc(1, sizeof(*j));

	j->file = file;
	strmap_init(&j->by_id);
	return j;
}

void load_journal_free(struct load_journal *j)
{
	if (j == NULL)
		return;
	for (size_t i = 0; i < j->n; i++) {
		free(j->entries[i]->contact_id);
		free(j->entries[i]->agent);
		free(j->entries[i]->second);
		free(j->entries[i]);
	}
	free(j->entries);
	strmap_free(&j->by_id);
	free(j);
}

/* The entry of contact_id, made if new. */
static struct journal_entry *journal_entry(struct load_journal *j, const char *contact_id,
                                           bool *made)
{
	struct journal_entry *e = strmap_get(&j->by_id, contact_id);

	*made = false;
	if (e != NULL)
		return e;
	e = xcalloc(1, sizeof(*e));
	e->contact_id = xstrdup(contact_id);
	if (j->n == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 1024;
		j->entries = xrealloc(j->entries, j->cap * sizeof(*j->entries));
	}
	j->entries[j->n++] = e;
	strmap_put(&j->by_id, e->contact_id, e);
	*made = true;
	return e;
}

/* Wall-clock Unix ms: a journal line's time, comparable with the times a
 * fault-injection script records. */
static long long journal_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void load_journal_ack(struct load_journal *j, const char *contact_id, const char *external_id)
{
	bool made;
	/* The entry may exist already: an agent on another connection can hear
	 * its assignment before the gateway hears the acknowledgement (after a
	 * hang, say). The ack line is written all the same, or sb-check, which
	 * reads only the file, would not count the contact as acknowledged. */
	struct journal_entry *e = journal_entry(j, contact_id, &made);

	if (e->acked)
		return;
	e->acked = true;
	if (j->file != NULL)
		fprintf(j->file, "ack %s %s %lld\n", contact_id, external_id ? external_id : "-",
		        journal_now_ms());
}

bool load_journal_assign(struct load_journal *j, const char *contact_id, const char *agent_id)
{
	bool made;
	/* An assignment can be heard before its contact's acknowledgement
	 * (another connection); it is recorded all the same. */
	struct journal_entry *e = journal_entry(j, contact_id, &made);

	if (e->agent == NULL) {
		e->agent = xstrdup(agent_id);
	} else if (strcmp(e->agent, agent_id) != 0) {
		if (e->second == NULL) {
			e->second = xstrdup(agent_id);
			j->doubles++;
		}
	} else {
		return false; /* the same pair again: a redelivery */
	}
	if (j->file != NULL)
		fprintf(j->file, "assign %s %s %lld\n", contact_id, agent_id, journal_now_ms());
	return e->second != NULL && strcmp(e->second, agent_id) == 0;
}

void load_journal_complete(struct load_journal *j, const char *contact_id, const char *who)
{
	if (j->file != NULL)
		fprintf(j->file, "complete %s %s %lld\n", contact_id, who, journal_now_ms());
}

size_t load_journal_acked(const struct load_journal *j)
{
	return j->n;
}

size_t load_journal_doubles(const struct load_journal *j)
{
	return j->doubles;
}

/* ---- the check ------------------------------------------------------------ */

struct check {
	const struct load_journal *j;
	const struct load_check_opts *o;
	struct load_check_result *res;
	redisContext *rc;
	size_t shown_lost, shown_double, shown_stuck;
};

static void check_say(struct check *c, size_t *shown, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints one offender, up to max_detail of a kind. */
static void check_say(struct check *c, size_t *shown, const char *fmt, ...)
{
	va_list ap;

	if (c->o->detail == NULL || *shown >= c->o->max_detail)
		return;
	(*shown)++;
	va_start(ap, fmt);
	vfprintf(c->o->detail, fmt, ap);
	va_end(ap);
	fputc('\n', c->o->detail);
}

/* Connects to "host:port" or "unix:/path". */
static redisContext *check_connect(const char *addr, char *err, size_t errlen)
{
	struct timeval tv = {5, 0};
	redisContext *rc;

	if (strncmp(addr, "unix:", 5) == 0) {
		rc = redisConnectUnixWithTimeout(addr + 5, tv);
	} else {
		const char *colon = strrchr(addr, ':');
		char host[256];
		size_t hl;

		if (colon == NULL || colon == addr || colon[1] == '\0') {
			snprintf(err, errlen, "bad Redis address '%s' (want host:port or unix:/path)",
			         addr);
			return NULL;
		}
		hl = (size_t)(colon - addr);
		if (hl >= sizeof(host))
			hl = sizeof(host) - 1;
		memcpy(host, addr, hl);
		host[hl] = '\0';
		rc = redisConnectWithTimeout(host, atoi(colon + 1), tv);
	}
	if (rc == NULL || rc->err) {
		snprintf(err, errlen, "cannot connect to Redis at %s: %s", addr,
		         rc ? rc->errstr : "out of memory");
		redisFree(rc);
		return NULL;
	}
	redisSetTimeout(rc, tv);
	return rc;
}

/* The next pipelined reply, or NULL with err. */
static redisReply *check_reply(struct check *c, char *err, size_t errlen)
{
	void *r = NULL;

	if (redisGetReply(c->rc, &r) != REDIS_OK || r == NULL) {
		snprintf(err, errlen, "Redis: %s", c->rc->errstr[0] ? c->rc->errstr : "no reply");
		return NULL;
	}
	if (((redisReply *)r)->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "Redis: %s", ((redisReply *)r)->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

static bool check_state_valid(const char *s)
{
	static const char *const valid[] = {"waiting",   "offered",   "assigned",
	                                    "completed", "cancelled", "expired"};

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		if (strcmp(s, valid[i]) == 0)
			return true;
	return false;
}

/* What the first pass learnt about one contact. */
struct check_row {
	char state[16]; /* "" when the hash is missing */
	char *queue;    /* owned */
	bool has_agent;
	bool complete;  /* payload, channel and queue present */
};

/* A non-empty string reply. */
static bool check_nonempty(const redisReply *r)
{
	return r->type == REDIS_REPLY_STRING && r->len > 0;
}

/* HMGET state queue agent channel payload for entries [from, to). A hash
 * that lacks its payload, channel or queue is not the contact: a write that
 * sets a few fields (a completion, say) recreates an empty hash after Redis
 * lost the contact, and such a hash must count as lost (issue 13, defect 6). */
static int check_fetch(struct check *c, size_t from, size_t to, struct check_row *rows, char *err,
                       size_t errlen)
{
	for (size_t i = from; i < to; i++)
		redisAppendCommand(c->rc, "HMGET sb:{%s}:contact:%s state queue agent channel payload",
		                   c->o->site,
		                   c->j->entries[i]->contact_id);
	for (size_t i = from; i < to; i++) {
		redisReply *r = check_reply(c, err, errlen);
		struct check_row *row = &rows[i - from];

		if (r == NULL)
			return -1;
		memset(row, 0, sizeof(*row));
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 5) {
			if (r->element[0]->type == REDIS_REPLY_STRING)
				snprintf(row->state, sizeof(row->state), "%s", r->element[0]->str);
			if (r->element[1]->type == REDIS_REPLY_STRING)
				row->queue = xstrdup(r->element[1]->str);
			row->has_agent = check_nonempty(r->element[2]);
			row->complete = check_nonempty(r->element[1]) &&
			                check_nonempty(r->element[3]) && check_nonempty(r->element[4]);
		}
		freeReplyObject(r);
	}
	return 0;
}

/* Lost and stuck, one pipelined batch of contacts at a time. */
static int check_contacts(struct check *c, char *err, size_t errlen)
{
	struct check_row *rows = xcalloc(CHECK_BATCH, sizeof(*rows));
	int rc = 0;

	for (size_t from = 0; from < c->j->n && rc == 0; from += CHECK_BATCH) {
		size_t to = from + CHECK_BATCH < c->j->n ? from + CHECK_BATCH : c->j->n;

		if (check_fetch(c, from, to, rows, err, errlen) != 0) {
			rc = -1;
			to = from; /* nothing fetched to free below */
		}
		/* Waiting and offered contacts must be visible: in their queue's
		 * sorted set and in the open set. */
		for (size_t i = from; i < to; i++) {
			struct check_row *row = &rows[i - from];
			const char *id = c->j->entries[i]->contact_id;

			c->res->checked++;
			if (row->state[0] == '\0' || !check_state_valid(row->state) ||
			    !row->complete) {
				c->res->lost++;
				if (row->state[0] != '\0' && !row->complete)
					check_say(c, &c->shown_lost,
					          "lost: %s %s, but its hash has no payload, channel or "
					          "queue (recreated without the contact)",
					          id, row->state);
				else
					check_say(c, &c->shown_lost, "lost: %s %s", id,
					          row->state[0] ? row->state : "(no hash in Redis)");
				/* Nothing to look up below for it. */
				row->state[0] = '\0';
				continue;
			}
			if (strcmp(row->state, "completed") == 0 ||
			    strcmp(row->state, "cancelled") == 0 ||
			    strcmp(row->state, "expired") == 0) {
				c->res->finished++;
				continue;
			}
			if (strcmp(row->state, "assigned") == 0) {
				if (!row->has_agent) {
					c->res->stuck++;
					check_say(c, &c->shown_stuck, "stuck: %s assigned to no agent", id);
				}
				continue;
			}
			redisAppendCommand(c->rc, "ZSCORE sb:{%s}:queue:%s %s", c->o->site,
			                   row->queue ? row->queue : "", id);
			redisAppendCommand(c->rc, "SISMEMBER sb:{%s}:open %s", c->o->site, id);
		}
		for (size_t i = from; i < to && rc == 0; i++) {
			struct check_row *row = &rows[i - from];
			const char *id = c->j->entries[i]->contact_id;
			redisReply *zs, *open;

			if (strcmp(row->state, "waiting") != 0 && strcmp(row->state, "offered") != 0)
				continue;
			zs = check_reply(c, err, errlen);
			open = zs != NULL ? check_reply(c, err, errlen) : NULL;
			if (zs == NULL || open == NULL) {
				freeReplyObject(zs);
				rc = -1;
				break;
			}
			if (zs->type == REDIS_REPLY_NIL) {
				c->res->stuck++;
				check_say(c, &c->shown_stuck, "stuck: %s %s but not in queue %s", id,
				          row->state, row->queue ? row->queue : "(none)");
			} else if (c->o->check_open_set && open->type == REDIS_REPLY_INTEGER &&
			           open->integer == 0) {
				c->res->stuck++;
				check_say(c, &c->shown_stuck, "stuck: %s %s but not in the open set", id,
				          row->state);
			}
			freeReplyObject(zs);
			freeReplyObject(open);
		}
		for (size_t i = from; i < to; i++) {
			free(rows[i - from].queue);
			rows[i - from].queue = NULL;
		}
	}
	free(rows);
	return rc;
}

/* Per contact while scanning the stream: who holds it since its last
 * assignment (NULL after a requeue or transfer), and whether it has been
 * counted already. */
struct stream_contact {
	char *id;
	char *holder;
	bool counted;
};

/* The value of field name in a stream entry's flat field list, or NULL. */
static const char *check_field(const redisReply *fields, const char *name)
{
	for (size_t k = 0; k + 1 < fields->elements; k += 2)
		if (fields->element[k]->type == REDIS_REPLY_STRING &&
		    strcmp(fields->element[k]->str, name) == 0 &&
		    fields->element[k + 1]->type == REDIS_REPLY_STRING)
			return fields->element[k + 1]->str;
	return NULL;
}

/* One stream entry's effect on its contact's holder. */
static void check_event(struct check *c, struct strmap *seen, const redisReply *fields)
{
	const char *event = check_field(fields, "event");
	const char *contact = check_field(fields, "contact");
	const char *agent = check_field(fields, "agent");
	struct stream_contact *sc;
	bool reset;

	if (event == NULL || contact == NULL)
		return;
	reset = strcmp(event, "requeued") == 0 || strncmp(event, "transfer", 8) == 0;
	if (strcmp(event, "assigned") != 0 && !reset)
		return;
	sc = strmap_get(seen, contact);
	if (sc == NULL) {
		if (reset)
			return;
		sc = xcalloc(1, sizeof(*sc));
		sc->id = xstrdup(contact);
		strmap_put(seen, sc->id, sc);
	}
	if (reset) {
		free(sc->holder);
		sc->holder = NULL;
		return;
	}
	if (agent == NULL)
		agent = "";
	if (sc->holder != NULL && strcmp(sc->holder, agent) != 0 && !sc->counted) {
		const struct journal_entry *e = strmap_get(&c->j->by_id, contact);

		sc->counted = true;
		/* The journal's own doubles are counted once, there. */
		if (e == NULL || e->second == NULL) {
			c->res->double_assigned++;
			check_say(c, &c->shown_double,
			          "double-assigned: %s assigned to %s, then to %s (events stream)",
			          contact, sc->holder, agent);
		}
	}
	free(sc->holder);
	sc->holder = xstrdup(agent);
}

/* Double assignments in the events stream, read in pages. */
static int check_stream(struct check *c, char *err, size_t errlen)
{
	struct strmap seen;
	char start[64] = "-";
	int rc = 0;

	strmap_init(&seen);
	for (;;) {
		redisReply *r = redisCommand(c->rc, "XRANGE sb:{%s}:events %s + COUNT %d", c->o->site,
		                             start, CHECK_XRANGE_COUNT);
		size_t n;

		if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
			snprintf(err, errlen, "XRANGE: %s",
			         r == NULL ? c->rc->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "?");
			freeReplyObject(r);
			rc = -1;
			break;
		}
		n = r->elements;
		for (size_t i = 0; i < n; i++) {
			const redisReply *e = r->element[i];

			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
			    e->element[1]->type != REDIS_REPLY_ARRAY)
				continue;
			c->res->events_scanned++;
			check_event(c, &seen, e->element[1]);
			if (i == n - 1)
				snprintf(start, sizeof(start), "(%s", e->element[0]->str);
		}
		freeReplyObject(r);
		if (n < CHECK_XRANGE_COUNT)
			break;
	}
	{
		size_t it = 0;
		const char *k;
		void *v;

		while (strmap_next(&seen, &it, &k, &v)) {
			struct stream_contact *sc = v;
			free(sc->holder);
			free(sc->id);
			free(sc);
		}
	}
	strmap_free(&seen);
	return rc;
}

int load_check_open_count(const struct load_check_opts *o, long long *n, char *err,
                          size_t errlen)
{
	redisContext *rc = check_connect(o->redis_addr, err, errlen);
	redisReply *r;
	int ret = -1;

	if (rc == NULL)
		return -1;
	r = redisCommand(rc, "SCARD sb:{%s}:open", o->site);
	if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
		*n = r->integer;
		ret = 0;
	} else {
		snprintf(err, errlen, "SCARD: %s", r == NULL ? rc->errstr : "unexpected reply");
	}
	freeReplyObject(r);
	redisFree(rc);
	return ret;
}

int load_check(const struct load_journal *j, const struct load_check_opts *o,
               struct load_check_result *res, char *err, size_t errlen)
{
	struct check c = {.j = j, .o = o, .res = res};
	int rc;

	memset(res, 0, sizeof(*res));
	c.rc = check_connect(o->redis_addr, err, errlen);
	if (c.rc == NULL)
		return -1;
	/* The journal's doubles first: the daemon told two agents "yours". */
	for (size_t i = 0; i < j->n; i++) {
		const struct journal_entry *e = j->entries[i];

		if (e->second != NULL) {
			res->double_assigned++;
			check_say(&c, &c.shown_double,
			          "double-assigned: %s confirmed to %s and to %s (journal)",
			          e->contact_id, e->agent, e->second);
		}
	}
	rc = check_contacts(&c, err, errlen);
	if (rc == 0)
		rc = check_stream(&c, err, errlen);
	redisFree(c.rc);
	return rc;
}
