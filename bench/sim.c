/* sb-sim: runs the real routing engine on a simulated clock against a staffing
 * plan and a traffic model (a small YAML file, or flags) and reports per queue
 * service level, speed of answer, abandons, occupancy per agent group and how
 * good the engine's estimated waits were. --sweep-agents answers "how many
 * agents for 80 % in 30 s?". The input is described in bench/README.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "bench_rng.h"
#include "engine/engine.h"
#include "util/err.h"

#define MAX_SKILLS 16
#define MAX_NAMES 32
#define T0_MS ((int64_t)1000000000000)          /* simulated epoch: any fixed ms value */
#define DRAIN_LIMIT_MS ((int64_t)7 * 86400000) /* stop this long after the last arrival */

/* A list of names (tiers, queues). */
struct names {
	size_t n;
	const char *v[MAX_NAMES];
};

struct sim_step {
	int64_t after_ms;
	int after_pct; /* > 0: this share of the queue's SLA instead */
	int skill_relax;
	struct names tiers;
	const char *add_queue, *overflow;
};

struct sim_queue {
	const char *name;
	enum sb_channel ch;
	int64_t sla_ms; /* 0: the channel's */
	int target_pct;
	size_t n_skills;
	struct engine_skill_req skills[MAX_SKILLS];
	int strategy;
	struct names tiers;
	size_t n_steps;
	struct sim_step steps[ENGINE_MAX_STEPS];
	int64_t max_wait_ms, max_wait_no_agent_ms;
	const char *overflow;
};

/* "10 x voice agents with billing:3". */
struct sim_group {
	const char *name;
	uint32_t count;
	const char *tier;
	size_t n_skills;
	struct engine_skill_level skills[MAX_SKILLS];
	int capacity[SB_CH_COUNT];
	struct names queues;
	int64_t login_ms; /* its agents log in this long after the start */
};

/* Poisson arrivals to one queue from one customer tier. */
struct sim_stream {
	uint32_t queue;
	enum sb_channel ch;
	const char *tier;
	double per_hour;
	bool handle_fixed;
	double handle_ms;   /* mean, or the fixed value */
	double handle_min_ms, handle_max_ms; /* dist uniform: in [min, max) (mean ignored) */
	double patience_ms; /* exponential mean; 0: nobody abandons */
	size_t n_skills;
	struct engine_skill_req skills[MAX_SKILLS];
	int32_t priority_s;
};

struct sim_ctier {
	const char *name;
	double sla_factor;
	struct names first;
	int64_t widen_after_ms;
};

struct sim_conf {
	const char *source;
	uint64_t seed;
	int64_t duration_ms, answer_delay_ms, reject_delay_ms;
	int max_no_answer;
	double reject_pct; /* share of offers the agent rejects instead of accepting */
	/* A periodic surge: every surge_every_ms (the first one then, not at the
	 * start) all arrival rates are multiplied by surge_factor for
	 * surge_length_ms; arrivals in the surge_recovery_ms after it are
	 * reported apart, so "steady" means neither. surge_every_ms 0: none. */
	int64_t surge_every_ms, surge_length_ms, surge_recovery_ms;
	double surge_factor;
	struct engine_channel_conf channels[SB_CH_COUNT];
	struct names agent_tiers;
	size_t n_ctiers;
	struct sim_ctier ctiers[MAX_NAMES];
	size_t n_queues, n_groups, n_streams;
	struct sim_queue *queues;
	struct sim_group *groups;
	struct sim_stream *streams;
	const char *sweep_group;
	uint32_t sweep_from, sweep_to, sweep_step;
	uint32_t runs;
	bool check;
};

/* Estimated wait (engine_submit) against the real wait. */
struct est {
	uint64_t n;
	double abs_sum_ms, sum_ms;
};

/* What happened to one queue's contacts (by the queue they arrived in). */
struct qstat {
	uint64_t offered, answered, answered_in_sla, abandoned, abandoned_in_sla,
		abandoned_after_sla, expired, overflowed, breached, stuck;
	uint64_t late_unflagged; /* answered after its threshold with no SLA-breach event */
	uint64_t early_flagged;  /* an SLA-breach event, yet answered within its threshold */
	double wait_sum_ms;
	/* The estimate given at arrival against the real wait, over answered
	 * contacts that got one: all of them, and those not offered at once. */
	struct est est_all, est_queued;
	uint64_t est_unknown; /* arrivals told "unknown" */
};

/* When a contact arrived, for the report: steady, during a surge, or in the
 * recovery after one. Without a surge every contact is steady. */
enum period { PERIOD_STEADY, PERIOD_SURGE, PERIOD_RECOVERY, PERIOD_COUNT };

/* The outcome of one or more pooled runs. */
struct outcome {
	size_t n_queues, n_groups;
	struct qstat *q;
	struct qstat *qp[PERIOD_COUNT]; /* the same, by the period the contact arrived in */
	struct engine_period_stats *eng; /* the engine's own totals per queue */
	double *busy_ms, *staffed_ms;
	double *busy_p[PERIOD_COUNT], *staffed_p[PERIOD_COUNT]; /* by period, per group */
	uint64_t contacts, offers, rejects, offer_timeouts, accept_errors, submit_errors, cancel_errors,
		complete_errors, no_answer_breaks, hold_errors, ticks, events, stuck_wakeups;
	uint32_t runs;
	char problem[200];
};

enum ev_kind { EV_ARRIVAL, EV_ACCEPT, EV_COMPLETE, EV_ABANDON, EV_WRAPEND, EV_LOGIN };

struct event {
	int64_t t;
	uint64_t seq;
	uint32_t kind, a, gen;
};

enum cstate { ST_WAITING, ST_OFFERED, ST_ASSIGNED, ST_DONE };

struct sim_contact {
	char id[16];
	uint32_t stream, agent, offer_gen;
	int64_t arrived, handle_ms, est_ms;
	char offer[48];
	uint8_t state;
	uint8_t period; /* enum period of its arrival */
	bool offered_at_submit;
	bool breached; /* the engine sent EVENT_SLA_BREACHED */
};

struct sim_agent {
	char id[16];
	uint32_t group;
	int held; /* contacts in hand, offered to wrap-up */
	int64_t busy_since;
};

/* One run's state; the sink's context. */
struct sim {
	const struct sim_conf *cf;
	struct engine *e;
	struct outcome *out;
	struct sim_contact *c;
	size_t n_c, cap_c;
	struct sim_agent *ag;
	uint32_t n_ag;
	struct event *heap;
	size_t n_h, cap_h;
	uint64_t seq;
	struct rng *srng; /* one per stream: traffic is the same whatever the staffing */
	struct rng reject_rng; /* which offers are rejected: apart, so traffic stays the same */
	int64_t now, end;
	uint64_t alive;
	int64_t submitting;
};

/* Prints a message and exits with status 2. */
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sb-sim: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

/* calloc that exits on failure. */
static void *zalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		die("out of memory");
	return p;
}

/* realloc that exits on failure. */
static void *grow(void *p, size_t n, size_t size)
{
	p = realloc(p, (n ? n : 1) * size);
	if (p == NULL)
		die("out of memory");
	return p;
}

/* Every string the model owns, freed together at exit. */
static char **owned;
static size_t n_owned;

/* strdup that exits on failure; the copy lives until owned_free. */
static char *sdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		die("out of memory");
	owned = grow(owned, n_owned + 1, sizeof *owned);
	owned[n_owned++] = d;
	return d;
}

/* Frees every string sdup made. */
static void owned_free(void)
{
	for (size_t i = 0; i < n_owned; i++)
		free(owned[i]);
	free(owned);
	owned = NULL;
	n_owned = 0;
}

/* Parses "500ms", "30s", "2m", "8h", "1d" or a bare number of seconds; -1 if bad. */
static int64_t parse_duration(const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);

	if (errno || end == s || v < 0 || !isfinite(v))
		return -1;
	double mul = 1000;
	if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		mul = 1000;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mul = 60000;
	else if (strcmp(end, "h") == 0)
		mul = 3600000;
	else if (strcmp(end, "d") == 0)
		mul = 86400000;
	else
		return -1;
	return (int64_t)llround(v * mul);
}

