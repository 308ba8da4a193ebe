/* sb-engine-bench: routing decisions per second and the latency of each, for
 * the engine alone on one pinned core, as waiting contacts and agents grow
 * (DESIGN section 7). A decision is one engine call that produces an offer:
 * an agent frees (made available, completes, rejects) and gets its next
 * contact, or a contact arrives and finds an idle agent. Public engine API
 * only; bench/README.md explains the method. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_rng.h"
#include "engine/engine.h"
#include "util/err.h"

#define DAY_MS (24LL * 3600 * 1000)
#define CONTACT_ID_LEN 24
#define OFFER_ID_LEN 48
#define MAX_SAMPLES (16u * 1000 * 1000)

enum { TIER_SENIOR, TIER_REGULAR, TIER_TRAINEE, N_AGENT_TIERS };
enum { CT_VIP, CT_GOLD, CT_STANDARD, N_CUSTOMER_TIERS };
static const char *const agent_tier_names[N_AGENT_TIERS] = {"senior", "regular", "trainee"};
static const char *const customer_tier_names[N_CUSTOMER_TIERS] = {"vip", "gold", "standard"};

/* Which kind of call made a decision. */
enum source { SRC_AVAILABLE, SRC_COMPLETE, SRC_REJECT, SRC_SUBMIT, N_SOURCES };
static const char *const source_names[N_SOURCES] = {"make-available", "complete", "reject",
						    "submit"};

struct opts {
	uint32_t agents, waiting, skills, queues;
	uint64_t decisions;
	uint64_t seed;
	int reject_pct;
	int strategy;
	bool table, quick, verify, check, fork;
	bool agents_set, waiting_set, decisions_set;
};

/* The generated roster and queues, also used to verify offers. */
struct world {
	uint32_t n_agents, n_skills, n_queues;
	char (*skill_names)[12];
	char (*queue_names)[12];
	char (*agent_ids)[12];
	enum sb_channel *queue_ch;
	uint8_t *queue_nreq;
	uint16_t (*queue_skill)[2];
	uint8_t (*queue_min)[2];
	uint8_t *agent_tier;
	uint8_t *levels;   /* n_agents x n_skills; 0: lacks the skill */
	uint8_t *serves;   /* n_agents x n_queues */
	double *queue_cum; /* cumulative eligible capacity, to pick a queue */
};

/* An outstanding offer, as the sink saw it. */
struct offer_rec {
	uint32_t agent;
	uint32_t queue;
	char contact[CONTACT_ID_LEN];
	char offer[OFFER_ID_LEN];
};

/* The sink's context: outstanding offers and counters. */
struct bench {
	const struct world *w;
	struct offer_rec *recs;
	size_t n_recs, cap_recs;
	uint64_t offers, assigned, completed, cancelled, expired, events, agent_states;
	uint64_t offer_ended[4];
	uint64_t bad_ids, violations;
	bool verify;
};

/* Latency samples of one kind of call, in ns. */
struct samples {
	uint32_t *v;
	size_t n, cap;
	uint64_t count, total_ns, max_ns;
};

/* Summary of a sample set. */
struct stat {
	uint64_t count;
	double mean_us, p50_us, p90_us, p99_us, p999_us, max_us;
	double total_s;
};

/* One row's result, sent from the child that ran it. */
struct row_result {
	int ok;
	char err[256];
	uint32_t agents, waiting;
	double build_s, fill_s, fill_rate, avail_s, topup_s, loop_s;
	double rss_world_mib, rss_filled_mib, rss_end_mib;
	struct stat decision, insert, accept, complete_idle, tick, avail;
	struct stat by_source[N_SOURCES]; /* steady decisions by the call that made them */
	uint64_t dec_by_source[N_SOURCES];
	uint64_t over_100us, over_1ms; /* steady decisions slower than these */
	uint64_t offers, tick_offers, timeouts, rejects, accept_errors, bad_ids, violations;
	uint64_t waiting_end, idle_completes;
	double loop_rate;
	char invariants[160];
};

static uint64_t timer_overhead_ns;

/* Monotonic time in ns. */
static inline uint64_t clk(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Prints a message and exits. */
static void die(const char *msg)
{
	fprintf(stderr, "sb-engine-bench: %s\n", msg);
	exit(1);
}

/* malloc that exits on failure, zero-filled. */
static void *zalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		die("out of memory");
	return p;
}

/* Compares two uint32 for qsort. */
static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Compares two uint64 for qsort. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The median cost of one clock_gettime pair, subtracted from every sample. */
static uint64_t measure_timer_overhead(void)
{
	enum { N = 200001 };
	uint64_t *d = zalloc(N, sizeof *d);

	for (int i = 0; i < N; i++) {
		uint64_t t0 = clk();
		d[i] = clk() - t0;
	}
	qsort(d, N, sizeof *d, cmp_u64);
	uint64_t med = d[N / 2];
	free(d);
	return med;
}

