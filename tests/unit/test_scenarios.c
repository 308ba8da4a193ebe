/* Routing scenarios (tests/scenarios/NAME.scn) run against the engine with a
 * fake clock. Each file declares channels, tiers, queues and a roster, then
 * a timeline of actions (`at T verb ...`) and checks (`expect ...`) on the
 * exact sink events and on the engine's answers to lookups. The format is
 * described in tests/scenarios/README.md.
 *
 * Every scenario runs twice and both runs must log the same events at the
 * same times: routing is deterministic given its inputs (DESIGN 3.3).
 * Invariants are checked after every line, and every contact payload must
 * be released exactly once, so ASan/LSan runs catch leaks.
 *
 * With no arguments the runner runs every .scn file in $SCENARIO_DIR (or
 * the compiled-in SCENARIO_DIR) as one cmocka group; with file arguments it
 * runs just those, one cmocka test each. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "channel.h"
#include "engine/engine.h"
#include "util/err.h"

#ifndef SCENARIO_DIR
#define SCENARIO_DIR "tests/scenarios"
#endif

#define MAX_TOKENS 64
#define MAX_LIST 32
#define MAX_AGENT_TIERS 32
#define MAX_CUSTOMER_TIERS 16
#define MAX_QUEUES 32
#define MAX_AGENTS 64
#define MAX_SKILLS 16
#define EVENT_LEN 256
#define MARKER_MAGIC 0x5c3a7e11u

/* The payload each contact carries: contact_free must see it exactly once. */
struct marker {
	uint32_t magic;
	char id[64];
};

/* One line of a scenario file, split into tokens in place. */
struct line {
	int no;
	const char *text; /* the line as written, for messages */
	char *tok[MAX_TOKENS];
	int n;
};

/* One event the sink recorded, as text, with the time the engine gave. */
struct event {
	char text[EVENT_LEN];
	int64_t at;
};

/* A queue as declared: the engine definition plus the storage it points at. */
struct qdef {
	struct engine_queue_def d;
	struct engine_skill_req skills[MAX_SKILLS];
	const char *tiers[MAX_LIST];
	struct engine_step steps[ENGINE_MAX_STEPS];
	const char *step_tiers[ENGINE_MAX_STEPS][MAX_LIST];
	int line;
};

/* An agent as declared (and as changed by `update`). */
struct adef {
	struct engine_agent_def d;
	struct engine_skill_level skills[MAX_SKILLS];
	const char *queues[MAX_LIST];
	int line;
};

/* A customer tier as declared. */
struct ctier {
	struct engine_customer_tier t;
	const char *first[MAX_LIST];
	int line;
};

/* An offer the sink saw, so scripts can name offers by contact. */
struct offer_seen {
	char contact[64];
	char agent[64];
	char offer[64];
};

/* One run of one scenario file. Owner: run_scenario; everything is freed
 * by run_free. */
struct run {
	const char *path;
	char *buf;  /* the file, tokenised in place */
	char *text; /* a second copy, lines NUL-ended, for messages */
	struct line *lines;
	size_t n_lines;

	struct engine_conf conf;
	const char *agent_tiers[MAX_AGENT_TIERS];
	size_t n_agent_tiers;
	struct ctier ctiers[MAX_CUSTOMER_TIERS];
	size_t n_ctiers;
	struct qdef queues[MAX_QUEUES];
	size_t n_queues;
	struct adef agents[MAX_AGENTS];
	size_t n_agents;

	struct engine *e;
	int64_t now;

	struct event *events;
	size_t n_events, cap_events;
	size_t consumed;   /* events matched by expect lines */
	size_t block_from; /* first event of the current expect block */
	bool in_block;     /* the previous line was an expect */

	int last_rc; /* of the last action */
	const char *last_why;
	int last_action_line;
	bool err_pending; /* an action failed and no `expect error` saw it yet */
	uint32_t last_position;
	int64_t last_estimated_wait;

	struct offer_seen *offers;
	size_t n_offers, cap_offers;

	/* The agent whose own login/logout/state call is running: its echo of
	 * the state the script asked for is not logged. */
	const char *echo_agent;
	int echo_state; /* -1: none */
	const char *echo_reason;

	bool trace; /* SCENARIO_TRACE set: print lines and events as they happen */
	int submitted, freed;
	char violation[512];
	char err[8192];
};

/* Records the first failure, with the file and line it belongs to. */
static void run_fail(struct run *r, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void run_fail(struct run *r, int line, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (r->err[0] != '\0')
		return;
	n = (size_t)snprintf(r->err, sizeof r->err, "%s:%d: ", r->path, line);
	if (n >= sizeof r->err)
		return;
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof r->err - n, fmt, ap);
	va_end(ap);
}

/* Notes the first contract breach a sink callback sees (failing inside an
 * engine call would leave it half-way). */