/* Formats a duration in ms compactly ("30s", "8h", "1m30s"). */
static const char *fmt_dur(int64_t ms, char *buf, size_t len)
{
	if (ms % 3600000 == 0 && ms > 0)
		snprintf(buf, len, "%" PRId64 "h", ms / 3600000);
	else if (ms % 60000 == 0 && ms > 0)
		snprintf(buf, len, "%" PRId64 "m", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%" PRId64 "s", ms / 1000);
	else
		snprintf(buf, len, "%" PRId64 "ms", ms);
	return buf;
}

/* ---- YAML ------------------------------------------------------------- */

struct ydoc {
	yaml_document_t doc;
	const char *file;
};

/* Reports a bad value at its line and exits. */
static void ydie(const struct ydoc *d, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sb-sim: %s:%zu: ", d->file, n ? n->start_mark.line + 1 : 0);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

/* The node with id i. */
static yaml_node_t *ynode(struct ydoc *d, int i)
{
	return yaml_document_get_node(&d->doc, i);
}

/* The text of a scalar node. */
static const char *ystr(struct ydoc *d, yaml_node_t *n, const char *what)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		ydie(d, n, "%s: want a single value", what);
	return (const char *)n->data.scalar.value;
}

/* A duration scalar. */
static int64_t ydur(struct ydoc *d, yaml_node_t *n, const char *what)
{
	int64_t v = parse_duration(ystr(d, n, what));

	if (v < 0)
		ydie(d, n, "%s: '%s' is not a duration (500ms, 30s, 2m, 8h)", what,
		     ystr(d, n, what));
	return v;
}

/* A number scalar. */
static double ynum(struct ydoc *d, yaml_node_t *n, const char *what, double min, double max)
{
	const char *s = ystr(d, n, what);
	char *end;
	errno = 0;
	double v = strtod(s, &end);

	if (errno || end == s || *end != '\0' || !(v >= min && v <= max))
		ydie(d, n, "%s: '%s' is not a number in %g..%g", what, s, min, max);
	return v;
}

/* An integer scalar. */
static long yint(struct ydoc *d, yaml_node_t *n, const char *what, long min, long max)
{
	double v = ynum(d, n, what, (double)min, (double)max);

	if (v != floor(v))
		ydie(d, n, "%s: want a whole number", what);
	return (long)v;
}

/* A boolean scalar. */
static bool ybool(struct ydoc *d, yaml_node_t *n, const char *what)
{
	const char *s = ystr(d, n, what);

	if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
		return true;
	if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
		return false;
	ydie(d, n, "%s: want true or false", what);
	return false;
}

/* Checks n is a mapping. */
static void ymap(struct ydoc *d, yaml_node_t *n, const char *what)
{
	if (n == NULL || n->type != YAML_MAPPING_NODE)
		ydie(d, n, "%s: want a mapping (key: value)", what);
}

/* Checks n is a sequence. */
static void yseq(struct ydoc *d, yaml_node_t *n, const char *what)
{
	if (n == NULL || n->type != YAML_SEQUENCE_NODE)
		ydie(d, n, "%s: want a list", what);
}

#define YCAT2(a, b) a##b
#define YCAT(a, b) YCAT2(a, b)
/* Iterates a mapping's pairs (key text, value node); nests (one per line). */
#define YMAP_EACH(d, n, K, V)                                                              \
	for (yaml_node_pair_t *YCAT(p_, __LINE__) = (n)->data.mapping.pairs.start;             \
	     YCAT(p_, __LINE__) < (n)->data.mapping.pairs.top &&                                 \
	     ((K) = ystr((d), ynode((d), YCAT(p_, __LINE__)->key), "key"),                     \
	      (V) = ynode((d), YCAT(p_, __LINE__)->value), 1);                                  \
	     YCAT(p_, __LINE__)++)
/* Iterates a sequence's items; nests (one per line). */
#define YSEQ_EACH(d, n, item)                                                                  \
	for (yaml_node_item_t *YCAT(i_, __LINE__) = (n)->data.sequence.items.start;            \
	     YCAT(i_, __LINE__) < (n)->data.sequence.items.top &&                                \
	     ((item) = ynode((d), *YCAT(i_, __LINE__)), 1);                                      \
	     YCAT(i_, __LINE__)++)

/* A list of names: [a, b] or one name. */
static void ynames(struct ydoc *d, yaml_node_t *n, const char *what, struct names *out)
{
	yaml_node_t *it;

	out->n = 0;
	if (n->type == YAML_SCALAR_NODE) {
		out->v[out->n++] = sdup(ystr(d, n, what));
		return;
	}
	yseq(d, n, what);
	YSEQ_EACH(d, n, it)
	{
		if (out->n == MAX_NAMES)
			ydie(d, it, "%s: at most %d names", what, MAX_NAMES);
		out->v[out->n++] = sdup(ystr(d, it, what));
	}
}

/* Skill minimums: {billing: 3, lang_en: 2}. */
static size_t yskill_reqs(struct ydoc *d, yaml_node_t *n, struct engine_skill_req *out)
{
	const char *k;
	yaml_node_t *v;
	size_t cnt = 0;

	ymap(d, n, "skills");
	YMAP_EACH(d, n, k, v)
	{
		if (cnt == MAX_SKILLS)
			ydie(d, v, "skills: at most %d", MAX_SKILLS);
		out[cnt].skill = sdup(k);
		out[cnt].min_level = (int)yint(d, v, k, 1, 5);
		cnt++;
	}
	return cnt;
}

/* Skill levels of an agent group. */
static size_t yskill_levels(struct ydoc *d, yaml_node_t *n, struct engine_skill_level *out)
{
	struct engine_skill_req req[MAX_SKILLS];
	size_t cnt = yskill_reqs(d, n, req);

	for (size_t i = 0; i < cnt; i++)
		out[i] = (struct engine_skill_level){req[i].skill, req[i].min_level};
	return cnt;
}

/* A channel name. */
static enum sb_channel ychannel(struct ydoc *d, yaml_node_t *n)
{
	int ch = channel_parse(ystr(d, n, "channel"));

	if (ch < 0)
		ydie(d, n, "channel: '%s' is not voice, chat, email or social", ystr(d, n, "channel"));
	return (enum sb_channel)ch;
}

/* channels: {voice: {sla: 30s, ...}, ...} */
static void yload_channels(struct ydoc *d, yaml_node_t *n, struct sim_conf *cf)
{
	const char *k, *k2;
	yaml_node_t *v, *v2;

	ymap(d, n, "channels");
	YMAP_EACH(d, n, k, v)
	{
		int ch = channel_parse(k);
		if (ch < 0)
			ydie(d, v, "channels: '%s' is not a channel", k);
		struct engine_channel_conf *c = &cf->channels[ch];
		ymap(d, v, k);
		YMAP_EACH(d, v, k2, v2)
		{
			if (!strcmp(k2, "sla"))
				c->sla_ms = ydur(d, v2, k2);
			else if (!strcmp(k2, "offer_timeout"))
				c->offer_timeout_ms = ydur(d, v2, k2);
			else if (!strcmp(k2, "wrapup"))
				c->wrapup_ms = ydur(d, v2, k2);
			else if (!strcmp(k2, "capacity"))
				c->capacity = (int)yint(d, v2, k2, 1, 50);
			else if (!strcmp(k2, "exclusive"))
				c->exclusive = ybool(d, v2, k2);
			else if (!strcmp(k2, "auto_accept"))
				c->auto_accept = ybool(d, v2, k2);
			else
				ydie(d, v2, "channels.%s: unknown key '%s'", k, k2);
		}
	}
}

/* One escalation step. */
static void yload_step(struct ydoc *d, yaml_node_t *n, struct sim_step *st)
{
	const char *k;
	yaml_node_t *v;

	ymap(d, n, "step");
	YMAP_EACH(d, n, k, v)
	{
		if (!strcmp(k, "after")) {
			const char *s = ystr(d, v, k);
			size_t l = strlen(s);
			if (l > 1 && s[l - 1] == '%') {
				char *end;
				long pc = strtol(s, &end, 10);
				if (end != s + l - 1 || pc < 1 || pc > 1000)
					ydie(d, v, "after: '%s' is not a percentage of the SLA", s);
				st->after_pct = (int)pc;
			} else {
				st->after_ms = ydur(d, v, k);
			}
		} else if (!strcmp(k, "skill_relax")) {
			st->skill_relax = (int)yint(d, v, k, 0, 4);
		} else if (!strcmp(k, "agent_tiers")) {
			ynames(d, v, k, &st->tiers);
		} else if (!strcmp(k, "add_queue")) {
			st->add_queue = sdup(ystr(d, v, k));
		} else if (!strcmp(k, "overflow")) {
			st->overflow = sdup(ystr(d, v, k));
		} else {
			ydie(d, v, "step: unknown key '%s'", k);
		}
	}
}

/* One queue. */
static void yload_queue(struct ydoc *d, yaml_node_t *n, struct sim_queue *q)
{
	const char *k;
	yaml_node_t *v, *it;

	ymap(d, n, "queue");
	q->target_pct = 80;
	q->ch = SB_CH_COUNT;
	YMAP_EACH(d, n, k, v)
	{
		if (!strcmp(k, "name"))
			q->name = sdup(ystr(d, v, k));
		else if (!strcmp(k, "channel"))
			q->ch = ychannel(d, v);
		else if (!strcmp(k, "sla"))
			q->sla_ms = ydur(d, v, k);
		else if (!strcmp(k, "target"))
			q->target_pct = (int)yint(d, v, k, 1, 100);
		else if (!strcmp(k, "skills"))
			q->n_skills = yskill_reqs(d, v, q->skills);
		else if (!strcmp(k, "strategy")) {
			q->strategy = engine_strategy_parse(ystr(d, v, k));
			if (q->strategy < 0)
				ydie(d, v, "strategy: unknown '%s'", ystr(d, v, k));
		} else if (!strcmp(k, "agent_tiers"))
			ynames(d, v, k, &q->tiers);
		else if (!strcmp(k, "steps")) {
			yseq(d, v, k);
			YSEQ_EACH(d, v, it)
			{
				if (q->n_steps == ENGINE_MAX_STEPS)
					ydie(d, it, "steps: at most %d", ENGINE_MAX_STEPS);
				yload_step(d, it, &q->steps[q->n_steps++]);
			}
		} else if (!strcmp(k, "max_wait"))
			q->max_wait_ms = ydur(d, v, k);
		else if (!strcmp(k, "max_wait_no_agent"))
			q->max_wait_no_agent_ms = ydur(d, v, k);
		else if (!strcmp(k, "overflow"))
			q->overflow = sdup(ystr(d, v, k));
		else
			ydie(d, v, "queue: unknown key '%s'", k);
	}
	if (q->name == NULL || q->ch == SB_CH_COUNT)
		ydie(d, n, "queue: name and channel are required");
}

/* One agent group. */
static void yload_group(struct ydoc *d, yaml_node_t *n, struct sim_group *g)
{
	const char *k, *k2;
	yaml_node_t *v, *v2;

	ymap(d, n, "agents");
	g->count = 1;
	YMAP_EACH(d, n, k, v)
	{
		if (!strcmp(k, "group"))
			g->name = sdup(ystr(d, v, k));
		else if (!strcmp(k, "count"))
			g->count = (uint32_t)yint(d, v, k, 0, 1000000);
		else if (!strcmp(k, "tier"))
			g->tier = sdup(ystr(d, v, k));
		else if (!strcmp(k, "skills"))
			g->n_skills = yskill_levels(d, v, g->skills);
		else if (!strcmp(k, "capacity")) {
			ymap(d, v, k);
			YMAP_EACH(d, v, k2, v2)
			{
				int ch = channel_parse(k2);
				if (ch < 0)
					ydie(d, v2, "capacity: '%s' is not a channel", k2);
				g->capacity[ch] = (int)yint(d, v2, k2, 0, 50);
			}
		} else if (!strcmp(k, "queues"))
			ynames(d, v, k, &g->queues);
		else if (!strcmp(k, "login"))
			g->login_ms = ydur(d, v, k);
		else
			ydie(d, v, "agents: unknown key '%s'", k);
	}
	if (g->name == NULL)
		ydie(d, n, "agents: each group needs a name (group: ...)");
}

/* The index of a queue by name, or -1. */
static int conf_queue(const struct sim_conf *cf, const char *name)
{
	for (size_t i = 0; i < cf->n_queues; i++)
		if (!strcmp(cf->queues[i].name, name))
			return (int)i;
	return -1;
}

/* One traffic stream. */
static void yload_stream(struct ydoc *d, yaml_node_t *n, struct sim_conf *cf,
			 struct sim_stream *s)
{
	const char *k, *k2;
	yaml_node_t *v, *v2, *chn = NULL;
	const char *qname = NULL;
	bool uniform = false;

	ymap(d, n, "traffic");
	s->handle_ms = 180000;
	YMAP_EACH(d, n, k, v)
	{
		if (!strcmp(k, "queue"))
			qname = ystr(d, v, k);
		else if (!strcmp(k, "channel"))
			chn = v;
		else if (!strcmp(k, "tier"))
			s->tier = sdup(ystr(d, v, k));
		else if (!strcmp(k, "per_hour"))
			s->per_hour = ynum(d, v, k, 0, 1e7);
		else if (!strcmp(k, "handle")) {
			if (v->type == YAML_SCALAR_NODE) {
				s->handle_ms = (double)ydur(d, v, k);
				continue;
			}
			ymap(d, v, k);
			YMAP_EACH(d, v, k2, v2)
			{
				if (!strcmp(k2, "mean"))
					s->handle_ms = (double)ydur(d, v2, k2);
				else if (!strcmp(k2, "min"))
					s->handle_min_ms = (double)ydur(d, v2, k2);
				else if (!strcmp(k2, "max"))
					s->handle_max_ms = (double)ydur(d, v2, k2);
				else if (!strcmp(k2, "dist")) {
					const char *dist = ystr(d, v2, k2);
					if (!strcmp(dist, "fixed"))
						s->handle_fixed = true;
					else if (!strcmp(dist, "exponential"))
						s->handle_fixed = false;
					else if (!strcmp(dist, "uniform"))
						uniform = true;
					else
						ydie(d, v2, "dist: exponential, fixed or uniform");
				} else
					ydie(d, v2, "handle: unknown key '%s'", k2);
			}
		} else if (!strcmp(k, "patience")) {
			if (v->type == YAML_MAPPING_NODE) {
				YMAP_EACH(d, v, k2, v2)
				{
					if (strcmp(k2, "mean") != 0)
						ydie(d, v2, "patience: only 'mean' (exponential)");
					s->patience_ms = (double)ydur(d, v2, k2);
				}
			} else if (!strcmp(ystr(d, v, k), "none")) {
				s->patience_ms = 0;
			} else {
				s->patience_ms = (double)ydur(d, v, k);
			}
		} else if (!strcmp(k, "skills"))
			s->n_skills = yskill_reqs(d, v, s->skills);
		else if (!strcmp(k, "priority"))
			s->priority_s = (int32_t)yint(d, v, k, -86400, 86400);
		else
			ydie(d, v, "traffic: unknown key '%s'", k);
	}
	if (qname == NULL)
		ydie(d, n, "traffic: 'queue' is required (queues come before traffic)");
	int q = conf_queue(cf, qname);
	if (q < 0)
		ydie(d, n, "traffic: no queue '%s' (queues come before traffic)", qname);
	s->queue = (uint32_t)q;
	s->ch = chn ? ychannel(d, chn) : cf->queues[q].ch;
	if (uniform) {
		if (!(s->handle_min_ms >= 1 && s->handle_max_ms > s->handle_min_ms))
			ydie(d, n, "traffic: a uniform handle time wants 0 < min < max");
		s->handle_ms = (s->handle_min_ms + s->handle_max_ms) / 2;
	} else {
		s->handle_min_ms = s->handle_max_ms = 0;
	}
	if (s->handle_ms < 1)
		ydie(d, n, "traffic: handle time must be > 0");
}

/* Parses "FROM:TO" or "FROM:TO:STEP". */
static bool parse_range(const char *s, uint32_t *from, uint32_t *to, uint32_t *step)
{
	unsigned a, b, c = 1;
	int n = 0;

	if (sscanf(s, "%u:%u%n", &a, &b, &n) != 2)
		return false;
	if (s[n] == ':' && sscanf(s + n + 1, "%u", &c) != 1)
		return false;
	if (a > b || c == 0)
		return false;
	*from = a;
	*to = b;
	*step = c;
	return true;
}

/* The channel defaults of the daemon's configuration (config_table.c). */
static void conf_defaults(struct sim_conf *cf)
{
	memset(cf, 0, sizeof *cf);
	cf->seed = 1;
	cf->duration_ms = 8 * 3600000LL;
	cf->answer_delay_ms = 2000;
	cf->reject_delay_ms = 5000;
	cf->max_no_answer = 3;
	cf->runs = 1;
	cf->channels[SB_CH_VOICE] = (struct engine_channel_conf){30000, 15000, 10000, 1, true, false};
	cf->channels[SB_CH_CHAT] = (struct engine_channel_conf){60000, 20000, 5000, 3, false, false};
	cf->channels[SB_CH_EMAIL] =
		(struct engine_channel_conf){4 * 3600000LL, 60000, 0, 5, false, false};
	cf->channels[SB_CH_SOCIAL] = (struct engine_channel_conf){3600000, 30000, 0, 3, false, false};
	static const char *const tiers[] = {"senior", "regular", "trainee"};
	cf->agent_tiers.n = 3;
	for (int i = 0; i < 3; i++)
		cf->agent_tiers.v[i] = tiers[i];
	cf->n_ctiers = 3;
	cf->ctiers[0] = (struct sim_ctier){.name = "vip", .sla_factor = 0.5,
					   .first = {1, {"senior"}}, .widen_after_ms = 10000};
	cf->ctiers[1] = (struct sim_ctier){.name = "gold", .sla_factor = 0.8};
	cf->ctiers[2] = (struct sim_ctier){.name = "standard", .sla_factor = 1.0};
}

/* Loads a YAML model into cf (defaults first). */
static void conf_load(struct sim_conf *cf, const char *file)
{
	struct ydoc d = {.file = file};
	yaml_parser_t parser;
	FILE *f = fopen(file, "rb");
	const char *k, *k2;
	yaml_node_t *v, *v2, *it;

	if (f == NULL)
		die("%s: %s", file, strerror(errno));
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &d.doc))
		die("%s:%zu: YAML error: %s", file, parser.problem_mark.line + 1,
		    parser.problem ? parser.problem : "?");
	yaml_node_t *root = yaml_document_get_root_node(&d.doc);
	if (root == NULL)
		die("%s: empty", file);
	cf->source = file;
	ymap(&d, root, "the file");
	/* queues first: traffic names them */
	YMAP_EACH(&d, root, k, v)
	{
		if (strcmp(k, "queues") != 0)
			continue;
		yseq(&d, v, k);
		YSEQ_EACH(&d, v, it)
		{
			cf->queues = grow(cf->queues, cf->n_queues + 1, sizeof *cf->queues);
			memset(&cf->queues[cf->n_queues], 0, sizeof *cf->queues);
			yload_queue(&d, it, &cf->queues[cf->n_queues++]);
		}
	}
	YMAP_EACH(&d, root, k, v)
	{
		if (!strcmp(k, "queues"))
			continue;
		else if (!strcmp(k, "seed"))
			cf->seed = (uint64_t)yint(&d, v, k, 0, 2000000000L);
		else if (!strcmp(k, "duration"))
			cf->duration_ms = ydur(&d, v, k);
		else if (!strcmp(k, "answer_delay"))
			cf->answer_delay_ms = ydur(&d, v, k);
		else if (!strcmp(k, "reject_delay"))
			cf->reject_delay_ms = ydur(&d, v, k);
		else if (!strcmp(k, "max_no_answer"))
			cf->max_no_answer = (int)yint(&d, v, k, 0, 100);
		else if (!strcmp(k, "reject_pct"))
			cf->reject_pct = ynum(&d, v, k, 0, 99);
		else if (!strcmp(k, "surge")) {
			ymap(&d, v, k);
			YMAP_EACH(&d, v, k2, v2)
			{
				if (!strcmp(k2, "every"))
					cf->surge_every_ms = ydur(&d, v2, k2);
				else if (!strcmp(k2, "length"))
					cf->surge_length_ms = ydur(&d, v2, k2);
				else if (!strcmp(k2, "factor"))
					cf->surge_factor = ynum(&d, v2, k2, 1, 100);
				else if (!strcmp(k2, "recovery"))
					cf->surge_recovery_ms = ydur(&d, v2, k2);
				else
					ydie(&d, v2, "surge: unknown key '%s'", k2);
			}
			if (cf->surge_every_ms <= 0 || cf->surge_length_ms <= 0 ||
			    cf->surge_factor <= 1 ||
			    cf->surge_length_ms + cf->surge_recovery_ms >= cf->surge_every_ms)
				ydie(&d, v, "surge: wants every, length and factor > 1, with "
					    "length + recovery shorter than every");
		}
		else if (!strcmp(k, "channels"))
			yload_channels(&d, v, cf);
		else if (!strcmp(k, "agent_tiers"))
			ynames(&d, v, k, &cf->agent_tiers);
		else if (!strcmp(k, "customer_tiers")) {
			yseq(&d, v, k);
			cf->n_ctiers = 0;
			YSEQ_EACH(&d, v, it)
			{
				if (cf->n_ctiers == MAX_NAMES)
					ydie(&d, it, "customer_tiers: at most %d", MAX_NAMES);
				struct sim_ctier *t = &cf->ctiers[cf->n_ctiers++];
				memset(t, 0, sizeof *t);
				t->sla_factor = 1.0;
				ymap(&d, it, k);
				YMAP_EACH(&d, it, k2, v2)
				{
					if (!strcmp(k2, "name"))
						t->name = sdup(ystr(&d, v2, k2));
					else if (!strcmp(k2, "sla_factor"))
						t->sla_factor = ynum(&d, v2, k2, 0.05, 20);
					else if (!strcmp(k2, "first_agent_tiers"))
						ynames(&d, v2, k2, &t->first);
					else if (!strcmp(k2, "widen_after"))
						t->widen_after_ms = ydur(&d, v2, k2);
					else
						ydie(&d, v2, "customer_tiers: unknown key '%s'", k2);
				}
				if (t->name == NULL)
					ydie(&d, it, "customer_tiers: name is required");
			}
		} else if (!strcmp(k, "agents")) {
			yseq(&d, v, k);
			YSEQ_EACH(&d, v, it)
			{
				cf->groups = grow(cf->groups, cf->n_groups + 1, sizeof *cf->groups);
				memset(&cf->groups[cf->n_groups], 0, sizeof *cf->groups);
				yload_group(&d, it, &cf->groups[cf->n_groups++]);
			}
		} else if (!strcmp(k, "traffic")) {
			yseq(&d, v, k);
			YSEQ_EACH(&d, v, it)
			{
				cf->streams = grow(cf->streams, cf->n_streams + 1, sizeof *cf->streams);
				memset(&cf->streams[cf->n_streams], 0, sizeof *cf->streams);
				yload_stream(&d, it, cf, &cf->streams[cf->n_streams++]);
			}
		} else if (!strcmp(k, "sweep")) {
			ymap(&d, v, k);
			YMAP_EACH(&d, v, k2, v2)
			{
				if (!strcmp(k2, "group"))
					cf->sweep_group = sdup(ystr(&d, v2, k2));
				else if (!strcmp(k2, "agents")) {
					if (!parse_range(ystr(&d, v2, k2), &cf->sweep_from, &cf->sweep_to,
							 &cf->sweep_step))
						ydie(&d, v2, "sweep.agents: want FROM:TO or FROM:TO:STEP");
				} else if (!strcmp(k2, "runs"))
					cf->runs = (uint32_t)yint(&d, v2, k2, 1, 1000);
				else
					ydie(&d, v2, "sweep: unknown key '%s'", k2);
			}
		} else {
			ydie(&d, v, "unknown key '%s'", k);
		}
	}
	yaml_document_delete(&d.doc);
	yaml_parser_delete(&parser);
	fclose(f);
}