/* Resident set size in MiB. */
static double rss_mib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* Records one call's cost (ns, timer overhead not yet removed). */
static void samples_add(struct samples *s, uint64_t raw_ns)
{
	uint64_t ns = raw_ns > timer_overhead_ns ? raw_ns - timer_overhead_ns : 0;

	s->count++;
	s->total_ns += ns;
	if (ns > s->max_ns)
		s->max_ns = ns;
	if (s->n == s->cap) {
		if (s->cap >= MAX_SAMPLES)
			return;
		s->cap = s->cap ? s->cap * 2 : 65536;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (s->v == NULL)
			die("out of memory");
	}
	s->v[s->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

/* The nearest-rank percentile p (0..1) of sorted v. */
static double pct(const uint32_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(p * (double)n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1] / 1000.0;
}

/* Summarises and frees a sample set. */
static struct stat samples_done(struct samples *s)
{
	struct stat st = {0};

	st.count = s->count;
	st.total_s = (double)s->total_ns / 1e9;
	if (s->count > 0) {
		qsort(s->v, s->n, sizeof *s->v, cmp_u32);
		st.mean_us = (double)s->total_ns / (double)s->count / 1000.0;
		st.p50_us = pct(s->v, s->n, 0.50);
		st.p90_us = pct(s->v, s->n, 0.90);
		st.p99_us = pct(s->v, s->n, 0.99);
		st.p999_us = pct(s->v, s->n, 0.999);
		st.max_us = (double)s->max_ns / 1000.0;
	}
	free(s->v);
	memset(s, 0, sizeof *s);
	return st;
}

/* Parses the decimal number after a one-letter prefix ("a123" -> 123). */
static uint32_t id_number(const char *id, bool *bad)
{
	uint32_t n = 0;

	if (id == NULL || id[0] == '\0' || id[1] == '\0') {
		*bad = true;
		return 0;
	}
	for (const char *p = id + 1; *p; p++) {
		if (*p < '0' || *p > '9') {
			*bad = true;
			return 0;
		}
		n = n * 10 + (uint32_t)(*p - '0');
	}
	return n;
}

/* Whether agent a meets queue q's skill requirements and serves it. */
static bool world_eligible(const struct world *w, uint32_t a, uint32_t q)
{
	if (!w->serves[(size_t)a * w->n_queues + q])
		return false;
	for (unsigned k = 0; k < w->queue_nreq[q]; k++)
		if (w->levels[(size_t)a * w->n_skills + w->queue_skill[q][k]] < w->queue_min[q][k])
			return false;
	return true;
}

/* sink: an offer was made; remembers it so the loop can accept it. */
static void sink_offer(void *ctx, const struct engine_contact_view *c, int64_t now)
{
	struct bench *b = ctx;
	bool bad = false;

	b->offers++;
	if (b->n_recs == b->cap_recs) {
		b->cap_recs = b->cap_recs ? b->cap_recs * 2 : 4096;
		b->recs = realloc(b->recs, b->cap_recs * sizeof *b->recs);
		if (b->recs == NULL)
			die("out of memory");
	}
	struct offer_rec *r = &b->recs[b->n_recs];
	r->agent = id_number(c->agent_id, &bad);
	r->queue = id_number(c->queue, &bad);
	size_t lc = c->id ? strlen(c->id) : CONTACT_ID_LEN;
	size_t lo = c->offer_id ? strlen(c->offer_id) : OFFER_ID_LEN;
	if (bad || lc >= CONTACT_ID_LEN || lo >= OFFER_ID_LEN || r->agent >= b->w->n_agents ||
	    r->queue >= b->w->n_queues) {
		b->bad_ids++;
		return;
	}
	memcpy(r->contact, c->id, lc + 1);
	memcpy(r->offer, c->offer_id, lo + 1);
	if (b->verify && !world_eligible(b->w, r->agent, r->queue))
		b->violations++;
	b->n_recs++;
}

/* sink: an offer ended unaccepted. */
static void sink_offer_ended(void *ctx, const struct engine_contact_view *c, const char *agent_id,
			     const char *offer_id, enum engine_offer_end why, int64_t now)
{
	struct bench *b = ctx;

	if ((unsigned)why < 4)
		b->offer_ended[why]++;
}

/* sink: an offer was accepted. */
static void sink_assigned(void *ctx, const struct engine_contact_view *c, int64_t now)
{
	((struct bench *)ctx)->assigned++;
}

/* sink: a contact was completed. */
static void sink_completed(void *ctx, const struct engine_contact_view *c, const char *disposition,
			   int64_t now)
{
	((struct bench *)ctx)->completed++;
}

/* sink: a contact was cancelled (never in this benchmark). */
static void sink_cancelled(void *ctx, const struct engine_contact_view *c, const char *reason,
			   const char *rescinded_agent, const char *rescinded_offer, int64_t now)
{
	((struct bench *)ctx)->cancelled++;
}

/* sink: a contact expired (never: no max-wait here). */
static void sink_expired(void *ctx, const struct engine_contact_view *c, const char *reason,
			 int64_t now)
{
	((struct bench *)ctx)->expired++;
}

/* sink: SLA breach, overflow or transfer. */
static void sink_event(void *ctx, const struct engine_contact_view *c, enum engine_event ev,
		       const char *detail, int64_t now)
{
	((struct bench *)ctx)->events++;
}

/* sink: an agent's state changed. */
static void sink_agent_state(void *ctx, const struct engine_agent_view *a, int64_t now)
{
	((struct bench *)ctx)->agent_states++;
}

/* sink: a contact's payload is released (the benchmark gives none). */
static void sink_contact_free(void *ctx, void *user)
{
}

static const struct engine_sink bench_sink = {
	.offer = sink_offer,
	.offer_ended = sink_offer_ended,
	.assigned = sink_assigned,
	.completed = sink_completed,
	.cancelled = sink_cancelled,
	.expired = sink_expired,
	.event = sink_event,
	.agent_state = sink_agent_state,
	.contact_free = sink_contact_free,
};

/* Picks n distinct values below max into out (n <= max). */
static void pick_distinct(struct rng *r, uint32_t *out, uint32_t n, uint32_t max)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t v;
		bool dup;
		do {
			v = rng_below(r, max);
			dup = false;
			for (uint32_t j = 0; j < i; j++)
				dup = dup || out[j] == v;
		} while (dup);
		out[i] = v;
	}
}

/* Generates skills, queues and agents: every queue gets at least one agent
 * able to take it, and new contacts are spread over queues by capacity. */
