/* sbctl demo: traffic that lets a newcomer watch routing happen.
 *
 * From the daemon's own config it connects every gateway and every roster
 * agent. Gateways submit contacts as a Poisson process; agents go available,
 * accept (or now and then reject) offers after a human-looking pause, handle
 * each contact for a few seconds and complete it; a few customers hang up
 * while waiting. Each event is printed as one aligned line, with a summary
 * every 10 s.
 *
 * Everything runs in one poll() loop: requests are sent without waiting and
 * matched to their replies by seq, and every delayed step (accept, complete,
 * cancel, retry) is an action on a timer list, so no connection ever blocks
 * another. */
#define _GNU_SOURCE
#include "sbctl.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "config/config.h"
#include "security/token.h"
#include "util/xalloc.h"

#define DEMO_TOKEN_TTL_S 3600
#define DEMO_CONNECT_TIMEOUT_MS 5000
#define DEMO_SUMMARY_MS 10000
#define DEMO_RETRY_MS 2000
#define DEMO_BREAK_RECOVERY_MS 5000
/* Frames taken from one connection per pass, so a busy one cannot starve
 * the others; a connection with more left makes the next poll() not sleep. */
#define DEMO_DRAIN_BATCH 64
#define DEMO_REJECT_PERCENT 10
#define DEMO_CANCEL_PERCENT 10
/* The demo's traffic, sized with sb-sim for config/demo.yaml's six agents
 * (bench/demo-plan.yaml; README, "The demo"): every queue meets its target
 * between surges, the staff has some 15 % to spare over the average load
 * surges included, and each surge shows escalation, overflow and recovery on
 * the wallboard. */
#define DEMO_RATE 0.6
#define DEMO_SURGE_EVERY_S 300
#define DEMO_SURGE_LENGTH_S 30
#define DEMO_SURGE_FACTOR 2.0

static const char demo_usage[] =
    "usage: sbctl demo --config FILE [--rate CONTACTS_PER_SECOND] [--duration SECONDS]\n"
    "                  [--surge-every S] [--surge-length S] [--surge-factor F]\n"
    "                  [--seed N] [--tls | --tls-ca F] [--tls-name N]\n"
    "\n"
    "Reads the daemon's config for its listen addresses, gateways, agent roster and\n"
    "agent secret, then connects every gateway and every agent and plays both sides:\n"
    "contacts arrive at random (voice and chat most often; customer tiers from the\n"
    "config, the most important rarest), faster during a surge every few minutes;\n"
    "agents accept after 0.5-2.5 s (about 1 in 10 offers is rejected), handle each\n"
    "contact for 3-10 s and complete it; about 1 in 10 customers hangs up while\n"
    "waiting. Prints one line per event and a summary every 10 s.\n"
    "\n"
    "  --config FILE         the daemon's configuration file (required)\n"
    "  --rate R              contacts per second, on average (default 0.6: what\n"
    "                        config/demo.yaml's six agents serve on target)\n"
    "  --surge-every S       every S seconds (the first after S), arrivals come\n"
    "  --surge-length S      faster for S seconds (defaults: 300 and 30; 0: no\n"
    "  --surge-factor F      surges), F times the rate (default 2)\n"
    "  --duration S          stop after S seconds (default 0: until Ctrl-C)\n"
    "  --seed N              random seed, to replay a run (default: from the "
    "clock)\n" SBCTL_TLS_USAGE "\n"
    "Exit status: 0, or 1 when a request got an unexpected Error or a connection\n"
    "was lost (store outages are reported and retried, not fatal).\n";

enum demo_req_kind {
	REQ_SUBMIT,
	REQ_CANCEL,
	REQ_STATE,
	REQ_ACCEPT,
	REQ_REJECT,
	REQ_COMPLETE,
	REQ_READY
};

static const char *const demo_req_names[] = {"submit", "cancel",   "set_state", "accept",
                                             "reject", "complete", "ready"};

/* A request sent and not answered yet. Strings owned. */
struct demo_req {
	uint64_t seq;
	enum demo_req_kind kind;
	char *contact; /* external id for a submit, the contact id otherwise */
	char *offer;
	int channel; /* wire channel of the contact (complete: decides on Ready) */
};

/* An offer an agent holds; it ends with an accept/reject reply or a rescind. */
struct demo_offer {
	char *offer_id;
	char *contact_id;
	uint64_t expires_ms; /* Unix ms, from the Offer */
};

/* One connection, a gateway's or an agent's. id points into the config. */
struct demo_conn {
	struct sbc *c;
	const char *id;
	bool agent;
	int64_t ping_period;
	int64_t next_ping;
	struct demo_req *reqs;
	size_t nreqs, reqs_cap;
	struct demo_offer *offers;
	size_t noffers, offers_cap;
	bool state_told; /* agents: the StateChanged that follows Welcome arrived */
};

enum demo_contact_state { CONTACT_SUBMITTING, CONTACT_WAITING, CONTACT_OFFERED, CONTACT_ASSIGNED };

/* A contact this run submitted, freed when it ends. Strings owned except
 * queue and tier (config or static). */
struct demo_contact {
	char *external_id;
	char *contact_id; /* NULL until ContactAccepted */
	size_t gateway;   /* index into demo.conns */
	int channel;      /* wire value */
	const char *tier; /* config-owned or static */
	const char *queue;
	enum demo_contact_state state;
	char *agent; /* the agent it was last offered or assigned to */
	int64_t submitted;
	int64_t patience_ms; /* 0: waits as long as it takes */
	bool rejected;       /* our agent rejected it; its REQUEUED is no news */
};

enum demo_action_kind {
	ACT_SUBMIT,
	ACT_CANCEL,
	ACT_ACCEPT,
	ACT_REJECT,
	ACT_COMPLETE,
	ACT_AVAILABLE,
	ACT_READY
};

/* A step due at a monotonic time. Strings owned. */
struct demo_action {
	int64_t due;
	enum demo_action_kind kind;
	size_t conn;
	char *a; /* external id (submit, cancel), offer id (accept, reject), contact id */
	char *b; /* contact id (accept, reject), disposition (complete) */
	int channel;
};

struct demo_counts {
	unsigned long submitted, assigned, completed, cancelled, expired, rejected, rescinded;
	unsigned long sla_met, sla_missed, store_errors, unexpected;
};