/* ---- event heap -------------------------------------------------------- */

/* Whether event x comes before y (time, then scheduling order). */
static bool ev_before(const struct event *x, const struct event *y)
{
	return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

/* Schedules an event. */
static void ev_push(struct sim *s, int64_t t, enum ev_kind kind, uint32_t a, uint32_t gen)
{
	if (s->n_h == s->cap_h) {
		s->cap_h = s->cap_h ? s->cap_h * 2 : 1024;
		s->heap = grow(s->heap, s->cap_h, sizeof *s->heap);
	}
	struct event ev = {t, s->seq++, kind, a, gen};
	size_t i = s->n_h++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!ev_before(&ev, &s->heap[parent]))
			break;
		s->heap[i] = s->heap[parent];
		i = parent;
	}
	s->heap[i] = ev;
}

/* Removes and returns the earliest event. */
static struct event ev_pop(struct sim *s)
{
	struct event top = s->heap[0];
	struct event last = s->heap[--s->n_h];
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct event *best = &last;
		if (l < s->n_h && ev_before(&s->heap[l], best)) {
			m = l;
			best = &s->heap[l];
		}
		if (r < s->n_h && ev_before(&s->heap[r], best))
			m = r;
		if (m == i)
			break;
		s->heap[i] = s->heap[m];
		i = m;
	}
	if (s->n_h > 0)
		s->heap[i] = last;
	return top;
}

