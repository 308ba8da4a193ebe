/* sb-check: the fault-injection run's independent checker (issue 13, "Done
 * when"; bench/README.md, "Fault injection").
 *
 * It holds what clients were told — sb-load's journal files (--journal; the
 * format is in bench/load_check.h: "ack", "assign" and "complete" lines with
 * their receive times) — against what Redis holds, read here with hiredis'
 * synchronous API and nothing of sb-load's own check, and, given the admin
 * address, against what the daemon holds in memory (GET /v1/contacts). Each
 * kind of broken promise is counted and its first offenders listed:
 *
 *   lost              an acknowledged contact whose hash is missing or
 *                     incomplete (no payload, channel or queue: a hash some
 *                     later write recreated is not the contact), whose state
 *                     is not a contact state, or that is neither finished
 *                     (completed, cancelled, expired) nor in sb:{site}:open;
 *   confirmed without record
 *                     an AssignmentConfirmed (contact, agent) a client got
 *                     with no `assigned` event for that pair in the stream
 *                     and no hash saying so (state assigned or completed,
 *                     that agent); or a completion a client was told of with
 *                     no `completed` event and a hash not completed;
 *   double-assigned   a contact confirmed to two agents (without a requeue or
 *                     transfer between, in the stream), or with `assigned`
 *                     events naming two agents and no `requeued` or
 *                     `transferred` between them;
 *   stuck             a contact still in sb:{site}:open after --settle-ms;
 *   duplicate events  an event_id that appears more than once in the stream;
 *   memory != redis   a contact the daemon holds open and Redis's open set
 *                     does not (or the other way round), or whose state or
 *                     agent differ (with --admin; the daemon that answers
 *                     /readyz 200 is compared).
 *
 * --loss-window FROM-TO (Unix ms) names a span whose writes Redis may have
 * lost by design (FLUSHALL at TO; a power cut at TO under appendfsync
 * everysec, with FROM the last fsync). A contact whose completion a client
 * was told of inside the span, and that nothing was told of after it, was
 * no longer in the daemon when Redis lost its record: nothing could write
 * that record again. Such contacts are counted as "forgiven" and left out
 * of lost and confirmed without record. They are not left out of stuck or
 * memory != redis: a rolled-back contact still in Redis's open set comes
 * back at the daemon's next start, so the daemon, which holds the newer
 * truth, must make Redis's open set agree with it.
 *
 * Exit status: 0 when every count is 0, 1 otherwise, 2 for bad usage or when
 * Redis could not be read. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "util/json_parse.h"
#include "util/strmap.h"
#include "util/xalloc.h"

#define CHK_BATCH 1000        /* pipelined commands per batch */
#define CHK_XRANGE_COUNT 5000 /* stream entries per XRANGE */
#define CHK_MAX_ADMIN 8
#define CHK_HTTP_MAX (64u << 20)

/* ---- what clients were told (the journals) ----------------------------------- */

struct told_agent {
	char *agent;
	long long ms;
};

/* One contact of the journals, and what Redis says of it. Strings owned. */
struct told {
	char *id;
	long long ack_ms;  /* -1: never acknowledged */
	struct told_agent *agents; /* distinct agents confirmed, in order */
	size_t nagents;
	long long done_ms; /* first completion told, -1: none */
	long long last_ms; /* the latest thing told about it */
	bool forgiven;
	/* Redis */
	char state[16]; /* "" when no hash */
	char *agent;    /* the hash's agent field, or NULL */
	bool complete;  /* payload, channel and queue present */
	bool in_open;
};

/* One contact of the events stream. */
struct seen {
	char *id;
	char *holder;  /* agent of the last assignment, NULL after a reset */
	char **assigned; /* distinct agents of its `assigned` events */
	size_t nassigned;
	bool reset;     /* a requeued/transferred after an assignment */
	bool completed; /* a `completed` event */
	bool double_seen;
	char *first, *second; /* the two holders of a stream double */
};

/* How many stream entries carry one event_id. */
struct event_copies {
	char *id;
	size_t n;
};

