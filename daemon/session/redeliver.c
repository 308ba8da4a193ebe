/* A gateway's re-login redelivery: see redeliver.h. */
#include "session/redeliver.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "record/record.h"
#include "router/router.h"
#include "session/outbound.h"
#include "session/session.h"
#include "util/err.h"
#include "util/log.h"
#include "util/strvec.h"
#include "util/xalloc.h"

/* Output queued at a time: big enough that the kernel's socket buffer is
 * kept full while the client reads, and at most a quarter of
 * limits.output_buffer_max_bytes (4 MiB by default), so live frames have
 * the rest. */
#define REDELIVER_BUDGET (128u << 10)
/* Outcomes read from Redis at a time: one script call, well under a
 * millisecond of Redis's time. */
#define REDELIVER_PAGE 256
/* Redis could not be read (down, a reconnect): the next try. */
#define REDELIVER_RETRY_MS 1000

struct redeliver {
	struct session *s; /* referenced while a read is on its way */
	char *gateway_id;
	char *after_event_id; /* the first page starts after this outcome */
	char *after_score;    /* each later page after the last one read */
	/* The page being written. Owner: this. */
	struct record_outcome *page;
	size_t n_page, at_page;
	bool reading;       /* a page read is on its way */
	bool caught_up;     /* a page came back empty: outcomes are live now */
	bool freed;         /* the session closed while a read was on its way */
	struct strvec open; /* the open contacts at login */
	size_t at_open;
	struct event *retry;
	size_t sent;
	int64_t started_ms;
};

static void redeliver_pump(struct redeliver *rd);

static void redeliver_on_retry(evutil_socket_t fd, short what, void *arg)
{
	redeliver_pump(arg);
}

static void redeliver_page_free(struct redeliver *rd)
{
	for (size_t i = 0; i < rd->n_page; i++) {
		free((char *)(uintptr_t)rd->page[i].id);
		free((char *)(uintptr_t)rd->page[i].state);
		free((char *)(uintptr_t)rd->page[i].text);
	}
	free(rd->page);
	rd->page = NULL;
	rd->n_page = rd->at_page = 0;
}

static void redeliver_destroy(struct redeliver *rd)
{
	redeliver_page_free(rd);
	strvec_free(&rd->open);
	if (rd->retry != NULL)
		event_free(rd->retry);
	free(rd->gateway_id);
	free(rd->after_event_id);
	free(rd->after_score);
	free(rd);
}

struct redeliver *redeliver_new(struct session *s, const char *after_event_id)
{
	struct redeliver *rd = xcalloc(1, sizeof *rd);

	rd->s = s;
	rd->after_event_id = xstrdup(after_event_id != NULL ? after_event_id : "");
	rd->retry = evtimer_new(session_env(s)->base, redeliver_on_retry, rd);
	return rd;
}

/* Redis could not be read: the same page again after a pause. */
static void redeliver_retry_later(struct redeliver *rd)
{
	struct timeval tv = { REDELIVER_RETRY_MS / 1000, 0 };
	evtimer_add(rd->retry, &tv);
}

static void redeliver_on_page(void *arg, int err, const struct record_outcome *v, size_t n,
			      const char *last)
{
	struct redeliver *rd = arg;

	rd->reading = false;
	session_unref(rd->s);
	if (rd->freed) {
		redeliver_destroy(rd);
		return;
	}
	if (err != 0) {
		redeliver_retry_later(rd);
		return;
	}
	if (last == NULL) {
		rd->caught_up = true;
	} else {
		free(rd->after_score);
		rd->after_score = xstrdup(last);
		rd->page = xcalloc(n ? n : 1, sizeof *rd->page);
		for (size_t i = 0; i < n; i++) {
			rd->page[i] = v[i];
			rd->page[i].id = xstrdup(v[i].id);
			rd->page[i].state = xstrdup(v[i].state);
			rd->page[i].text = xstrdup(v[i].text);
			rd->page[i].gateway = rd->page[i].queue = rd->page[i].agent = NULL;
		}
		rd->n_page = n;
	}
	redeliver_pump(rd);
}