/* ---- the sink ---------------------------------------------------------- */

/* The simulator's contact behind an engine view. */
static struct sim_contact *contact_of(struct sim *s, const struct engine_contact_view *c)
{
	uintptr_t i = (uintptr_t)c->user;

	if (i == 0 || i > s->n_c)
		die("engine handed back a contact with a foreign payload (%s)", c->id);
	return &s->c[i - 1];
}

/* The index of agent "a<n>". */
static uint32_t agent_index(struct sim *s, const char *id)
{
	char *end;

	if (id == NULL || id[0] != 'a')
		die("engine named an unknown agent '%s'", id ? id : "(null)");
	unsigned long n = strtoul(id + 1, &end, 10);
	if (*end != '\0' || n >= s->n_ag)
		die("engine named an unknown agent '%s'", id);
	return (uint32_t)n;
}

/* How much faster than their base rate arrivals come at the peak. */
static double surge_peak(const struct sim_conf *cf)
{
	return cf->surge_every_ms > 0 && cf->surge_factor > 1 ? cf->surge_factor : 1.0;
}

/* The period an arrival at t falls in (the day starts at T0_MS). */
static enum period period_at(const struct sim_conf *cf, int64_t t)
{
	if (cf->surge_every_ms <= 0 || t - T0_MS < cf->surge_every_ms)
		return PERIOD_STEADY;
	int64_t into = (t - T0_MS) % cf->surge_every_ms;
	if (into < cf->surge_length_ms)
		return PERIOD_SURGE;
	if (into < cf->surge_length_ms + cf->surge_recovery_ms)
		return PERIOD_RECOVERY;
	return PERIOD_STEADY;
}

/* Adds the time in [from, to) (day-relative ms) to each period's total. */
static void period_split(const struct sim_conf *cf, int64_t from, int64_t to,
			 double out[PERIOD_COUNT])
{
	while (from < to) {
		enum period p = period_at(cf, T0_MS + from);
		int64_t next = to;
		if (cf->surge_every_ms > 0) {
			/* the next boundary: a surge's start or end, or a recovery's end */
			int64_t k = from / cf->surge_every_ms, base = k * cf->surge_every_ms;
			const int64_t marks[] = {base + cf->surge_length_ms,
						 base + cf->surge_length_ms + cf->surge_recovery_ms,
						 base + cf->surge_every_ms};
			for (size_t i = 0; i < 3; i++)
				if (marks[i] > from && marks[i] < next)
					next = marks[i];
		}
		out[p] += (double)(next - from);
		from = next;
	}
}

/* Time t clipped to the simulated day, relative to its start. */
static int64_t day_clip(const struct sim *s, int64_t t)
{
	return (t < s->end ? t : s->end) - T0_MS;
}

/* An agent takes (+1) or puts down (-1) a contact: busy-time accounting. */
static void agent_hold(struct sim *s, uint32_t a, int delta)
{
	struct sim_agent *ag = &s->ag[a];

	if (ag->held == 0 && delta > 0)
		ag->busy_since = s->now;
	ag->held += delta;
	if (ag->held < 0) {
		s->out->hold_errors++;
		ag->held = 0;
		return;
	}
	if (ag->held == 0 && delta < 0) {
		s->out->busy_ms[ag->group] +=
			(double)(day_clip(s, s->now) - day_clip(s, ag->busy_since));
		double per[PERIOD_COUNT] = {0};
		period_split(s->cf, day_clip(s, ag->busy_since), day_clip(s, s->now), per);
		for (int p = 0; p < PERIOD_COUNT; p++)
			s->out->busy_p[p][ag->group] += per[p];
	}
}

/* The stats of the queue a contact arrived in. */
static struct qstat *qstat_of(struct sim *s, const struct sim_contact *ct)
{
	return &s->out->q[s->cf->streams[ct->stream].queue];
}

/* The same queue's stats for the period the contact arrived in. */
static struct qstat *qstat_period(struct sim *s, const struct sim_contact *ct)
{
	return &s->out->qp[ct->period][s->cf->streams[ct->stream].queue];
}


/* sink: an offer; the agent answers after the answer delay. */
static void sink_offer(void *ctx, const struct engine_contact_view *c, int64_t now)
{
	struct sim *s = ctx;
	struct sim_contact *ct = contact_of(s, c);

	s->out->offers++;
	ct->state = ST_OFFERED;
	ct->agent = agent_index(s, c->agent_id);
	snprintf(ct->offer, sizeof ct->offer, "%s", c->offer_id ? c->offer_id : "");
	ct->offer_gen++;
	if (s->submitting == (int64_t)(ct - s->c))
		ct->offered_at_submit = true;
	agent_hold(s, ct->agent, +1);
	ev_push(s, now + s->cf->answer_delay_ms, EV_ACCEPT, (uint32_t)(ct - s->c), ct->offer_gen);
}

/* sink: an offer ended unaccepted; the contact waits again. */
static void sink_offer_ended(void *ctx, const struct engine_contact_view *c, const char *agent_id,
			     const char *offer_id, enum engine_offer_end why, int64_t now)
{
	struct sim *s = ctx;
	struct sim_contact *ct = contact_of(s, c);

	if (why == OFFER_END_TIMEOUT)
		s->out->offer_timeouts++;
	if (ct->state == ST_OFFERED)
		agent_hold(s, agent_index(s, agent_id), -1);
	ct->state = ST_WAITING;
}

/* Counts one estimate against the wait that really followed. */
static void est_add(struct est *e, int64_t est_ms, int64_t wait_ms)
{
	double err = (double)(est_ms - wait_ms);

	e->n++;
	e->abs_sum_ms += fabs(err);
	e->sum_ms += err;
}

/* Adds b into a. */
static void est_sum(struct est *a, const struct est *b)
{
	a->n += b->n;
	a->abs_sum_ms += b->abs_sum_ms;
	a->sum_ms += b->sum_ms;
}

/* sink: answered; records the wait and schedules the end of the handle time. */
static void sink_assigned(void *ctx, const struct engine_contact_view *c, int64_t now)
{
	struct sim *s = ctx;
	struct sim_contact *ct = contact_of(s, c);

	if (ct->state != ST_OFFERED) { /* auto-accepted: no offer came first */
		ct->agent = agent_index(s, c->agent_id);
		agent_hold(s, ct->agent, +1);
	}
	ct->state = ST_ASSIGNED;
	int64_t wait = now - ct->arrived;
	for (int k = 0; k < 2; k++) { /* the day's totals, then its period's */
		struct qstat *q = k == 0 ? qstat_of(s, ct) : qstat_period(s, ct);
		q->answered++;
		if (wait <= c->sla_ms)
			q->answered_in_sla++;
		if (wait > c->sla_ms && !ct->breached)
			q->late_unflagged++;
		if (wait <= c->sla_ms && ct->breached)
			q->early_flagged++;
		q->wait_sum_ms += (double)wait;
		if (ct->est_ms >= 0) { /* < 0: "unknown", counted at submit */
			est_add(&q->est_all, ct->est_ms, wait);
			if (!ct->offered_at_submit)
				est_add(&q->est_queued, ct->est_ms, wait);
		}
	}
	ev_push(s, now + ct->handle_ms, EV_COMPLETE, (uint32_t)(ct - s->c), 0);
}

/* sink: handled; the agent's slot stays busy through wrap-up. */
static void sink_completed(void *ctx, const struct engine_contact_view *c, const char *disposition,
			   int64_t now)
{
	struct sim *s = ctx;
	struct sim_contact *ct = contact_of(s, c);
	int64_t wrap = s->cf->channels[c->channel].wrapup_ms;

	ct->state = ST_DONE;
	s->alive--;
	if (wrap > 0)
		ev_push(s, now + wrap, EV_WRAPEND, ct->agent, 0);
	else
		agent_hold(s, ct->agent, -1);
}

/* sink: the customer gave up (our abandon). */
static void sink_cancelled(void *ctx, const struct engine_contact_view *c, const char *reason,
			   const char *rescinded_agent, const char *rescinded_offer, int64_t now)
{
	struct sim *s = ctx;
	struct sim_contact *ct = contact_of(s, c);

	if (ct->state == ST_OFFERED) {
		if (rescinded_agent == NULL || agent_index(s, rescinded_agent) != ct->agent)
			snprintf(s->out->problem, sizeof s->out->problem,
				 "cancel of offered %s named no rescinded agent", ct->id);
		agent_hold(s, ct->agent, -1);
	}
	ct->state = ST_DONE;
	s->alive--;
	for (int k = 0; k < 2; k++) { /* the day's totals, then its period's */
		struct qstat *q = k == 0 ? qstat_of(s, ct) : qstat_period(s, ct);
		q->abandoned++;
		if (now - ct->arrived > c->sla_ms)
			q->abandoned_after_sla++;
		else
			q->abandoned_in_sla++;
	}
}