struct demo {
	struct sb_config *cfg;
	struct sbctl_tls_opts tls; /* --tls* options, for both ports */
	struct demo_conn *conns;   /* gateways first, then agents */
	size_t nconns, ngateways;
	struct demo_contact **contacts;
	size_t ncontacts, contacts_cap;
	struct demo_action *acts;
	size_t nacts, acts_cap;
	double queue_weight[64]; /* chance of each configured queue (first 64) */
	size_t nweights;
	uint64_t rng;
	double rate;
	/* Periodic surges: every surge_every ms after start, arrivals come
	 * surge_factor times faster for surge_length ms; 0: none. */
	int64_t start, surge_every, surge_length;
	double surge_factor;
	bool surging; /* for the lines that say a surge began and ended */
	int64_t end; /* monotonic; 0 = until a signal */
	int64_t next_arrival, next_summary;
	char run_prefix[40];
	/* Who was last assigned which contact, for contacts this run did not
	 * submit (left in Redis by an earlier run): a small ring. */
	struct demo_holder {
		char *contact_id;
		const char *agent; /* config-owned */
	} holders[64];
	size_t next_holder;
	unsigned long next_ext;
	bool lost;
	int64_t store_down_since; /* monotonic; 0 while requests are being recorded */
	unsigned long outage_retries;
	struct demo_counts n;
};