struct chk {
	/* options */
	const char *redis_addr, *site;
	const char *admin[CHK_MAX_ADMIN];
	size_t nadmin;
	long settle_ms;
	long long loss_from, loss_to; /* -1: no window */
	size_t max_detail;
	bool json;
	/* state */
	redisContext *rc;
	struct told **told;
	size_t ntold, told_cap;
	struct strmap by_id;    /* contact id -> struct told */
	struct strmap seen;     /* contact id -> struct seen */
	struct strmap event_ids; /* event_id -> struct event_copies */
	/* results */
	size_t acked, confirmed, completions, events;
	size_t lost, unrecorded, doubles, stuck, dup_events, forgiven;
	long mem; /* -1: not checked */
	long long open_left;
	size_t shown[7];
};

enum { SHOW_LOST, SHOW_UNREC, SHOW_DOUBLE, SHOW_STUCK, SHOW_DUP, SHOW_MEM, SHOW_INFO };

static void say(struct chk *c, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* One offender, up to max_detail of a kind. */
static void say(struct chk *c, int kind, const char *fmt, ...)
{
	va_list ap;

	if (c->shown[kind] >= c->max_detail)
		return;
	c->shown[kind]++;
	va_start(ap, fmt);
	fputs("  ", stdout);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static struct told *told_get(struct chk *c, const char *id)
{
	struct told *t = strmap_get(&c->by_id, id);

	if (t != NULL)
		return t;
	t = xcalloc(1, sizeof(*t));
	t->id = xstrdup(id);
	t->ack_ms = -1;
	t->done_ms = -1;
	t->last_ms = -1;
	if (c->ntold == c->told_cap) {
		c->told_cap = c->told_cap ? c->told_cap * 2 : 4096;
		c->told = xrealloc(c->told, c->told_cap * sizeof(*c->told));
	}
	c->told[c->ntold++] = t;
	strmap_put(&c->by_id, t->id, t);
	return t;
}

/* Reads one journal file. Returns 0, or -1 (printed). */
static int read_journal(struct chk *c, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024], kind[16], a[256], b[256];
	unsigned long lineno = 0;

	if (f == NULL) {
		fprintf(stderr, "sb-check: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		long long ms = 0;
		int n = sscanf(line, "%15s %255s %255s %lld", kind, a, b, &ms);
		struct told *t;

		lineno++;
		if (n == EOF || line[0] == '\n')
			continue;
		if (n < 3) {
			fprintf(stderr, "sb-check: %s:%lu: not a journal line\n", path, lineno);
			fclose(f);
			return -1;
		}
		if (n == 3)
			ms = 0; /* an old journal: no times */
		t = told_get(c, a);
		if (ms > t->last_ms)
			t->last_ms = ms;
		if (strcmp(kind, "ack") == 0) {
			if (t->ack_ms < 0) {
				t->ack_ms = ms;
				c->acked++;
			}
		} else if (strcmp(kind, "assign") == 0) {
			bool known = false;

			for (size_t i = 0; i < t->nagents; i++)
				known = known || strcmp(t->agents[i].agent, b) == 0;
			if (!known) {
				t->agents = xrealloc(t->agents, (t->nagents + 1) * sizeof(*t->agents));
				t->agents[t->nagents].agent = xstrdup(b);
				t->agents[t->nagents].ms = ms;
				t->nagents++;
				c->confirmed++;
			}
		} else if (strcmp(kind, "complete") == 0) {
			if (t->done_ms < 0) {
				t->done_ms = ms;
				c->completions++;
			}
		} else {
			fprintf(stderr, "sb-check: %s:%lu: unknown record '%s'\n", path, lineno, kind);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

/* ---- Redis --------------------------------------------------------------------- */

/* "host:port" into host and port. Returns 0 or -1. */
static int split_addr(const char *addr, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(addr, ':');
	size_t hl;

	if (colon == NULL || colon == addr || colon[1] == '\0')
		return -1;
	hl = (size_t)(colon - addr);
	if (hl >= hostlen)
		return -1;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	*port = atoi(colon + 1);
	return *port > 0 && *port < 65536 ? 0 : -1;
}

static int redis_connect(struct chk *c)
{
	struct timeval tv = {5, 0};
	char host[256];
	int port;

	if (strncmp(c->redis_addr, "unix:", 5) == 0) {
		c->rc = redisConnectUnixWithTimeout(c->redis_addr + 5, tv);
	} else if (split_addr(c->redis_addr, host, sizeof(host), &port) == 0) {
		c->rc = redisConnectWithTimeout(host, port, tv);
	} else {
		fprintf(stderr, "sb-check: bad Redis address '%s' (host:port or unix:/path)\n",
		        c->redis_addr);
		return -1;
	}
	if (c->rc == NULL || c->rc->err) {
		fprintf(stderr, "sb-check: cannot connect to Redis at %s: %s\n", c->redis_addr,
		        c->rc ? c->rc->errstr : "out of memory");
		return -1;
	}
	redisSetTimeout(c->rc, tv);
	return 0;
}

/* One reply (pipelined or not); NULL after printing why. */
static redisReply *redis_reply(struct chk *c)
{
	void *r = NULL;

	if (redisGetReply(c->rc, &r) != REDIS_OK || r == NULL) {
		fprintf(stderr, "sb-check: Redis: %s\n", c->rc->errstr[0] ? c->rc->errstr : "no reply");
		return NULL;
	}
	if (((redisReply *)r)->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "sb-check: Redis: %s\n", ((redisReply *)r)->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

static redisReply *redis_cmd(struct chk *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	redisvAppendCommand(c->rc, fmt, ap);
	va_end(ap);
	return redis_reply(c);
}

static bool nonempty(const redisReply *r)
{
	return r->type == REDIS_REPLY_STRING && r->len > 0;
}

static bool finished(const char *state)
{
	return strcmp(state, "completed") == 0 || strcmp(state, "cancelled") == 0 ||
	       strcmp(state, "expired") == 0;
}

static bool valid_state(const char *state)
{
	return finished(state) || strcmp(state, "waiting") == 0 || strcmp(state, "offered") == 0 ||
	       strcmp(state, "assigned") == 0;
}

/* Waits until sb:{site}:open is empty or --settle-ms has passed; the
 * number still open goes in c->open_left. */
static int wait_settled(struct chk *c)
{
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		redisReply *r = redis_cmd(c, "SCARD sb:{%s}:open", c->site);
		long elapsed;

		if (r == NULL)
			return -1;
		c->open_left = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
		freeReplyObject(r);
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (c->open_left == 0 || elapsed >= c->settle_ms)
			return 0;
		usleep(100000);
	}
}

/* The value of field name in a stream entry's flat list, or NULL. */
static const char *field(const redisReply *fields, const char *name)
{
	for (size_t k = 0; k + 1 < fields->elements; k += 2)
		if (fields->element[k]->type == REDIS_REPLY_STRING &&
		    strcmp(fields->element[k]->str, name) == 0 &&
		    fields->element[k + 1]->type == REDIS_REPLY_STRING)
			return fields->element[k + 1]->str;
	return NULL;
}

static struct seen *seen_get(struct chk *c, const char *id)
{
	struct seen *s = strmap_get(&c->seen, id);

	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->id = xstrdup(id);
		strmap_put(&c->seen, s->id, s);
	}
	return s;
}

/* One stream entry: duplicates, and its contact's assignments. */
static void stream_entry(struct chk *c, const char *entry_id, const redisReply *fields)
{
	const char *event = field(fields, "event");
	const char *contact = field(fields, "contact");
	const char *agent = field(fields, "agent");
	const char *eid = field(fields, "event_id");
	struct seen *s;

	c->events++;
	if (eid != NULL && eid[0] != '\0') {
		struct event_copies *e = strmap_get(&c->event_ids, eid);

		if (e == NULL) {
			e = xcalloc(1, sizeof(*e));
			e->id = xstrdup(eid);
			strmap_put(&c->event_ids, e->id, e);
		}
		if (++e->n == 2) {
			c->dup_events++;
			say(c, SHOW_DUP, "duplicate event: %s (%s %s again at stream entry %s)", eid,
			    event ? event : "?", contact ? contact : "", entry_id);
		}
	}
	if (event == NULL || contact == NULL)
		return;
	s = seen_get(c, contact);
	if (strcmp(event, "completed") == 0) {
		s->completed = true;
		return;
	}
	if (strcmp(event, "requeued") == 0 || strncmp(event, "transfer", 8) == 0) {
		if (s->nassigned > 0)
			s->reset = true;
		free(s->holder);
		s->holder = NULL;
		return;
	}
	if (strcmp(event, "assigned") != 0)
		return;
	if (agent == NULL)
		agent = "";
	{
		bool known = false;

		for (size_t i = 0; i < s->nassigned; i++)
			known = known || strcmp(s->assigned[i], agent) == 0;
		if (!known) {
			s->assigned = xrealloc(s->assigned, (s->nassigned + 1) * sizeof(*s->assigned));
			s->assigned[s->nassigned++] = xstrdup(agent);
		}
	}
	if (s->holder != NULL && strcmp(s->holder, agent) != 0 && !s->double_seen) {
		s->double_seen = true;
		s->first = xstrdup(s->holder);
		s->second = xstrdup(agent);
	}
	free(s->holder);
	s->holder = xstrdup(agent);
}

/* The whole events stream, in pages. */
static int read_stream(struct chk *c)
{
	char start[64] = "-";

	for (;;) {
		redisReply *r = redis_cmd(c, "XRANGE sb:{%s}:events %s + COUNT %d", c->site, start,
		                          CHK_XRANGE_COUNT);
		size_t n;

		if (r == NULL)
			return -1;
		if (r->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			return 0; /* no stream */
		}
		n = r->elements;
		for (size_t i = 0; i < n; i++) {
			const redisReply *e = r->element[i];

			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
			    e->element[0]->type != REDIS_REPLY_STRING ||
			    e->element[1]->type != REDIS_REPLY_ARRAY)
				continue;
			stream_entry(c, e->element[0]->str, e->element[1]);
			if (i == n - 1)
				snprintf(start, sizeof(start), "(%s", e->element[0]->str);
		}
		freeReplyObject(r);
		if (n < CHK_XRANGE_COUNT)
			return 0;
	}
}

/* HMGET and SISMEMBER open for every contact of the journals, in batches. */
static int read_contacts(struct chk *c)
{
	for (size_t from = 0; from < c->ntold; from += CHK_BATCH) {
		size_t to = from + CHK_BATCH < c->ntold ? from + CHK_BATCH : c->ntold;

		for (size_t i = from; i < to; i++) {
			redisAppendCommand(c->rc,
			                   "HMGET sb:{%s}:contact:%s state queue agent channel payload",
			                   c->site, c->told[i]->id);
			redisAppendCommand(c->rc, "SISMEMBER sb:{%s}:open %s", c->site, c->told[i]->id);
		}
		for (size_t i = from; i < to; i++) {
			struct told *t = c->told[i];
			redisReply *h = redis_reply(c);
			redisReply *o = h != NULL ? redis_reply(c) : NULL;

			if (o == NULL) {
				freeReplyObject(h);
				return -1;
			}
			if (h->type == REDIS_REPLY_ARRAY && h->elements == 5) {
				if (h->element[0]->type == REDIS_REPLY_STRING)
					snprintf(t->state, sizeof(t->state), "%s", h->element[0]->str);
				if (nonempty(h->element[2]))
					t->agent = xstrdup(h->element[2]->str);
				t->complete = nonempty(h->element[1]) && nonempty(h->element[3]) &&
				              nonempty(h->element[4]);
			}
			t->in_open = o->type == REDIS_REPLY_INTEGER && o->integer == 1;
			freeReplyObject(h);
			freeReplyObject(o);
		}
	}
	return 0;
}

/* ---- the daemon's memory (admin API) ---------------------------------------------- */

/* GET path from the admin API at addr: the status, the body in *body
 * (free()), or -1 when it could not be asked. */
static int http_get(const char *addr, const char *path, char **body)
{
	char host[256], portstr[16], req[512];
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	struct timeval tv = {5, 0};
	char *buf = NULL, *p;
	size_t len = 0, cap = 0;
	int port, fd = -1, status = -1;

	*body = NULL;
	if (split_addr(addr, host, sizeof(host), &port) != 0)
		return -1;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (getaddrinfo(host, portstr, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0)
		goto out;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
		goto out;
	/* HTTP/1.0: the server closes after the answer, so EOF ends it. */
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr);
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
		goto out;
	for (;;) {
		ssize_t n;

		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 131072;
			if (cap > CHK_HTTP_MAX)
				goto out;
			buf = xrealloc(buf, cap + 1);
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (buf == NULL)
		goto out;
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/%*s %d", &status) != 1) {
		status = -1;
		goto out;
	}
	p = strstr(buf, "\r\n\r\n");
	*body = xstrdup(p != NULL ? p + 4 : "");
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	free(buf);
	return status;
}

/* A contact as one side holds it. */
struct held {
	char *id, *state, *agent; /* agent "" when none */
	bool matched;
};

static void held_free(struct strmap *m)
{
	size_t it = 0;
	const char *k;
	void *v;

	while (strmap_next(m, &it, &k, &v)) {
		struct held *h = v;

		free(h->id);
		free(h->state);
		free(h->agent);
		free(h);
	}
	strmap_free(m);
}

static void held_put(struct strmap *m, const char *id, const char *state, const char *agent)
{
	struct held *h = xcalloc(1, sizeof(*h));

	h->id = xstrdup(id);
	h->state = xstrdup(state ? state : "");
	h->agent = xstrdup(agent ? agent : "");
	strmap_put(m, h->id, h);
}

/* The daemon's open contacts from GET /v1/contacts. Returns 0 or -1. */
static int daemon_contacts(const char *addr, struct strmap *out)
{
	char *body = NULL, err[128];
	int st = http_get(addr, "/v1/contacts", &body);
	struct jv *v = NULL;
	const struct jv *list;
	int rc = -1;

	if (st != 200 || body == NULL)
		goto out;
	v = jv_parse(body, strlen(body), err, sizeof(err));
	list = v != NULL ? jv_get(v, "contacts") : NULL;
	if (list == NULL || list->type != JV_ARRAY)
		goto out;
	for (size_t i = 0; i < list->n; i++) {
		const struct jv *id = jv_get(&list->items[i], "id");
		const struct jv *state = jv_get(&list->items[i], "state");
		const struct jv *agent = jv_get(&list->items[i], "agent");

		if (id == NULL || id->type != JV_STRING)
			continue;
		held_put(out, id->str, state && state->type == JV_STRING ? state->str : "",
		         agent && agent->type == JV_STRING ? agent->str : "");
	}
	rc = 0;
out:
	jv_free(v);
	free(body);
	return rc;
}

/* Redis's open set with each member's state and agent. Returns 0 or -1. */
static int redis_open(struct chk *c, struct strmap *out)
{
	char cursor[32] = "0";
	char **ids = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	do {
		redisReply *r = redis_cmd(c, "SSCAN sb:{%s}:open %s COUNT 1000", c->site, cursor);

		if (r == NULL)
			return -1;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			freeReplyObject(r);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				ids = xrealloc(ids, cap * sizeof(*ids));
			}
			ids[n++] = xstrdup(r->element[1]->element[i]->str);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	for (size_t from = 0; from < n && rc == 0; from += CHK_BATCH) {
		size_t to = from + CHK_BATCH < n ? from + CHK_BATCH : n;

		for (size_t i = from; i < to; i++)
			redisAppendCommand(c->rc, "HMGET sb:{%s}:contact:%s state agent", c->site, ids[i]);
		for (size_t i = from; i < to; i++) {
			redisReply *r = rc == 0 ? redis_reply(c) : NULL;

			if (r == NULL) {
				rc = -1;
				continue;
			}
			if (strmap_get(out, ids[i]) == NULL)
				held_put(out, ids[i],
				         r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING
				             ? r->element[0]->str
				             : "(no hash)",
				         r->elements == 2 && r->element[1]->type == REDIS_REPLY_STRING
				             ? r->element[1]->str
				             : "");
			freeReplyObject(r);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return rc;
}

/* One comparison of daemon and Redis; prints the differences when final.
 * Returns the number of contacts that differ, or -1 when a side could not
 * be read. */
static long compare_once(struct chk *c, const char *admin, bool final)
{
	struct strmap d, r;
	size_t it = 0;
	const char *k;
	void *v;
	long diff = 0;

	strmap_init(&d);
	strmap_init(&r);
	if (daemon_contacts(admin, &d) != 0 || redis_open(c, &r) != 0) {
		held_free(&d);
		held_free(&r);
		return -1;
	}
	while (strmap_next(&d, &it, &k, &v)) {
		struct held *dh = v, *rh = strmap_get(&r, k);

		if (rh == NULL) {
			diff++;
			if (final)
				say(c, SHOW_MEM, "memory != redis: %s %s%s%s in the daemon, not in Redis's open set",
				    k, dh->state, dh->agent[0] ? " to " : "", dh->agent);
			continue;
		}
		rh->matched = true;
		if (strcmp(dh->state, rh->state) != 0 || strcmp(dh->agent, rh->agent) != 0) {
			diff++;
			if (final)
				say(c, SHOW_MEM, "memory != redis: %s daemon %s%s%s, Redis %s%s%s", k,
				    dh->state, dh->agent[0] ? " to " : "", dh->agent, rh->state,
				    rh->agent[0] ? " to " : "", rh->agent);
		}
	}
	it = 0;
	while (strmap_next(&r, &it, &k, &v)) {
		struct held *rh = v;

		if (rh->matched)
			continue;
		diff++;
		if (final)
			say(c, SHOW_MEM, "memory != redis: %s %s%s%s in Redis's open set, not in the daemon",
			    k, rh->state, rh->agent[0] ? " to " : "", rh->agent);
	}
	held_free(&d);
	held_free(&r);
	return diff;
}

/* memory != redis against the daemon that serves. */
static void check_memory(struct chk *c)
{
	const char *serving = NULL;
	size_t ready = 0;

	for (size_t i = 0; i < c->nadmin; i++) {
		char *body = NULL;
		int st = http_get(c->admin[i], "/readyz", &body);

		free(body);
		if (st == 200) {
			ready++;
			if (serving == NULL)
				serving = c->admin[i];
		}
	}
	if (serving == NULL) {
		c->mem = 1;
		say(c, SHOW_MEM, "memory != redis: no daemon answers /readyz 200, nothing serves");
		return;
	}
	if (ready > 1) {
		c->mem = 1;
		say(c, SHOW_MEM, "memory != redis: %zu daemons say they are ready (one leader wanted)",
		    ready);
	}
	/* A write can be on its way when the two are read: ask again a few
	 * times before calling a difference one. */
	for (int attempt = 0; attempt < 4; attempt++) {
		long d = compare_once(c, serving, false);

		if (d == 0)
			return;
		usleep(300000);
	}
	{
		long d = compare_once(c, serving, true);

		if (d < 0) {
			c->mem += 1;
			say(c, SHOW_MEM, "memory != redis: could not read GET /v1/contacts from %s",
			    serving);
		} else {
			c->mem += d;
		}
	}
}

/* ---- the checks ------------------------------------------------------------------- */

static void mark_forgiven(struct chk *c)
{
	if (c->loss_to < 0)
		return;
	for (size_t i = 0; i < c->ntold; i++) {
		struct told *t = c->told[i];

		if (t->done_ms >= c->loss_from && t->done_ms <= c->loss_to && t->last_ms <= c->loss_to) {
			t->forgiven = true;
			c->forgiven++;
		}
	}
}

static void check_told(struct chk *c)
{
	for (size_t i = 0; i < c->ntold; i++) {
		struct told *t = c->told[i];
		struct seen *s = strmap_get(&c->seen, t->id);
		bool present = t->state[0] != '\0' && t->complete && valid_state(t->state);

		/* lost */
		if (t->ack_ms >= 0 && !t->forgiven) {
			if (!present) {
				c->lost++;
				if (t->state[0] == '\0')
					say(c, SHOW_LOST, "lost: %s: no hash in Redis", t->id);
				else if (!t->complete)
					say(c, SHOW_LOST,
					    "lost: %s: hash (state %s) without payload, channel or queue: "
					    "recreated, not the contact",
					    t->id, t->state);
				else
					say(c, SHOW_LOST, "lost: %s: state '%s'", t->id, t->state);
			} else if (!finished(t->state) && !t->in_open) {
				c->lost++;
				say(c, SHOW_LOST, "lost: %s: %s, not finished and not in the open set", t->id,
				    t->state);
			}
		}
		/* confirmed without record */
		for (size_t k = 0; k < t->nagents && !t->forgiven; k++) {
			const char *a = t->agents[k].agent;
			bool event = false, hash;

			for (size_t m = 0; s != NULL && m < s->nassigned; m++)
				event = event || strcmp(s->assigned[m], a) == 0;
			hash = present &&
			       (strcmp(t->state, "assigned") == 0 || strcmp(t->state, "completed") == 0) &&
			       t->agent != NULL && strcmp(t->agent, a) == 0;
			if (!event && !hash) {
				c->unrecorded++;
				say(c, SHOW_UNREC,
				    "confirmed without record: %s to %s (no assigned event; hash: %s%s%s)",
				    t->id, a, t->state[0] ? t->state : "none", t->agent ? " to " : "",
				    t->agent ? t->agent : "");
			}
		}
		if (t->done_ms >= 0 && !t->forgiven && !(s != NULL && s->completed) &&
		    !(present && strcmp(t->state, "completed") == 0)) {
			c->unrecorded++;
			say(c, SHOW_UNREC,
			    "confirmed without record: %s completed (no completed event; hash: %s)", t->id,
			    t->state[0] ? t->state : "none");
		}
		/* double-assigned, as the clients saw it */
		if (t->nagents > 1 && !(s != NULL && s->reset)) {
			c->doubles++;
			say(c, SHOW_DOUBLE, "double-assigned: %s confirmed to %s and to %s", t->id,
			    t->agents[0].agent, t->agents[1].agent);
			if (s != NULL)
				s->double_seen = false; /* counted once */
		}
	}
}

/* Doubles in the stream the journals did not already count. */
static void check_stream_doubles(struct chk *c)
{
	size_t it = 0;
	const char *k;
	void *v;

	while (strmap_next(&c->seen, &it, &k, &v)) {
		struct seen *s = v;
		const struct told *t = strmap_get(&c->by_id, k);

		if (!s->double_seen || (t != NULL && t->nagents > 1 && !s->reset))
			continue;
		c->doubles++;
		say(c, SHOW_DOUBLE,
		    "double-assigned: %s assigned to %s, then to %s with no requeue between (stream)", k,
		    s->first, s->second);
	}
}

/* Every contact still open after the settle time. */
static int check_stuck(struct chk *c)
{
	char cursor[32] = "0";

	do {
		redisReply *r = redis_cmd(c, "SSCAN sb:{%s}:open %s COUNT 1000", c->site, cursor);

		if (r == NULL)
			return -1;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			freeReplyObject(r);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			const char *id = r->element[1]->element[i]->str;
			const struct told *t = strmap_get(&c->by_id, id);

			c->stuck++;
			say(c, SHOW_STUCK, "stuck: %s still open after the settle time (%s%s)", id,
			    t == NULL ? "no client heard of it" : t->state[0] ? t->state : "no hash",
			    t != NULL && t->forgiven ? "; its completion was in the loss window" : "");
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return 0;
}

/* ---- main ------------------------------------------------------------------------------ */

static const char usage[] =
    "usage: sb-check --redis ADDR --site S --journal FILE [--journal FILE...]\n"
    "                [--admin ADDR]... [--settle-ms MS] [--loss-window FROM-TO]\n"
    "                [--detail N] [--json]\n"
    "\n"
    "Holds what clients were told (sb-load journals) against Redis, and the daemon's\n"
    "open contacts (GET /v1/contacts on the --admin address that answers /readyz 200)\n"
    "against Redis's open set. Counts lost, confirmed without record, double-assigned,\n"
    "stuck, duplicate events and memory != redis, listing the first offenders of each.\n"
    "\n"
    "  --redis ADDR         host:port or unix:/path\n"
    "  --site S             the daemon's site (keys sb:{S}:...)\n"
    "  --journal FILE       sb-load --journal output; repeat for several clients\n"
    "  --admin ADDR         a daemon's admin address (host:port); repeat for several\n"
    "  --settle-ms MS       wait up to MS for the open set to empty first (default 0)\n"
    "  --loss-window A-B    Redis may have lost writes made from Unix ms A to B (a\n"
    "                       flush or a power cut at B): a contact finished inside it\n"
    "                       and not heard of after is counted as forgiven, not lost\n"
    "                       nor confirmed without record (still stuck if left open)\n"
    "  --detail N           offenders listed per kind (default 10)\n"
    "  --json               end with one JSON line of the counts\n"
    "\n"
    "Exit status: 0 all counts zero; 1 otherwise; 2 bad usage or Redis unreadable.\n";

static void free_all(struct chk *c)
{
	size_t it = 0;
	const char *k;
	void *v;

	for (size_t i = 0; i < c->ntold; i++) {
		struct told *t = c->told[i];

		for (size_t a = 0; a < t->nagents; a++)
			free(t->agents[a].agent);
		free(t->agents);
		free(t->agent);
		free(t->id);
		free(t);
	}
	free(c->told);
	strmap_free(&c->by_id);
	while (strmap_next(&c->seen, &it, &k, &v)) {
		struct seen *s = v;

		for (size_t a = 0; a < s->nassigned; a++)
			free(s->assigned[a]);
		free(s->assigned);
		free(s->holder);
		free(s->first);
		free(s->second);
		free(s->id);
		free(s);
	}
	strmap_free(&c->seen);
	it = 0;
	while (strmap_next(&c->event_ids, &it, &k, &v)) {
		free(((struct event_copies *)v)->id);
		free(v);
	}
	strmap_free(&c->event_ids);
	if (c->rc != NULL)
		redisFree(c->rc);
}

int main(int argc, char **argv)
{
	enum { O_REDIS = 0x100, O_SITE, O_JOURNAL, O_ADMIN, O_SETTLE, O_LOSS, O_DETAIL, O_JSON, O_HELP };
	static const struct option longopts[] = {
	    {"redis", required_argument, NULL, O_REDIS},
	    {"site", required_argument, NULL, O_SITE},
	    {"journal", required_argument, NULL, O_JOURNAL},
	    {"admin", required_argument, NULL, O_ADMIN},
	    {"settle-ms", required_argument, NULL, O_SETTLE},
	    {"loss-window", required_argument, NULL, O_LOSS},
	    {"detail", required_argument, NULL, O_DETAIL},
	    {"json", no_argument, NULL, O_JSON},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	static struct chk c;
	const char *journals[64];
	size_t njournals = 0;
	bool failed;
	int opt;

	c.loss_from = c.loss_to = -1;
	c.max_detail = 10;
	c.mem = -1;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case O_REDIS: c.redis_addr = optarg; break;
		case O_SITE: c.site = optarg; break;
		case O_JOURNAL:
			if (njournals == sizeof(journals) / sizeof(journals[0])) {
				fprintf(stderr, "sb-check: too many --journal\n");
				return 2;
			}
			journals[njournals++] = optarg;
			break;
		case O_ADMIN:
			if (c.nadmin == CHK_MAX_ADMIN) {
				fprintf(stderr, "sb-check: too many --admin\n");
				return 2;
			}
			c.admin[c.nadmin++] = optarg;
			break;
		case O_SETTLE: c.settle_ms = atol(optarg); break;
		case O_LOSS:
			if (sscanf(optarg, "%lld-%lld", &c.loss_from, &c.loss_to) != 2 ||
			    c.loss_from < 0 || c.loss_to < c.loss_from) {
				fprintf(stderr, "sb-check: --loss-window wants FROM_MS-TO_MS, not '%s'\n",
				        optarg);
				return 2;
			}
			break;
		case O_DETAIL: c.max_detail = (size_t)atol(optarg); break;
		case O_JSON: c.json = true; break;
		case O_HELP: fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc || c.redis_addr == NULL || c.site == NULL || njournals == 0) {
		fputs(usage, stderr);
		return 2;
	}
	strmap_init(&c.by_id);
	strmap_init(&c.seen);
	strmap_init(&c.event_ids);
	for (size_t i = 0; i < njournals; i++)
		if (read_journal(&c, journals[i]) != 0) {
			free_all(&c);
			return 2;
		}
	if (redis_connect(&c) != 0 || wait_settled(&c) != 0 || read_stream(&c) != 0 ||
	    read_contacts(&c) != 0) {
		free_all(&c);
		return 2;
	}
	mark_forgiven(&c);
	check_told(&c);
	check_stream_doubles(&c);
	if (check_stuck(&c) != 0) {
		free_all(&c);
		return 2;
	}
	if (c.nadmin > 0) {
		c.mem = 0;
		check_memory(&c);
	}
	printf("sb-check: %zu contacts acknowledged, %zu assignments and %zu completions told; "
	       "%zu events read\n",
	       c.acked, c.confirmed, c.completions, c.events);
	printf("sb-check: lost %zu  confirmed-without-record %zu  double-assigned %zu  stuck %zu  "
	       "duplicate-events %zu  memory!=redis %s%ld  forgiven %zu\n",
	       c.lost, c.unrecorded, c.doubles, c.stuck, c.dup_events, c.mem < 0 ? "(not checked) " : "",
	       c.mem < 0 ? 0 : c.mem, c.forgiven);
	if (c.json)
		printf("{\"acknowledged\":%zu,\"confirmed\":%zu,\"completions\":%zu,\"events\":%zu,"
		       "\"lost\":%zu,\"confirmed_without_record\":%zu,\"double_assigned\":%zu,"
		       "\"stuck\":%zu,\"duplicate_events\":%zu,\"memory_vs_redis\":%ld,"
		       "\"forgiven\":%zu}\n",
		       c.acked, c.confirmed, c.completions, c.events, c.lost, c.unrecorded, c.doubles,
		       c.stuck, c.dup_events, c.mem, c.forgiven);
	failed = c.lost || c.unrecorded || c.doubles || c.stuck || c.dup_events || c.mem > 0;
	free_all(&c);
	return failed ? 1 : 0;
}