/* sink: the engine gave up on a contact (max wait, no agent). */
static void sink_expired(void *ctx, const struct engine_contact_view *c, const char *reason,
			 int64_t now)
{
	struct sim *s = ctx;
	struct sim_contact *ct = contact_of(s, c);

	if (ct->state == ST_OFFERED)
		agent_hold(s, ct->agent, -1);
	ct->state = ST_DONE;
	s->alive--;
	qstat_of(s, ct)->expired++;
	qstat_period(s, ct)->expired++;
}

/* sink: SLA breach, overflow, transfer. */
static void sink_event(void *ctx, const struct engine_contact_view *c, enum engine_event ev,
		       const char *detail, int64_t now)
{
	struct sim *s = ctx;
	struct sim_contact *ct = contact_of(s, c);
	struct qstat *q = qstat_of(s, ct);

	s->out->events++;
	if (ev == EVENT_SLA_BREACHED) {
		q->breached++;
		ct->breached = true;
	}
	else if (ev == EVENT_OVERFLOWED) {
		q->overflowed++;
		qstat_period(s, ct)->overflowed++;
	}
}

/* sink: agent state changes; counts no-answer breaks. */
static void sink_agent_state(void *ctx, const struct engine_agent_view *a, int64_t now)
{
	struct sim *s = ctx;

	if (a->state == AGENT_BREAK && a->reason && !strcmp(a->reason, "no-answer"))
		s->out->no_answer_breaks++;
}

/* sink: contact payloads are indices, nothing to free. */
static void sink_contact_free(void *ctx, void *user)
{
}