/* splitmix64: small, fast and the same on every platform, so --seed replays. */
static uint64_t demo_rand(struct demo *d)
{
	uint64_t z = (d->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double demo_uniform(struct demo *d)
{
	return (double)(demo_rand(d) >> 11) / 9007199254740992.0;
}

/* Uniform milliseconds in [lo, hi). */
static int64_t demo_between(struct demo *d, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(demo_uniform(d) * (double)(hi - lo));
}

/* How many times the base rate arrivals come at their fastest. */
static double demo_peak(const struct demo *d)
{
	return d->surge_every > 0 && d->surge_length > 0 && d->surge_factor > 1.0
	           ? d->surge_factor
	           : 1.0;
}

/* Whether monotonic time t is inside a surge (none in the first period). */
static bool demo_in_surge(const struct demo *d, int64_t t)
{
	int64_t since = t - d->start;

	return demo_peak(d) > 1.0 && since >= d->surge_every &&
	       since % d->surge_every < d->surge_length;
}

/* Milliseconds to the next candidate arrival of a Poisson process at the peak
 * rate; outside a surge demo_loop keeps only 1 in surge_factor of them
 * (thinning), which is Poisson at the base rate. bench/sim.c does the same. */
static int64_t demo_interarrival(struct demo *d)
{
	return (int64_t)(-log(1.0 - demo_uniform(d)) / (d->rate * demo_peak(d)) * 1000.0) + 1;
}

/* Seconds from now to a Unix-ms time the daemon sent. */
static double demo_secs_until(uint64_t unix_ms)
{
	return (double)((int64_t)unix_ms - sbctl_wall_ms()) / 1000.0;
}

/* ---- bookkeeping ------------------------------------------------------- */

/* Schedules a step; a and b are copied. */
static void demo_act(struct demo *d, int64_t due, enum demo_action_kind kind, size_t conn,
                     const char *a, const char *b, int channel)
{
	if (d->nacts == d->acts_cap) {
		d->acts_cap = d->acts_cap ? d->acts_cap * 2 : 32;
		d->acts = xreallocarray(d->acts, d->acts_cap, sizeof(*d->acts));
	}
	d->acts[d->nacts++] = (struct demo_action){
	    due, kind, conn, a ? xstrdup(a) : NULL, b ? xstrdup(b) : NULL, channel};
}

/* Remembers a sent request so its reply can be understood. */
static void demo_track(struct demo_conn *dc, uint64_t seq, enum demo_req_kind kind,
                       const char *contact, const char *offer, int channel)
{
	if (dc->nreqs == dc->reqs_cap) {
		dc->reqs_cap = dc->reqs_cap ? dc->reqs_cap * 2 : 16;
		dc->reqs = xreallocarray(dc->reqs, dc->reqs_cap, sizeof(*dc->reqs));
	}
	dc->reqs[dc->nreqs++] = (struct demo_req){seq, kind, contact ? xstrdup(contact) : NULL,
	                                          offer ? xstrdup(offer) : NULL, channel};
}

/* Takes the request a reply answers out of the list; false if none. */
static bool demo_untrack(struct demo_conn *dc, uint64_t ref, struct demo_req *out)
{
	for (size_t i = 0; i < dc->nreqs; i++) {
		if (dc->reqs[i].seq == ref) {
			*out = dc->reqs[i];
			dc->reqs[i] = dc->reqs[--dc->nreqs];
			return true;
		}
	}
	return false;
}

/* Releases a request's strings. */
static void demo_req_free(struct demo_req *r)
{
	free(r->contact);
	free(r->offer);
}

/* Index of an agent's live offer, or -1. */
static ssize_t demo_offer_find(const struct demo_conn *dc, const char *offer_id)
{
	for (size_t i = 0; i < dc->noffers; i++)
		if (strcmp(dc->offers[i].offer_id, offer_id) == 0)
			return (ssize_t)i;
	return -1;
}

/* Records a live offer (once: the daemon re-sends offers after reconnects). */
static void demo_offer_add(struct demo_conn *dc, const char *offer_id, const char *contact_id,
                           uint64_t expires_ms)
{
	if (demo_offer_find(dc, offer_id) >= 0)
		return;
	if (dc->noffers == dc->offers_cap) {
		dc->offers_cap = dc->offers_cap ? dc->offers_cap * 2 : 4;
		dc->offers = xreallocarray(dc->offers, dc->offers_cap, sizeof(*dc->offers));
	}
	dc->offers[dc->noffers++] =
	    (struct demo_offer){xstrdup(offer_id), xstrdup(contact_id), expires_ms};
}

/* Forgets an offer; false when it was not live any more. */
static bool demo_offer_remove(struct demo_conn *dc, const char *offer_id)
{
	ssize_t i = demo_offer_find(dc, offer_id);

	if (i < 0)
		return false;
	free(dc->offers[i].offer_id);
	free(dc->offers[i].contact_id);
	/* The last offer fills the hole; the slot it leaves is cleared, so no
	 * freed string is ever left in the array. */
	dc->noffers--;
	dc->offers[i] = dc->offers[dc->noffers];
	dc->offers[dc->noffers] = (struct demo_offer){0};
	return true;
}

/* Whether an agent's offer has run out by the clock in the Offer itself: the
 * daemon may have dropped it without a word (during a store outage). */
static bool demo_offer_expired(const struct demo_conn *dc, const char *offer_id)
{
	ssize_t i = demo_offer_find(dc, offer_id);

	return i < 0 || (int64_t)dc->offers[i].expires_ms <= sbctl_wall_ms();
}

/* A contact of this run by the daemon's id, or NULL (an earlier run's). */
static struct demo_contact *demo_contact_by_id(struct demo *d, const char *contact_id)
{
	for (size_t i = 0; i < d->ncontacts; i++)
		if (d->contacts[i]->contact_id &&
		    strcmp(d->contacts[i]->contact_id, contact_id) == 0)
			return d->contacts[i];
	return NULL;
}

/* A contact of this run by its external id, or NULL. */
static struct demo_contact *demo_contact_by_ext(struct demo *d, const char *external_id)
{
	for (size_t i = 0; i < d->ncontacts; i++)
		if (strcmp(d->contacts[i]->external_id, external_id) == 0)
			return d->contacts[i];
	return NULL;
}

/* Releases one contact. */
static void demo_contact_free(struct demo_contact *ct)
{
	free(ct->external_id);
	free(ct->contact_id);
	free(ct->agent);
	free(ct);
}

/* A contact's life is over (completed, cancelled, expired): forget it. */
static void demo_contact_end(struct demo *d, struct demo_contact *ct)
{
	for (size_t i = 0; i < d->ncontacts; i++) {
		if (d->contacts[i] == ct) {
			d->contacts[i] = d->contacts[--d->ncontacts];
			break;
		}
	}
	demo_contact_free(ct);
}

/* Sets who a contact is with. */
static void demo_contact_agent(struct demo_contact *ct, const char *agent)
{
	free(ct->agent);
	ct->agent = xstrdup(agent);
}

/* Seconds since a monotonic time. */
static double demo_age(int64_t since)
{
	return (double)(sbctl_mono_ms() - since) / 1000.0;
}

/* Marks lines about contacts an earlier run left behind; they are shown but
 * not counted in this run's totals. */
static const char *demo_earlier(const struct demo_contact *ct)
{
	return ct == NULL ? "  (earlier run)" : "";
}

/* Remembers that agent holds contact_id. */
static void demo_hold(struct demo *d, const char *contact_id, const char *agent)
{
	struct demo_holder *h = &d->holders[d->next_holder++ % 64];

	free(h->contact_id);
	h->contact_id = xstrdup(contact_id);
	h->agent = agent;
}

/* The agent last seen holding contact_id, or "?". */
static const char *demo_holder(const struct demo *d, const char *contact_id)
{
	for (size_t i = 0; i < 64; i++)
		if (d->holders[i].contact_id && strcmp(d->holders[i].contact_id, contact_id) == 0)
			return d->holders[i].agent;
	return "?";
}

/* ---- sending ----------------------------------------------------------- */

/* Notes a failed send: the connection is gone and the run ends. */
static bool demo_sent(struct demo *d, struct demo_conn *dc, uint64_t seq)
{
	if (seq != 0)
		return true;
	sbctl_warn("lost     %s %s: %s", dc->agent ? "agent" : "gateway", dc->id,
	           sbc_last_error(dc->c));
	d->lost = true;
	return false;
}

/* Sends (or resends, after STORE_UNAVAILABLE) a contact's SubmitContact. */
static void demo_send_submit(struct demo *d, struct demo_contact *ct)
{
	struct demo_conn *dc = &d->conns[ct->gateway];
	char customer[32];
	struct sbc_submit s = {
	    .external_id = ct->external_id,
	    .channel = (Switchboard__V1__Channel)ct->channel,
	    .queue = ct->queue,
	    .customer_id = customer,
	    .customer_tier = ct->tier,
	};
	uint64_t seq;

	snprintf(customer, sizeof(customer), "cust-%04u", (unsigned)(demo_rand(d) % 10000));
	seq = sbc_submit(dc->c, &s);
	if (demo_sent(d, dc, seq))
		demo_track(dc, seq, REQ_SUBMIT, ct->external_id, NULL, ct->channel);
}

/* Picks a gateway for a channel: one whose id names the channel ("gw-voice"),
 * so a telephony gateway carries the calls; else any that names no other
 * channel; else any at all. The config has at least one gateway (config_load
 * requires it, and demo_main checks). */
static size_t demo_pick_gateway(struct demo *d, int ch)
{
	size_t generic[64], ngeneric = 0;
	uint64_t r;

	for (size_t i = 0; i < d->ngateways; i++) {
		bool other = false;

		if (strstr(d->conns[i].id, channel_name((enum sb_channel)ch)) != NULL)
			return i;
		for (int k = 0; k < SB_CH_COUNT; k++)
			other = other || strstr(d->conns[i].id, channel_name((enum sb_channel)k));
		if (!other && ngeneric < 64)
			generic[ngeneric++] = i;
	}
	r = demo_rand(d);
	if (ngeneric > 0)
		return generic[r % ngeneric];
	return d->ngateways > 0 ? (size_t)(r % d->ngateways) : 0;
}

/* A customer tier for a uniform draw u: the configured tiers, each half as
 * likely as the next less important one (vip 14%, gold 29%, standard 57%). */
static const char *demo_pick_tier(const struct demo *d, double u)
{
	static const char *const fallback[] = {"vip", "gold", "standard"};
	size_t n = d->cfg->n_customer_tiers > 0 ? d->cfg->n_customer_tiers : 3;
	double total = 0.0, acc = 0.0;

	if (n > 16)
		n = 16;
	for (size_t i = 0; i < n; i++)
		total += (double)(1u << i);
	for (size_t i = 0; i < n; i++) {
		acc += (double)(1u << i) / total;
		if (u < acc || i == n - 1)
			return d->cfg->n_customer_tiers > 0 ? d->cfg->customer_tiers[i].name
			                                    : fallback[i];
	}
	return fallback[2];
}

/* A new customer arrives: pick channel, queue, tier and submit. */
static void demo_submit_new(struct demo *d)
{
	struct demo_contact *ct = xcalloc(1, sizeof(*ct));
	double u = demo_uniform(d), acc = 0.0;
	double t = demo_uniform(d);
	int ch = SB_CH_VOICE;

	ct->queue = "";
	if (d->nweights == 0) {
		/* No queues configured: the channels' default queues. */
		ch = u < 0.55 ? SB_CH_VOICE : SB_CH_CHAT;
	} else {
		size_t q = d->nweights - 1;

		for (size_t i = 0; i < d->nweights; i++) {
			acc += d->queue_weight[i];
			if (u < acc) {
				q = i;
				break;
			}
		}
		ct->queue = d->cfg->queues[q].name;
		ch = (int)d->cfg->queues[q].channel;
	}
	ct->channel = channel_to_wire((enum sb_channel)ch);
	ct->tier = demo_pick_tier(d, t);
	ct->external_id = xasprintf("%s-%lu", d->run_prefix, ++d->next_ext);
	ct->gateway = demo_pick_gateway(d, ch);
	ct->submitted = sbctl_mono_ms();
	if (demo_uniform(d) * 100.0 < DEMO_CANCEL_PERCENT)
		ct->patience_ms = demo_between(d, 2000, 10000);

	if (d->ncontacts == d->contacts_cap) {
		d->contacts_cap = d->contacts_cap ? d->contacts_cap * 2 : 64;
		d->contacts = xreallocarray(d->contacts, d->contacts_cap, sizeof(*d->contacts));
	}
	d->contacts[d->ncontacts++] = ct;
	d->n.submitted++;
	demo_send_submit(d, ct);
}

/* A disposition as agents choose them: mostly resolved. */
static const char *demo_disposition(struct demo *d)
{
	double u = demo_uniform(d);

	return u < 0.6 ? "resolved" : u < 0.8 ? "follow-up" : u < 0.9 ? "callback" : "escalated";
}

/* Carries out one due step. */
static void demo_run_action(struct demo *d, struct demo_action *a)
{
	struct demo_conn *dc = &d->conns[a->conn];
	struct demo_contact *ct;
	uint64_t seq;

	switch (a->kind) {
	case ACT_SUBMIT:
		if ((ct = demo_contact_by_ext(d, a->a)) != NULL)
			demo_send_submit(d, ct);
		break;
	case ACT_CANCEL:
		/* Only a customer still waiting hangs up; one being served stays. */
		ct = demo_contact_by_ext(d, a->a);
		if (ct == NULL || ct->contact_id == NULL ||
		    (ct->state != CONTACT_WAITING && ct->state != CONTACT_OFFERED))
			break;
		seq = sbc_cancel(d->conns[ct->gateway].c, ct->contact_id, "abandoned");
		if (demo_sent(d, &d->conns[ct->gateway], seq))
			demo_track(&d->conns[ct->gateway], seq, REQ_CANCEL, ct->contact_id, NULL,
			           ct->channel);
		break;
	case ACT_ACCEPT:
	case ACT_REJECT:
		/* A rescinded offer is gone: nothing to answer. */
		if (demo_offer_find(dc, a->a) < 0)
			break;
		if (demo_offer_expired(dc, a->a)) {
			sbctl_say("%-8s %-14s offer to %s ran out before it could be answered",
			          "expired", a->b, dc->id);
			demo_offer_remove(dc, a->a);
			break;
		}
		if (a->kind == ACT_ACCEPT) {
			seq = sbc_accept(dc->c, a->a);
			if (demo_sent(d, dc, seq))
				demo_track(dc, seq, REQ_ACCEPT, a->b, a->a, a->channel);
			break;
		}
		if ((ct = demo_contact_by_id(d, a->b)) != NULL)
			ct->rejected = true;
		seq = sbc_reject(dc->c, a->a, "busy");
		if (demo_sent(d, dc, seq))
			demo_track(dc, seq, REQ_REJECT, a->b, a->a, a->channel);
		break;
	case ACT_COMPLETE:
		seq = sbc_complete(dc->c, a->a, a->b);
		if (demo_sent(d, dc, seq))
			demo_track(dc, seq, REQ_COMPLETE, a->a, NULL, a->channel);
		break;
	case ACT_AVAILABLE:
		seq = sbc_set_state(dc->c, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE, "");
		if (demo_sent(d, dc, seq))
			demo_track(dc, seq, REQ_STATE, NULL, NULL, 0);
		break;
	case ACT_READY:
		seq = sbc_ready(dc->c);
		if (demo_sent(d, dc, seq))
			demo_track(dc, seq, REQ_READY, NULL, NULL, 0);
		break;
	}
}

/* Runs every step that is due; steps may schedule more. */
static void demo_run_actions(struct demo *d, int64_t now)
{
	size_t i = 0;

	while (i < d->nacts && !d->lost) {
		struct demo_action a = d->acts[i];

		if (a.due > now) {
			i++;
			continue;
		}
		/* Out of the list before running: running may grow (move) it.
		 * The last step fills the hole and its old slot is cleared, so
		 * the strings a now owns (and frees) stay nowhere in the list. */
		d->nacts--;
		d->acts[i] = d->acts[d->nacts];
		d->acts[d->nacts] = (struct demo_action){0};
		demo_run_action(d, &a);
		free(a.a);
		free(a.b);
	}
}

/* ---- what arrives ------------------------------------------------------ */

/* Prints the running totals. */
static void demo_summary(const struct demo *d, const char *label)
{
	unsigned long answered = d->n.sla_met + d->n.sla_missed;
	size_t waiting = 0;
	char sla[32] = "-";

	for (size_t i = 0; i < d->ncontacts; i++)
		if (d->contacts[i]->state != CONTACT_ASSIGNED)
			waiting++;
	if (answered > 0)
		snprintf(sla, sizeof(sla), "%.0f%%",
		         100.0 * (double)d->n.sla_met / (double)answered);
	sbctl_say("%-8s submitted %lu  waiting %zu  assigned %lu  completed %lu  cancelled %lu  "
	          "expired %lu  rejected %lu  SLA met %s (%lu of %lu)",
	          label, d->n.submitted, waiting, d->n.assigned, d->n.completed, d->n.cancelled,
	          d->n.expired, d->n.rejected, sla, d->n.sla_met, answered);
}

/* Handles an Error reply: expected races and store outages are reported and
 * carried on from; anything else counts against the run. */
static void demo_on_error(struct demo *d, size_t conn, const Envelope *env, struct demo_req *r)
{
	struct demo_conn *dc = &d->conns[conn];
	int code = env->error->code;
	const char *name = sbc_error_code_name(code);
	const char *msg = env->error->message ? env->error->message : "";
	const char *what = r ? demo_req_names[r->kind] : "?";
	const char *about = r && r->contact ? r->contact : "-";
	int64_t retry = sbctl_mono_ms() + DEMO_RETRY_MS;
	bool gone = r && r->offer && demo_offer_expired(dc, r->offer);

	if (r != NULL && (code == SWITCHBOARD__V1__ERROR_CODE__STORE_UNAVAILABLE ||
	                  code == SWITCHBOARD__V1__ERROR_CODE__OVERLOADED)) {
		/* Nothing was recorded: the same request later is safe. One
		 * line when the outage starts and one when it ends, not one
		 * per refused request. */
		d->n.store_errors++;
		d->outage_retries++;
		if (d->store_down_since == 0) {
			d->store_down_since = sbctl_mono_ms();
			sbctl_say("%-8s %s refused by the daemon: %s (%s); every request is "
			          "retried each %ds until it recovers",
			          "store", what, name, msg, DEMO_RETRY_MS / 1000);
		}
		switch (r->kind) {
		case REQ_SUBMIT:
			demo_act(d, retry, ACT_SUBMIT, conn, r->contact, NULL, r->channel);
			break;
		case REQ_CANCEL: {
			struct demo_contact *ct = demo_contact_by_id(d, r->contact);

			if (ct != NULL)
				demo_act(d, retry, ACT_CANCEL, conn, ct->external_id, NULL, 0);
			break;
		}
		case REQ_STATE:
			demo_act(d, retry, ACT_AVAILABLE, conn, NULL, NULL, 0);
			break;
		case REQ_ACCEPT:
			demo_act(d, retry, ACT_ACCEPT, conn, r->offer, r->contact, r->channel);
			break;
		case REQ_REJECT:
			demo_act(d, retry, ACT_REJECT, conn, r->offer, r->contact, r->channel);
			break;
		case REQ_COMPLETE:
			demo_act(d, retry, ACT_COMPLETE, conn, r->contact, demo_disposition(d),
			         r->channel);
			break;
		case REQ_READY:
			break;
		}
		return;
	}
	/* Races the protocol allows: the customer hung up as the agent took the
	 * call, an offer timed out as it was accepted, wrap-up ended by itself. */
	if (r != NULL &&
	    ((r->kind == REQ_CANCEL && code == SWITCHBOARD__V1__ERROR_CODE__CONFLICT) ||
	     ((r->kind == REQ_ACCEPT || r->kind == REQ_REJECT) &&
	      (code == SWITCHBOARD__V1__ERROR_CODE__CONFLICT ||
	       (code == SWITCHBOARD__V1__ERROR_CODE__NOT_FOUND && gone))) ||
	     (r->kind == REQ_READY && code == SWITCHBOARD__V1__ERROR_CODE__CONFLICT))) {
		struct demo_contact *ct = r->contact ? demo_contact_by_id(d, r->contact) : NULL;

		if (r->offer != NULL)
			demo_offer_remove(dc, r->offer);
		/* A reject that did not happen requeues nothing. */
		if (r->kind == REQ_REJECT && ct != NULL)
			ct->rejected = false;
		sbctl_say("%-8s %-14s %s by %s too late: %s (%s)", "late", about, what, dc->id,
		          name, msg);
		return;
	}
	d->n.unexpected++;
	sbctl_warn("%-8s %-14s %s by %s: %s: %s (ref %" PRIu64 ")", "ERROR", about, what, dc->id,
	           name, msg, env->ref);
}

/* A gateway hears about one of its contacts. */
static void demo_on_gateway_frame(struct demo *d, size_t conn, const Envelope *env,
                                  struct demo_req *r)
{
	struct demo_contact *ct;

	switch (env->body_case) {
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_ACCEPTED: {
		const Switchboard__V1__ContactAccepted *m = env->contact_accepted;

		if (r == NULL || (ct = demo_contact_by_ext(d, r->contact)) == NULL)
			break;
		if (ct->contact_id == NULL) {
			ct->contact_id = xstrdup(m->contact_id);
			ct->state = CONTACT_WAITING;
			if (ct->patience_ms > 0)
				demo_act(d, ct->submitted + ct->patience_ms, ACT_CANCEL, conn,
				         ct->external_id, NULL, 0);
		}
		sbctl_say("%-8s %-14s %-6s %-9s queue %-14s pos %-3u deadline %+.1fs%s", "submit",
		          m->contact_id, sbc_channel_name(ct->channel), ct->tier, m->queue,
		          m->position, demo_secs_until(m->deadline_ms),
		          m->duplicate ? "  (duplicate)" : "");
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_ASSIGNED: {
		const Switchboard__V1__ContactAssigned *m = env->contact_assigned;

		if ((ct = demo_contact_by_id(d, m->contact_id)) != NULL) {
			ct->state = CONTACT_ASSIGNED;
			demo_contact_agent(ct, m->agent_id);
		}
		if (ct != NULL) {
			d->n.assigned++;
			if (m->sla_met)
				d->n.sla_met++;
			else
				d->n.sla_missed++;
		}
		sbctl_say("%-8s %-14s -> %-8s waited %.1fs  %s%s", "assign", m->contact_id,
		          m->agent_id, (double)m->waited_ms / 1000.0,
		          m->sla_met ? "SLA met" : "SLA missed", demo_earlier(ct));
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_EVENT: {
		const Switchboard__V1__ContactEvent *m = env->contact_event;
		const char *detail = m->detail && m->detail[0] ? m->detail : "";
		char why[160] = "";

		if (detail[0] != '\0')
			snprintf(why, sizeof(why), " (%s)", detail);
		ct = demo_contact_by_id(d, m->contact_id);
		switch (m->kind) {
		case SWITCHBOARD__V1__CONTACT_EVENT__KIND__REQUEUED:
			if (ct != NULL) {
				ct->state = CONTACT_WAITING;
				/* Our own reject already said "-> requeued". */
				if (ct->rejected) {
					ct->rejected = false;
					break;
				}
			}
			sbctl_say("%-8s %-14s waiting again, same place%s%s", "requeue",
			          m->contact_id, why, demo_earlier(ct));
			break;
		case SWITCHBOARD__V1__CONTACT_EVENT__KIND__SLA_BREACHED:
			sbctl_say("%-8s %-14s still waiting past its SLA%s%s", "breach",
			          m->contact_id, why, demo_earlier(ct));
			break;
		case SWITCHBOARD__V1__CONTACT_EVENT__KIND__OVERFLOWED:
			sbctl_say("%-8s %-14s -> %s%s", "overflow", m->contact_id, detail,
			          demo_earlier(ct));
			break;
		case SWITCHBOARD__V1__CONTACT_EVENT__KIND__TRANSFERRED:
			if (ct != NULL)
				ct->state = CONTACT_WAITING;
			sbctl_say("%-8s %-14s -> %s, waiting again%s", "transfer", m->contact_id,
			          detail, demo_earlier(ct));
			break;
		case SWITCHBOARD__V1__CONTACT_EVENT__KIND__EXPIRED:
			sbctl_say("%-8s %-14s gave up waiting%s%s", "expire", m->contact_id, why,
			          demo_earlier(ct));
			if (ct != NULL) {
				d->n.expired++;
				demo_contact_end(d, ct);
			}
			break;
		default:
			sbctl_say("%-8s %-14s kind %d%s", "event", m->contact_id, (int)m->kind,
			          why);
			break;
		}
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_COMPLETED: {
		const Switchboard__V1__ContactCompleted *m = env->contact_completed;

		ct = demo_contact_by_id(d, m->contact_id);
		sbctl_say("%-8s %-14s by %-8s %-10s handled %.1fs%s", "complete", m->contact_id,
		          ct && ct->agent ? ct->agent : demo_holder(d, m->contact_id),
		          m->disposition, (double)m->handle_ms / 1000.0, demo_earlier(ct));
		if (ct != NULL) {
			d->n.completed++;
			demo_contact_end(d, ct);
		}
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_CANCELLED: {
		const char *id = env->contact_cancelled->contact_id;

		ct = demo_contact_by_id(d, id);
		if (ct != NULL) {
			d->n.cancelled++;
			sbctl_say("%-8s %-14s abandoned by the customer after %.1fs", "cancel", id,
			          demo_age(ct->submitted));
			demo_contact_end(d, ct);
		} else {
			sbctl_say("%-8s %-14s abandoned%s", "cancel", id, demo_earlier(ct));
		}
		break;
	}
	default:
		break;
	}
}

/* An agent hears about its offers, assignments and state. */
static void demo_on_agent_frame(struct demo *d, size_t conn, const Envelope *env,
                                struct demo_req *r)
{
	struct demo_conn *dc = &d->conns[conn];
	struct demo_contact *ct;
	int64_t now = sbctl_mono_ms();

	switch (env->body_case) {
	case SWITCHBOARD__V1__ENVELOPE__BODY_OFFER: {
		const Switchboard__V1__Offer *m = env->offer;
		const char *cid = m->contact ? m->contact->contact_id : "";
		int channel = m->contact ? (int)m->contact->channel : 0;

		demo_offer_add(dc, m->offer_id, cid, m->expires_ms);
		if ((ct = demo_contact_by_id(d, cid)) != NULL) {
			ct->state = CONTACT_OFFERED;
			demo_contact_agent(ct, dc->id);
		}
		sbctl_say("%-8s %-14s -> %-8s (expires in %.1fs)", "offer", cid, dc->id,
		          demo_secs_until(m->expires_ms));
		if (demo_uniform(d) * 100.0 < DEMO_REJECT_PERCENT)
			demo_act(d, now + demo_between(d, 500, 1500), ACT_REJECT, conn, m->offer_id,
			         cid, channel);
		else
			demo_act(d, now + demo_between(d, 500, 2500), ACT_ACCEPT, conn, m->offer_id,
			         cid, channel);
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_OFFER_RESCINDED: {
		const Switchboard__V1__OfferRescinded *m = env->offer_rescinded;
		ssize_t i = demo_offer_find(dc, m->offer_id);
		const char *cid = i >= 0 ? dc->offers[i].contact_id : m->offer_id;

		d->n.rescinded++;
		sbctl_say("%-8s %-14s from %-8s (%s)", "rescind", cid, dc->id, m->reason);
		if (i >= 0 && (ct = demo_contact_by_id(d, cid)) != NULL &&
		    ct->state == CONTACT_OFFERED)
			ct->state = CONTACT_WAITING;
		demo_offer_remove(dc, m->offer_id);
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_ASSIGNMENT_CONFIRMED: {
		const Switchboard__V1__AssignmentConfirmed *m = env->assignment_confirmed;
		int channel = m->contact ? (int)m->contact->channel : r ? r->channel : 0;

		if (r != NULL && r->offer != NULL)
			demo_offer_remove(dc, r->offer);
		demo_hold(d, m->contact_id, dc->id);
		/* The gateway's ContactAssigned prints the assignment; here the
		 * agent starts handling it. */
		demo_act(d, now + demo_between(d, 3000, 10000), ACT_COMPLETE, conn, m->contact_id,
		         demo_disposition(d), channel);
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_ACK:
		if (r == NULL)
			break;
		if (r->kind == REQ_REJECT) {
			d->n.rejected++;
			demo_offer_remove(dc, r->offer);
			sbctl_say("%-8s %-14s by %-8s (busy) -> requeued", "reject", r->contact,
			          dc->id);
		} else if (r->kind == REQ_COMPLETE) {
			int ch = channel_from_wire(r->channel);

			/* A long configured wrap-up would idle the demo; agents
			 * say ready after a short pause instead. */
			if (ch >= 0 && d->cfg->channels[ch].wrapup_ms > 3000)
				demo_act(d, now + demo_between(d, 1000, 2000), ACT_READY, conn,
				         NULL, NULL, 0);
		}
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_STATE_CHANGED: {
		const Switchboard__V1__StateChanged *m = env->state_changed;
		/* Unsolicited and not the login notice (OFFLINE right after
		 * Welcome): the daemon or a supervisor changed it, e.g. a
		 * no-answer break. A demo agent comes back after a pause. */
		bool imposed = r == NULL && dc->state_told;

		if (r == NULL)
			dc->state_told = true;
		sbctl_say("%-8s %-8s %s%s%s%s", "state", dc->id, sbc_state_name(m->state),
		          m->reason[0] ? " (" : "", m->reason, m->reason[0] ? ")" : "");
		if (imposed && m->state != SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE)
			demo_act(d, now + DEMO_BREAK_RECOVERY_MS, ACT_AVAILABLE, conn, NULL, NULL,
			         0);
		break;
	}
	default:
		break;
	}
}

/* Routes one frame from connection conn to its handler. */
static void demo_on_frame(struct demo *d, size_t conn, const Envelope *env)
{
	struct demo_conn *dc = &d->conns[conn];
	struct demo_req req, *r = NULL;

	if (env->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_PONG)
		return;
	if (env->ref != 0 && demo_untrack(dc, env->ref, &req))
		r = &req;
	if (r != NULL && d->store_down_since != 0 &&
	    env->body_case != SWITCHBOARD__V1__ENVELOPE__BODY_ERROR) {
		sbctl_say("%-8s back after %.1fs; %lu refused requests were retried", "store",
		          demo_age(d->store_down_since), d->outage_retries);
		d->store_down_since = 0;
		d->outage_retries = 0;
	}
	if (env->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_ERROR)
		demo_on_error(d, conn, env, r);
	else if (dc->agent)
		demo_on_agent_frame(d, conn, env, r);
	else
		demo_on_gateway_frame(d, conn, env, r);
	if (r != NULL)
		demo_req_free(r);
}

/* ---- set-up and the loop ----------------------------------------------- */

/* Chances of each queue: voice and chat most often, split among the queues
 * that take each channel. */
static void demo_weights(struct demo *d)
{
	static const double channel_share[SB_CH_COUNT] = {0.40, 0.35, 0.15, 0.10};
	size_t per_channel[SB_CH_COUNT] = {0};
	double total = 0.0;

	d->nweights = d->cfg->n_queues < 64 ? d->cfg->n_queues : 64;
	for (size_t i = 0; i < d->nweights; i++)
		per_channel[d->cfg->queues[i].channel]++;
	for (size_t i = 0; i < d->nweights; i++) {
		enum sb_channel ch = d->cfg->queues[i].channel;

		d->queue_weight[i] = channel_share[ch] / (double)per_channel[ch];
		total += d->queue_weight[i];
	}
	for (size_t i = 0; i < d->nweights; i++)
		d->queue_weight[i] /= total;
}

/* Connects and logs in one gateway or agent. Returns 0 or -1 (printed). */
static int demo_connect(struct demo_conn *dc, const char *address, const struct sbc_tls *tls,
                        const char *cred)
{
	Switchboard__V1__Role role =
	    dc->agent ? SWITCHBOARD__V1__ROLE__ROLE_AGENT : SWITCHBOARD__V1__ROLE__ROLE_GATEWAY;
	Envelope *welcome = NULL;
	char err[256];
	uint32_t hb;
	int r;

	dc->c = sbc_connect_tls(address, DEMO_CONNECT_TIMEOUT_MS, tls, err, sizeof(err));
	if (dc->c == NULL) {
		sbctl_warn("cannot connect %s %s: %s", dc->agent ? "agent" : "gateway", dc->id,
		           err);
		return -1;
	}
	r = sbc_hello(dc->c, role, dc->id, cred, DEMO_CONNECT_TIMEOUT_MS, &welcome);
	if (r != 0) {
		sbctl_warn("login %s %s %s: %s%s%s", dc->agent ? "agent" : "gateway", dc->id,
		           r > 0 ? "refused" : "failed", r > 0 ? sbc_error_code_name(r) : "",
		           r > 0 ? ": " : "", sbc_last_error(dc->c));
		return -1;
	}
	hb = welcome->welcome->heartbeat_ms ? welcome->welcome->heartbeat_ms : 5000;
	dc->ping_period = hb / 2 > 100 ? hb / 2 : 100;
	dc->next_ping = sbctl_mono_ms() + dc->ping_period;
	sbctl_say("%-8s %-7s %-8s session %s", "login", dc->agent ? "agent" : "gateway", dc->id,
	          welcome->welcome->session_id);
	envelope_free(welcome);
	return 0;
}

/* Connects every gateway and roster agent; agents go available. */
static int demo_connect_all(struct demo *d)
{
	const struct sb_config *cfg = d->cfg;
	/* The daemon refuses tokens living past its auth.agent_token_max_ttl_s. */
	int64_t expiry = sbctl_wall_ms() / 1000 + (cfg->agent_token_max_ttl_s < DEMO_TOKEN_TTL_S
							   ? cfg->agent_token_max_ttl_s
							   : DEMO_TOKEN_TTL_S);

	d->ngateways = cfg->n_gateways;
	d->nconns = cfg->n_gateways + cfg->n_agents;
	d->conns = xcalloc(d->nconns, sizeof(*d->conns));
	for (size_t i = 0; i < cfg->n_gateways; i++) {
		d->conns[i].id = cfg->gateways[i].id;
		if (demo_connect(&d->conns[i], cfg->gateway_listen, sbctl_tls(&d->tls),
		                 cfg->gateways[i].secret) < 0)
			return -1;
	}
	for (size_t i = 0; i < cfg->n_agents; i++) {
		struct demo_conn *dc = &d->conns[cfg->n_gateways + i];
		char *token = token_mint(cfg->agent_secret, cfg->agents[i].id, expiry);
		int r;

		dc->id = cfg->agents[i].id;
		dc->agent = true;
		r = demo_connect(dc, cfg->agent_listen, sbctl_tls(&d->tls), token);
		free(token);
		if (r < 0)
			return -1;
	}
	for (size_t i = d->ngateways; i < d->nconns; i++)
		demo_run_action(d, &(struct demo_action){.kind = ACT_AVAILABLE, .conn = i});
	return d->lost ? -1 : 0;
}

/* The earliest moment the loop must wake. */
static int64_t demo_next_wake(const struct demo *d)
{
	int64_t t = d->next_summary;

	if (d->rate > 0 && d->next_arrival < t)
		t = d->next_arrival;
	if (d->end > 0 && d->end < t)
		t = d->end;
	for (size_t i = 0; i < d->nacts; i++)
		if (d->acts[i].due < t)
			t = d->acts[i].due;
	for (size_t i = 0; i < d->nconns; i++)
		if (d->conns[i].next_ping < t)
			t = d->conns[i].next_ping;
	return t;
}

/* Reads what connection i has, a batch at most. Returns true if more is left. */
static bool demo_drain(struct demo *d, size_t i)
{
	struct demo_conn *dc = &d->conns[i];
	Envelope *env;
	int r = 0;

	for (int k = 0; k < DEMO_DRAIN_BATCH && !d->lost; k++) {
		r = sbc_recv(dc->c, 0, &env);
		if (r <= 0)
			break;
		demo_on_frame(d, i, env);
		envelope_free(env);
	}
	if (r < 0) {
		sbctl_warn("lost     %s %s: %s", dc->agent ? "agent" : "gateway", dc->id,
		           sbc_last_error(dc->c));
		d->lost = true;
	}
	return r > 0;
}

/* One poll() loop over every connection, timers and arrivals. */
static void demo_loop(struct demo *d)
{
	struct pollfd *fds = xcalloc(d->nconns, sizeof(*fds));
	bool more = false;
	int64_t now;

	while (!sbctl_stopping() && !d->lost) {
		now = sbctl_mono_ms();
		if (d->end > 0 && now >= d->end)
			break;
		if (demo_in_surge(d, now) != d->surging) {
			d->surging = !d->surging;
			if (d->surging)
				sbctl_say("%-8s arrivals x%.1f for %gs", "surge", d->surge_factor,
				          (double)d->surge_length / 1000.0);
			else
				sbctl_say("%-8s over: back to %.2f contacts/s", "surge", d->rate);
		}
		while (d->rate > 0 && now >= d->next_arrival && !d->lost) {
			if (demo_in_surge(d, d->next_arrival) ||
			    demo_uniform(d) * demo_peak(d) < 1.0)
				demo_submit_new(d);
			d->next_arrival += demo_interarrival(d);
		}
		demo_run_actions(d, now);
		for (size_t i = 0; i < d->nconns && !d->lost; i++) {
			if (now >= d->conns[i].next_ping) {
				demo_sent(d, &d->conns[i], sbc_ping(d->conns[i].c));
				d->conns[i].next_ping = now + d->conns[i].ping_period;
			}
		}
		if (now >= d->next_summary) {
			demo_summary(d, "summary");
			d->next_summary += DEMO_SUMMARY_MS;
		}
		if (d->lost)
			break;

		/* poll() cannot see frames already in sbclient's buffers. */
		for (size_t i = 0; i < d->nconns; i++) {
			fds[i] = (struct pollfd){.fd = sbc_fd(d->conns[i].c), .events = POLLIN};
			more = more || sbc_pending(d->conns[i].c);
		}
		sbctl_wait(fds, d->nconns, more ? 0 : demo_next_wake(d) - sbctl_mono_ms());
		more = false;
		for (size_t i = 0; i < d->nconns && !d->lost; i++)
			if (fds[i].revents != 0 || sbc_pending(d->conns[i].c))
				more = demo_drain(d, i) || more;
	}
	free(fds);
}

/* Releases everything the run holds. */
static void demo_free(struct demo *d)
{
	for (size_t i = 0; i < d->nconns; i++) {
		struct demo_conn *dc = &d->conns[i];

		for (size_t k = 0; k < dc->nreqs; k++)
			demo_req_free(&dc->reqs[k]);
		free(dc->reqs);
		for (size_t k = 0; k < dc->noffers; k++) {
			free(dc->offers[k].offer_id);
			free(dc->offers[k].contact_id);
		}
		free(dc->offers);
		sbc_close(dc->c);
	}
	free(d->conns);
	for (size_t i = 0; i < d->ncontacts; i++)
		demo_contact_free(d->contacts[i]);
	free(d->contacts);
	for (size_t i = 0; i < d->nacts; i++) {
		free(d->acts[i].a);
		free(d->acts[i].b);
	}
	free(d->acts);
	for (size_t i = 0; i < 64; i++)
		free(d->holders[i].contact_id);
	config_free(d->cfg);
}

/* Parses a non-negative decimal number of any form strtod takes. */
static int demo_parse_double(const char *s, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0.0) || v > max)
		return -1;
	*out = v;
	return 0;
}

int demo_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"rate", required_argument, NULL, 'r'},
	    {"surge-every", required_argument, NULL, 'E'},
	    {"surge-length", required_argument, NULL, 'L'},
	    {"surge-factor", required_argument, NULL, 'F'},
	    {"duration", required_argument, NULL, 'd'},
	    {"seed", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    SBCTL_TLS_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	struct demo d = {.rate = DEMO_RATE, .surge_factor = DEMO_SURGE_FACTOR};
	double surge_every = DEMO_SURGE_EVERY_S, surge_length = DEMO_SURGE_LENGTH_S;
	struct config_errors errs = {0};
	const char *path = NULL;
	double duration = 0.0;
	bool seeded = false;
	char *end;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (sbctl_tls_option(&d.tls, opt, optarg))
			continue;
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'r':
			if (demo_parse_double(optarg, 100000.0, &d.rate) < 0)
				return sbctl_usage_error("demo", "--rate wants a number >= 0");
			break;
		case 'E':
			if (demo_parse_double(optarg, 86400.0, &surge_every) < 0)
				return sbctl_usage_error("demo", "--surge-every wants seconds >= 0");
			break;
		case 'L':
			if (demo_parse_double(optarg, 86400.0, &surge_length) < 0)
				return sbctl_usage_error("demo", "--surge-length wants seconds >= 0");
			break;
		case 'F':
			if (demo_parse_double(optarg, 100.0, &d.surge_factor) < 0 ||
			    d.surge_factor < 1.0)
				return sbctl_usage_error("demo", "--surge-factor wants a number from 1 "
				                                 "to 100");
			break;
		case 'd':
			if (demo_parse_double(optarg, 365.0 * 86400, &duration) < 0)
				return sbctl_usage_error("demo", "--duration wants seconds >= 0");
			break;
		case 's':
			errno = 0;
			d.rng = strtoull(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0')
				return sbctl_usage_error("demo", "--seed wants a whole number");
			seeded = true;
			break;
		case 'h':
			fputs(demo_usage, stdout);
			return SBCTL_EXIT_OK;
		default:
			return sbctl_usage_error("demo", NULL);
		}
	}
	if (optind < argc)
		return sbctl_usage_error("demo", "unexpected argument '%s'", argv[optind]);
	if (path == NULL)
		return sbctl_usage_error("demo", "--config is required");
	if (surge_every > 0 && surge_length >= surge_every)
		return sbctl_usage_error("demo", "--surge-length must be shorter than --surge-every");
	d.surge_every = (int64_t)(surge_every * 1000.0);
	d.surge_length = (int64_t)(surge_length * 1000.0);

	if (config_load(path, &d.cfg, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		config_errors_clear(&errs);
		sbctl_warn("cannot load %s", path);
		return SBCTL_EXIT_FAIL;
	}
	config_errors_clear(&errs);
	if (d.cfg->n_gateways == 0) {
		/* config_load() refuses such a file; nothing could be submitted. */
		sbctl_warn("%s names no gateways", path);
		config_free(d.cfg);
		return SBCTL_EXIT_FAIL;
	}
	if (!seeded)
		d.rng = (uint64_t)sbctl_wall_ms() ^ ((uint64_t)getpid() << 32);
	/* External ids carry the start time: a rerun against the same Redis
	 * submits new contacts instead of repeating old ones. */
	snprintf(d.run_prefix, sizeof(d.run_prefix), "demo-%lld",
	         (long long)(sbctl_wall_ms() / 1000));
	demo_weights(&d);
	{
		uint64_t seed = d.rng;

		sbctl_say(
		    "%-8s %s: %zu gateways, %zu agents, %zu queues; %.2f contacts/s; %s%.0fs%s; "
		    "seed %" PRIu64,
		    "demo", path, d.cfg->n_gateways, d.cfg->n_agents, d.cfg->n_queues, d.rate,
		    duration > 0 ? "for " : "", duration, duration > 0 ? "" : " = until Ctrl-C",
		    seed);
		if (demo_peak(&d) > 1.0)
			sbctl_say("%-8s every %gs, arrivals x%.1f for %gs", "surges", surge_every,
			          d.surge_factor, surge_length);
	}
	if (d.cfg->n_agents == 0)
		sbctl_say("%-8s the roster is empty: contacts will only wait", "note");

	rc = SBCTL_EXIT_OK;
	if (demo_connect_all(&d) < 0) {
		rc = SBCTL_EXIT_FAIL;
		goto out;
	}
	d.start = sbctl_mono_ms();
	d.next_summary = sbctl_mono_ms() + DEMO_SUMMARY_MS;
	d.next_arrival = sbctl_mono_ms() + (d.rate > 0 ? demo_interarrival(&d) : 0);
	d.end = duration > 0 ? sbctl_mono_ms() + (int64_t)(duration * 1000.0) : 0;
	demo_loop(&d);
	demo_summary(&d, "final");
	if (d.n.store_errors > 0)
		sbctl_say("%-8s %lu requests were refused for a store outage and retried", "note",
		          d.n.store_errors);
	if (d.lost || d.n.unexpected > 0) {
		sbctl_warn("%-8s %lu unexpected errors%s", "failed", d.n.unexpected,
		           d.lost ? ", a connection was lost" : "");
		rc = SBCTL_EXIT_FAIL;
	}
out:
	demo_free(&d);
	return rc;
}
