/* The wallboard's figures: "today" baselines, the hour of history, the ring
 * of breaches and expiries, and the snapshot JSON. See wallboard.h; the HTTP
 * side (page, snapshot route, server-sent events) is wallboard_http.c. */
#include "admin/wallboard.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/json_out.h"
#include "admin/admin_internal.h"
#include "config/config.h"
#include "metrics.h"
#include "record/figures.h"
#include "router/router.h"
#include "store/store.h"
#include "util/log.h"
#include "util/strmap.h"
#include "util/xalloc.h"

/* The states the wallboard shows, exclusive (wallboard_shown). */
enum wb_shown { WB_AVAILABLE, WB_ON_CONTACT, WB_BREAK, WB_OFFLINE, WB_LOGGED_OUT, WB_SHOWN_COUNT };

/* One queue's wallboard state. Owner: wallboard.queues (keyed by name). */
struct wb_queue {
	char *name;
	struct engine_period_stats base; /* engine totals at local midnight */
	/* today's counts from before this daemon started (read back from
	 * Redis), added to what the engine counted since */
	struct engine_period_stats carried;
	double carried_asa_sum_ms;
	int64_t t_ms[WALLBOARD_HISTORY];
	double sl[WALLBOARD_HISTORY]; /* window service level; -1: none */
	uint32_t waiting[WALLBOARD_HISTORY];
	size_t head, n; /* ring: the oldest sample is at (head + CAP - n) % CAP */
	uint64_t seen;  /* the sampling pass that last saw it in the engine */
};

struct wallboard {
	struct admin *adm;
	struct strmap queues; /* name -> struct wb_queue (owned) */
	int64_t day_start_ms, next_day_ms; /* local midnights around now */
	int64_t next_sample_ms;
	uint64_t pass;
	/* Persistence (docs/admin-api.md "Today"): while it leads and serves,
	 * the figures are read back once per term (the store's epoch: a
	 * restart, or a standby taking over), then saved every
	 * WALLBOARD_SAVE_MS; never saved before they were read in that term,
	 * or a restart would wipe them. */
	char restored_epoch[32]; /* "" before the first read */
	struct wb_read *reading; /* the read in flight, or NULL */
	int64_t next_save_ms;
};

/* A read in flight: it outlives the wallboard if freed first. */
struct wb_read {
	struct wallboard *wb; /* NULL once the wallboard is gone */
	char epoch[32];       /* the term it was asked for in */
};

static bool wallboard_restored(const struct wallboard *wb)
{
	const struct store *st = wb->adm->env.store;

	return st != NULL && strcmp(wb->restored_epoch, store_epoch(st)) == 0;
}

/* Breaches and expiries seen since start. */
static uint64_t wallboard_notes_total(void)
{
	const struct metrics *m = metrics_current();
	return m != NULL ? m->note_total : 0;
}