static const struct engine_sink sim_sink = {
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

/* ---- one run ----------------------------------------------------------- */

/* Allocates an empty outcome for cf. */
static void outcome_init(struct outcome *o, const struct sim_conf *cf)
{
	memset(o, 0, sizeof *o);
	o->n_queues = cf->n_queues;
	o->n_groups = cf->n_groups;
	o->q = zalloc(cf->n_queues, sizeof *o->q);
	for (int p = 0; p < PERIOD_COUNT; p++) {
		o->qp[p] = zalloc(cf->n_queues, sizeof *o->qp[p]);
		o->busy_p[p] = zalloc(cf->n_groups, sizeof *o->busy_p[p]);
		o->staffed_p[p] = zalloc(cf->n_groups, sizeof *o->staffed_p[p]);
	}
	o->eng = zalloc(cf->n_queues, sizeof *o->eng);
	o->busy_ms = zalloc(cf->n_groups, sizeof *o->busy_ms);
	o->staffed_ms = zalloc(cf->n_groups, sizeof *o->staffed_ms);
}

/* Frees an outcome's arrays. */
static void outcome_free(struct outcome *o)
{
	free(o->q);
	for (int p = 0; p < PERIOD_COUNT; p++) {
		free(o->qp[p]);
		free(o->busy_p[p]);
		free(o->staffed_p[p]);
	}
	free(o->eng);
	free(o->busy_ms);
	free(o->staffed_ms);
}

/* Adds b's counts into a. */
static void qstat_add(struct qstat *a, const struct qstat *b)
{
	a->offered += b->offered;
	a->answered += b->answered;
	a->answered_in_sla += b->answered_in_sla;
	a->abandoned += b->abandoned;
	a->abandoned_in_sla += b->abandoned_in_sla;
	a->abandoned_after_sla += b->abandoned_after_sla;
	a->expired += b->expired;
	a->overflowed += b->overflowed;
	a->breached += b->breached;
	a->stuck += b->stuck;
	a->late_unflagged += b->late_unflagged;
	a->early_flagged += b->early_flagged;
	a->wait_sum_ms += b->wait_sum_ms;
	est_sum(&a->est_all, &b->est_all);
	est_sum(&a->est_queued, &b->est_queued);
	a->est_unknown += b->est_unknown;
}

/* Adds run r into the pooled outcome o. */
static void outcome_add(struct outcome *o, const struct outcome *r)
{
	for (size_t i = 0; i < o->n_queues; i++) {
		qstat_add(&o->q[i], &r->q[i]);
		for (int p = 0; p < PERIOD_COUNT; p++)
			qstat_add(&o->qp[p][i], &r->qp[p][i]);
		struct engine_period_stats *x = &o->eng[i];
		const struct engine_period_stats *y = &r->eng[i];
		x->offered += y->offered;
		x->answered += y->answered;
		x->answered_in_sla += y->answered_in_sla;
		x->abandoned_in_sla += y->abandoned_in_sla;
		x->abandoned_after_sla += y->abandoned_after_sla;
		x->expired += y->expired;
		x->overflowed += y->overflowed;
	}
	for (size_t g = 0; g < o->n_groups; g++) {
		o->busy_ms[g] += r->busy_ms[g];
		o->staffed_ms[g] += r->staffed_ms[g];
		for (int p = 0; p < PERIOD_COUNT; p++) {
			o->busy_p[p][g] += r->busy_p[p][g];
			o->staffed_p[p][g] += r->staffed_p[p][g];
		}
	}
	o->contacts += r->contacts;
	o->offers += r->offers;
	o->rejects += r->rejects;
	o->offer_timeouts += r->offer_timeouts;
	o->accept_errors += r->accept_errors;
	o->submit_errors += r->submit_errors;
	o->cancel_errors += r->cancel_errors;
	o->complete_errors += r->complete_errors;
	o->no_answer_breaks += r->no_answer_breaks;
	o->hold_errors += r->hold_errors;
	o->ticks += r->ticks;
	o->events += r->events;
	o->stuck_wakeups += r->stuck_wakeups;
	o->runs++;
	if (r->problem[0] && !o->problem[0])
		snprintf(o->problem, sizeof o->problem, "%s", r->problem);
}

/* Agent i logs in and goes available. */
static void sim_login(struct sim *s, uint32_t i)
{
	const char *why = NULL;

	if (engine_agent_login(s->e, s->ag[i].id, s->now) != 0 ||
	    engine_agent_set_state(s->e, s->ag[i].id, AGENT_AVAILABLE, NULL, s->now, &why) != 0)
		die("agent %s could not log in: %s", s->ag[i].id, why ? why : "?");
}

/* Sets up the engine: tiers, queues, agents (logged in and available, or
 * at their group's login time). */
static void sim_build(struct sim *s, uint64_t seed, const uint32_t *counts)
{
	const struct sim_conf *cf = s->cf;
	struct engine_conf conf = {0};
	const char *why = NULL;

	memcpy(conf.channels, cf->channels, sizeof conf.channels);
	conf.reject_delay_ms = cf->reject_delay_ms;
	conf.max_no_answer = cf->max_no_answer;
	conf.transfer_boost_ms = 15000;
	conf.stats_window_ms = 15 * 60000;
	conf.seed = seed;
	conf.offer_prefix = "sim";
	conf.check_invariants = cf->check;
	s->e = engine_new(&conf, &sim_sink, s);
	if (s->e == NULL)
		die("engine_new failed");
	for (size_t i = 0; i < cf->agent_tiers.n; i++)
		if (engine_agent_tier_add(s->e, cf->agent_tiers.v[i], &why) != 0)
			die("agent tier '%s' refused: %s", cf->agent_tiers.v[i], why);
	for (size_t i = 0; i < cf->n_ctiers; i++) {
		const struct sim_ctier *t = &cf->ctiers[i];
		struct engine_customer_tier et = {
			.name = t->name,
			.sla_factor = t->sla_factor,
			.first_agent_tiers = t->first.n ? t->first.v : NULL,
			.n_first_agent_tiers = t->first.n,
			.widen_after_ms = t->widen_after_ms,
		};
		if (engine_customer_tier_add(s->e, &et, &why) != 0)
			die("customer tier '%s' refused: %s", t->name, why);
	}
	for (size_t i = 0; i < cf->n_queues; i++) {
		const struct sim_queue *q = &cf->queues[i];
		struct engine_step steps[ENGINE_MAX_STEPS];
		int64_t sla = q->sla_ms ? q->sla_ms : cf->channels[q->ch].sla_ms;
		for (size_t k = 0; k < q->n_steps; k++) {
			const struct sim_step *st = &q->steps[k];
			steps[k] = (struct engine_step){
				.after_ms = st->after_pct ? sla * st->after_pct / 100 : st->after_ms,
				.skill_relax = st->skill_relax,
				.agent_tiers = st->tiers.n ? st->tiers.v : NULL,
				.n_agent_tiers = st->tiers.n,
				.add_queue = st->add_queue,
				.overflow = st->overflow,
			};
		}
		struct engine_queue_def def = {
			.name = q->name,
			.channel = q->ch,
			.skills = q->skills,
			.n_skills = q->n_skills,
			.strategy = (enum engine_strategy)q->strategy,
			.sla_ms = q->sla_ms,
			.target_pct = q->target_pct,
			.agent_tiers = q->tiers.n ? q->tiers.v : NULL,
			.n_agent_tiers = q->tiers.n,
			.steps = steps,
			.n_steps = q->n_steps,
			.max_wait_ms = q->max_wait_ms,
			.max_wait_no_agent_ms = q->max_wait_no_agent_ms,
			.overflow = q->overflow,
		};
		if (engine_queue_add(s->e, &def, &why) != 0)
			die("queue '%s' refused: %s", q->name, why);
	}
	if (engine_queues_done(s->e, &why) != 0)
		die("queues refused: %s", why);
	s->n_ag = 0;
	for (size_t g = 0; g < cf->n_groups; g++)
		s->n_ag += counts[g];
	s->ag = zalloc(s->n_ag, sizeof *s->ag);
	uint32_t n = 0;
	for (size_t g = 0; g < cf->n_groups; g++) {
		const struct sim_group *gr = &cf->groups[g];
		for (uint32_t i = 0; i < counts[g]; i++, n++) {
			struct sim_agent *a = &s->ag[n];
			snprintf(a->id, sizeof a->id, "a%u", n);
			a->group = (uint32_t)g;
			struct engine_agent_def def = {
				.id = a->id,
				.tier = gr->tier,
				.skills = gr->skills,
				.n_skills = gr->n_skills,
				.queues = gr->queues.n ? gr->queues.v : NULL,
				.n_queues = gr->queues.n,
			};
			memcpy(def.capacity, gr->capacity, sizeof def.capacity);
			if (engine_agent_add(s->e, &def, NULL, &why) != 0)
				die("agent of group '%s' refused: %s", gr->name, why);
		}
		int64_t late = gr->login_ms < cf->duration_ms ? gr->login_ms : cf->duration_ms;
		s->out->staffed_ms[g] = (double)counts[g] * (double)(cf->duration_ms - late);
		double per[PERIOD_COUNT] = {0};
		period_split(cf, late, cf->duration_ms, per);
		for (int p = 0; p < PERIOD_COUNT; p++)
			s->out->staffed_p[p][g] = (double)counts[g] * per[p];
	}
	for (uint32_t i = 0; i < s->n_ag; i++) {
		int64_t late = cf->groups[s->ag[i].group].login_ms;
		if (late > 0)
			ev_push(s, s->now + late, EV_LOGIN, i, 0);
		else
			sim_login(s, i);
	}
}

/* A new contact arrives from stream i; the next arrival is scheduled. */
static void sim_arrival(struct sim *s, uint32_t i)
{
	const struct sim_stream *st = &s->cf->streams[i];
	const struct sim_queue *q = &s->cf->queues[st->queue];
	struct rng *r = &s->srng[i];

	double ia = rng_exp(r, 3600000.0 / (st->per_hour * surge_peak(s->cf)));
	double handle = st->handle_max_ms > 0
				? st->handle_min_ms + rng_unit(r) * (st->handle_max_ms - st->handle_min_ms)
			: st->handle_fixed ? st->handle_ms
					   : rng_exp(r, st->handle_ms);
	double patience = st->patience_ms > 0 ? rng_exp(r, st->patience_ms) : 0;
	int64_t next = s->now + (int64_t)llround(ia > 1 ? ia : 1);
	if (next < s->end)
		ev_push(s, next, EV_ARRIVAL, i, 0);
	/* With a surge, arrivals are drawn at the surge's rate and thinned
	 * outside it (Lewis-Shedler): Poisson at the rate of the moment. */
	if (surge_peak(s->cf) > 1 && period_at(s->cf, s->now) != PERIOD_SURGE &&
	    rng_unit(r) * s->cf->surge_factor >= 1.0)
		return;

	if (s->n_c == s->cap_c) {
		s->cap_c = s->cap_c ? s->cap_c * 2 : 4096;
		s->c = grow(s->c, s->cap_c, sizeof *s->c);
	}
	uint32_t idx = (uint32_t)s->n_c++;
	struct sim_contact *ct = &s->c[idx];
	memset(ct, 0, sizeof *ct);
	snprintf(ct->id, sizeof ct->id, "c%u", idx);
	ct->stream = i;
	ct->arrived = s->now;
	ct->handle_ms = (int64_t)llround(handle > 1 ? handle : 1);
	ct->state = ST_WAITING;
	ct->period = (uint8_t)period_at(s->cf, s->now);
	s->out->contacts++;
	s->out->q[st->queue].offered++;
	s->out->qp[ct->period][st->queue].offered++;

	struct engine_submit in = {
		.id = ct->id,
		.gateway_id = "sim",
		.external_id = ct->id,
		.queue = q->name,
		.channel = st->ch,
		.customer_tier = st->tier,
		.skills = st->n_skills ? st->skills : NULL,
		.n_skills = st->n_skills,
		.priority_s = st->priority_s,
		.arrived_ms = s->now,
		.deadline_ms = engine_deadline(s->e, q->name, st->ch, st->tier, s->now, st->priority_s),
		.user = (void *)(uintptr_t)(idx + 1),
	};
	uint32_t pos = 0;
	int64_t est = 0;
	s->alive++;
	s->submitting = idx;
	int rc = engine_submit(s->e, &in, s->now, &pos, &est);
	s->submitting = -1;
	ct = &s->c[idx];
	if (rc != 0) {
		s->out->submit_errors++;
		s->alive--;
		ct->state = ST_DONE;
		return;
	}
	ct->est_ms = est;
	if (est < 0)
		s->out->q[st->queue].est_unknown++;
	if (patience > 0)
		ev_push(s, s->now + (int64_t)llround(patience), EV_ABANDON, idx, 0);
}

/* Handles one simulator event. */
static void sim_event(struct sim *s, const struct event *ev)
{
	const char *why = NULL;
	const struct engine_contact_view *cv = NULL;
	struct sim_contact *ct = ev->kind == EV_ARRIVAL || ev->kind == EV_WRAPEND ||
					 ev->kind == EV_LOGIN
				 ? NULL
				 : &s->c[ev->a];

	switch ((enum ev_kind)ev->kind) {
	case EV_ARRIVAL:
		sim_arrival(s, ev->a);
		break;
	case EV_ACCEPT:
		if (ct->state != ST_OFFERED || ct->offer_gen != ev->gen)
			break; /* the offer ended first */
		if (s->cf->reject_pct > 0 && rng_unit(&s->reject_rng) * 100 < s->cf->reject_pct) {
			if (engine_reject(s->e, s->ag[ct->agent].id, ct->offer, "busy", s->now,
					  &why) != 0)
				s->out->accept_errors++;
			else
				s->out->rejects++;
			break;
		}
		if (engine_accept(s->e, s->ag[ct->agent].id, ct->offer, s->now, &why, &cv) != 0)
			s->out->accept_errors++;
		break;
	case EV_COMPLETE:
		if (ct->state != ST_ASSIGNED)
			break;
		if (engine_complete(s->e, s->ag[ct->agent].id, ct->id, "resolved", s->now, &why) !=
		    0) {
			s->out->complete_errors++;
			snprintf(s->out->problem, sizeof s->out->problem, "complete of %s refused: %s",
				 ct->id, why ? why : "?");
		}
		break;
	case EV_ABANDON:
		if (ct->state != ST_WAITING && ct->state != ST_OFFERED)
			break;
		if (engine_cancel(s->e, ct->id, "sim", "abandoned", s->now, &why) != 0)
			s->out->cancel_errors++;
		break;
	case EV_WRAPEND:
		agent_hold(s, ev->a, -1);
		break;
	case EV_LOGIN:
		sim_login(s, ev->a);
		break;
	}
}

/* Runs one simulated day with counts[g] agents in group g. */
static void sim_run(const struct sim_conf *cf, uint64_t seed, const uint32_t *counts,
		    struct outcome *out)
{
	struct sim s = {.cf = cf, .out = out, .submitting = -1};

	outcome_init(out, cf);
	s.now = T0_MS;
	s.end = T0_MS + cf->duration_ms;
	sim_build(&s, seed, counts);
	s.srng = zalloc(cf->n_streams, sizeof *s.srng);
	for (size_t i = 0; i < cf->n_streams; i++) {
		uint64_t x = seed * 0x100000001b3ULL + i;
		rng_seed(&s.srng[i], rng_splitmix(&x));
		if (cf->streams[i].per_hour > 0) {
			double ia = rng_exp(&s.srng[i], 3600000.0 / (cf->streams[i].per_hour *
								   surge_peak(cf)));
			int64_t t = T0_MS + (int64_t)llround(ia);
			if (t < s.end)
				ev_push(&s, t, EV_ARRIVAL, (uint32_t)i, 0);
		}
	}
	{
		uint64_t x = seed ^ 0x5265ea5eULL;
		rng_seed(&s.reject_rng, rng_splitmix(&x));
	}
	int64_t last_tick = INT64_MIN;
	uint32_t same = 0;
	for (;;) {
		int64_t te = s.n_h ? s.heap[0].t : INT64_MAX;
		int64_t tw = engine_next_wakeup(s.e);
		if (te == INT64_MAX && s.alive == 0)
			break;
		if (tw <= te) {
			if (tw == INT64_MAX)
				break; /* contacts nothing will ever move: reported as stuck */
			if (tw < s.now)
				tw = s.now;
			if (tw > s.end + DRAIN_LIMIT_MS)
				break;
			same = tw == last_tick ? same + 1 : 0;
			if (same > 1000) {
				out->stuck_wakeups++;
				snprintf(out->problem, sizeof out->problem,
					 "engine_next_wakeup stays at %+" PRId64 " ms after engine_tick",
					 tw - T0_MS);
				break;
			}
			last_tick = tw;
			s.now = tw;
			engine_tick(s.e, s.now);
			out->ticks++;
			continue;
		}
		struct event ev = ev_pop(&s);
		s.now = ev.t;
		sim_event(&s, &ev);
	}
	for (size_t i = 0; i < s.n_c; i++)
		if (s.c[i].state != ST_DONE)
			out->q[cf->streams[s.c[i].stream].queue].stuck++;
	for (uint32_t a = 0; a < s.n_ag; a++)
		if (s.ag[a].held > 0) {
			s.ag[a].held = 1;
			agent_hold(&s, a, -1);
		}
	for (size_t i = 0; i < cf->n_queues; i++) {
		struct engine_queue_stats qs;
		if (engine_queue_stats(s.e, cf->queues[i].name, s.now, &qs) == 0)
			out->eng[i] = qs.total;
	}
	if (cf->check) {
		const char *breach = engine_check_invariants(s.e);
		if (breach != NULL && !out->problem[0])
			snprintf(out->problem, sizeof out->problem, "invariant: %s", breach);
	}
	engine_free(s.e);
	free(s.c);
	free(s.ag);
	free(s.heap);
	free(s.srng);
}

/* Runs cf->runs days (seeds seed, seed+1, ...) and pools them into out. */
static void sim_runs(const struct sim_conf *cf, const uint32_t *counts, struct outcome *out)
{
	outcome_init(out, cf);
	for (uint32_t r = 0; r < cf->runs; r++) {
		struct outcome one;
		sim_run(cf, cf->seed + r, counts, &one);
		outcome_add(out, &one);
		outcome_free(&one);
	}
}

/* ---- reports ----------------------------------------------------------- */

/* Service level of a queue's stats; -1 if nothing counts. */
static double service_level(const struct qstat *q)
{
	uint64_t den = q->answered + q->abandoned_after_sla;

	return den ? (double)q->answered_in_sla / (double)den : -1;
}

/* The threshold a queue's contacts are held to (standard tier). */
static int64_t queue_sla(const struct sim_conf *cf, size_t i)
{
	const struct sim_queue *q = &cf->queues[i];

	return q->sla_ms ? q->sla_ms : cf->channels[q->ch].sla_ms;
}

/* Erlang C service level (no abandons) for n agents, or -1 if the model is
 * not a single exponential stream; the ring time counts as handle time and
 * comes off the threshold. */
static double erlang_c_sl(const struct sim_conf *cf, uint32_t n)
{
	if (cf->n_queues != 1 || cf->n_streams != 1 || cf->n_groups != 1)
		return -1;
	const struct sim_stream *st = &cf->streams[0];
	if (st->handle_fixed || st->patience_ms > 0 || st->ch != SB_CH_VOICE)
		return -1;
	double svc = (st->handle_ms + (double)cf->answer_delay_ms) / 1000.0;
	double a = st->per_hour / 3600.0 * svc;
	double t = (double)(queue_sla(cf, 0) - cf->answer_delay_ms) / 1000.0;
	if ((double)n <= a)
		return 0;
	double b = 1;
	for (uint32_t k = 1; k <= n; k++)
		b = a * b / (k + a * b);
	double c = n * b / (n - a * (1 - b));
	double sl = 1 - c * exp(-((double)n - a) * (t > 0 ? t : 0) / svc);
	return sl < 0 ? 0 : sl;
}

/* Prints "MAE bias" of e in seconds, or dashes. */
static void est_cols(const struct est *e)
{
	if (e->n == 0)
		printf(" %8" PRIu64 " %7s %7s", e->n, "-", "-");
	else
		printf(" %8" PRIu64 " %7.1f %+7.1f", e->n, e->abs_sum_ms / (double)e->n / 1000.0,
		       e->sum_ms / (double)e->n / 1000.0);
}

/* One row of the estimate report. */
static void est_row(const char *name, const char *chan, const struct qstat *q)
{
	printf("%-16s %-6s %8" PRIu64, name, chan, q->est_unknown);
	est_cols(&q->est_all);
	est_cols(&q->est_queued);
	printf("\n");
}

/* Prints the report of one (pooled) outcome. */
/* With a surge: the same figures by the period a contact arrived in, and
 * each group's occupancy in each period. */
static void report_periods(const struct sim_conf *cf, const struct outcome *o)
{
	static const char *const names[PERIOD_COUNT] = {"steady", "surge", "recovery"};

	printf("\nby when the contact arrived (steady: neither in a surge nor in its recovery)\n");
	printf("%-16s %-9s %8s %8s %8s %8s %8s %7s %7s %7s\n", "queue", "period", "offered",
	       "answered", "abandon", "expired", "overflow", "SL", "ASA s", "aband%");
	for (size_t i = 0; i < cf->n_queues; i++) {
		for (int p = 0; p < PERIOD_COUNT; p++) {
			const struct qstat *q = &o->qp[p][i];
			double sl = service_level(q);
			char slbuf[32];
			if (sl < 0)
				snprintf(slbuf, sizeof slbuf, "-");
			else
				snprintf(slbuf, sizeof slbuf, "%.1f%%", 100 * sl);
			printf("%-16s %-9s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64
			       " %8" PRIu64 " %7s %7.1f %6.1f%%\n",
			       p == 0 ? cf->queues[i].name : "", names[p], q->offered, q->answered,
			       q->abandoned, q->expired, q->overflowed, slbuf,
			       q->answered ? q->wait_sum_ms / (double)q->answered / 1000.0 : 0,
			       q->offered ? 100.0 * (double)q->abandoned / (double)q->offered : 0);
		}
	}
	printf("\n%-16s %10s %10s %10s   (occupancy)\n", "agent group", names[0], names[1],
	       names[2]);
	for (size_t g = 0; g < cf->n_groups; g++) {
		printf("%-16s", cf->groups[g].name);
		for (int p = 0; p < PERIOD_COUNT; p++)
			printf(" %9.1f%%", o->staffed_p[p][g] > 0
						   ? 100.0 * o->busy_p[p][g] / o->staffed_p[p][g]
						   : 0);
		printf("\n");
	}
}

static void report(const struct sim_conf *cf, const uint32_t *counts, const struct outcome *o)
{
	char b1[32], b2[32], b3[32], b4[32];

	printf("sb-sim: %s; %s simulated x %u run%s from seed %" PRIu64 "; answer delay %s\n",
	       cf->source ? cf->source : "(flags)", fmt_dur(cf->duration_ms, b1, sizeof b1), o->runs,
	       o->runs == 1 ? "" : "s", cf->seed, fmt_dur(cf->answer_delay_ms, b2, sizeof b2));
	printf("%" PRIu64 " contacts (%.0f per hour), %" PRIu64 " offers", o->contacts,
	       (double)o->contacts / o->runs / ((double)cf->duration_ms / 3600000.0), o->offers);
	if (cf->reject_pct > 0)
		printf(", %" PRIu64 " rejected (%.0f%% of offers)", o->rejects, cf->reject_pct);
	if (surge_peak(cf) > 1)
		printf("\nsurge: arrivals x%.2g for %s every %s (first at %s); recovery %s",
		       cf->surge_factor, fmt_dur(cf->surge_length_ms, b1, sizeof b1),
		       fmt_dur(cf->surge_every_ms, b2, sizeof b2),
		       fmt_dur(cf->surge_every_ms, b3, sizeof b3),
		       fmt_dur(cf->surge_recovery_ms, b4, sizeof b4));
	printf("\n\n");
	printf("%-16s %-6s %8s %8s %8s %8s %7s %7s %7s %7s %9s\n", "queue", "chan", "offered",
	       "answered", "abandon", "expired", "SL", "target", "ASA s", "aband%", "engine SL");
	for (size_t i = 0; i < cf->n_queues; i++) {
		const struct qstat *q = &o->q[i];
		const struct engine_period_stats *e = &o->eng[i];
		double sl = service_level(q);
		uint64_t eden = e->answered + e->abandoned_after_sla;
		char slbuf[32], engbuf[32], thr[40];
		snprintf(thr, sizeof thr, "%d%%/%s", cf->queues[i].target_pct,
			 fmt_dur(queue_sla(cf, i), b1, sizeof b1));
		if (sl < 0)
			snprintf(slbuf, sizeof slbuf, "-");
		else
			snprintf(slbuf, sizeof slbuf, "%.1f%%", 100 * sl);
		if (eden == 0)
			snprintf(engbuf, sizeof engbuf, "-");
		else
			snprintf(engbuf, sizeof engbuf, "%.1f%%",
				 100.0 * (double)e->answered_in_sla / (double)eden);
		printf("%-16s %-6s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %7s %7s %7.1f "
		       "%6.1f%% %9s\n",
		       cf->queues[i].name, channel_name(cf->queues[i].ch), q->offered, q->answered,
		       q->abandoned, q->expired, slbuf, thr,
		       q->answered ? q->wait_sum_ms / (double)q->answered / 1000.0 : 0,
		       q->offered ? 100.0 * (double)q->abandoned / (double)q->offered : 0, engbuf);
		if (q->stuck || q->overflowed || q->breached)
			printf("%-16s        never resolved %" PRIu64 ", overflowed %" PRIu64
			       ", SLA-breach events %" PRIu64 "\n",
			       "", q->stuck, q->overflowed, q->breached);
		if (q->late_unflagged || q->early_flagged)
			printf("%-16s        answered late without an SLA-breach event %" PRIu64
			       ", breach event yet answered in time %" PRIu64 "\n",
			       "", q->late_unflagged, q->early_flagged);
		if (e->answered != q->answered || e->answered_in_sla != q->answered_in_sla)
			printf("%-16s        engine_queue_stats differs: answered %" PRIu64
			       " (in SLA %" PRIu64 "), abandoned after SLA %" PRIu64 "\n",
			       "", e->answered, e->answered_in_sla, e->abandoned_after_sla);
	}
	printf("\n%-16s %8s %10s\n", "agent group", "agents", "occupancy");
	for (size_t g = 0; g < cf->n_groups; g++)
		printf("%-16s %8u %9.1f%%\n", cf->groups[g].name, counts[g],
		       o->staffed_ms[g] > 0 ? 100.0 * o->busy_ms[g] / o->staffed_ms[g] : 0);
	if (surge_peak(cf) > 1)
		report_periods(cf, o);
	printf("\nestimated wait at arrival - real wait (s; bias > 0: too long), answered contacts;\n"
	       "queued: not offered at arrival; unknown: arrivals told \"unknown\" (left out)\n");
	printf("%-16s %-6s %8s %8s %7s %7s %8s %7s %7s\n", "queue", "chan", "unknown", "answered",
	       "MAE", "bias", "queued", "MAE", "bias");
	struct qstat sum = {0};
	for (size_t i = 0; i < cf->n_queues; i++) {
		const struct qstat *q = &o->q[i];
		est_row(cf->queues[i].name, channel_name(cf->queues[i].ch), q);
		est_sum(&sum.est_all, &q->est_all);
		est_sum(&sum.est_queued, &q->est_queued);
		sum.est_unknown += q->est_unknown;
	}
	if (cf->n_queues > 1)
		est_row("all", "", &sum);
	if (o->offer_timeouts || o->no_answer_breaks || o->accept_errors || o->submit_errors ||
	    o->cancel_errors || o->complete_errors || o->hold_errors || o->problem[0])
		printf("\nNOTE: offer timeouts %" PRIu64 ", no-answer breaks %" PRIu64
		       ", errors: accept %" PRIu64 " submit %" PRIu64 " cancel %" PRIu64
		       " complete %" PRIu64 " bookkeeping %" PRIu64 "%s%s\n",
		       o->offer_timeouts, o->no_answer_breaks, o->accept_errors, o->submit_errors,
		       o->cancel_errors, o->complete_errors, o->hold_errors, o->problem[0] ? "; " : "",
		       o->problem);
}

/* Whether every queue meets its target in o, in steady state (all day
 * without a surge). */
static bool meets_targets(const struct sim_conf *cf, const struct outcome *o)
{
	for (size_t i = 0; i < cf->n_queues; i++) {
		const struct qstat *q = &o->qp[PERIOD_STEADY][i];
		double sl = service_level(q);
		if (q->offered > 0 && sl * 100 < cf->queues[i].target_pct)
			return false;
	}
	return true;
}

/* Runs the same traffic for each agent count of the swept group. */
static void sweep(const struct sim_conf *cf, size_t group, uint32_t *counts)
{
	char b1[32];
	bool erlang = erlang_c_sl(cf, 1) >= 0;
	long answer = -1;

	printf("sb-sim: %s; sweeping group '%s' %u..%u; %s x %u run%s from seed %" PRIu64 "\n",
	       cf->source ? cf->source : "(flags)", cf->groups[group].name, cf->sweep_from,
	       cf->sweep_to, fmt_dur(cf->duration_ms, b1, sizeof b1), cf->runs,
	       cf->runs == 1 ? "" : "s", cf->seed);
	for (size_t i = 0; i < cf->n_streams; i++) {
		const struct sim_stream *st = &cf->streams[i];
		printf("traffic: %s %s %.0f/h, handle %s %.0f s, patience %s\n",
		       cf->queues[st->queue].name, st->tier ? st->tier : "(default tier)", st->per_hour,
		       st->handle_max_ms > 0 ? "uniform, mean" : st->handle_fixed ? "fixed" : "exp. mean", st->handle_ms / 1000,
		       st->patience_ms > 0 ? "exp." : "none");
	}
	printf("\n%7s", "agents");
	for (size_t i = 0; i < cf->n_queues; i++) {
		char h[64];
		snprintf(h, sizeof h, "SL %s", cf->queues[i].name);
		printf(" %12.12s %7s %6s", h, "ASA s", "aband");
	}
	printf(" %9s%s\n", "occupancy", erlang ? "  Erlang-C SL (no abandons)" : "");
	for (uint32_t n = cf->sweep_from; n <= cf->sweep_to; n += cf->sweep_step) {
		struct outcome o;
		counts[group] = n;
		sim_runs(cf, counts, &o);
		printf("%7u", n);
		for (size_t i = 0; i < cf->n_queues; i++) {
			const struct qstat *q = &o.q[i];
			double sl = service_level(q);
			printf(" %11.1f%% %7.1f %5.1f%%", sl < 0 ? 0 : 100 * sl,
			       q->answered ? q->wait_sum_ms / (double)q->answered / 1000.0 : 0,
			       q->offered ? 100.0 * (double)q->abandoned / (double)q->offered : 0);
		}
		printf(" %8.1f%%", o.staffed_ms[group] > 0 ? 100 * o.busy_ms[group] / o.staffed_ms[group]
							  : 0);
		if (erlang)
			printf("  %8.1f%%", 100 * erlang_c_sl(cf, n));
		if (o.problem[0] || o.hold_errors || o.accept_errors || o.complete_errors)
			printf("  (problem: %s)", o.problem[0] ? o.problem : "bookkeeping errors");
		printf("\n");
		if (answer < 0 && meets_targets(cf, &o))
			answer = n;
		outcome_free(&o);
		if (n > UINT32_MAX - cf->sweep_step)
			break;
	}
	printf("\n");
	if (answer >= 0) {
		printf("answer: %ld agents in '%s' is the smallest count that meets every queue's "
		       "target (",
		       answer, cf->groups[group].name);
		for (size_t i = 0; i < cf->n_queues; i++)
			printf("%s%s %d%% in %s", i ? ", " : "", cf->queues[i].name,
			       cf->queues[i].target_pct, fmt_dur(queue_sla(cf, i), b1, sizeof b1));
		printf(")\n");
	} else {
		printf("answer: no count in %u..%u meets every queue's target\n", cf->sweep_from,
		       cf->sweep_to);
	}
}

/* Checks cross-references the engine would otherwise refuse one by one. */
static void conf_check(const struct sim_conf *cf)
{
	if (cf->n_queues == 0 || cf->n_groups == 0 || cf->n_streams == 0)
		die("the model needs at least one queue, one agent group and one traffic stream");
	if (cf->duration_ms <= 0)
		die("duration must be > 0");
	for (size_t i = 0; i < cf->n_streams; i++)
		if (cf->streams[i].per_hour <= 0)
			die("traffic %zu: per_hour must be > 0", i + 1);
}

/* Prints usage. */
static void usage(FILE *f)
{
	fprintf(f,
		"usage: sb-sim [MODEL.yaml] [options]\n"
		"  --seed N              seed (default: the model's, else 1)\n"
		"  --duration DUR        simulated time (default 8h)\n"
		"  --agents N            agents in the swept group (default: the first group)\n"
		"  --sweep-agents A:B[:S] run for each agent count A..B and print service level\n"
		"  --sweep-group NAME    the group --agents and --sweep-agents change\n"
		"  --runs N              pool N days (seeds seed..seed+N-1) per count\n"
		"  --answer-delay DUR    time an agent takes to accept an offer (default 2s)\n"
		"  --check               engine invariants checked after every call (slow)\n"
		"  --require-targets     exit 1 unless every queue meets its target in steady\n"
		"                        state (one run, no sweep; a surge's periods left out)\n"
		"without a model file, one queue and one group from:\n"
		"  --channel CH (voice) --sla DUR (30s) --target PCT (80) --rate PER_HOUR (1200)\n"
		"  --aht DUR (180s) --handle exponential|fixed --patience DUR (0: none)\n"
		"  --strategy NAME (longest-idle); --agents N (default 65)\n");
}

/* Reads a duration flag or exits. */
static int64_t flag_dur(const char *s, const char *flag)
{
	int64_t v = parse_duration(s);

	if (v < 0)
		die("%s: '%s' is not a duration (500ms, 30s, 2m, 8h)", flag, s);
	return v;
}

/* Reads a whole-number flag or exits. */
static uint64_t flag_num(const char *s, const char *flag)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);

	if (errno || end == s || *end != '\0')
		die("%s wants a number, not '%s'", flag, s);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"seed", required_argument, NULL, 'S'},         {"duration", required_argument, NULL, 'D'},
		{"agents", required_argument, NULL, 'a'},       {"sweep-agents", required_argument, NULL, 'w'},
		{"sweep-group", required_argument, NULL, 'g'},  {"runs", required_argument, NULL, 'r'},
		{"answer-delay", required_argument, NULL, 'A'}, {"check", no_argument, NULL, 'c'},
		{"channel", required_argument, NULL, 'C'},      {"sla", required_argument, NULL, 'L'},
		{"target", required_argument, NULL, 'T'},       {"rate", required_argument, NULL, 'R'},
		{"aht", required_argument, NULL, 'H'},          {"handle", required_argument, NULL, 'h'},
		{"patience", required_argument, NULL, 'P'},     {"strategy", required_argument, NULL, 's'},
		{"require-targets", no_argument, NULL, 'Q'},
		{"help", no_argument, NULL, '?' + 256},         {NULL, 0, NULL, 0},
	};
	struct sim_conf cf;
	const char *seed = NULL, *duration = NULL, *agents = NULL, *range = NULL, *group = NULL,
		   *runs = NULL, *delay = NULL;
	const char *channel = "voice", *sla = "30s", *target = "80", *rate = "1200", *aht = "180s",
		   *handle = "exponential", *patience = "0", *strategy = "longest-idle";
	bool check = false, model_flags = false, require = false;
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'S': seed = optarg; break;
		case 'D': duration = optarg; break;
		case 'a': agents = optarg; break;
		case 'w': range = optarg; break;
		case 'g': group = optarg; break;
		case 'r': runs = optarg; break;
		case 'A': delay = optarg; break;
		case 'c': check = true; break;
		case 'Q': require = true; break;
		case 'C': channel = optarg; model_flags = true; break;
		case 'L': sla = optarg; model_flags = true; break;
		case 'T': target = optarg; model_flags = true; break;
		case 'R': rate = optarg; model_flags = true; break;
		case 'H': aht = optarg; model_flags = true; break;
		case 'h': handle = optarg; model_flags = true; break;
		case 'P': patience = optarg; model_flags = true; break;
		case 's': strategy = optarg; model_flags = true; break;
		case '?' + 256: usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	conf_defaults(&cf);
	if (optind < argc) {
		if (model_flags)
			die("--channel/--sla/--target/--rate/--aht/--handle/--patience/--strategy "
			    "describe a model without a file; edit %s instead",
			    argv[optind]);
		conf_load(&cf, argv[optind]);
	} else {
		int c = channel_parse(channel);
		int st = engine_strategy_parse(strategy);
		if (c < 0)
			die("--channel: '%s' is not voice, chat, email or social", channel);
		if (st < 0)
			die("--strategy: unknown '%s'", strategy);
		if (strcmp(handle, "fixed") != 0 && strcmp(handle, "exponential") != 0)
			die("--handle: exponential or fixed");
		cf.queues = zalloc(1, sizeof *cf.queues);
		cf.queues[0] = (struct sim_queue){.name = "support", .ch = (enum sb_channel)c,
						  .sla_ms = flag_dur(sla, "--sla"),
						  .target_pct = (int)flag_num(target, "--target"),
						  .strategy = st};
		cf.n_queues = 1;
		cf.groups = zalloc(1, sizeof *cf.groups);
		cf.groups[0] = (struct sim_group){.name = "agents", .count = 65};
		cf.n_groups = 1;
		cf.streams = zalloc(1, sizeof *cf.streams);
		cf.streams[0] = (struct sim_stream){
			.queue = 0,
			.ch = (enum sb_channel)c,
			.tier = "standard",
			.per_hour = (double)flag_num(rate, "--rate"),
			.handle_fixed = !strcmp(handle, "fixed"),
			.handle_ms = (double)flag_dur(aht, "--aht"),
			.patience_ms = (double)flag_dur(patience, "--patience"),
		};
		cf.n_streams = 1;
	}
	if (seed)
		cf.seed = flag_num(seed, "--seed");
	if (duration)
		cf.duration_ms = flag_dur(duration, "--duration");
	if (delay)
		cf.answer_delay_ms = flag_dur(delay, "--answer-delay");
	if (runs && (cf.runs = (uint32_t)flag_num(runs, "--runs")) == 0)
		die("--runs must be >= 1");
	if (check)
		cf.check = true;
	conf_check(&cf);
	if (group)
		cf.sweep_group = group;
	size_t g = 0;
	if (cf.sweep_group) {
		for (g = 0; g < cf.n_groups && strcmp(cf.groups[g].name, cf.sweep_group); g++)
			;
		if (g == cf.n_groups)
			die("no agent group '%s'", cf.sweep_group);
	}
	uint32_t *counts = zalloc(cf.n_groups, sizeof *counts);
	for (size_t i = 0; i < cf.n_groups; i++)
		counts[i] = cf.groups[i].count;
	if (agents)
		counts[g] = (uint32_t)flag_num(agents, "--agents");
	if (range) {
		if (!parse_range(range, &cf.sweep_from, &cf.sweep_to, &cf.sweep_step))
			die("--sweep-agents wants FROM:TO or FROM:TO:STEP");
	} else if (agents) {
		cf.sweep_from = cf.sweep_to = 0; /* an explicit count beats the model's sweep */
	}

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (cf.sweep_to > 0) {
		sweep(&cf, g, counts);
	} else {
		struct outcome o;
		sim_runs(&cf, counts, &o);
		report(&cf, counts, &o);
		if (require && !meets_targets(&cf, &o)) {
			printf("\nFAIL: a queue misses its target in steady state\n");
			rc = 1;
		}
		outcome_free(&o);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "sb-sim: %.2f s wall\n",
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(counts);
	free(cf.queues);
	free(cf.groups);
	free(cf.streams);
	owned_free();
	return rc;
}