static void world_make(struct world *w, const struct opts *o, uint32_t n_agents, struct rng *r)
{
	uint32_t S = o->skills, Q = o->queues;

	memset(w, 0, sizeof *w);
	w->n_agents = n_agents;
	w->n_skills = S;
	w->n_queues = Q;
	w->skill_names = zalloc(S, sizeof *w->skill_names);
	w->queue_names = zalloc(Q, sizeof *w->queue_names);
	w->agent_ids = zalloc(n_agents, sizeof *w->agent_ids);
	w->queue_ch = zalloc(Q, sizeof *w->queue_ch);
	w->queue_nreq = zalloc(Q, 1);
	w->queue_skill = zalloc(Q, sizeof *w->queue_skill);
	w->queue_min = zalloc(Q, sizeof *w->queue_min);
	w->agent_tier = zalloc(n_agents, 1);
	w->levels = zalloc((size_t)n_agents * S, 1);
	w->serves = zalloc((size_t)n_agents * Q, 1);
	w->queue_cum = zalloc(Q, sizeof *w->queue_cum);

	for (uint32_t s = 0; s < S; s++)
		snprintf(w->skill_names[s], sizeof w->skill_names[s], "s%u", s);
	for (uint32_t q = 0; q < Q; q++) {
		uint32_t sk[2];
		snprintf(w->queue_names[q], sizeof w->queue_names[q], "q%u", q);
		w->queue_ch[q] = rng_below(r, 10) < 7 ? SB_CH_VOICE : SB_CH_CHAT;
		w->queue_nreq[q] = (uint8_t)(1 + (S > 1 ? rng_below(r, 2) : 0));
		pick_distinct(r, sk, w->queue_nreq[q], S);
		for (unsigned k = 0; k < w->queue_nreq[q]; k++) {
			w->queue_skill[q][k] = (uint16_t)sk[k];
			w->queue_min[q][k] = (uint8_t)(1 + rng_below(r, 3));
		}
	}
	uint32_t *qs = zalloc(Q, sizeof *qs);
	for (uint32_t a = 0; a < n_agents; a++) {
		uint8_t *lv = &w->levels[(size_t)a * S];
		uint32_t p = rng_below(r, 100);
		snprintf(w->agent_ids[a], sizeof w->agent_ids[a], "a%u", a);
		w->agent_tier[a] = p < 20 ? TIER_SENIOR : p < 70 ? TIER_REGULAR : TIER_TRAINEE;
		uint32_t nq = 2 + rng_below(r, 5);
		if (nq > Q)
			nq = Q;
		pick_distinct(r, qs, nq, Q);
		for (uint32_t i = 0; i < nq; i++) {
			uint32_t q = qs[i];
			w->serves[(size_t)a * Q + q] = 1;
			for (unsigned k = 0; k < w->queue_nreq[q]; k++) {
				int want = w->queue_min[q][k] + (int)rng_below(r, 3);
				if (rng_below(r, 10) == 0)
					want = w->queue_min[q][k] - 1; /* serves it, lacks the level */
				if (want > 5)
					want = 5;
				uint8_t *l = &lv[w->queue_skill[q][k]];
				if (want > *l)
					*l = (uint8_t)want;
			}
		}
		uint32_t have = 0;
		for (uint32_t s = 0; s < S; s++)
			have += lv[s] > 0;
		uint32_t target = 5 + rng_below(r, 11);
		if (target > S)
			target = S;
		while (have < target) {
			uint32_t s = rng_below(r, S);
			if (lv[s] == 0) {
				lv[s] = (uint8_t)(1 + rng_below(r, 5));
				have++;
			}
		}
	}
	free(qs);
	/* every queue gets an able agent, then weights by eligible capacity */
	double sum = 0;
	for (uint32_t q = 0; q < Q; q++) {
		double cap = 0;
		for (uint32_t a = 0; a < n_agents; a++)
			if (world_eligible(w, a, q))
				cap += w->queue_ch[q] == SB_CH_VOICE ? 1 : 3;
		if (cap == 0) {
			uint32_t a = rng_below(r, n_agents);
			w->serves[(size_t)a * Q + q] = 1;
			for (unsigned k = 0; k < w->queue_nreq[q]; k++) {
				uint8_t *l = &w->levels[(size_t)a * S + w->queue_skill[q][k]];
				if (*l < w->queue_min[q][k])
					*l = w->queue_min[q][k];
			}
			cap = w->queue_ch[q] == SB_CH_VOICE ? 1 : 3;
		}
		sum += cap;
		w->queue_cum[q] = sum;
	}
}

/* Frees a world. */
static void world_free(struct world *w)
{
	free(w->skill_names);
	free(w->queue_names);
	free(w->agent_ids);
	free(w->queue_ch);
	free(w->queue_nreq);
	free(w->queue_skill);
	free(w->queue_min);
	free(w->agent_tier);
	free(w->levels);
	free(w->serves);
	free(w->queue_cum);
}