/* Asks for the next page; its answer comes later (redeliver_on_page). */
static void redeliver_read(struct redeliver *rd)
{
	struct router *r = session_env(rd->s)->router;

	if (router_read_outcomes(r, rd->gateway_id, rd->after_score ? NULL : rd->after_event_id,
				 rd->after_score, REDELIVER_PAGE, redeliver_on_page, rd) != 0) {
		redeliver_retry_later(rd);
		return;
	}
	rd->reading = true;
	session_ref(rd->s);
}

/* The state of the next open contact still open, as it is now; false when
 * none is left. A contact whose latest change is on its way to Redis is
 * left to the live frame that follows when it lands. */
static bool redeliver_next_open(struct redeliver *rd)
{
	struct router *r = session_env(rd->s)->router;
	const struct engine *e = router_engine(r);

	while (rd->at_open < rd->open.n) {
		const char *id = rd->open.v[rd->at_open++];
		const struct engine_contact_view *c = engine_contact(e, id);
		if (c == NULL || router_pending(r, id, NULL))
			continue;
		uint32_t position = 0;
		int64_t estimate = 0;
		engine_contact_wait(e, id, router_now_ms(), &position, &estimate);
		outbound_contact_state(rd->s, c, position, estimate);
		rd->sent++;
		return true;
	}
	return false;
}

/* Queues frames while the output is below the budget; what is left waits
 * for the client to read (session_on_drained) or for Redis. */
static void redeliver_pump(struct redeliver *rd)
{
	struct session *s = rd->s;
	size_t budget = (size_t)router_config(session_env(s)->router)->output_buffer_max_bytes / 4;

	if (budget > REDELIVER_BUDGET)
		budget = REDELIVER_BUDGET;
	while (session_is_active(s) && session_output_len(s) < budget) {
		if (rd->at_page < rd->n_page) {
			outbound_outcome(s, &rd->page[rd->at_page++]);
			rd->sent++;
			continue;
		}
		if (!rd->caught_up && !rd->reading && !evtimer_pending(rd->retry, NULL)) {
			redeliver_page_free(rd);
			redeliver_read(rd); /* answered later: the pump goes on then */
		}
		/* While Redis answers, the open contacts go on. */
		if (redeliver_next_open(rd))
			continue;
		break;
	}
	if (rd->caught_up && rd->at_open == rd->open.n && rd->at_page == rd->n_page &&
	    session_is_active(s)) {
		session_on_drained(s, NULL, NULL);
		log_info("session %s: redelivery to gateway '%s' done: %zu frames in %lld ms",
			 session_id(s), rd->gateway_id, rd->sent,
			 (long long)(router_now_ms() - rd->started_ms));
		strvec_free(&rd->open);
		rd->at_open = 0;
	}
}

static void redeliver_on_drained(void *arg)
{
	redeliver_pump(arg);
}

struct redeliver_snap {
	const char *gateway_id;
	struct strvec *ids;
};

static void redeliver_note_open(void *arg, const struct engine_contact_view *c)
{
	struct redeliver_snap *sn = arg;

	if (strcmp(c->gateway_id, sn->gateway_id) == 0)
		strvec_push(sn->ids, c->id);
}

void redeliver_start(struct redeliver *rd)
{
	struct router *r = session_env(rd->s)->router;
	struct redeliver_snap sn = { session_client_id(rd->s), &rd->open };

	rd->gateway_id = xstrdup(session_client_id(rd->s));
	rd->started_ms = router_now_ms();
	/* Ids only: each is looked up again when its turn comes, so what is
	 * sent is the state then, and a contact gone meanwhile is skipped. */
	engine_each_contact(router_engine(r), redeliver_note_open, &sn);
	session_on_drained(rd->s, redeliver_on_drained, rd);
	redeliver_pump(rd);
}

bool redeliver_holds_outcomes(const struct redeliver *rd)
{
	return rd != NULL && !rd->caught_up;
}

void redeliver_free(struct redeliver *rd)
{
	if (rd == NULL)
		return;
	evtimer_del(rd->retry);
	if (rd->reading) {
		rd->freed = true; /* the read's answer frees it */
		return;
	}
	redeliver_destroy(rd);
}