static void run_violation(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void run_violation(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->violation[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(r->violation, sizeof r->violation, fmt, ap);
	va_end(ap);
}

/* Appends one event line to the log. */
static void run_log(struct run *r, int64_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void run_log(struct run *r, int64_t at, const char *fmt, ...)
{
	va_list ap;

	if (r->n_events == r->cap_events) {
		r->cap_events = r->cap_events ? r->cap_events * 2 : 64;
		r->events = realloc(r->events, r->cap_events * sizeof *r->events);
		if (r->events == NULL)
			abort();
	}
	va_start(ap, fmt);
	vsnprintf(r->events[r->n_events].text, EVENT_LEN, fmt, ap);
	va_end(ap);
	r->events[r->n_events].at = at;
	if (r->trace)
		fprintf(stderr, "      %-44s @%lld\n", r->events[r->n_events].text, (long long)at);
	if (r->n_events > 0 && at < r->events[r->n_events - 1].at)
		run_violation(r, "event '%s' at t=%lld comes after one at t=%lld",
		              r->events[r->n_events].text, (long long)at,
		              (long long)r->events[r->n_events - 1].at);
	if (at > r->now)
		run_violation(r, "event '%s' dated t=%lld, after the clock (t=%lld)",
		              r->events[r->n_events].text, (long long)at, (long long)r->now);
	r->n_events++;
}

/* Checks the payload a contact view carries is the one given at submit. */
static void run_check_view(struct run *r, const struct engine_contact_view *c, const char *cb)
{
	const struct marker *m = c->user;

	if (c->id == NULL) {
		run_violation(r, "%s: contact view without an id", cb);
		return;
	}
	if (m == NULL || m->magic != MARKER_MAGIC || strcmp(m->id, c->id) != 0)
		run_violation(r, "%s: contact %s carries a foreign or freed payload", cb, c->id);
}

/* Remembers an offer id so `accept alice c1` can name it by contact. */
static void run_offer_remember(struct run *r, const char *contact, const char *agent,
                               const char *offer)
{
	struct offer_seen *o;

	if (r->n_offers == r->cap_offers) {
		r->cap_offers = r->cap_offers ? r->cap_offers * 2 : 32;
		r->offers = realloc(r->offers, r->cap_offers * sizeof *r->offers);
		if (r->offers == NULL)
			abort();
	}
	o = &r->offers[r->n_offers++];
	snprintf(o->contact, sizeof o->contact, "%s", contact);
	snprintf(o->agent, sizeof o->agent, "%s", agent);
	snprintf(o->offer, sizeof o->offer, "%s", offer);
}

/* The last offer id seen for contact to agent, or NULL. */
static const char *run_offer_find(const struct run *r, const char *contact, const char *agent)
{
	for (size_t i = r->n_offers; i-- > 0;)
		if (strcmp(r->offers[i].contact, contact) == 0 &&
		    strcmp(r->offers[i].agent, agent) == 0)
			return r->offers[i].offer;
	return NULL;
}

/* The scenario name of an agent state. */
static const char *agent_state_word(enum engine_agent_state s)
{
	switch (s) {
	case AGENT_OFFLINE:
		return "offline";
	case AGENT_AVAILABLE:
		return "available";
	case AGENT_BREAK:
		return "break";
	}
	return "?";
}

/* The scenario name of a contact state. */
static const char *contact_state_word(enum engine_contact_state s)
{
	switch (s) {
	case CONTACT_WAITING:
		return "waiting";
	case CONTACT_OFFERED:
		return "offered";
	case CONTACT_ASSIGNED:
		return "assigned";
	case CONTACT_COMPLETED:
		return "completed";
	case CONTACT_CANCELLED:
		return "cancelled";
	case CONTACT_EXPIRED:
		return "expired";
	}
	return "?";
}

/* The scenario name of why an offer ended. */
static const char *offer_end_word(enum engine_offer_end why)
{
	switch (why) {
	case OFFER_END_TIMEOUT:
		return "timeout";
	case OFFER_END_REJECTED:
		return "rejected";
	case OFFER_END_CANCELLED:
		return "cancelled";
	case OFFER_END_AGENT_GONE:
		return "agent-gone";
	case OFFER_END_AGENT_AWAY:
		return "agent-away";
	case OFFER_END_ADMIN:
		return "admin";
	}
	return "?";
}

/* Sink: an offer was made. */
static void sink_offer(void *ctx, const struct engine_contact_view *c, int64_t now)
{
	struct run *r = ctx;

	run_check_view(r, c, "offer");
	if (c->state != CONTACT_OFFERED || c->agent_id == NULL || c->offer_id == NULL) {
		run_violation(r, "offer: view of %s is not offered to someone", c->id);
		return;
	}
	if (strncmp(c->offer_id, "o-T-", 4) != 0)
		run_violation(r, "offer: id %s lacks the prefix o-T-", c->offer_id);
	for (size_t i = 0; i < r->n_offers; i++)
		if (strcmp(r->offers[i].offer, c->offer_id) == 0)
			run_violation(r, "offer: id %s reused", c->offer_id);
	run_offer_remember(r, c->id, c->agent_id, c->offer_id);
	run_log(r, now, "offer %s -> %s", c->id, c->agent_id);
}

/* Sink: an offer ended unaccepted; the contact waits again. */
static void sink_offer_ended(void *ctx, const struct engine_contact_view *c, const char *agent_id,
                             const char *offer_id, enum engine_offer_end why, int64_t now)
{
	struct run *r = ctx;

	run_check_view(r, c, "offer_ended");
	if (c->state != CONTACT_WAITING || c->agent_id != NULL || c->offer_id != NULL)
		run_violation(r, "offer_ended: view of %s is not waiting", c->id);
	if (why == OFFER_END_CANCELLED)
		run_violation(r, "offer_ended: CANCELLED is reported by `cancelled` (%s)", c->id);
	if (agent_id == NULL || offer_id == NULL) {
		run_violation(r, "offer_ended: %s without agent or offer id", c->id);
		return;
	}
	run_log(r, now, "offer_ended %s %s %s", c->id, agent_id, offer_end_word(why));
}

/* Sink: an offer was accepted, or the contact auto-accepted. */
static void sink_assigned(void *ctx, const struct engine_contact_view *c, int64_t now)
{
	struct run *r = ctx;

	run_check_view(r, c, "assigned");
	if (c->state != CONTACT_ASSIGNED || c->agent_id == NULL || c->assigned_ms != now)
		run_violation(r, "assigned: view of %s wrong (state, agent or assigned_ms)", c->id);
	run_log(r, now, "assigned %s %s", c->id, c->agent_id ? c->agent_id : "?");
}

/* Sink: a contact was completed. */
static void sink_completed(void *ctx, const struct engine_contact_view *c, const char *disposition,
                           int64_t now)
{
	struct run *r = ctx;

	run_check_view(r, c, "completed");
	if (c->state != CONTACT_COMPLETED)
		run_violation(r, "completed: view of %s not completed", c->id);
	run_log(r, now, "completed %s %s %s", c->id, c->agent_id ? c->agent_id : "?",
	        disposition ? disposition : "?");
}

/* Sink: the gateway cancelled a contact, maybe rescinding a live offer. */
static void sink_cancelled(void *ctx, const struct engine_contact_view *c, const char *reason,
                           const char *rescinded_agent, const char *rescinded_offer, int64_t now)
{
	struct run *r = ctx;

	run_check_view(r, c, "cancelled");
	if (c->state != CONTACT_CANCELLED)
		run_violation(r, "cancelled: view of %s not cancelled", c->id);
	if ((rescinded_agent == NULL) != (rescinded_offer == NULL))
		run_violation(r, "cancelled: half a rescind for %s", c->id);
	if (rescinded_agent != NULL)
		run_log(r, now, "cancelled %s %s rescind %s", c->id, reason ? reason : "?",
		        rescinded_agent);
	else
		run_log(r, now, "cancelled %s %s", c->id, reason ? reason : "?");
}

/* Sink: a contact gave up (max-wait, no-agent). */
static void sink_expired(void *ctx, const struct engine_contact_view *c, const char *reason,
                         int64_t now)
{
	struct run *r = ctx;

	run_check_view(r, c, "expired");
	if (c->state != CONTACT_EXPIRED)
		run_violation(r, "expired: view of %s not expired", c->id);
	run_log(r, now, "expired %s %s", c->id, reason ? reason : "?");
}

/* Sink: SLA breach, overflow or transfer; the contact lives on. */
static void sink_event(void *ctx, const struct engine_contact_view *c, enum engine_event ev,
                       const char *detail, int64_t now)
{
	struct run *r = ctx;

	run_check_view(r, c, "event");
	switch (ev) {
	case EVENT_SLA_BREACHED:
		if (!c->sla_breached)
			run_violation(r, "event sla_breached: view of %s not marked breached",
			              c->id);
		run_log(r, now, "event %s sla_breached", c->id);
		break;
	case EVENT_OVERFLOWED:
		run_log(r, now, "event %s overflowed %s", c->id, detail ? detail : "?");
		break;
	case EVENT_TRANSFERRED:
		run_log(r, now, "event %s transferred %s", c->id, detail ? detail : "?");
		break;
	default:
		run_log(r, now, "event %s unknown-%d", c->id, (int)ev);
		break;
	}
}

/* Sink: an agent's state or reason changed. The echo of a change the script
 * itself asked for is not logged: scripts say what they do once. */
static void sink_agent_state(void *ctx, const struct engine_agent_view *a, int64_t now)
{
	struct run *r = ctx;
	const char *reason = a->reason != NULL ? a->reason : "";

	if (r->echo_agent != NULL && strcmp(r->echo_agent, a->id) == 0 &&
	    (int)a->state == r->echo_state &&
	    (r->echo_reason == NULL || strcmp(r->echo_reason, reason) == 0))
		return;
	if (reason[0] != '\0')
		run_log(r, now, "agent %s %s %s", a->id, agent_state_word(a->state), reason);
	else
		run_log(r, now, "agent %s %s", a->id, agent_state_word(a->state));
}

/* Sink: frees the marker given at submit, checking it is one of ours. */
static void sink_contact_free(void *ctx, void *user)
{
	struct run *r = ctx;
	struct marker *m = user;

	if (m == NULL || m->magic != MARKER_MAGIC) {
		run_violation(r, "contact_free of a foreign or already freed payload");
		return;
	}
	m->magic = 0;
	free(m);
	r->freed++;
}

static const struct engine_sink scenario_sink = {
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

/* Parses a whole decimal integer; false if s is anything else. */
static bool parse_long(const char *s, long *out)
{
	char *end;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	*out = strtol(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* Parses a duration: a bare number is ms; else one or more number+unit
 * parts (ms, s, m, h), e.g. 1500, 30s, 1m30s, 0.5s. */
static bool parse_dur(const char *s, int64_t *out)
{
	double total = 0;
	long whole;

	if (s == NULL || *s == '\0')
		return false;
	if (parse_long(s, &whole)) {
		*out = whole;
		return true;
	}
	while (*s != '\0') {
		char *end;
		double v = strtod(s, &end);
		double unit;

		if (end == s || v < 0)
			return false;
		s = end;
		if (strncmp(s, "ms", 2) == 0) {
			unit = 1;
			s += 2;
		} else if (*s == 's') {
			unit = 1000;
			s++;
		} else if (*s == 'm') {
			unit = 60000;
			s++;
		} else if (*s == 'h') {
			unit = 3600000;
			s++;
		} else {
			return false;
		}
		total += v * unit;
	}
	*out = (int64_t)llround(total);
	return true;
}

/* Parses yes/no (also true/false). */
static bool parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0) {
		*out = true;
		return true;
	}
	if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0) {
		*out = false;
		return true;
	}
	return false;
}

/* Splits a comma list in place; returns the count, or -1 if too long. */
static int split_list(char *s, const char **out, size_t max)
{
	size_t n = 0;

	for (char *p = s; p != NULL;) {
		char *comma = strchr(p, ',');

		if (comma != NULL)
			*comma = '\0';
		if (*p != '\0') {
			if (n == max)
				return -1;
			out[n++] = p;
		}
		p = comma != NULL ? comma + 1 : NULL;
	}
	return (int)n;
}

/* Splits "name:level" in place. */
static bool split_skill(char *s, const char **name, int *level)
{
	char *colon = strchr(s, ':');
	long v;

	if (colon == NULL)
		return false;
	*colon = '\0';
	if (!parse_long(colon + 1, &v))
		return false;
	*name = s;
	*level = (int)v;
	return true;
}

/* Parses a comma list of skill:level into requirements; -1 on error. */
static int parse_skill_reqs(char *s, struct engine_skill_req *out, size_t max)
{
	const char *items[MAX_LIST];
	int n = split_list(s, items, MAX_LIST);

	if (n < 0 || (size_t)n > max)
		return -1;
	for (int i = 0; i < n; i++)
		if (!split_skill((char *)(uintptr_t)items[i], &out[i].skill, &out[i].min_level))
			return -1;
	return n;
}

/* Parses a comma list of skill:level into agent skills; -1 on error. */
static int parse_skill_levels(char *s, struct engine_skill_level *out, size_t max)
{
	const char *items[MAX_LIST];
	int n = split_list(s, items, MAX_LIST);

	if (n < 0 || (size_t)n > max)
		return -1;
	for (int i = 0; i < n; i++)
		if (!split_skill((char *)(uintptr_t)items[i], &out[i].skill, &out[i].level))
			return -1;
	return n;
}

/* The declared queue called name, or NULL. */
static struct qdef *run_queue(struct run *r, const char *name)
{
	for (size_t i = 0; i < r->n_queues; i++)
		if (strcmp(r->queues[i].d.name, name) == 0)
			return &r->queues[i];
	return NULL;
}

/* The declared agent called id, or NULL. */
static struct adef *run_agent(struct run *r, const char *id)
{
	for (size_t i = 0; i < r->n_agents; i++)
		if (strcmp(r->agents[i].d.id, id) == 0)
			return &r->agents[i];
	return NULL;
}

/* The defaults every scenario starts from (README: "Defaults"). */
static void run_defaults(struct run *r)
{
	struct engine_conf *c = &r->conf;

	memset(c, 0, sizeof *c);
	c->channels[SB_CH_VOICE] = (struct engine_channel_conf){30000, 15000, 0, 1, true, false};
	c->channels[SB_CH_CHAT] = (struct engine_channel_conf){60000, 20000, 0, 3, false, false};
	c->channels[SB_CH_EMAIL] =
	    (struct engine_channel_conf){4 * 3600000, 60000, 0, 5, false, false};
	c->channels[SB_CH_SOCIAL] =
	    (struct engine_channel_conf){3600000, 60000, 0, 3, false, false};
	c->reject_delay_ms = 10000;
	c->max_no_answer = 3;
	c->transfer_boost_ms = 30000;
	c->stats_window_ms = 3600000;
	c->seed = 1;
	c->offer_prefix = "T";
	c->check_invariants = true;
}

/* Reads an agent's optional fields (tier, skills, capacity, queues) from
 * tokens [from, n) into a; shared by `agent`, `add` and `update`. */
static bool run_agent_fields(struct run *r, const struct line *l, int from, struct adef *a)
{
	for (int i = from; i < l->n; i += 2) {
		const char *k = l->tok[i];
		char *v = i + 1 < l->n ? l->tok[i + 1] : NULL;
		int n;

		if (v == NULL) {
			run_fail(r, l->no, "'%s' needs a value", k);
			return false;
		}
		if (strcmp(k, "tier") == 0) {
			a->d.tier = v;
		} else if (strcmp(k, "skills") == 0) {
			n = strcmp(v, "none") == 0 ? 0
			                           : parse_skill_levels(v, a->skills, MAX_SKILLS);
			if (n < 0) {
				run_fail(r, l->no, "bad skills '%s' (want name:level,...)", v);
				return false;
			}
			a->d.skills = a->skills;
			a->d.n_skills = (size_t)n;
		} else if (strcmp(k, "capacity") == 0) {
			const char *items[MAX_LIST];

			n = split_list(v, items, MAX_LIST);
			for (int j = 0; j < n; j++) {
				const char *ch_name;
				int cap, ch;

				if (!split_skill((char *)(uintptr_t)items[j], &ch_name, &cap) ||
				    (ch = channel_parse(ch_name)) < 0) {
					run_fail(r, l->no, "bad capacity (want channel:n,...)");
					return false;
				}
				a->d.capacity[ch] = cap;
			}
		} else if (strcmp(k, "queues") == 0) {
			n = strcmp(v, "all") == 0 ? 0 : split_list(v, a->queues, MAX_LIST);
			if (n < 0) {
				run_fail(r, l->no, "too many queues");
				return false;
			}
			a->d.queues = a->queues;
			a->d.n_queues = (size_t)n;
		} else {
			run_fail(r, l->no, "unknown agent key '%s'", k);
			return false;
		}
	}
	return true;
}

/* `channel NAME key value ... [exclusive|shared] [auto_accept|no_auto_accept]` */
static bool hdr_channel(struct run *r, const struct line *l)
{
	int ch = l->n > 1 ? channel_parse(l->tok[1]) : -1;
	struct engine_channel_conf *c;

	if (ch < 0) {
		run_fail(r, l->no, "unknown channel");
		return false;
	}
	c = &r->conf.channels[ch];
	for (int i = 2; i < l->n; i++) {
		const char *k = l->tok[i];
		const char *v = i + 1 < l->n ? l->tok[i + 1] : "";
		long n;

		if (strcmp(k, "exclusive") == 0) {
			c->exclusive = true;
		} else if (strcmp(k, "shared") == 0) {
			c->exclusive = false;
		} else if (strcmp(k, "auto_accept") == 0) {
			c->auto_accept = true;
		} else if (strcmp(k, "no_auto_accept") == 0) {
			c->auto_accept = false;
		} else if (strcmp(k, "sla") == 0 && parse_dur(v, &c->sla_ms)) {
			i++;
		} else if (strcmp(k, "offer_timeout") == 0 && parse_dur(v, &c->offer_timeout_ms)) {
			i++;
		} else if (strcmp(k, "wrapup") == 0 && parse_dur(v, &c->wrapup_ms)) {
			i++;
		} else if (strcmp(k, "capacity") == 0 && parse_long(v, &n)) {
			c->capacity = (int)n;
			i++;
		} else {
			run_fail(r, l->no, "bad channel setting '%s'", k);
			return false;
		}
	}
	return true;
}

/* `routing reject_delay D max_no_answer N transfer_boost D stats_window D seed N` */
static bool hdr_routing(struct run *r, const struct line *l)
{
	struct engine_conf *c = &r->conf;

	for (int i = 1; i < l->n; i += 2) {
		const char *k = l->tok[i];
		const char *v = i + 1 < l->n ? l->tok[i + 1] : "";
		long n;

		if (strcmp(k, "reject_delay") == 0 && parse_dur(v, &c->reject_delay_ms))
			continue;
		if (strcmp(k, "transfer_boost") == 0 && parse_dur(v, &c->transfer_boost_ms))
			continue;
		if (strcmp(k, "stats_window") == 0 && parse_dur(v, &c->stats_window_ms))
			continue;
		if (strcmp(k, "max_no_answer") == 0 && parse_long(v, &n)) {
			c->max_no_answer = (int)n;
			continue;
		}
		if (strcmp(k, "seed") == 0 && parse_long(v, &n)) {
			c->seed = (uint64_t)n;
			continue;
		}
		run_fail(r, l->no, "bad routing setting '%s'", k);
		return false;
	}
	return true;
}

/* `agent_tiers senior regular trainee` (most senior first) */
static bool hdr_agent_tiers(struct run *r, const struct line *l)
{
	for (int i = 1; i < l->n; i++) {
		if (r->n_agent_tiers == MAX_AGENT_TIERS) {
			run_fail(r, l->no, "too many agent tiers");
			return false;
		}
		r->agent_tiers[r->n_agent_tiers++] = l->tok[i];
	}
	return true;
}

/* `customer_tier NAME factor F [first t1,t2] [widen_after D]` */
static bool hdr_customer_tier(struct run *r, const struct line *l)
{
	struct ctier *t;

	if (l->n < 2 || r->n_ctiers == MAX_CUSTOMER_TIERS) {
		run_fail(r, l->no, "customer_tier needs a name (or too many tiers)");
		return false;
	}
	t = &r->ctiers[r->n_ctiers++];
	t->line = l->no;
	t->t.name = l->tok[1];
	t->t.sla_factor = 1.0;
	for (int i = 2; i < l->n; i += 2) {
		const char *k = l->tok[i];
		char *v = i + 1 < l->n ? l->tok[i + 1] : NULL;
		char *end;

		if (v == NULL) {
			run_fail(r, l->no, "'%s' needs a value", k);
			return false;
		}
		if (strcmp(k, "factor") == 0) {
			t->t.sla_factor = strtod(v, &end);
			if (*end != '\0') {
				run_fail(r, l->no, "bad factor '%s'", v);
				return false;
			}
		} else if (strcmp(k, "first") == 0) {
			int n = split_list(v, t->first, MAX_LIST);

			if (n < 0) {
				run_fail(r, l->no, "too many tiers");
				return false;
			}
			t->t.first_agent_tiers = t->first;
			t->t.n_first_agent_tiers = (size_t)n;
		} else if (strcmp(k, "widen_after") == 0) {
			if (!parse_dur(v, &t->t.widen_after_ms)) {
				run_fail(r, l->no, "bad duration '%s'", v);
				return false;
			}
		} else {
			run_fail(r, l->no, "unknown customer_tier key '%s'", k);
			return false;
		}
	}
	return true;
}

/* `queue NAME channel CH [strategy S] [skills a:1,...] [sla D] [target N]
 *  [tiers t1,...] [max_wait D] [max_wait_no_agent D] [overflow Q]` */
static bool hdr_queue(struct run *r, const struct line *l)
{
	struct qdef *q;
	bool have_channel = false;

	if (l->n < 2 || r->n_queues == MAX_QUEUES) {
		run_fail(r, l->no, "queue needs a name (or too many queues)");
		return false;
	}
	q = &r->queues[r->n_queues++];
	q->line = l->no;
	q->d.name = l->tok[1];
	q->d.strategy = STRATEGY_LONGEST_IDLE;
	for (int i = 2; i < l->n; i += 2) {
		const char *k = l->tok[i];
		char *v = i + 1 < l->n ? l->tok[i + 1] : NULL;
		bool ok = true;
		long n;
		int m;

		if (v == NULL) {
			run_fail(r, l->no, "'%s' needs a value", k);
			return false;
		}
		if (strcmp(k, "channel") == 0) {
			m = channel_parse(v);
			ok = m >= 0;
			q->d.channel = (enum sb_channel)(ok ? m : 0);
			have_channel = ok;
		} else if (strcmp(k, "strategy") == 0) {
			m = engine_strategy_parse(v);
			ok = m >= 0;
			q->d.strategy = (enum engine_strategy)(ok ? m : 0);
		} else if (strcmp(k, "skills") == 0) {
			m = parse_skill_reqs(v, q->skills, MAX_SKILLS);
			ok = m >= 0;
			q->d.skills = q->skills;
			q->d.n_skills = ok ? (size_t)m : 0;
		} else if (strcmp(k, "sla") == 0) {
			ok = parse_dur(v, &q->d.sla_ms);
		} else if (strcmp(k, "target") == 0) {
			ok = parse_long(v, &n);
			/* n is set only when v parsed */
			if (ok)
				q->d.target_pct = (int)n;
		} else if (strcmp(k, "tiers") == 0) {
			m = split_list(v, q->tiers, MAX_LIST);
			ok = m >= 0;
			q->d.agent_tiers = q->tiers;
			q->d.n_agent_tiers = ok ? (size_t)m : 0;
		} else if (strcmp(k, "max_wait") == 0) {
			ok = parse_dur(v, &q->d.max_wait_ms);
		} else if (strcmp(k, "max_wait_no_agent") == 0) {
			ok = parse_dur(v, &q->d.max_wait_no_agent_ms);
		} else if (strcmp(k, "overflow") == 0) {
			q->d.overflow = v;
		} else {
			run_fail(r, l->no, "unknown queue key '%s'", k);
			return false;
		}
		if (!ok) {
			run_fail(r, l->no, "bad value '%s' for %s", v, k);
			return false;
		}
	}
	if (!have_channel) {
		run_fail(r, l->no, "queue %s needs a channel", q->d.name);
		return false;
	}
	return true;
}

/* `step QUEUE after D [relax N] [tiers t1,...] [add_queue Q] [overflow Q]` */
static bool hdr_step(struct run *r, const struct line *l)
{
	struct qdef *q = l->n > 1 ? run_queue(r, l->tok[1]) : NULL;
	struct engine_step *s;
	bool have_after = false;

	if (q == NULL) {
		run_fail(r, l->no, "step names no declared queue (declare the queue first)");
		return false;
	}
	if (q->d.n_steps == ENGINE_MAX_STEPS) {
		run_fail(r, l->no, "too many steps");
		return false;
	}
	s = &q->steps[q->d.n_steps];
	for (int i = 2; i < l->n; i += 2) {
		const char *k = l->tok[i];
		char *v = i + 1 < l->n ? l->tok[i + 1] : NULL;
		bool ok = true;
		long n;

		if (v == NULL) {
			run_fail(r, l->no, "'%s' needs a value", k);
			return false;
		}
		if (strcmp(k, "after") == 0) {
			ok = have_after = parse_dur(v, &s->after_ms);
		} else if (strcmp(k, "relax") == 0) {
			ok = parse_long(v, &n);
			if (ok)
				s->skill_relax = (int)n;
		} else if (strcmp(k, "tiers") == 0) {
			int m = split_list(v, q->step_tiers[q->d.n_steps], MAX_LIST);

			ok = m >= 0;
			s->agent_tiers = q->step_tiers[q->d.n_steps];
			s->n_agent_tiers = ok ? (size_t)m : 0;
		} else if (strcmp(k, "add_queue") == 0) {
			s->add_queue = v;
		} else if (strcmp(k, "overflow") == 0) {
			s->overflow = v;
		} else {
			run_fail(r, l->no, "unknown step key '%s'", k);
			return false;
		}
		if (!ok) {
			run_fail(r, l->no, "bad value '%s' for %s", v, k);
			return false;
		}
	}
	if (!have_after) {
		run_fail(r, l->no, "a step needs 'after'");
		return false;
	}
	q->d.steps = q->steps;
	q->d.n_steps++;
	return true;
}

/* `agent ID [tier T] [skills a:1,...] [capacity ch:n,...] [queues q1,...]` */
static bool hdr_agent(struct run *r, const struct line *l)
{
	struct adef *a;

	if (l->n < 2 || r->n_agents == MAX_AGENTS) {
		run_fail(r, l->no, "agent needs an id (or too many agents)");
		return false;
	}
	a = &r->agents[r->n_agents++];
	a->line = l->no;
	a->d.id = l->tok[1];
	return run_agent_fields(r, l, 2, a);
}

/* True if the line is one of the declarations that come before the timeline. */
static bool is_header(const struct line *l)
{
	static const char *const words[] = {"channel", "routing", "agent_tiers", "customer_tier",
	                                    "queue",   "step",    "agent"};

	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		if (strcmp(l->tok[0], words[i]) == 0)
			return true;
	return false;
}

/* Applies one declaration line. */
static bool run_header(struct run *r, const struct line *l)
{
	const char *w = l->tok[0];

	if (strcmp(w, "channel") == 0)
		return hdr_channel(r, l);
	if (strcmp(w, "routing") == 0)
		return hdr_routing(r, l);
	if (strcmp(w, "agent_tiers") == 0)
		return hdr_agent_tiers(r, l);
	if (strcmp(w, "customer_tier") == 0)
		return hdr_customer_tier(r, l);
	if (strcmp(w, "queue") == 0)
		return hdr_queue(r, l);
	if (strcmp(w, "step") == 0)
		return hdr_step(r, l);
	return hdr_agent(r, l);
}

/* Checks the engine's invariants and what the sink saw; false on a breach. */
static bool run_check(struct run *r, int line)
{
	const char *why;

	if (r->violation[0] != '\0') {
		run_fail(r, line, "sink saw a contract breach at t=%lld: %s", (long long)r->now,
		         r->violation);
		return false;
	}
	if (r->e != NULL && (why = engine_check_invariants(r->e)) != NULL) {
		run_fail(r, line, "invariant broken at t=%lld: %s", (long long)r->now, why);
		return false;
	}
	return true;
}

/* Builds the engine from the declarations, in the order the engine needs. */
static bool run_build(struct run *r, int line)
{
	const char *why = NULL;
	int rc;

	r->e = engine_new(&r->conf, &scenario_sink, r);
	if (r->e == NULL) {
		run_fail(r, line, "engine_new refused the channel/routing settings");
		return false;
	}
	if (r->n_agent_tiers == 0)
		r->agent_tiers[r->n_agent_tiers++] = "regular";
	for (size_t i = 0; i < r->n_agent_tiers; i++)
		if ((rc = engine_agent_tier_add(r->e, r->agent_tiers[i], &why)) != 0) {
			run_fail(r, line, "agent tier %s refused: %s (%s)", r->agent_tiers[i],
			         sb_err_name(rc), why ? why : "");
			return false;
		}
	if (r->n_ctiers == 0) {
		r->ctiers[0].t.name = "standard";
		r->ctiers[0].t.sla_factor = 1.0;
		r->n_ctiers = 1;
	}
	for (size_t i = 0; i < r->n_ctiers; i++)
		if ((rc = engine_customer_tier_add(r->e, &r->ctiers[i].t, &why)) != 0) {
			run_fail(r, r->ctiers[i].line, "customer tier refused: %s (%s)",
			         sb_err_name(rc), why ? why : "");
			return false;
		}
	for (size_t i = 0; i < r->n_queues; i++)
		if ((rc = engine_queue_add(r->e, &r->queues[i].d, &why)) != 0) {
			run_fail(r, r->queues[i].line, "queue refused: %s (%s)", sb_err_name(rc),
			         why ? why : "");
			return false;
		}
	if ((rc = engine_queues_done(r->e, &why)) != 0) {
		run_fail(r, line, "engine_queues_done refused: %s (%s)", sb_err_name(rc),
		         why ? why : "");
		return false;
	}
	for (size_t i = 0; i < r->n_agents; i++)
		if ((rc = engine_agent_add(r->e, &r->agents[i].d, NULL, &why)) != 0) {
			run_fail(r, r->agents[i].line, "agent refused: %s (%s)", sb_err_name(rc),
			         why ? why : "");
			return false;
		}
	return run_check(r, line);
}

/* Moves the clock to t as the daemon would: a tick at each wakeup the
 * engine asks for up to t, then one at t. */
static bool run_advance(struct run *r, int line, int64_t t)
{
	if (t < r->now) {
		run_fail(r, line, "time goes backwards (%lld after %lld)", (long long)t,
		         (long long)r->now);
		return false;
	}
	for (int guard = 0;; guard++) {
		int64_t w = engine_next_wakeup(r->e);
		int64_t at;

		if (w > t)
			break;
		if (guard > 100000) {
			run_fail(r, line, "engine keeps asking for wakeups (at %lld)",
			         (long long)w);
			return false;
		}
		at = w > r->now ? w : r->now;
		r->now = at;
		engine_tick(r->e, at);
		if (!run_check(r, line))
			return false;
		if (engine_next_wakeup(r->e) <= at) {
			run_fail(r, line,
			         "after engine_tick(%lld), engine_next_wakeup() is %lld: not in "
			         "the future",
			         (long long)at, (long long)engine_next_wakeup(r->e));
			return false;
		}
	}
	r->now = t;
	engine_tick(r->e, t);
	return run_check(r, line);
}

/* Fires timers an action left due at or before now, as the daemon's loop
 * would at once (a zero wrap-up or reject delay, say). */
static bool run_settle(struct run *r, int line)
{
	for (int guard = 0; engine_next_wakeup(r->e) <= r->now; guard++) {
		if (guard > 0) {
			run_fail(r, line,
			         "after engine_tick(%lld), engine_next_wakeup() is %lld: not in "
			         "the future",
			         (long long)r->now, (long long)engine_next_wakeup(r->e));
			return false;
		}
		engine_tick(r->e, r->now);
		if (!run_check(r, line))
			return false;
	}
	return true;
}

/* Looks for `key value` pairs in tokens [from, n); returns the value or NULL. */
static char *opt(const struct line *l, int from, const char *key)
{
	for (int i = from; i + 1 < l->n; i++)
		if (strcmp(l->tok[i], key) == 0)
			return l->tok[i + 1];
	return NULL;
}

/* Checks that every `key value` pair in tokens [from, n) is a known key. */
static bool keys_known(struct run *r, const struct line *l, int from, const char *const *keys)
{
	for (int i = from; i < l->n; i += 2) {
		bool ok = false;

		for (size_t k = 0; keys[k] != NULL; k++)
			ok = ok || strcmp(l->tok[i], keys[k]) == 0;
		if (!ok || i + 1 >= l->n) {
			run_fail(r, l->no, "unknown key or missing value: '%s'", l->tok[i]);
			return false;
		}
	}
	return true;
}

/* `submit ID [queue Q] [channel CH] [tier T] [skills a:1,...] [priority S]
 *  [prefer AGENT] [wait D] [arrived T] [gateway G]` */
static int act_submit(struct run *r, const struct line *l, int a)
{
	static const char *const keys[] = {"queue",  "channel", "tier",    "skills",  "priority",
	                                   "prefer", "wait",    "arrived", "gateway", NULL};
	struct engine_skill_req skills[MAX_SKILLS];
	struct engine_submit in;
	struct marker *m;
	char *v;
	long n;
	int rc, ch = -1, n_skills = 0;

	memset(&in, 0, sizeof in);
	if (a + 1 >= l->n) {
		run_fail(r, l->no, "submit needs an id");
		return SB_ERR_INTERNAL;
	}
	if (!keys_known(r, l, a + 2, keys))
		return SB_ERR_INTERNAL;
	in.id = l->tok[a + 1];
	in.gateway_id = (v = opt(l, a + 2, "gateway")) ? v : "gw";
	in.external_id = in.id;
	in.queue = opt(l, a + 2, "queue");
	if ((v = opt(l, a + 2, "channel")) != NULL && (ch = channel_parse(v)) < 0) {
		run_fail(r, l->no, "unknown channel '%s'", v);
		return SB_ERR_INTERNAL;
	}
	if (ch < 0 && in.queue != NULL && run_queue(r, in.queue) != NULL)
		ch = (int)run_queue(r, in.queue)->d.channel;
	if (ch < 0) {
		run_fail(r, l->no, "submit needs a declared queue or a channel");
		return SB_ERR_INTERNAL;
	}
	in.channel = (enum sb_channel)ch;
	if (in.queue == NULL)
		in.queue = engine_default_queue(r->e, in.channel);
	in.customer_tier = opt(l, a + 2, "tier");
	if ((v = opt(l, a + 2, "skills")) != NULL &&
	    (n_skills = parse_skill_reqs(v, skills, MAX_SKILLS)) < 0) {
		run_fail(r, l->no, "bad skills '%s'", v);
		return SB_ERR_INTERNAL;
	}
	in.skills = skills;
	in.n_skills = (size_t)n_skills;
	if ((v = opt(l, a + 2, "priority")) != NULL) {
		if (!parse_long(v, &n)) {
			run_fail(r, l->no, "bad priority '%s' (seconds)", v);
			return SB_ERR_INTERNAL;
		}
		in.priority_s = (int32_t)n;
	}
	in.preferred_agent = opt(l, a + 2, "prefer");
	if ((v = opt(l, a + 2, "wait")) != NULL && !parse_dur(v, &in.preferred_wait_ms)) {
		run_fail(r, l->no, "bad wait '%s'", v);
		return SB_ERR_INTERNAL;
	}
	in.arrived_ms = r->now;
	if ((v = opt(l, a + 2, "arrived")) != NULL && !parse_dur(v, &in.arrived_ms)) {
		run_fail(r, l->no, "bad arrived '%s'", v);
		return SB_ERR_INTERNAL;
	}
	in.deadline_ms = engine_deadline(r->e, in.queue, in.channel, in.customer_tier,
	                                 in.arrived_ms, in.priority_s);
	m = calloc(1, sizeof *m);
	if (m == NULL)
		abort();
	m->magic = MARKER_MAGIC;
	snprintf(m->id, sizeof m->id, "%s", in.id);
	in.user = m;
	/* As the daemon does: check, (persist,) then submit. */
	rc = engine_check_submit(r->e, &in, &r->last_why);
	if (rc == 0) {
		r->last_why = NULL;
		r->last_position = 0;
		r->last_estimated_wait = -1;
		rc = engine_submit(r->e, &in, r->now, &r->last_position, &r->last_estimated_wait);
	}
	if (rc == 0)
		r->submitted++;
	else
		free(m); /* refused: the payload is still ours */
	return rc;
}

/* Echo filter on while the script changes agent's own state. */
static void echo_on(struct run *r, const char *agent, enum engine_agent_state s, const char *reason)
{
	r->echo_agent = agent;
	r->echo_state = (int)s;
	r->echo_reason = reason;
}

/* Echo filter off. */
static void echo_off(struct run *r)
{
	r->echo_agent = NULL;
	r->echo_state = -1;
	r->echo_reason = NULL;
}

/* `state AGENT available|offline|break [REASON]`, also used by `login A available`. */
static int act_state(struct run *r, int line, const char *agent, const char *word,
                     const char *reason)
{
	enum engine_agent_state s;
	int rc;

	if (strcmp(word, "available") == 0)
		s = AGENT_AVAILABLE;
	else if (strcmp(word, "offline") == 0)
		s = AGENT_OFFLINE;
	else if (strcmp(word, "break") == 0)
		s = AGENT_BREAK;
	else {
		run_fail(r, line, "unknown agent state '%s'", word);
		return SB_ERR_INTERNAL;
	}
	echo_on(r, agent, s, s == AGENT_BREAK ? reason : NULL);
	rc = engine_agent_set_state(r->e, agent, s, reason, r->now, &r->last_why);
	echo_off(r);
	if (rc == 0) {
		const struct engine_agent_view *v = engine_agent(r->e, agent);

		if (v == NULL || v->state != s)
			run_fail(r, line, "state %s %s succeeded but the engine says %s", agent,
			         word, v ? agent_state_word(v->state) : "no such agent");
	}
	return rc;
}

/* The offer id a script means: an id as is ("o-..."), else the last offer
 * of that contact to that agent (a made-up id if there was none). */
static const char *offer_arg(const struct run *r, const char *agent, const char *arg)
{
	const char *id;

	if (strncmp(arg, "o-", 2) == 0)
		return arg;
	id = run_offer_find(r, arg, agent);
	return id != NULL ? id : "o-never-offered";
}

/* Runs one action (tokens from index a); returns the engine's code. */
static int run_action(struct run *r, const struct line *l, int a)
{
	const char *verb = l->tok[a];
	const char *x1 = a + 1 < l->n ? l->tok[a + 1] : NULL;
	const char *x2 = a + 2 < l->n ? l->tok[a + 2] : NULL;
	const char *x3 = a + 3 < l->n ? l->tok[a + 3] : NULL;
	const struct engine_contact_view *out = NULL;
	int rc;

	static const char *const verbs[] = {"tick",   "submit", "cancel",   "login",    "logout",
	                                    "state",  "ready",  "remove",   "update",   "add",
	                                    "accept", "reject", "complete", "transfer", NULL};
	bool known = false;

	for (size_t i = 0; verbs[i] != NULL; i++)
		known = known || strcmp(verb, verbs[i]) == 0;
	if (!known) {
		run_fail(r, l->no, "unknown action '%s'", verb);
		return SB_ERR_INTERNAL;
	}
	r->last_why = NULL;
	if (strcmp(verb, "tick") == 0)
		return 0; /* the `at` already ticked */
	if (strcmp(verb, "submit") == 0)
		return act_submit(r, l, a);
	if (x1 == NULL) {
		run_fail(r, l->no, "'%s' needs arguments", verb);
		return SB_ERR_INTERNAL;
	}
	if (strcmp(verb, "cancel") == 0) {
		const char *reason = opt(l, a + 2, "reason");
		const char *gw = opt(l, a + 2, "gateway");

		return engine_cancel(r->e, x1, gw ? gw : "gw", reason ? reason : "hangup", r->now,
		                     &r->last_why);
	}
	if (strcmp(verb, "login") == 0) {
		echo_on(r, x1, AGENT_OFFLINE, NULL);
		rc = engine_agent_login(r->e, x1, r->now);
		echo_off(r);
		if (rc == 0 && x2 != NULL)
			rc = act_state(r, l->no, x1, x2, x3);
		return rc;
	}
	if (strcmp(verb, "logout") == 0) {
		echo_on(r, x1, AGENT_OFFLINE, NULL);
		rc = engine_agent_logout(r->e, x1, r->now);
		echo_off(r);
		return rc;
	}
	if (strcmp(verb, "state") == 0 && x2 != NULL)
		return act_state(r, l->no, x1, x2, x3);
	if (strcmp(verb, "ready") == 0)
		return engine_ready(r->e, x1, r->now);
	if (strcmp(verb, "remove") == 0)
		return engine_agent_remove(r->e, x1, r->now, &r->last_why);
	if (strcmp(verb, "update") == 0 || strcmp(verb, "add") == 0) {
		struct adef *ad = run_agent(r, x1);

		if (strcmp(verb, "add") == 0) {
			if (ad != NULL || r->n_agents == MAX_AGENTS) {
				run_fail(r, l->no, "agent %s already declared (or too many)", x1);
				return SB_ERR_INTERNAL;
			}
			ad = &r->agents[r->n_agents++];
			ad->d.id = x1;
			ad->line = l->no;
			if (!run_agent_fields(r, l, a + 2, ad))
				return SB_ERR_INTERNAL;
			return engine_agent_add(r->e, &ad->d, NULL, &r->last_why);
		}
		if (ad == NULL) {
			run_fail(r, l->no, "update: agent %s not declared", x1);
			return SB_ERR_INTERNAL;
		}
		if (!run_agent_fields(r, l, a + 2, ad))
			return SB_ERR_INTERNAL;
		return engine_agent_update(r->e, &ad->d, r->now, &r->last_why);
	}
	if (x2 == NULL) {
		run_fail(r, l->no, "'%s' needs more arguments", verb);
		return SB_ERR_INTERNAL;
	}
	if (strcmp(verb, "accept") == 0) {
		rc = engine_accept(r->e, x1, offer_arg(r, x1, x2), r->now, &r->last_why, &out);
		if (rc == 0 && (out == NULL || out->state != CONTACT_ASSIGNED))
			run_fail(r, l->no, "accept succeeded but the contact is not assigned");
		return rc;
	}
	if (strcmp(verb, "reject") == 0) {
		const char *reason = opt(l, a + 3, "reason");

		return engine_reject(r->e, x1, offer_arg(r, x1, x2), reason ? reason : "declined",
		                     r->now, &r->last_why);
	}
	if (strcmp(verb, "complete") == 0)
		return engine_complete(r->e, x1, x2, x3 ? x3 : "resolved", r->now, &r->last_why);
	if (strcmp(verb, "transfer") == 0 && x3 != NULL)
		return engine_transfer(r->e, x1, x2, x3, r->now, &r->last_why);
	run_fail(r, l->no, "unknown action '%s'", verb);
	return SB_ERR_INTERNAL;
}

/* True if one expected token matches an actual one: `*` matches anything,
 * `a|b` either. */
static bool token_match(const char *want, const char *got)
{
	size_t len;

	if (strcmp(want, "*") == 0)
		return true;
	for (;;) {
		const char *bar = strchr(want, '|');

		len = bar ? (size_t)(bar - want) : strlen(want);
		if (strlen(got) == len && strncmp(want, got, len) == 0)
			return true;
		if (bar == NULL)
			return false;
		want = bar + 1;
	}
}

/* True if the expect line's tokens [from, n) describe the event text. */
static bool event_match(const struct line *l, int from, int to, const char *text)
{
	char copy[EVENT_LEN];
	char *save = NULL;
	int i = from;

	snprintf(copy, sizeof copy, "%s", text);
	for (char *t = strtok_r(copy, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
		if (i >= to || !token_match(l->tok[i], t))
			return false;
		i++;
	}
	return i == to;
}

/* Appends the events of the current block to a failure message. */
static void run_fail_events(struct run *r, int line, const char *what)
{
	char list[6144];
	size_t n = 0;

	list[0] = '\0';
	for (size_t i = r->block_from; i < r->n_events && n < sizeof list; i++)
		n += (size_t)snprintf(list + n, sizeof list - n, "\n      %s %-40s @%lld",
		                      i < r->consumed ? "  " : (i == r->consumed ? "->" : "  "),
		                      r->events[i].text, (long long)r->events[i].at);
	if (r->block_from == r->n_events)
		snprintf(list, sizeof list, "\n      (none)");
	run_fail(r, line, "%s\n    events since the last expect (-> the first unmatched):%s", what,
	         list);
}

/* Ends an expect block: every event since the last one must be matched. */
static bool run_block_end(struct run *r, int line)
{
	if (r->consumed < r->n_events) {
		run_fail_events(r, line, "unexpected event(s): not matched by any expect line");
		return false;
	}
	r->in_block = false;
	r->block_from = r->n_events;
	return true;
}

/* Compares one int64 figure; false (with a message) if it differs. */
static bool check_i64(struct run *r, const struct line *l, const char *what, int64_t got,
                      const char *want_s)
{
	int64_t want;
	long n;

	if (parse_long(want_s, &n))
		want = n;
	else if (!parse_dur(want_s, &want)) {
		run_fail(r, l->no, "bad number '%s' for %s", want_s, what);
		return false;
	}
	if (got != want) {
		run_fail(r, l->no, "%s: expected %lld, engine says %lld (%s)", what,
		         (long long)want, (long long)got, l->text);
		return false;
	}
	return true;
}

/* Compares one ratio or average; `none` means the engine's -1. */
static bool check_dbl(struct run *r, const struct line *l, const char *what, double got,
                      const char *want_s)
{
	double want;
	char *end;

	if (strcmp(want_s, "none") == 0) {
		want = -1;
	} else {
		int64_t ms;

		want = strtod(want_s, &end);
		if (*end != '\0' && parse_dur(want_s, &ms)) {
			want = (double)ms; /* a duration: asa 20s */
		} else if (*end != '\0') {
			run_fail(r, l->no, "bad number '%s' for %s", want_s, what);
			return false;
		}
	}
	if (fabs(got - want) > 1e-6 * (fabs(want) > 1 ? fabs(want) : 1)) {
		run_fail(r, l->no, "%s: expected %g, engine says %g (%s)", what, want, got,
		         l->text);
		return false;
	}
	return true;
}

/* Compares one string figure; `none` means NULL. */
static bool check_str(struct run *r, const struct line *l, const char *what, const char *got,
                      const char *want)
{
	bool ok = strcmp(want, "none") == 0 ? got == NULL : (got != NULL && strcmp(got, want) == 0);

	if (!ok)
		run_fail(r, l->no, "%s: expected %s, engine says %s (%s)", what, want,
		         got ? got : "none", l->text);
	return ok;
}

/* Compares one flag. */
static bool check_bool(struct run *r, const struct line *l, const char *what, bool got,
                       const char *want_s)
{
	bool want;

	if (!parse_bool(want_s, &want)) {
		run_fail(r, l->no, "bad flag '%s' for %s (yes/no)", want_s, what);
		return false;
	}
	if (got != want) {
		run_fail(r, l->no, "%s: expected %s, engine says %s (%s)", what, want_s,
		         got ? "yes" : "no", l->text);
		return false;
	}
	return true;
}

/* `expect explain C key value ...` */
static bool exp_explain(struct run *r, const struct line *l)
{
	struct engine_explain x;
	const char *why = NULL;
	int rc;

	if (l->n < 3) {
		run_fail(r, l->no, "expect explain needs a contact");
		return false;
	}
	memset(&x, 0, sizeof x);
	rc = engine_explain(r->e, l->tok[2], r->now, &x, &why);
	if (rc != 0) {
		run_fail(r, l->no, "engine_explain(%s): %s (%s)", l->tok[2], sb_err_name(rc),
		         why ? why : "");
		return false;
	}
	for (int i = 3; i < l->n; i += 2) {
		const char *k = l->tok[i];
		const char *v = i + 1 < l->n ? l->tok[i + 1] : NULL;
		bool ok;

		if (v == NULL) {
			run_fail(r, l->no, "'%s' needs a value", k);
			return false;
		}
		if (strcmp(k, "step") == 0)
			ok = check_i64(r, l, "explain step", x.step, v);
		else if (strcmp(k, "deadline") == 0)
			ok = check_i64(r, l, "explain deadline", x.deadline_ms, v);
		else if (strcmp(k, "waited") == 0)
			ok = check_i64(r, l, "explain waited", x.waited_ms, v);
		else if (strcmp(k, "queue") == 0)
			ok = check_str(r, l, "explain queue", x.queue, v);
		else if (strcmp(k, "position") == 0)
			ok = check_i64(r, l, "explain position", x.position, v);
		else if (strcmp(k, "eligible") == 0)
			ok = check_i64(r, l, "explain eligible", x.eligible, v);
		else if (strcmp(k, "blocked_skill") == 0)
			ok = check_i64(r, l, "explain blocked_skill", x.blocked_skill, v);
		else if (strcmp(k, "blocked_tier") == 0)
			ok = check_i64(r, l, "explain blocked_tier", x.blocked_tier, v);
		else if (strcmp(k, "blocked_queue") == 0)
			ok = check_i64(r, l, "explain blocked_queue", x.blocked_queue, v);
		else if (strcmp(k, "blocked_state") == 0)
			ok = check_i64(r, l, "explain blocked_state", x.blocked_state, v);
		else if (strcmp(k, "blocked_capacity") == 0)
			ok = check_i64(r, l, "explain blocked_capacity", x.blocked_capacity, v);
		else if (strcmp(k, "blocked_penalty") == 0)
			ok = check_i64(r, l, "explain blocked_penalty", x.blocked_penalty, v);
		else if (strcmp(k, "blocked_preferred") == 0)
			ok = check_i64(r, l, "explain blocked_preferred", x.blocked_preferred, v);
		else {
			run_fail(r, l->no, "unknown explain key '%s'", k);
			return false;
		}
		if (!ok)
			return false;
	}
	return true;
}

/* Checks one period figure (`answered`, `service_level`, ...). */
static bool check_period(struct run *r, const struct line *l, const char *k,
                         const struct engine_period_stats *p, const char *v)
{
	if (strcmp(k, "offered") == 0)
		return check_i64(r, l, k, (int64_t)p->offered, v);
	if (strcmp(k, "answered") == 0)
		return check_i64(r, l, k, (int64_t)p->answered, v);
	if (strcmp(k, "answered_in_sla") == 0)
		return check_i64(r, l, k, (int64_t)p->answered_in_sla, v);
	if (strcmp(k, "abandoned_in_sla") == 0)
		return check_i64(r, l, k, (int64_t)p->abandoned_in_sla, v);
	if (strcmp(k, "abandoned_after_sla") == 0)
		return check_i64(r, l, k, (int64_t)p->abandoned_after_sla, v);
	if (strcmp(k, "expired") == 0)
		return check_i64(r, l, k, (int64_t)p->expired, v);
	if (strcmp(k, "overflowed") == 0)
		return check_i64(r, l, k, (int64_t)p->overflowed, v);
	if (strcmp(k, "service_level") == 0)
		return check_dbl(r, l, k, p->service_level, v);
	if (strcmp(k, "asa") == 0)
		return check_dbl(r, l, k, p->asa_ms, v);
	if (strcmp(k, "aht") == 0)
		return check_dbl(r, l, k, p->aht_ms, v);
	run_fail(r, l->no, "unknown stats key '%s'", k);
	return false;
}

/* `expect stats Q key value ...`; `window.KEY` reads the rolling window. */
static bool exp_stats(struct run *r, const struct line *l)
{
	struct engine_queue_stats s;
	int rc;

	if (l->n < 3) {
		run_fail(r, l->no, "expect stats needs a queue");
		return false;
	}
	memset(&s, 0, sizeof s);
	rc = engine_queue_stats(r->e, l->tok[2], r->now, &s);
	if (rc != 0) {
		run_fail(r, l->no, "engine_queue_stats(%s): %s", l->tok[2], sb_err_name(rc));
		return false;
	}
	for (int i = 3; i < l->n; i += 2) {
		const char *k = l->tok[i];
		const char *v = i + 1 < l->n ? l->tok[i + 1] : NULL;
		bool ok;

		if (v == NULL) {
			run_fail(r, l->no, "'%s' needs a value", k);
			return false;
		}
		if (strcmp(k, "waiting") == 0)
			ok = check_i64(r, l, k, s.waiting, v);
		else if (strcmp(k, "longest_wait") == 0)
			ok = check_i64(r, l, k, s.longest_wait_ms, v);
		else if (strcmp(k, "sla") == 0)
			ok = check_i64(r, l, k, s.sla_ms, v);
		else if (strcmp(k, "target") == 0)
			ok = check_i64(r, l, k, s.target_pct, v);
		else if (strncmp(k, "window.", 7) == 0)
			ok = check_period(r, l, k + 7, &s.window, v);
		else
			ok = check_period(r, l, k, &s.total, v);
		if (!ok)
			return false;
	}
	return true;
}

/* `expect contact C gone` or `expect contact C key value ...` */
static bool exp_contact(struct run *r, const struct line *l)
{
	const struct engine_contact_view *c = l->n > 2 ? engine_contact(r->e, l->tok[2]) : NULL;

	if (l->n == 4 && strcmp(l->tok[3], "gone") == 0) {
		if (c != NULL)
			run_fail(r, l->no, "contact %s still exists (%s)", l->tok[2],
			         contact_state_word(c->state));
		return c == NULL;
	}
	if (c == NULL) {
		run_fail(r, l->no, "no contact %s", l->n > 2 ? l->tok[2] : "?");
		return false;
	}
	for (int i = 3; i < l->n; i += 2) {
		const char *k = l->tok[i];
		const char *v = i + 1 < l->n ? l->tok[i + 1] : NULL;
		bool ok;

		if (v == NULL) {
			run_fail(r, l->no, "'%s' needs a value", k);
			return false;
		}
		if (strcmp(k, "state") == 0)
			ok = check_str(r, l, k, contact_state_word(c->state), v);
		else if (strcmp(k, "queue") == 0)
			ok = check_str(r, l, k, c->queue, v);
		else if (strcmp(k, "tier") == 0)
			ok = check_str(r, l, k, c->customer_tier, v);
		else if (strcmp(k, "agent") == 0)
			ok = check_str(r, l, k, c->agent_id, v);
		else if (strcmp(k, "step") == 0)
			ok = check_i64(r, l, k, c->step, v);
		else if (strcmp(k, "deadline") == 0)
			ok = check_i64(r, l, k, c->deadline_ms, v);
		else if (strcmp(k, "sla") == 0)
			ok = check_i64(r, l, k, c->sla_ms, v);
		else if (strcmp(k, "arrived") == 0)
			ok = check_i64(r, l, k, c->arrived_ms, v);
		else if (strcmp(k, "offer_expires") == 0)
			ok = check_i64(r, l, k, c->offer_expires_ms, v);
		else if (strcmp(k, "breached") == 0)
			ok = check_bool(r, l, k, c->sla_breached, v);
		else {
			run_fail(r, l->no, "unknown contact key '%s'", k);
			return false;
		}
		if (!ok)
			return false;
	}
	return true;
}

/* `expect agent A key value ...` (state, reason, logged_in, handled, tier,
 * load.CH, capacity.CH) */
static bool exp_agent(struct run *r, const struct line *l)
{
	const struct engine_agent_view *a = engine_agent(r->e, l->tok[2]);

	if (a == NULL) {
		run_fail(r, l->no, "no agent %s", l->tok[2]);
		return false;
	}
	for (int i = 3; i < l->n; i += 2) {
		const char *k = l->tok[i];
		const char *v = i + 1 < l->n ? l->tok[i + 1] : NULL;
		bool ok;
		int ch;

		if (v == NULL) {
			run_fail(r, l->no, "'%s' needs a value", k);
			return false;
		}
		if (strcmp(k, "state") == 0)
			ok = check_str(r, l, k, agent_state_word(a->state), v);
		else if (strcmp(k, "reason") == 0)
			ok = check_str(r, l, k, a->reason && a->reason[0] ? a->reason : NULL, v);
		else if (strcmp(k, "tier") == 0)
			ok = check_str(r, l, k, a->tier, v);
		else if (strcmp(k, "logged_in") == 0)
			ok = check_bool(r, l, k, a->logged_in, v);
		else if (strcmp(k, "handled") == 0)
			ok = check_i64(r, l, k, a->handled, v);
		else if (strncmp(k, "load.", 5) == 0 && (ch = channel_parse(k + 5)) >= 0)
			ok = check_i64(r, l, k, a->load[ch], v);
		else if (strncmp(k, "capacity.", 9) == 0 && (ch = channel_parse(k + 9)) >= 0)
			ok = check_i64(r, l, k, a->capacity[ch], v);
		else {
			run_fail(r, l->no, "unknown agent key '%s'", k);
			return false;
		}
		if (!ok)
			return false;
	}
	return true;
}

/* True if an `expect agent` line is a lookup rather than a logged event
 * (`agent alice break no-answer`). */
static bool is_agent_query(const struct line *l)
{
	static const char *const states[] = {"offline", "available", "break"};

	if (l->n < 4)
		return false;
	for (size_t i = 0; i < sizeof states / sizeof *states; i++)
		if (strcmp(l->tok[3], states[i]) == 0)
			return false;
	return true;
}

/* Runs one `expect` line. */
static bool run_expect(struct run *r, const struct line *l)
{
	const char *what = l->n > 1 ? l->tok[1] : "";
	int last = l->n;
	int64_t at = -1;

	if (!r->in_block) {
		r->in_block = true;
		r->block_from = r->consumed;
	}
	if (strcmp(what, "error") == 0) {
		if (!r->err_pending) {
			run_fail(r, l->no, "expected error %s, but line %d succeeded",
			         l->n > 2 ? l->tok[2] : "?", r->last_action_line);
			return false;
		}
		r->err_pending = false;
		if (l->n != 3 || !token_match(l->tok[2], sb_err_name(r->last_rc))) {
			run_fail(r, l->no, "expected error %s, line %d failed with %s (%s)",
			         l->n > 2 ? l->tok[2] : "?", r->last_action_line,
			         sb_err_name(r->last_rc), r->last_why ? r->last_why : "");
			return false;
		}
		return true;
	}
	if (r->err_pending) {
		run_fail(r, r->last_action_line, "failed: %s (%s); add `expect error %s` if meant",
		         sb_err_name(r->last_rc), r->last_why ? r->last_why : "no reason",
		         sb_err_name(r->last_rc));
		return false;
	}
	if (strcmp(what, "nothing") == 0) {
		if (r->consumed < r->n_events) {
			run_fail_events(r, l->no, "expected nothing more");
			return false;
		}
		return true;
	}
	if (strcmp(what, "position") == 0 && l->n == 4)
		return check_i64(r, l, "position", engine_contact_position(r->e, l->tok[2]),
		                 l->tok[3]);
	if (strcmp(what, "submit") == 0) {
		for (int i = 2; i + 1 < l->n; i += 2) {
			if (strcmp(l->tok[i], "position") == 0 &&
			    !check_i64(r, l, "submit position", r->last_position, l->tok[i + 1]))
				return false;
			if (strcmp(l->tok[i], "estimated_wait") != 0)
				continue;
			/* `unknown`: the engine's ENGINE_WAIT_UNKNOWN (-1). */
			const char *want = strcmp(l->tok[i + 1], "unknown") == 0 ? "-1" : l->tok[i + 1];
			if (!check_i64(r, l, "submit estimated_wait", r->last_estimated_wait, want))
				return false;
		}
		return true;
	}
	if (strcmp(what, "waiting") == 0 && l->n == 3)
		return check_i64(r, l, "waiting", (int64_t)engine_waiting_count(r->e), l->tok[2]);
	if (strcmp(what, "wakeup") == 0 && l->n == 3) {
		if (strcmp(l->tok[2], "none") == 0) {
			if (engine_next_wakeup(r->e) != INT64_MAX)
				run_fail(r, l->no, "wakeup: expected none, engine says %lld",
				         (long long)engine_next_wakeup(r->e));
			return engine_next_wakeup(r->e) == INT64_MAX;
		}
		return check_i64(r, l, "wakeup", engine_next_wakeup(r->e), l->tok[2]);
	}
	if (strcmp(what, "explain") == 0)
		return exp_explain(r, l);
	if (strcmp(what, "stats") == 0)
		return exp_stats(r, l);
	if (strcmp(what, "contact") == 0)
		return exp_contact(r, l);
	if (strcmp(what, "agent") == 0 && is_agent_query(l))
		return exp_agent(r, l);

	/* An event line, optionally ending in @T (the time the engine gave). */
	if (last > 2 && l->tok[last - 1][0] == '@') {
		if (!parse_dur(l->tok[last - 1] + 1, &at)) {
			run_fail(r, l->no, "bad time '%s'", l->tok[last - 1]);
			return false;
		}
		last--;
	}
	if (r->consumed >= r->n_events || !event_match(l, 1, last, r->events[r->consumed].text) ||
	    (at >= 0 && r->events[r->consumed].at != at)) {
		char want[EVENT_LEN];
		size_t n = 0;

		want[0] = '\0';
		for (int i = 1; i < l->n && n < sizeof want; i++)
			n += (size_t)snprintf(want + n, sizeof want - n, "%s%s", i > 1 ? " " : "",
			                      l->tok[i]);
		char msg[EVENT_LEN + 32];
		snprintf(msg, sizeof msg, "expected: %s", want);
		run_fail_events(r, l->no, msg);
		return false;
	}
	r->consumed++;
	return true;
}

/* Runs one timeline line (`at T action` or `expect ...`). */
static bool run_line(struct run *r, const struct line *l)
{
	if (strcmp(l->tok[0], "expect") == 0)
		return run_expect(r, l) && run_check(r, l->no);
	if (r->err_pending) {
		run_fail(r, r->last_action_line, "failed: %s (%s); add `expect error %s` if meant",
		         sb_err_name(r->last_rc), r->last_why ? r->last_why : "no reason",
		         sb_err_name(r->last_rc));
		return false;
	}
	if (r->in_block && !run_block_end(r, l->no))
		return false;
	if (strcmp(l->tok[0], "at") == 0 && l->n >= 3) {
		const char *ts = l->tok[1];
		int64_t t;

		if (!parse_dur(ts[0] == '+' ? ts + 1 : ts, &t)) {
			run_fail(r, l->no, "bad time '%s'", ts);
			return false;
		}
		if (ts[0] == '+')
			t += r->now;
		if (!run_advance(r, l->no, t))
			return false;
		r->last_rc = run_action(r, l, 2);
		r->last_action_line = l->no;
		if (r->err[0] != '\0')
			return false;
		if (r->trace && r->last_rc != 0)
			fprintf(stderr, "      => error %s (%s)\n", sb_err_name(r->last_rc),
			        r->last_why ? r->last_why : "no reason");
		r->err_pending = r->last_rc != 0;
		return run_check(r, l->no) && run_settle(r, l->no);
	}
	if (is_header(l))
		run_fail(r, l->no, "'%s' after the timeline began: declarations come first",
		         l->tok[0]);
	else
		run_fail(r, l->no, "not a scenario line (want `at T action` or `expect ...`)");
	return false;
}

/* Reads path and splits it into lines of tokens; `#` starts a comment. */
static bool run_load(struct run *r)
{
	FILE *f = fopen(r->path, "r");
	long size;
	size_t cap = 0;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		run_fail(r, 0, "cannot read: %s", strerror(errno));
		if (f != NULL)
			fclose(f);
		return false;
	}
	r->buf = calloc(1, (size_t)size + 1);
	r->text = calloc(1, (size_t)size + 1);
	if (r->buf == NULL || r->text == NULL ||
	    fread(r->buf, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		run_fail(r, 0, "cannot read");
		return false;
	}
	fclose(f);
	memcpy(r->text, r->buf, (size_t)size);

	char *p = r->buf, *t = r->text;
	for (int no = 1; *p != '\0' || *t != '\0'; no++) {
		char *nl = strchr(p, '\n'), *tnl = strchr(t, '\n');
		struct line *l;
		char *save = NULL;

		if (nl != NULL)
			*nl = '\0';
		if (tnl != NULL)
			*tnl = '\0';
		char *hash = strchr(p, '#');
		if (hash != NULL)
			*hash = '\0';
		if (r->n_lines == cap) {
			cap = cap ? cap * 2 : 64;
			r->lines = realloc(r->lines, cap * sizeof *r->lines);
			if (r->lines == NULL)
				abort();
		}
		l = &r->lines[r->n_lines];
		memset(l, 0, sizeof *l);
		l->no = no;
		l->text = t;
		for (char *tok = strtok_r(p, " \t\r", &save); tok != NULL;
		     tok = strtok_r(NULL, " \t\r", &save)) {
			if (l->n == MAX_TOKENS) {
				run_fail(r, no, "too many words on one line");
				return false;
			}
			l->tok[l->n++] = tok;
		}
		if (l->n > 0)
			r->n_lines++;
		if (nl == NULL)
			break;
		p = nl + 1;
		t = tnl + 1;
	}
	return true;
}

/* Runs the whole file; false with r->err set on the first failure. */
static bool run_all(struct run *r)
{
	size_t i = 0;

	run_defaults(r);
	echo_off(r);
	if (!run_load(r))
		return false;
	for (; i < r->n_lines && is_header(&r->lines[i]); i++)
		if (!run_header(r, &r->lines[i]))
			return false;
	if (!run_build(r, i < r->n_lines ? r->lines[i].no : 1))
		return false;
	for (; i < r->n_lines; i++) {
		if (r->trace)
			fprintf(stderr, "%4d: %s\n", r->lines[i].no, r->lines[i].text);
		if (!run_line(r, &r->lines[i]))
			return false;
	}
	int last = r->n_lines ? r->lines[r->n_lines - 1].no : 1;
	if (r->err_pending) {
		run_fail(r, r->last_action_line, "failed: %s (%s); add `expect error %s` if meant",
		         sb_err_name(r->last_rc), r->last_why ? r->last_why : "no reason",
		         sb_err_name(r->last_rc));
		return false;
	}
	if (!r->in_block)
		r->block_from = r->consumed;
	if (r->consumed < r->n_events) {
		run_fail_events(r, last, "events at the end of the scenario not matched");
		return false;
	}
	return true;
}

/* Frees a run; the engine first, so it releases every live payload. */
static void run_free(struct run *r)
{
	engine_free(r->e);
	r->e = NULL;
	free(r->events);
	free(r->offers);
	free(r->lines);
	free(r->buf);
	free(r->text);
}

/* Runs path once; returns the run (caller frees it with run_free + free).
 * r->err is empty on success. */
static struct run *run_scenario(const char *path, bool trace)
{
	struct run *r = calloc(1, sizeof *r);

	if (r == NULL)
		abort();
	r->path = path;
	r->trace = trace;
	run_all(r);
	engine_free(r->e);
	r->e = NULL;
	if (r->err[0] == '\0' && r->violation[0] != '\0')
		run_fail(r, 0, "sink saw a contract breach while freeing: %s", r->violation);
	if (r->err[0] == '\0' && r->freed != r->submitted)
		run_fail(r, 0, "contact_free called %d times for %d accepted submits", r->freed,
		         r->submitted);
	return r;
}

/* cmocka test: one scenario file, run twice; both runs must pass and log
 * exactly the same events at the same times. */
static void test_scenario(void **state)
{
	const char *path = *state;
	const char *t = getenv("SCENARIO_TRACE");
	struct run *a = run_scenario(path, t != NULL && t[0] != '\0');
	struct run *b = a->err[0] == '\0' ? run_scenario(path, false) : NULL;
	char msg[8192 + 512];

	msg[0] = '\0';
	if (a->err[0] != '\0')
		snprintf(msg, sizeof msg, "%s", a->err);
	else if (b->err[0] != '\0')
		snprintf(msg, sizeof msg, "second run: %s", b->err);
	else if (a->n_events != b->n_events)
		snprintf(msg, sizeof msg, "%s: not deterministic: %zu events, then %zu", path,
		         a->n_events, b->n_events);
	else
		for (size_t i = 0; i < a->n_events; i++)
			if (strcmp(a->events[i].text, b->events[i].text) != 0 ||
			    a->events[i].at != b->events[i].at) {
				snprintf(msg, sizeof msg,
				         "%s: not deterministic: event %zu was '%s' @%lld, then "
				         "'%s' @%lld",
				         path, i + 1, a->events[i].text, (long long)a->events[i].at,
				         b->events[i].text, (long long)b->events[i].at);
				break;
			}
	run_free(a);
	free(a);
	if (b != NULL) {
		run_free(b);
		free(b);
	}
	if (msg[0] != '\0') {
		print_error("%s\n", msg);
		fail_msg("scenario failed");
	}
}

/* qsort comparator for file names. */
static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* True if name ends in ".scn". */
static bool is_scn(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".scn") == 0;
}

/* Collects the .scn paths of dir, sorted; returns the count. */
static size_t list_dir(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0, cap = 0;
	char **v = NULL;

	if (d == NULL) {
		fprintf(stderr, "cannot open scenario directory %s: %s\n", dir, strerror(errno));
		*out = NULL;
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_scn(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof *v);
			if (v == NULL)
				abort();
		}
		size_t len = strlen(dir) + strlen(de->d_name) + 2;
		v[n] = malloc(len);
		if (v[n] == NULL)
			abort();
		snprintf(v[n], len, "%s/%s", dir, de->d_name);
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof *v, cmp_str);
	*out = v;
	return n;
}

/* The test name of a scenario path: its file name without ".scn". */
static char *scenario_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char *name = strdup(base);

	if (name == NULL)
		abort();
	if (is_scn(name))
		name[strlen(name) - 4] = '\0';
	return name;
}

/* Runs the named scenario files, or every one in the scenario directory. */
int main(int argc, char **argv)
{
	const char *dir = getenv("SCENARIO_DIR");
	char **paths = NULL;
	size_t n;
	struct CMUnitTest *tests;
	int rc;

	if (argc > 1) {
		n = (size_t)(argc - 1);
		paths = calloc(n, sizeof *paths);
		if (paths == NULL)
			abort();
		for (size_t i = 0; i < n; i++) {
			paths[i] = strdup(argv[i + 1]);
			if (paths[i] == NULL)
				abort();
		}
	} else {
		n = list_dir(dir != NULL && dir[0] != '\0' ? dir : SCENARIO_DIR, &paths);
		if (n == 0) {
			fprintf(stderr, "no scenarios found\n");
			return 1;
		}
	}
	tests = calloc(n, sizeof *tests);
	if (tests == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		tests[i].name = scenario_name(paths[i]);
		tests[i].test_func = test_scenario;
		tests[i].initial_state = paths[i];
	}
	rc = _cmocka_run_group_tests("scenarios", tests, n, NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		free((char *)(uintptr_t)tests[i].name);
		free(paths[i]);
	}
	free(tests);
	free(paths);
	return rc;
}