/* A queue, with probability in proportion to the capacity able to take it. */
static uint32_t world_pick_queue(const struct world *w, struct rng *r)
{
	double x = rng_unit(r) * w->queue_cum[w->n_queues - 1];
	uint32_t lo = 0, hi = w->n_queues - 1;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (w->queue_cum[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The engine's configuration for the benchmark: offers never time out (the
 * loop accepts them in random order) and wrap-up is 0. */
static void bench_conf(struct engine_conf *c, const struct opts *o)
{
	memset(c, 0, sizeof *c);
	c->channels[SB_CH_VOICE] = (struct engine_channel_conf){
		.sla_ms = 30000, .offer_timeout_ms = DAY_MS, .capacity = 1, .exclusive = true};
	c->channels[SB_CH_CHAT] = (struct engine_channel_conf){
		.sla_ms = 60000, .offer_timeout_ms = DAY_MS, .capacity = 3};
	c->channels[SB_CH_EMAIL] = (struct engine_channel_conf){
		.sla_ms = 4 * 3600 * 1000, .offer_timeout_ms = DAY_MS, .capacity = 5};
	c->channels[SB_CH_SOCIAL] = (struct engine_channel_conf){
		.sla_ms = 3600 * 1000, .offer_timeout_ms = DAY_MS, .capacity = 3};
	c->reject_delay_ms = 10000;
	c->max_no_answer = 0;
	c->transfer_boost_ms = 0;
	c->stats_window_ms = 15 * 60 * 1000;
	c->seed = o->seed;
	c->offer_prefix = "b";
	c->check_invariants = false;
}

/* Builds the engine: tiers, queues, then the roster. */
static struct engine *bench_build(const struct world *w, const struct opts *o, struct bench *b,
				  char *err, size_t errlen)
{
	struct engine_conf conf;
	const char *why = NULL;
	static const char *const seniors[] = {"senior"};

	bench_conf(&conf, o);
	struct engine *e = engine_new(&conf, &bench_sink, b);
	if (e == NULL) {
		snprintf(err, errlen, "engine_new failed");
		return NULL;
	}
	for (int i = 0; i < N_AGENT_TIERS; i++)
		if (engine_agent_tier_add(e, agent_tier_names[i], &why) != 0)
			goto fail;
	struct engine_customer_tier ct[N_CUSTOMER_TIERS] = {
		{.name = "vip", .sla_factor = 0.5, .first_agent_tiers = seniors,
		 .n_first_agent_tiers = 1, .widen_after_ms = 10000},
		{.name = "gold", .sla_factor = 0.8},
		{.name = "standard", .sla_factor = 1.0},
	};
	for (int i = 0; i < N_CUSTOMER_TIERS; i++)
		if (engine_customer_tier_add(e, &ct[i], &why) != 0)
			goto fail;
	for (uint32_t q = 0; q < w->n_queues; q++) {
		struct engine_skill_req req[2];
		for (unsigned k = 0; k < w->queue_nreq[q]; k++) {
			req[k].skill = w->skill_names[w->queue_skill[q][k]];
			req[k].min_level = w->queue_min[q][k];
		}
		struct engine_queue_def def = {
			.name = w->queue_names[q],
			.channel = w->queue_ch[q],
			.skills = req,
			.n_skills = w->queue_nreq[q],
			.strategy = (enum engine_strategy)o->strategy,
			.target_pct = 80,
		};
		if (engine_queue_add(e, &def, &why) != 0)
			goto fail;
	}
	if (engine_queues_done(e, &why) != 0)
		goto fail;
	struct engine_skill_level *sk = zalloc(w->n_skills, sizeof *sk);
	const char **qn = zalloc(w->n_queues, sizeof *qn);
	for (uint32_t a = 0; a < w->n_agents; a++) {
		size_t ns = 0, nq = 0;
		for (uint32_t s = 0; s < w->n_skills; s++) {
			uint8_t l = w->levels[(size_t)a * w->n_skills + s];
			if (l > 0)
				sk[ns++] = (struct engine_skill_level){w->skill_names[s], l};
		}
		for (uint32_t q = 0; q < w->n_queues; q++)
			if (w->serves[(size_t)a * w->n_queues + q])
				qn[nq++] = w->queue_names[q];
		struct engine_agent_def def = {
			.id = w->agent_ids[a],
			.tier = agent_tier_names[w->agent_tier[a]],
			.skills = sk,
			.n_skills = ns,
			.capacity = {[SB_CH_VOICE] = 1, [SB_CH_CHAT] = 3},
			.queues = qn,
			.n_queues = nq,
		};
		if (engine_agent_add(e, &def, NULL, &why) != 0) {
			free(sk);
			free(qn);
			goto fail;
		}
	}
	free(sk);
	free(qn);
	return e;
fail:
	snprintf(err, errlen, "engine set-up refused: %s", why ? why : "(no reason)");
	engine_free(e);
	return NULL;
}

/* State of one row's run. */
struct row {
	struct engine *e;
	struct bench *b;
	const struct world *w;
	struct rng r;
	uint64_t next_contact;
	int64_t now;
};

/* Submits a new contact to queue q; *ns is the call's cost, *offered whether
 * it produced an offer. */
static int row_submit(struct row *rw, uint32_t q, uint64_t *ns, bool *offered)
{
	char id[CONTACT_ID_LEN];
	uint32_t p = rng_below(&rw->r, 100);
	const char *tier = customer_tier_names[p < 5 ? CT_VIP : p < 20 ? CT_GOLD : CT_STANDARD];
	const char *qname = rw->w->queue_names[q];
	enum sb_channel ch = rw->w->queue_ch[q];
	uint32_t position = 0;
	int64_t est = 0;

	snprintf(id, sizeof id, "c%" PRIu64, rw->next_contact++);
	struct engine_submit in = {
		.id = id,
		.gateway_id = "bench",
		.external_id = id,
		.queue = qname,
		.channel = ch,
		.customer_tier = tier,
		.arrived_ms = rw->now,
		.deadline_ms = engine_deadline(rw->e, qname, ch, tier, rw->now, 0),
	};
	uint64_t before = rw->b->offers;
	uint64_t t0 = clk();
	int rc = engine_submit(rw->e, &in, rw->now, &position, &est);
	*ns = clk() - t0;
	*offered = rw->b->offers != before;
	return rc;
}

/* Fires the engine's timers when due; counts the cost apart. */
static void row_tick(struct row *rw, struct samples *ticks, uint64_t *tick_offers)
{
	if (engine_next_wakeup(rw->e) > rw->now)
		return;
	uint64_t before = rw->b->offers;
	uint64_t t0 = clk();
	engine_tick(rw->e, rw->now);
	samples_add(ticks, clk() - t0);
	*tick_offers += rw->b->offers - before;
}

/* Records a steady-state decision made by a call of kind k. */
static void decision_add(struct samples *dec, struct samples *src, struct row_result *res,
			 enum source k, uint64_t raw_ns)
{
	uint64_t ns = raw_ns > timer_overhead_ns ? raw_ns - timer_overhead_ns : 0;

	samples_add(dec, raw_ns);
	samples_add(&src[k], raw_ns);
	res->dec_by_source[k]++;
	res->over_100us += ns > 100000;
	res->over_1ms += ns > 1000000;
}

/* Runs one row: build, fill with waiting contacts while every agent is on
 * break, make agents available, then the steady-state loop. */
static void bench_row(const struct opts *o, uint32_t n_agents, uint32_t n_waiting,
		      struct row_result *res)
{
	struct world w;
	struct bench b = {0};
	struct row rw = {0};
	struct samples dec = {0}, ins = {0}, acc = {0}, cidle = {0}, ticks = {0}, avail = {0};
	struct samples src[N_SOURCES] = {{0}};
	const char *why = NULL;
	uint64_t t0, ns;
	bool offered;

	memset(res, 0, sizeof *res);
	res->agents = n_agents;
	res->waiting = n_waiting;
	rng_seed(&rw.r, o->seed);
	world_make(&w, o, n_agents, &rw.r);
	res->rss_world_mib = rss_mib();
	b.w = &w;
	b.verify = o->verify;
	rw.b = &b;
	rw.w = &w;
	rw.now = 1700000000000LL;

	t0 = clk();
	rw.e = bench_build(&w, o, &b, res->err, sizeof res->err);
	if (rw.e == NULL)
		goto out;
	struct engine *e = rw.e;
	for (uint32_t a = 0; a < n_agents; a++) {
		if (engine_agent_login(e, w.agent_ids[a], rw.now) != 0 ||
		    engine_agent_set_state(e, w.agent_ids[a], AGENT_BREAK, "bench-fill", rw.now,
					   &why) != 0) {
			snprintf(res->err, sizeof res->err, "login/break of %s refused: %s",
				 w.agent_ids[a], why ? why : "?");
			goto out;
		}
	}
	res->build_s = (double)(clk() - t0) / 1e9;

	/* fill: nobody is available, so every submit is an insert */
	t0 = clk();
	for (uint32_t i = 0; i < n_waiting; i++) {
		rw.now++;
		if (row_submit(&rw, world_pick_queue(&w, &rw.r), &ns, &offered) != 0) {
			snprintf(res->err, sizeof res->err, "fill submit %u refused", i);
			goto out;
		}
		if (offered) {
			snprintf(res->err, sizeof res->err,
				 "fill submit %u was offered while every agent is on break", i);
			goto out;
		}
	}
	res->fill_s = (double)(clk() - t0) / 1e9;
	res->fill_rate = n_waiting / (res->fill_s > 0 ? res->fill_s : 1e-9);
	if (engine_waiting_count(e) != n_waiting) {
		snprintf(res->err, sizeof res->err, "after the fill engine_waiting_count=%zu, want %u",
			 engine_waiting_count(e), n_waiting);
		goto out;
	}
	res->rss_filled_mib = rss_mib();
	/* timers due from the fill (SLA breaches, VIP widening) fire here, apart */
	uint64_t tick_offers = 0;
	row_tick(&rw, &ticks, &tick_offers);

	/* every agent becomes available: each call offers it work */
	t0 = clk();
	for (uint32_t a = 0; a < n_agents; a++) {
		uint64_t before = b.offers;
		uint64_t c0 = clk();
		int rc = engine_agent_set_state(e, w.agent_ids[a], AGENT_AVAILABLE, NULL, rw.now, &why);
		ns = clk() - c0;
		if (rc != 0) {
			snprintf(res->err, sizeof res->err, "set available refused: %s", why ? why : "?");
			goto out;
		}
		if (b.offers != before) {
			samples_add(&avail, ns);
			res->dec_by_source[SRC_AVAILABLE]++;
		}
	}
	res->avail_s = (double)(clk() - t0) / 1e9;

	/* top up: submits (offered at once while agents have room) until
	 * exactly n_waiting wait */
	t0 = clk();
	uint64_t guard = (uint64_t)n_waiting + (uint64_t)n_agents * 8 + 1000;
	while (engine_waiting_count(e) < n_waiting && guard-- > 0) {
		rw.now++;
		if (row_submit(&rw, world_pick_queue(&w, &rw.r), &ns, &offered) != 0) {
			snprintf(res->err, sizeof res->err, "top-up submit refused");
			goto out;
		}
	}
	res->topup_s = (double)(clk() - t0) / 1e9;
	row_tick(&rw, &ticks, &tick_offers);
	free(ticks.v); /* the catch-up ticks are set-up, not steady state */
	memset(&ticks, 0, sizeof ticks);
	tick_offers = 0;
	uint64_t offers0 = b.offers, timeouts0 = b.offer_ended[OFFER_END_TIMEOUT];

	/* steady state: accept + complete a random outstanding offer (the freed
	 * slot takes the next contact), replace the contact with a new one in
	 * the same queue, so the waiting count stays put */
	uint64_t loop0 = clk();
	while (dec.count < o->decisions) {
		rw.now++;
		row_tick(&rw, &ticks, &tick_offers);
		if (b.n_recs == 0 || engine_waiting_count(e) < n_waiting) {
			/* a reject can make two offers, and every agent may be
			 * idle: a new contact keeps the waiting count put */
			if (row_submit(&rw, world_pick_queue(&w, &rw.r), &ns, &offered) != 0) {
				snprintf(res->err, sizeof res->err, "steady submit refused");
				goto out;
			}
			if (offered)
				decision_add(&dec, src, res, SRC_SUBMIT, ns);
			else
				samples_add(&ins, ns);
			continue;
		}
		size_t i = rng_below(&rw.r, (uint32_t)b.n_recs);
		struct offer_rec rec = b.recs[i];
		b.recs[i] = b.recs[--b.n_recs];
		const char *aid = w.agent_ids[rec.agent];
		uint64_t before = b.offers;
		int rc;

		if ((int)rng_below(&rw.r, 100) < o->reject_pct) {
			uint64_t c0 = clk();
			rc = engine_reject(e, aid, rec.offer, "bench", rw.now, &why);
			ns = clk() - c0;
			if (rc != 0) {
				res->accept_errors++;
				continue;
			}
			res->rejects++;
			if (b.offers != before)
				decision_add(&dec, src, res, SRC_REJECT, ns);
			continue;
		}
		const struct engine_contact_view *cv = NULL;
		uint64_t c0 = clk();
		rc = engine_accept(e, aid, rec.offer, rw.now, &why, &cv);
		samples_add(&acc, clk() - c0);
		if (rc != 0) {
			res->accept_errors++; /* a stale record: the offer timed out */
			continue;
		}
		before = b.offers;
		c0 = clk();
		rc = engine_complete(e, aid, rec.contact, "done", rw.now, &why);
		ns = clk() - c0;
		if (rc != 0) {
			snprintf(res->err, sizeof res->err, "complete of %s by %s refused: %s",
				 rec.contact, aid, why ? why : "?");
			goto out;
		}
		if (b.offers != before)
			decision_add(&dec, src, res, SRC_COMPLETE, ns);
		else
			samples_add(&cidle, ns);
		if (row_submit(&rw, rec.queue, &ns, &offered) != 0) {
			snprintf(res->err, sizeof res->err, "steady submit refused");
			goto out;
		}
		if (offered)
			decision_add(&dec, src, res, SRC_SUBMIT, ns);
		else
			samples_add(&ins, ns);
	}
	res->loop_s = (double)(clk() - loop0) / 1e9;
	res->rss_end_mib = rss_mib();
	res->waiting_end = engine_waiting_count(e);
	res->offers = b.offers - offers0;
	res->tick_offers = tick_offers;
	res->timeouts = b.offer_ended[OFFER_END_TIMEOUT] - timeouts0;
	res->bad_ids = b.bad_ids;
	res->violations = b.violations;
	if (o->check) {
		const char *breach = engine_check_invariants(e);
		snprintf(res->invariants, sizeof res->invariants, "%s", breach ? breach : "ok");
	}
	res->ok = 1;
out:
	res->decision = samples_done(&dec);
	res->insert = samples_done(&ins);
	res->accept = samples_done(&acc);
	res->complete_idle = samples_done(&cidle);
	res->tick = samples_done(&ticks);
	res->avail = samples_done(&avail);
	for (int k = 0; k < N_SOURCES; k++)
		res->by_source[k] = samples_done(&src[k]);
	res->idle_completes = res->complete_idle.count;
	res->loop_rate = res->loop_s > 0 ? (double)res->decision.count / res->loop_s : 0;
	if (rw.e != NULL)
		engine_free(rw.e);
	free(b.recs);
	world_free(&w);
}

/* Runs a row in a child process (fresh heap, its own RSS), or inline. */
static void run_row(const struct opts *o, uint32_t agents, uint32_t waiting,
		    struct row_result *res)
{
	if (!o->fork) {
		bench_row(o, agents, waiting, res);
		return;
	}
	int fd[2];
	if (pipe(fd) != 0)
		die("pipe failed");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork failed");
	if (pid == 0) {
		close(fd[0]);
		struct row_result *r = zalloc(1, sizeof *r);
		bench_row(o, agents, waiting, r);
		const char *p = (const char *)r;
		size_t left = sizeof *r;
		while (left > 0) {
			ssize_t n = write(fd[1], p, left);
			if (n <= 0)
				_exit(1);
			p += n;
			left -= (size_t)n;
		}
		_exit(0);
	}
	close(fd[1]);
	memset(res, 0, sizeof *res);
	char *p = (char *)res;
	size_t got = 0;
	while (got < sizeof *res) {
		ssize_t n = read(fd[0], p + got, sizeof *res - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	if (got != sizeof *res) {
		memset(res, 0, sizeof *res);
		res->agents = agents;
		res->waiting = waiting;
		snprintf(res->err, sizeof res->err, "the run crashed (%s %d)",
			 WIFSIGNALED(status) ? "signal" : "exit",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
}

/* Prints one stat line. */
static void print_stat(const char *name, const struct stat *s)
{
	if (s->count == 0) {
		printf("  %-22s none\n", name);
		return;
	}
	printf("  %-22s %10" PRIu64 " calls  mean %7.3f  p50 %7.3f  p90 %7.3f  p99 %7.3f  "
	       "p99.9 %8.3f  max %9.1f us\n",
	       name, s->count, s->mean_us, s->p50_us, s->p90_us, s->p99_us, s->p999_us, s->max_us);
}

/* Prints a row's details. */
static void print_row_detail(const struct row_result *r)
{
	printf("\n== %u agents, %u waiting ==\n", r->agents, r->waiting);
	if (!r->ok) {
		printf("  FAILED: %s\n", r->err);
		if (r->decision.count == 0)
			return;
	}
	printf("  set-up %.2f s; fill %.2f s (%.0f inserts/s); make-available %.2f s; top-up %.2f s\n",
	       r->build_s, r->fill_s, r->fill_rate, r->avail_s, r->topup_s);
	printf("  RSS: world %.0f MiB, after fill %.0f MiB (engine ~%.0f MiB), end %.0f MiB\n",
	       r->rss_world_mib, r->rss_filled_mib, r->rss_filled_mib - r->rss_world_mib,
	       r->rss_end_mib);
	print_stat("decision (steady)", &r->decision);
	for (int k = SRC_COMPLETE; k < N_SOURCES; k++) {
		char name[40];
		snprintf(name, sizeof name, "  by %s", source_names[k]);
		print_stat(name, &r->by_source[k]);
	}
	printf("  %-22s %10" PRIu64 " over 100 us, %" PRIu64 " over 1 ms\n", "  slow decisions",
	       r->over_100us, r->over_1ms);
	print_stat("submit, no offer", &r->insert);
	print_stat("accept", &r->accept);
	print_stat("complete, no offer", &r->complete_idle);
	print_stat("tick", &r->tick);
	print_stat("make-available (setup)", &r->avail);
	printf("  decisions by call:");
	for (int i = 0; i < N_SOURCES; i++)
		printf(" %s %" PRIu64 "%s", source_names[i], r->dec_by_source[i],
		       i == SRC_AVAILABLE ? " (setup)" : "");
	printf("\n  steady offers %" PRIu64 " (+%" PRIu64 " by ticks); waiting at end %" PRIu64 "\n",
	       r->offers, r->tick_offers, r->waiting_end);
	printf("  in-call rate %.0f decisions/s; loop %.0f decisions/s over %.2f s\n",
	       r->decision.total_s > 0 ? (double)r->decision.count / r->decision.total_s : 0,
	       r->loop_rate, r->loop_s);
	if (r->timeouts || r->accept_errors || r->bad_ids || r->violations)
		printf("  PROBLEMS: %" PRIu64 " offer timeouts, %" PRIu64 " accept/reject errors, %" PRIu64
		       " malformed ids in offers, %" PRIu64 " offers to ineligible agents\n",
		       r->timeouts, r->accept_errors, r->bad_ids, r->violations);
	if (r->invariants[0])
		printf("  engine_check_invariants: %s\n", r->invariants);
}

/* Prints the summary table and the scaling ratios. */
static void print_table(const struct opts *o, const struct row_result *rows, size_t n)
{
	printf("\nTargets (DESIGN 7): >= 1 000 000 decisions/s on one core; p99 decision <= 5 us;\n"
	       "cost at 1 000 000 waiting <= 2x cost at 1 000 (same for 100 -> 100 000 agents).\n"
	       "%u skills, %u queues, %d%% rejects, strategy %s, seed %" PRIu64
	       ", timer overhead %" PRIu64 " ns subtracted.\n\n",
	       o->skills, o->queues, o->reject_pct,
	       engine_strategy_name((enum engine_strategy)o->strategy), o->seed, timer_overhead_ns);
	printf("%8s %9s | %11s %11s | %6s %6s %6s %6s %7s %8s | %7s %7s | %6s\n", "agents",
	       "waiting", "dec/s call", "dec/s loop", "mean", "p50", "p90", "p99", "p99.9", "max",
	       "ins avg", "ins p99", "RSS MiB");
	printf("%8s %9s | %11s %11s | %6s %6s %6s %6s %7s %8s | %7s %7s | %6s\n", "", "", "", "",
	       "us", "us", "us", "us", "us", "us", "us", "us", "");
	for (size_t i = 0; i < n; i++) {
		const struct row_result *r = &rows[i];
		if (!r->ok) {
			printf("%8u %9u | FAILED: %s\n", r->agents, r->waiting, r->err);
			continue;
		}
		const struct stat *d = &r->decision;
		printf("%8u %9u | %11.0f %11.0f | %6.3f %6.3f %6.3f %6.3f %7.3f %8.1f | %7.3f %7.3f | "
		       "%6.0f\n",
		       r->agents, r->waiting, d->total_s > 0 ? (double)d->count / d->total_s : 0,
		       r->loop_rate, d->mean_us, d->p50_us, d->p90_us, d->p99_us, d->p999_us,
		       d->max_us, r->insert.mean_us, r->insert.p99_us, r->rss_end_mib);
	}
}

/* Prints the cost ratio of two rows (mean and p99), if both ran. */
static void print_ratio(const char *what, const struct row_result *lo,
			const struct row_result *hi)
{
	if (!lo->ok || !hi->ok || lo->decision.mean_us <= 0) {
		printf("%s: n/a\n", what);
		return;
	}
	double m = hi->decision.mean_us / lo->decision.mean_us;
	double p = hi->decision.p99_us / (lo->decision.p99_us > 0 ? lo->decision.p99_us : 1e-9);
	double ins = hi->insert.mean_us / (lo->insert.mean_us > 0 ? lo->insert.mean_us : 1e-9);
	printf("%s: decision mean %.2fx, p99 %.2fx; insert mean %.2fx  (target <= 2x: %s)\n", what,
	       m, p, ins, m <= 2.0 ? "met" : "NOT met");
}

/* Prints usage. */
static void usage(FILE *f)
{
	fprintf(f,
		"usage: sb-engine-bench [options]\n"
		"  --agents N       agents (default 10000)\n"
		"  --waiting N      waiting contacts kept constant (default 100000)\n"
		"  --skills N       skills (default 200)\n"
		"  --queues N       queues (default 50)\n"
		"  --decisions N    decisions to measure per row (default 1000000)\n"
		"  --seed N         seed (default 1)\n"
		"  --reject-pct N   share of offers rejected instead of accepted (default 2)\n"
		"  --strategy NAME  agent selection of every queue (default longest-idle)\n"
		"  --table          every row of DESIGN 7 and the scaling ratios\n"
		"  --quick          small sizes, for a smoke run\n"
		"  --verify         check each offer goes to an eligible agent\n"
		"  --check          engine_check_invariants after each row\n"
		"  --no-fork        run rows in this process (for perf/valgrind)\n");
}

/* Parses an unsigned number or exits. */
static uint64_t parse_u64(const char *s, const char *flag)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end != '\0') {
		fprintf(stderr, "sb-engine-bench: %s wants a number, not '%s'\n", flag, s);
		exit(2);
	}
	return v;
}

/* Parses the command line. */
static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"agents", required_argument, NULL, 'a'},   {"waiting", required_argument, NULL, 'w'},
		{"skills", required_argument, NULL, 's'},   {"queues", required_argument, NULL, 'q'},
		{"decisions", required_argument, NULL, 'd'}, {"seed", required_argument, NULL, 'S'},
		{"reject-pct", required_argument, NULL, 'r'},
		{"strategy", required_argument, NULL, 'g'}, {"table", no_argument, NULL, 't'},
		{"quick", no_argument, NULL, 'k'},          {"verify", no_argument, NULL, 'v'},
		{"check", no_argument, NULL, 'c'},          {"no-fork", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
	};
	int ch;

	*o = (struct opts){.agents = 10000, .waiting = 100000, .skills = 200, .queues = 50,
			   .decisions = 1000000, .seed = 1, .reject_pct = 2,
			   .strategy = STRATEGY_LONGEST_IDLE, .fork = true};
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'a': o->agents = (uint32_t)parse_u64(optarg, "--agents"); o->agents_set = true; break;
		case 'w': o->waiting = (uint32_t)parse_u64(optarg, "--waiting"); o->waiting_set = true; break;
		case 's': o->skills = (uint32_t)parse_u64(optarg, "--skills"); break;
		case 'q': o->queues = (uint32_t)parse_u64(optarg, "--queues"); break;
		case 'd': o->decisions = parse_u64(optarg, "--decisions"); o->decisions_set = true; break;
		case 'S': o->seed = parse_u64(optarg, "--seed"); break;
		case 'r': o->reject_pct = (int)parse_u64(optarg, "--reject-pct"); break;
		case 'g':
			o->strategy = engine_strategy_parse(optarg);
			if (o->strategy < 0) {
				fprintf(stderr, "sb-engine-bench: unknown strategy '%s'\n", optarg);
				exit(2);
			}
			break;
		case 't': o->table = true; break;
		case 'k': o->quick = true; break;
		case 'v': o->verify = true; break;
		case 'c': o->check = true; break;
		case 'n': o->fork = false; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		usage(stderr);
		exit(2);
	}
	if (o->quick) {
		if (!o->decisions_set)
			o->decisions = 20000;
		if (!o->agents_set)
			o->agents = 1000;
		if (!o->waiting_set)
			o->waiting = 1000;
		o->verify = o->check = true;
	}
	if (o->agents == 0 || o->skills < 2 || o->queues == 0 || o->decisions == 0 ||
	    o->reject_pct > 100) {
		fprintf(stderr, "sb-engine-bench: need agents >= 1, skills >= 2, queues >= 1, "
				"decisions >= 1, reject-pct <= 100\n");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	cpu_set_t set;

	parse_opts(argc, argv, &o);
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	bool pinned = sched_setaffinity(0, sizeof set, &set) == 0;
	timer_overhead_ns = measure_timer_overhead();
	printf("sb-engine-bench: %s cpu 0; clock_gettime overhead %" PRIu64 " ns\n",
	       pinned ? "pinned to" : "could not pin to", timer_overhead_ns);

	/* rows: agents x waiting; the ratios compare rows lo/hi of each sweep */
	/* the last row has nobody waiting: each arrival finds an idle agent */
	uint32_t full[6][2] = {{10000, 1000}, {10000, 100000}, {10000, 1000000},
			       {100, 100000}, {100000, 100000}, {10000, 0}};
	uint32_t quick[6][2] = {{1000, 100}, {1000, 1000}, {1000, 10000},
				{10, 1000}, {10000, 1000}, {1000, 0}};
	size_t n = o.table ? 6 : 1;
	struct row_result *rows = zalloc(n, sizeof *rows);

	for (size_t i = 0; i < n; i++) {
		uint32_t ag = o.table ? (o.quick ? quick : full)[i][0] : o.agents;
		uint32_t wt = o.table ? (o.quick ? quick : full)[i][1] : o.waiting;
		run_row(&o, ag, wt, &rows[i]);
		print_row_detail(&rows[i]);
	}
	print_table(&o, rows, n);
	if (o.table) {
		printf("\n");
		char what[160];
		snprintf(what, sizeof what, "waiting %u -> %u at %u agents", rows[0].waiting,
			 rows[2].waiting, rows[0].agents);
		print_ratio(what, &rows[0], &rows[2]);
		snprintf(what, sizeof what, "agents %u -> %u at %u waiting", rows[3].agents,
			 rows[4].agents, rows[3].waiting);
		print_ratio(what, &rows[3], &rows[4]);
	}
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		if (!rows[i].ok || rows[i].violations || rows[i].bad_ids ||
		    (rows[i].invariants[0] && strcmp(rows[i].invariants, "ok") != 0))
			rc = 1;
	free(rows);
	return rc;
}