/* Local midnight at or before now, and the next one (DST-safe: mktime). */
static void wallboard_day_bounds(int64_t now, int64_t *start, int64_t *next)
{
	time_t t = (time_t)(now / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	*start = (int64_t)mktime(&tm) * 1000;
	tm.tm_mday++;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	*next = (int64_t)mktime(&tm) * 1000;
}

static struct wb_queue *wallboard_queue(struct wallboard *wb, const char *name)
{
	struct wb_queue *q = strmap_get(&wb->queues, name);

	if (q == NULL) {
		/* first seen: everything it has counted is today's (the engine's
		 * totals start with the daemon, or with the queue at a reload) */
		q = xcalloc(1, sizeof *q);
		q->name = xstrdup(name);
		strmap_put(&wb->queues, q->name, q);
	}
	return q;
}

struct wallboard *wallboard_new(struct admin *adm, int64_t now)
{
	struct wallboard *wb = xcalloc(1, sizeof *wb);

	wb->adm = adm;
	strmap_init(&wb->queues);
	wallboard_day_bounds(now, &wb->day_start_ms, &wb->next_day_ms);
	wb->next_sample_ms = now; /* a first sample at once */
	return wb;
}

void wallboard_free(struct wallboard *wb)
{
	const char *k;
	void *v;

	if (wb == NULL)
		return;
	if (wb->reading != NULL)
		wb->reading->wb = NULL; /* the callback frees it */
	for (size_t it = 0; strmap_next(&wb->queues, &it, &k, &v);) {
		struct wb_queue *q = v;
		free(q->name);
		free(q);
	}
	strmap_free(&wb->queues);
	free(wb);
}

/* Takes a sample of every queue; forgets queues a reload removed. */
static void wallboard_sample(struct wallboard *wb, int64_t now)
{
	const struct engine *e = router_engine(wb->adm->env.router);
	const char *k;
	void *v;

	wb->pass++;
	for (size_t i = 0; i < engine_queue_count(e); i++) {
		struct engine_queue_stats s;
		if (engine_queue_stats(e, engine_queue_name(e, i), now, &s) != 0)
			continue;
		struct wb_queue *q = wallboard_queue(wb, s.queue);
		q->seen = wb->pass;
		q->t_ms[q->head] = now;
		q->sl[q->head] = s.window.service_level;
		q->waiting[q->head] = s.waiting;
		q->head = (q->head + 1) % WALLBOARD_HISTORY;
		if (q->n < WALLBOARD_HISTORY)
			q->n++;
	}
	for (size_t it = 0; strmap_next(&wb->queues, &it, &k, &v);) {
		struct wb_queue *q = v;
		if (q->seen != wb->pass) {
			strmap_del(&wb->queues, q->name);
			free(q->name);
			free(q);
		}
	}
}

/* Local midnight passed: today's figures count from the totals now. */
static void wallboard_new_day(struct wallboard *wb, int64_t now)
{
	const struct engine *e = router_engine(wb->adm->env.router);

	wallboard_day_bounds(now, &wb->day_start_ms, &wb->next_day_ms);
	for (size_t i = 0; i < engine_queue_count(e); i++) {
		struct engine_queue_stats s;
		if (engine_queue_stats(e, engine_queue_name(e, i), now, &s) == 0) {
			struct wb_queue *q = wallboard_queue(wb, s.queue);
			q->base = s.total;
			memset(&q->carried, 0, sizeof q->carried);
			q->carried_asa_sum_ms = 0;
		}
	}
}

/* ---- persistence ---------------------------------------------------------- */

static struct engine_period_stats wallboard_today(const struct engine_period_stats *t,
                                                  const struct engine_period_stats *b,
                                                  const struct wb_queue *c, double *asa_sum_ms);

/* Restored counts: today's until the last save. What this engine counts
 * from now on adds to them (its totals so far are in the save, if this
 * daemon made it, or were never saved, if it just started). */
static void wallboard_restore_today(void *arg, const char *queue,
                                    const struct engine_period_stats *today, double asa_sum_ms)
{
	struct wallboard *wb = arg;
	struct wb_queue *q = wallboard_queue(wb, queue);
	struct engine_queue_stats s;

	if (engine_queue_stats(router_engine(wb->adm->env.router), queue, router_now_ms(), &s) == 0)
		q->base = s.total;
	q->carried = *today;
	q->carried_asa_sum_ms = asa_sum_ms;
}

/* Restored history: the saved samples go before those taken since start,
 * the ones older than an hour left out. */
static void wallboard_restore_history(void *arg, const char *queue, size_t n, const int64_t *t_ms,
                                      const double *sl, const uint32_t *waiting)
{
	struct wallboard *wb = arg;
	struct wb_queue *q = wallboard_queue(wb, queue);
	int64_t t[WALLBOARD_HISTORY], first = INT64_MAX;
	double s[WALLBOARD_HISTORY];
	uint32_t w[WALLBOARD_HISTORY];
	size_t m = 0;
	int64_t from = wb->next_sample_ms - (int64_t)WALLBOARD_HISTORY * WALLBOARD_SAMPLE_MS;

	if (q->n > 0)
		first = q->t_ms[(q->head + WALLBOARD_HISTORY - q->n) % WALLBOARD_HISTORY];
	for (size_t i = 0; i < n && m + q->n < WALLBOARD_HISTORY; i++)
		if (t_ms[i] >= from && t_ms[i] < first) {
			t[m] = t_ms[i];
			s[m] = sl[i];
			w[m++] = waiting[i];
		}
	for (size_t k = 0; k < q->n; k++) {
		size_t i = (q->head + WALLBOARD_HISTORY - q->n + k) % WALLBOARD_HISTORY;
		t[m] = q->t_ms[i];
		s[m] = q->sl[i];
		w[m++] = q->waiting[i];
	}
	memcpy(q->t_ms, t, m * sizeof *t);
	memcpy(q->sl, s, m * sizeof *s);
	memcpy(q->waiting, w, m * sizeof *w);
	q->n = m;
	q->head = m % WALLBOARD_HISTORY;
}

static void wallboard_on_read(void *arg, int err, const struct store_field *f, size_t n)
{
	struct wb_read *rd = arg;
	struct wallboard *wb = rd->wb;
	int64_t day = 0;

	if (wb == NULL || err != 0) { /* gone; or read again at the next tick */
		if (wb != NULL)
			wb->reading = NULL;
		free(rd);
		return;
	}
	wb->reading = NULL;
	snprintf(wb->restored_epoch, sizeof wb->restored_epoch, "%s", rd->epoch);
	free(rd);
	/* the hour whatever the day (older samples are left out); the counts
	 * only when they are today's */
	const struct record_figures_sink hours = {NULL, wallboard_restore_history, wb};
	const struct record_figures_sink counts = {wallboard_restore_today, NULL, wb};
	int bad = record_figures_decode(f, n, &day, &hours);
	if (day == wb->day_start_ms)
		record_figures_decode(f, n, &day, &counts);
	if (bad > 0)
		log_warnx("admin: %d of the wallboard's saved figures could not be read", bad);
	if (n > 0)
		log_info("admin: wallboard figures restored (%s)",
		         day == wb->day_start_ms ? "today's and the hour's" : "the hour's; another day's counts dropped");
}

/* Saves today's counts and the hour of every queue. */
static void wallboard_save(struct wallboard *wb, int64_t now)
{
	const struct engine *e = router_engine(wb->adm->env.router);
	size_t nq = engine_queue_count(e), k = 0, nf;
	struct record_figures_queue *rq = xcalloc(nq > 0 ? nq : 1, sizeof *rq);
	struct { int64_t t[WALLBOARD_HISTORY]; double sl[WALLBOARD_HISTORY]; uint32_t w[WALLBOARD_HISTORY]; } *h =
	    xcalloc(nq > 0 ? nq : 1, sizeof *h);
	struct store_field *f;

	for (size_t i = 0; i < nq; i++) {
		struct engine_queue_stats s;
		struct wb_queue *q;
		if (engine_queue_stats(e, engine_queue_name(e, i), now, &s) != 0 ||
		    (q = strmap_get(&wb->queues, s.queue)) == NULL)
			continue;
		rq[k].name = q->name;
		rq[k].today = wallboard_today(&s.total, &q->base, q, &rq[k].asa_sum_ms);
		for (size_t j = 0; j < q->n; j++) {
			size_t at = (q->head + WALLBOARD_HISTORY - q->n + j) % WALLBOARD_HISTORY;
			h[k].t[j] = q->t_ms[at];
			h[k].sl[j] = q->sl[at];
			h[k].w[j] = q->waiting[at];
		}
		rq[k].n = q->n;
		rq[k].t_ms = h[k].t;
		rq[k].sl = h[k].sl;
		rq[k].waiting = h[k].w;
		k++;
	}
	f = record_figures_encode(wb->day_start_ms, rq, k, &nf);
	/* a standby, or a leader between epochs, does not write: fine */
	(void)store_save_figures(wb->adm->env.store, f, nf, WALLBOARD_SAVE_TTL_S, NULL, NULL);
	record_figures_free(f, nf);
	free(h);
	free(rq);
}

/* While leading and serving: reads the saved figures once in the term,
 * then saves them. */
static void wallboard_persist(struct wallboard *wb, int64_t now)
{
	struct store *st = wb->adm->env.store;

	if (st == NULL || !router_serving(wb->adm->env.router) || strcmp(store_epoch(st), "0") == 0)
		return;
	if (!wallboard_restored(wb)) {
		if (wb->reading == NULL) {
			struct wb_read *rd = xcalloc(1, sizeof *rd);
			rd->wb = wb;
			snprintf(rd->epoch, sizeof rd->epoch, "%s", store_epoch(st));
			if (store_read_figures(st, wallboard_on_read, rd) == 0)
				wb->reading = rd;
			else
				free(rd);
		}
		return;
	}
	if (now >= wb->next_save_ms) {
		wallboard_save(wb, now);
		wb->next_save_ms = now + WALLBOARD_SAVE_MS;
	}
}

int64_t wallboard_tick(struct wallboard *wb, int64_t now)
{
	if (now >= wb->next_day_ms || now < wb->day_start_ms) /* midnight, or the clock stepped */
		wallboard_new_day(wb, now);
	if (now >= wb->next_sample_ms) {
		wallboard_sample(wb, now);
		wb->next_sample_ms = now + WALLBOARD_SAMPLE_MS;
	}
	wallboard_persist(wb, now);
	int64_t next = wb->next_sample_ms < wb->next_day_ms ? wb->next_sample_ms : wb->next_day_ms;
	/* not restored yet: look again soon */
	int64_t save = wallboard_restored(wb) ? wb->next_save_ms : now + WALLBOARD_SAVE_MS / 5;
	return save < next ? save : next;
}

/* ---- the snapshot -------------------------------------------------------- */

static uint64_t wallboard_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* Today's figures: the engine's totals less those at midnight, plus those
 * carried over a restart (c may be NULL); *asa_sum_ms: the answers' total
 * wait, which is what is saved. */
static struct engine_period_stats wallboard_today(const struct engine_period_stats *t,
                                                  const struct engine_period_stats *b,
                                                  const struct wb_queue *c, double *asa_sum_ms)
{
	struct engine_period_stats d = {0}, none = {0};
	const struct engine_period_stats *k = c != NULL ? &c->carried : &none;
	double asa_sum;

	d.offered = wallboard_sub(t->offered, b->offered) + k->offered;
	d.answered = wallboard_sub(t->answered, b->answered) + k->answered;
	d.answered_in_sla = wallboard_sub(t->answered_in_sla, b->answered_in_sla) + k->answered_in_sla;
	d.abandoned_in_sla =
	    wallboard_sub(t->abandoned_in_sla, b->abandoned_in_sla) + k->abandoned_in_sla;
	d.abandoned_after_sla =
	    wallboard_sub(t->abandoned_after_sla, b->abandoned_after_sla) + k->abandoned_after_sla;
	d.expired = wallboard_sub(t->expired, b->expired) + k->expired;
	d.overflowed = wallboard_sub(t->overflowed, b->overflowed) + k->overflowed;
	d.service_level = d.answered + d.abandoned_after_sla > 0
	                      ? (double)d.answered_in_sla / (double)(d.answered + d.abandoned_after_sla)
	                      : -1;
	/* the engine's averages are over its counts: back to sums, subtract */
	asa_sum = (t->asa_ms > 0 ? t->asa_ms * (double)t->answered : 0) -
	          (b->asa_ms > 0 ? b->asa_ms * (double)b->answered : 0);
	if (asa_sum < 0)
		asa_sum = 0;
	asa_sum += c != NULL ? c->carried_asa_sum_ms : 0;
	if (asa_sum_ms != NULL)
		*asa_sum_ms = asa_sum;
	d.asa_ms = d.answered > 0 ? (asa_sum > 0 ? asa_sum / (double)d.answered : 0) : -1;
	d.aht_ms = -1;
	return d;
}

/* Per queue, from the open contacts: waiting (or offered) by customer tier,
 * and how many have used WALLBOARD_RISK_WAIT_PCT of their threshold. */
#define WB_MAX_TIERS 32
struct wb_tally {
	const struct sb_config *cfg;
	int64_t now;
	struct wb_tally_queue {
		const char *name;
		uint32_t by_tier[WB_MAX_TIERS + 1]; /* + 1: a tier not configured */
		uint32_t near_breach; /* unanswered, past WALLBOARD_RISK_WAIT_PCT of SLA */
		uint32_t past_sla;    /* unanswered, past its SLA threshold */
		const char *oldest;   /* the longest-waiting contact not offered yet */
		int64_t oldest_ms;
	} *q;
	size_t nq;
	uint32_t by_channel[SB_CH_COUNT];
	uint32_t by_tier[WB_MAX_TIERS + 1];
	uint32_t total;
};

static size_t wallboard_tier_index(const struct sb_config *cfg, const char *tier)
{
	size_t n = cfg->n_customer_tiers < WB_MAX_TIERS ? cfg->n_customer_tiers : WB_MAX_TIERS;

	for (size_t i = 0; tier != NULL && i < n; i++)
		if (strcmp(cfg->customer_tiers[i].name, tier) == 0)
			return i;
	return WB_MAX_TIERS;
}

static void wallboard_tally_one(void *arg, const struct engine_contact_view *c)
{
	struct wb_tally *t = arg;
	size_t tier;

	if (c->state != CONTACT_WAITING && c->state != CONTACT_OFFERED)
		return;
	tier = wallboard_tier_index(t->cfg, c->customer_tier);
	t->total++;
	t->by_channel[c->channel]++;
	t->by_tier[tier]++;
	for (size_t i = 0; i < t->nq; i++)
		if (strcmp(t->q[i].name, c->queue) == 0) {
			int64_t waited = t->now - c->arrived_ms;
			t->q[i].by_tier[tier]++;
			if (c->sla_ms > 0 && waited >= c->sla_ms)
				t->q[i].past_sla++;
			else if (c->sla_ms > 0 && waited * 100 >= c->sla_ms * WALLBOARD_RISK_WAIT_PCT)
				t->q[i].near_breach++;
			if (c->state == CONTACT_WAITING &&
			    (t->q[i].oldest == NULL || c->arrived_ms < t->q[i].oldest_ms)) {
				t->q[i].oldest = c->id;
				t->q[i].oldest_ms = c->arrived_ms;
			}
			break;
		}
}

static void wallboard_write_tiers(struct json_out *j, const struct sb_config *cfg,
                                  const uint32_t *by_tier)
{
	json_obj_open(j);
	for (size_t i = 0; i < cfg->n_customer_tiers && i < WB_MAX_TIERS; i++)
		json_kuint(j, cfg->customer_tiers[i].name, by_tier[i]);
	if (by_tier[WB_MAX_TIERS] > 0)
		json_kuint(j, "other", by_tier[WB_MAX_TIERS]);
	json_obj_close(j);
}

static void wallboard_kmaybe(struct json_out *j, const char *key, double v)
{
	json_key(j, key);
	if (v < 0)
		json_null(j);
	else
		json_num(j, v);
}

/* Whether anyone could take the queue's longest-waiting contact: an agent
 * that qualifies for it now and is logged in, connected and available
 * (busy or not). Nobody: nothing will be answered however long it waits. */
static bool wallboard_staffed(const struct engine *e, const struct wb_tally_queue *tq,
                              int64_t now)
{
	struct engine_explain x;
	const char *why;

	if (tq->oldest == NULL || engine_explain(e, tq->oldest, now, &x, &why) != 0)
		return true;
	return x.eligible + x.blocked_capacity + x.blocked_penalty > 0;
}

/* The queue's colour, from what is happening now (docs/wallboard.md
 * "Status"), and why, in words for the page:
 * - breached: an unanswered contact is past its SLA threshold, or contacts
 *   wait and no agent who could take them is available;
 * - at_risk: one is past WALLBOARD_RISK_WAIT_PCT of its threshold, or the
 *   window's service level is below target (the past still shows, as
 *   amber, but it cannot hide a queue that is failing now);
 * - on_target otherwise. */
static const char *wallboard_status(const struct engine_queue_stats *s,
                                    const struct wb_tally_queue *tq, bool staffed,
                                    char *why, size_t whylen)
{
	double sl = s->window.service_level;

	if (tq->past_sla > 0) {
		/* short: the card shows the longest wait beside it */
		snprintf(why, whylen, "%u waiting past the SLA", tq->past_sla);
		return "breached";
	}
	if (s->waiting > 0 && !staffed) {
		snprintf(why, whylen, "%u waiting, no agent available for them", s->waiting);
		return "breached";
	}
	if (tq->near_breach > 0) {
		snprintf(why, whylen, "%u waiting past %d%% of the SLA", tq->near_breach,
		         WALLBOARD_RISK_WAIT_PCT);
		return "at_risk";
	}
	if (sl >= 0 && sl * 100.0 < s->target_pct) {
		/* in points against the target, never "x % below" */
		snprintf(why, whylen, "SL %.0f%% (target %d%%)", sl * 100.0, s->target_pct);
		return "at_risk";
	}
	snprintf(why, whylen, sl >= 0 ? "SL meets the target" : "nothing measured yet");
	return "on_target";
}

static void wallboard_write_history(struct json_out *j, const struct wb_queue *q, int64_t now)
{
	json_obj_open(j);
	json_kint(j, "interval_ms", WALLBOARD_SAMPLE_MS);
	/* [seconds before now, service level or null, waiting], oldest first */
	json_key(j, "samples");
	json_arr_open(j);
	for (size_t k = 0; q != NULL && k < q->n; k++) {
		size_t i = (q->head + WALLBOARD_HISTORY - q->n + k) % WALLBOARD_HISTORY;
		json_arr_open(j);
		json_int(j, (q->t_ms[i] - now) / 1000);
		if (q->sl[i] < 0)
			json_null(j);
		else
			json_num(j, (double)(int)(q->sl[i] * 1000.0 + 0.5) / 1000.0);
		json_uint(j, q->waiting[i]);
		json_arr_close(j);
	}
	json_arr_close(j);
	json_obj_close(j);
}

static void wallboard_write_queue(struct wallboard *wb, struct json_out *j,
                                  const struct engine_queue_stats *s,
                                  const struct wb_tally_queue *tq, int64_t now)
{
	const struct sb_config *cfg = router_config(wb->adm->env.router);
	struct wb_queue *q = strmap_get(&wb->queues, s->queue);
	struct engine_period_stats zero = {0}, today;
	char why[128];
	bool staffed = wallboard_staffed(router_engine(wb->adm->env.router), tq, now);
	const char *status = wallboard_status(s, tq, staffed, why, sizeof why);

	zero.asa_ms = -1;
	today = wallboard_today(&s->total, q != NULL ? &q->base : &zero, q, NULL);
	json_obj_open(j);
	json_kstr(j, "name", s->queue);
	json_kstr(j, "channel", channel_name(s->channel));
	json_kuint(j, "waiting", s->waiting);
	json_key(j, "waiting_by_tier");
	wallboard_write_tiers(j, cfg, tq->by_tier);
	json_kint(j, "longest_wait_ms", s->longest_wait_ms);
	json_kint(j, "sla_ms", s->sla_ms);
	json_kint(j, "target_pct", s->target_pct);
	json_key(j, "service_level");
	json_obj_open(j);
	wallboard_kmaybe(j, "window", s->window.service_level);
	wallboard_kmaybe(j, "today", today.service_level);
	json_obj_close(j);
	json_kstr(j, "status", status);
	json_kstr(j, "status_reason", why);
	json_kuint(j, "near_breach", tq->near_breach);
	json_kuint(j, "past_sla", tq->past_sla);
	json_kbool(j, "staffed", staffed);
	json_key(j, "today");
	json_obj_open(j);
	json_kuint(j, "offered", today.offered);
	json_kuint(j, "answered", today.answered);
	json_kuint(j, "answered_in_sla", today.answered_in_sla);
	json_kuint(j, "abandoned", today.abandoned_in_sla + today.abandoned_after_sla);
	json_kuint(j, "expired", today.expired);
	json_kuint(j, "overflowed", today.overflowed);
	wallboard_kmaybe(j, "asa_ms", today.asa_ms);
	json_obj_close(j);
	json_key(j, "window");
	json_obj_open(j);
	json_kuint(j, "answered", s->window.answered);
	json_kuint(j, "abandoned", s->window.abandoned_in_sla + s->window.abandoned_after_sla);
	wallboard_kmaybe(j, "asa_ms", s->window.asa_ms);
	json_obj_close(j);
	json_key(j, "history");
	wallboard_write_history(j, q, now);
	json_obj_close(j);
}

/* Agents: counts by the state the wallboard shows, then the list. */
struct wb_agents {
	struct wallboard *wb;
	struct json_out *j;
	int64_t now;
	size_t by_shown[WB_SHOWN_COUNT], away;
};

static bool wallboard_agent_busy(const struct engine_agent_view *a)
{
	for (int ch = 0; ch < SB_CH_COUNT; ch++)
		if (a->load[ch] > 0)
			return true;
	return false;
}

/* What the wallboard shows an agent as: one of these, never two, so the
 * counts add up to the roster. Holding any contact (offered, assigned or in
 * wrap-up) is on contact, whatever capacity is left and whatever its own
 * state (one who set a break while finishing a call is still on it): the
 * order of the agents gauge in /metrics (README "Agents by state"). */
static enum wb_shown wallboard_shown(const struct engine_agent_view *a)
{
	if (!a->logged_in)
		return WB_LOGGED_OUT;
	if (wallboard_agent_busy(a))
		return WB_ON_CONTACT;
	switch (a->state) {
	case AGENT_AVAILABLE:
		return WB_AVAILABLE;
	case AGENT_BREAK:
		return WB_BREAK;
	case AGENT_OFFLINE:
		break;
	}
	return WB_OFFLINE;
}

static const char *const wb_shown_names[WB_SHOWN_COUNT] = {
    [WB_AVAILABLE] = "available", [WB_ON_CONTACT] = "on_contact", [WB_BREAK] = "break",
    [WB_OFFLINE] = "offline",     [WB_LOGGED_OUT] = "logged_out",
};

/* Since when it has shown as it does: on contact, since it took its first
 * contact; otherwise the later of its state's start and when it let go of
 * its last contact. */
static int64_t wallboard_shown_since(const struct engine_agent_view *a)
{
	if (wallboard_shown(a) == WB_ON_CONTACT && a->busy_since_ms > 0)
		return a->busy_since_ms;
	return a->busy_since_ms > a->state_since_ms ? a->busy_since_ms : a->state_since_ms;
}

static void wallboard_count_agent(void *arg, const struct engine_agent_view *a)
{
	struct wb_agents *c = arg;

	c->by_shown[wallboard_shown(a)]++;
	if (a->logged_in && a->detached)
		c->away++;
}

static void wallboard_write_agent(void *arg, const struct engine_agent_view *a)
{
	struct wb_agents *c = arg;
	struct json_out *j = c->j;
	int64_t since = wallboard_shown_since(a);

	json_obj_open(j);
	admin_json_agent_fields(c->wb->adm, j, a, c->now);
	json_kstr(j, "state", a->logged_in ? engine_agent_state_name(a->state) : "logged_out");
	json_kstr(j, "shown", wb_shown_names[wallboard_shown(a)]);
	json_kbool(j, "on_contact", wallboard_agent_busy(a));
	json_kint(j, "time_in_state_ms", since > 0 && since <= c->now ? c->now - since : 0);
	json_obj_close(j);
}

static void wallboard_write_events(struct wallboard *wb, struct json_out *j)
{
	json_arr_open(j);
	const struct metrics *m = metrics_current();
	for (size_t k = 0; m != NULL && k < m->note_n; k++) { /* newest first */
		const struct metrics_note *ev =
		    &m->notes[(m->note_head + METRICS_NOTES - 1 - k) % METRICS_NOTES];
		json_obj_open(j);
		json_kint(j, "t_ms", ev->t_ms);
		json_kstr(j, "kind", ev->kind);
		json_kstr(j, "contact", ev->contact);
		json_kstr(j, "queue", ev->queue);
		json_kstr(j, "channel", channel_name((enum sb_channel)ev->channel));
		json_kstr(j, "customer_tier", ev->tier);
		json_kstr(j, "detail", ev->detail);
		json_kint(j, "waited_ms", ev->waited_ms);
		json_kint(j, "sla_ms", ev->sla_ms);
		json_obj_close(j);
	}
	json_arr_close(j);
}

void wallboard_write(struct wallboard *wb, struct json_out *j, int64_t now, size_t streams)
{
	const struct engine *e = router_engine(wb->adm->env.router);
	const struct sb_config *cfg = router_config(wb->adm->env.router);
	size_t nq = engine_queue_count(e);
	struct wb_tally t = {cfg, now, NULL, nq, {0}, {0}, 0};
	struct wb_agents ag = {wb, j, now, {0}, 0};

	wallboard_tick(wb, now); /* a midnight passed since the last tick counts now */
	t.q = xcalloc(nq > 0 ? nq : 1, sizeof *t.q);
	for (size_t i = 0; i < nq; i++)
		t.q[i].name = engine_queue_name(e, i);
	engine_each_contact(e, wallboard_tally_one, &t);

	json_obj_open(j);
	json_kint(j, "now_ms", now);
	json_kstr(j, "site", cfg->site);
	json_kint(j, "today_since_ms", wb->day_start_ms);
	json_kint(j, "window_ms", cfg->stats_window_ms);
	json_key(j, "at_risk");
	json_obj_open(j);
	json_kint(j, "wait_pct", WALLBOARD_RISK_WAIT_PCT);
	json_obj_close(j);
	json_kuint(j, "streams", streams);
	json_key(j, "waiting");
	json_obj_open(j);
	json_kuint(j, "total", t.total);
	json_key(j, "by_channel");
	json_obj_open(j);
	for (int ch = 0; ch < SB_CH_COUNT; ch++)
		json_kuint(j, channel_name((enum sb_channel)ch), t.by_channel[ch]);
	json_obj_close(j);
	json_key(j, "by_tier");
	wallboard_write_tiers(j, cfg, t.by_tier);
	json_obj_close(j);

	json_key(j, "queues");
	json_arr_open(j);
	for (size_t i = 0; i < nq; i++) {
		struct engine_queue_stats s;
		if (engine_queue_stats(e, t.q[i].name, now, &s) == 0)
			wallboard_write_queue(wb, j, &s, &t.q[i], now);
	}
	json_arr_close(j);
	free(t.q);

	engine_each_agent(e, wallboard_count_agent, &ag);
	json_key(j, "agents");
	json_obj_open(j);
	json_key(j, "counts");
	json_obj_open(j);
	for (int s = 0; s < WB_SHOWN_COUNT; s++)
		json_kuint(j, wb_shown_names[s], ag.by_shown[s]);
	json_kuint(j, "away", ag.away); /* of those logged in, across the others */
	json_obj_close(j);
	json_key(j, "list");
	json_arr_open(j);
	engine_each_agent(e, wallboard_write_agent, &ag);
	json_arr_close(j);
	json_obj_close(j);

	json_kuint(j, "events_total", wallboard_notes_total());
	json_key(j, "events");
	wallboard_write_events(wb, j);
	json_obj_close(j);
}

/* FNV-1a over what changes when something happens (not clocks). */
static void wallboard_mix(uint64_t *h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		*h ^= (v >> (i * 8)) & 0xff;
		*h *= 1099511628211ULL;
	}
}

static void wallboard_key_agent(void *arg, const struct engine_agent_view *a)
{
	uint64_t *h = arg;

	wallboard_mix(h, (uint64_t)a->state | (uint64_t)a->logged_in << 4 |
	                     (uint64_t)a->detached << 5);
	wallboard_mix(h, (uint64_t)a->state_since_ms);
	wallboard_mix(h, (uint64_t)a->busy_since_ms);
	for (int ch = 0; ch < SB_CH_COUNT; ch++)
		wallboard_mix(h, (uint64_t)a->load[ch]);
}

uint64_t wallboard_change_key(struct wallboard *wb)
{
	const struct engine *e = router_engine(wb->adm->env.router);
	uint64_t h = 14695981039346656037ULL;

	wallboard_mix(&h, wallboard_notes_total());
	wallboard_mix(&h, engine_waiting_count(e));
	for (size_t i = 0; i < engine_queue_count(e); i++)
		wallboard_mix(&h, engine_queue_waiting(e, engine_queue_name(e, i)));
	engine_each_agent(e, wallboard_key_agent, &h);
	return h;
}
