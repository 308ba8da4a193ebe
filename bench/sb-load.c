/* sb-load: the end-to-end load generator (issue 7 item 1) and the durability
 * checker (issue 4 item 7).
 *
 * N gateways submit contacts and M simulated agents go available, accept
 * each offer after a delay and complete it after a handle time, all through
 * the client library (sbsession over sbclient) in one epoll loop: requests
 * are sent without waiting and matched to replies by seq; every delayed step
 * is an action on a timer heap, every session's next Ping or reconnect a
 * time in another (load_timers.h), and only the connections that are ready
 * are read (load_ready.h), so 10 000 idle agents cost nothing per pass.
 * Every client reconnects by itself; a submit not yet acknowledged is sent
 * again with the same external id (idempotent) after each reconnection or
 * retryable error, so a daemon killed mid-run loses nothing a client was
 * told was durable.
 *
 * It reports per second and at the end: submitted, acknowledged, offered,
 * assigned, completed, errors by code, and latency percentiles of submit ->
 * acknowledged, submit -> offer, offer -> assignment confirmed (and accept ->
 * confirmed, which leaves out the simulated think time), from histograms.
 * It keeps a journal of acknowledged contacts and confirmed assignments and,
 * with --check-redis, compares it with Redis at the end (load_check.h):
 * lost, double-assigned and stuck must all be zero for exit status 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "bench_rng.h"
#include "channel.h"
#include "config/config.h"
#include "load_check.h"
#include "load_hist.h"
#include "load_ready.h"
#include "load_timers.h"
#include "sbclient.h"
#include "sbsession.h"
#include "security/token.h"
#include "util/strmap.h"
#include "util/xalloc.h"

#define LOAD_TOKEN_TTL_S (24 * 3600)
#define LOAD_RETRY_US 100000       /* retry after STORE_UNAVAILABLE / OVERLOADED ... */
#define LOAD_RETRY_MAX_US 2000000  /* ... a submit doubling up to this, so an outage
                                      is not met with a storm of retries */
#define LOAD_AVAILABLE_AGAIN_US 200000
#define LOAD_DRAIN_BATCH 256       /* frames per connection per pass */
#define LOAD_DEDUP_WINDOW 65536    /* event ids remembered per gateway, at most */
#define LOAD_EPOLL_EVENTS 1024     /* readiness reports taken per epoll_wait */
#define LOAD_MAX_SKILLS 8
#define LOAD_MAX_TIERS 16
#define LOAD_MAX_ERR 16            /* wire error codes counted */
#define LOAD_OPEN_POLL_US 500000   /* drain: how often Redis's open set is asked */

/* SIGINT/SIGTERM: the first ends the load (the drain and the check still
 * run), so a script can stop a long run cleanly; the second quits at once. */
static volatile sig_atomic_t load_signals;

static void load_on_signal(int sig)
{
	(void)sig;
	load_signals++;
}

/* Monotonic microseconds: every time in this file. */
static int64_t load_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- options ---------------------------------------------------------------- */

struct weighted {
	char *name; /* owned */
	double weight;
	int level; /* skills only */
};

struct load_opts {
	const char *config_path;
	const char *gateway_addrs, *agent_addrs; /* override the config's listen addresses */
	long gateways, agents;                    /* how many to use (0: all configured) */
	const char *agent_secret;                 /* without --config */
	const char *gateway_creds;                /* "id:secret,..." without --config */
	const char *agent_ids;                    /* "a,b,c" without --config */
	double rate;                              /* contacts/s; 0: as fast as possible */
	long inflight;                            /* unacknowledged submits per gateway (afap) */
	long contacts;                            /* stop submitting after this many (0: no cap) */
	double duration_s;                        /* stop submitting after this long */
	long accept_min_ms, accept_max_ms;
	long handle_min_ms, handle_max_ms;
	double mix[SB_CH_COUNT];
	struct weighted tiers[LOAD_MAX_TIERS];
	size_t ntiers;
	struct weighted skills[LOAD_MAX_SKILLS]; /* weight: percent of contacts requiring it */
	size_t nskills;
	bool ready;
	long settle_ms;
	long retry_ms;     /* accepts and completions unanswered this long are sent again */
	const char *check_redis, *site;
	bool check_open_set;
	const char *journal_path;
	const char *check_journal; /* no load: check this journal file */
	bool json, quiet, verbose;
	uint64_t seed;
	const char *prefix;
	bool tls;            /* any --tls* option */
	struct sbc_tls tls_conf;
};

static const char load_usage[] =
    "usage: sb-load [--config FILE] [options]\n"
    "\n"
    "Drives a running Switchboard daemon with N gateways and M agents and reports\n"
    "throughput and latency; with --check-redis it then checks that no acknowledged\n"
    "contact was lost, none was assigned twice and none is stuck.\n"
    "\n"
    "Who connects (from the daemon's config, or given explicitly):\n"
    "  --config FILE          the daemon's config: listen addresses, gateways and\n"
    "                         secrets, agent roster and secret, queues, site\n"
    "  --gateway ADDRS        gateway address list, comma-separated (failover order)\n"
    "  --agent ADDRS          agent address list\n"
    "  --gateways N           gateways to use (default: all configured)\n"
    "  --agents M             agents to use (default: the whole roster)\n"
    "  --gateway-creds L      without --config: \"id:secret,id:secret\"\n"
    "  --agent-ids L          without --config: \"alice,bob\"\n"
    "  --agent-secret S       without --config: the daemon's auth.agent_secret\n"
    "  --tls                  TLS on both ports, trusting the system's CAs\n"
    "  --tls-ca F             TLS, trusting the CA certificate(s) in F\n"
    "  --tls-cert F, --tls-key F   a client certificate (mutual TLS for gateways)\n"
    "  --tls-name NAME        name the daemon's certificate must carry\n"
    "Load:\n"
    "  --rate R               contacts per second in total (default 0: as fast as\n"
    "                         --inflight allows)\n"
    "  --inflight N           unacknowledged contacts per gateway when --rate is 0\n"
    "                         (default 32)\n"
    "  --contacts N           stop submitting after N contacts\n"
    "  --duration S           stop submitting after S seconds (default 10), counted\n"
    "                         from the end of the first login pass\n"
    "  --mix L                channel weights (default voice=40,chat=40,email=10,social=10);\n"
    "                         each contact goes to a configured queue of its channel\n"
    "  --tiers L              customer tier weights, e.g. vip=5,gold=15,standard=80\n"
    "                         (default: none sent, the daemon's default tier)\n"
    "  --skills L             required skills, NAME:LEVEL=PERCENT of contacts, e.g.\n"
    "                         billing:2=20 (default: none)\n"
    "  --accept-ms A[-B]      agent think time before accepting (default 0)\n"
    "  --handle-ms H[-K]      handle time before completing (default 50)\n"
    "  --no-ready             leave wrap-up to the daemon's timer (default: Ready at once)\n"
    "  --retry-ms MS          an agent sends an AcceptOffer or CompleteContact again when\n"
    "                         it has had no answer for MS, as a client whose answer was\n"
    "                         lost does (default 0: never)\n"
    "  --seed N               random seed (default: from the clock)\n"
    "  --prefix P             external id prefix (default: load-<pid>-<time>)\n"
    "End and check:\n"
    "  --settle-ms MS         after the load, wait up to MS for outstanding contacts to\n"
    "                         be acknowledged and finished (default 5000)\n"
    "  --check-redis ADDR     then compare the journal with Redis at ADDR\n"
    "  --site S               the daemon's site (default: from --config, else main)\n"
    "  --no-open-set          do not require waiting contacts in sb:{site}:open\n"
    "  --journal FILE         also write the journal to FILE: a line per ContactAccepted,\n"
    "                         AssignmentConfirmed and completion received, with its\n"
    "                         time (format: bench/load_check.h)\n"
    "  --check-journal FILE   no load: check a journal written by --journal\n"
    "                         against Redis (needs --check-redis)\n"
    "  --json                 the final report as JSON on stdout\n"
    "  --quiet                no per-second lines (they go to stderr)\n"
    "  --verbose              one line on stderr per Error received\n"
    "\n"
    "SIGINT or SIGTERM ends the load early (the settle time and the check still\n"
    "run); a second one quits at once.\n"
    "\n"
    "Exit status: 0; 1 when a contact was lost, double-assigned or stuck, a\n"
    "submit was never acknowledged, or a client could not log in; 2 for bad usage.\n";

/* ---- state -------------------------------------------------------------------- */

enum req_kind { REQ_SUBMIT, REQ_STATE, REQ_ACCEPT, REQ_COMPLETE, REQ_READY };

/* A request sent and not answered yet. Strings owned. */
struct req {
	uint64_t seq;
	enum req_kind kind;
	uint32_t contact; /* submit: index into load.contacts */
	char *offer_id;   /* accept */
	char *contact_id; /* accept, complete */
	int64_t sent_us;
	bool retried;     /* --retry-ms: sent again already (the copy is its own req) */
};

/* One connection, a gateway's or an agent's. */
struct conn {
	struct load *l;
	struct sbs *s;
	char *id; /* owned */
	bool agent;
	unsigned long gen; /* bumps on every (re)connection; stale actions see it */
	unsigned long reg_gen; /* the gen whose socket is in the epoll set */
	struct req *reqs;  /* oldest first: replies mostly come in order */
	size_t nreqs, reqs_cap;
	struct sbs_dedup *dedup; /* gateways only: agents keep redeliveries */
	bool dirty;              /* on load.dirty: frames corked, not written yet */
	/* gateway */
	uint32_t *unacked; /* contacts not acknowledged yet (some may be by now) */
	size_t nunacked, unacked_cap;
	size_t open;     /* contacts made on this gateway, neither acknowledged nor refused */
	/* agent: keys and values are one owned string each */
	struct strmap offers; /* live offers */
	struct strmap held;   /* contacts confirmed and not completed yet */
};

/* A contact of this run; the index is in its external id. */
struct contact {
	char *contact_id; /* once acknowledged; owned */
	int64_t t_submit, t_offer;
	uint32_t gw;
	uint8_t channel; /* sb_channel */
	int16_t queue;   /* index into load.queues[channel], -1: channel default */
	int8_t tier;     /* index into opts.tiers, -1: none */
	uint8_t skills;  /* bit i: requires opts.skills[i] */
	uint8_t retries; /* submits refused for a store outage or overload so far */
	unsigned acked : 1, offered : 1, assigned : 1, completed : 1, ended : 1, failed : 1;
};

enum act_kind { ACT_RESUBMIT, ACT_ACCEPT, ACT_COMPLETE, ACT_AVAILABLE };

/* Something due later. Strings owned. */
struct action {
	int64_t due;
	enum act_kind kind;
	uint32_t conn;
	unsigned long gen;
	uint32_t contact;
	char *a; /* offer id (accept), contact id (complete) */
	char *b; /* contact id (accept) */
};

struct counts {
	unsigned long submitted, acked, offered, assigned, completed, ended, failed, duplicates;
	unsigned long retries; /* --retry-ms: requests sent again */
	unsigned long errors[LOAD_MAX_ERR];
	unsigned long reconnects;
};

struct load {
	struct load_opts o;
	struct sb_config *cfg;
	struct conn *conns; /* gateways first, then agents */
	size_t nconns, ngateways;
	struct contact *contacts;
	size_t ncontacts, contacts_cap;
	struct strmap by_id; /* contact id -> struct contact * index + 1 (as pointer) */
	struct action *heap;
	size_t nheap, heap_cap;
	int epfd;                 /* every connected socket, registered once */
	struct load_ready ready;  /* connections to read this pass */
	struct load_timers wakes; /* each session's sbs_next_wake(), in us */
	uint32_t *due;            /* scratch: sessions due this pass */
	uint32_t *dirty;          /* sessions with frames corked this pass */
	size_t ndirty;
	const char **queues[SB_CH_COUNT]; /* config-owned names */
	size_t nqueues[SB_CH_COUNT];
	struct rng rng;
	char prefix[64];
	size_t next_gw;
	int64_t start, next_arrival, next_report;
	int64_t load_start; /* the end of the first login pass (0 before) */
	bool fatal;
	struct counts n, last;
	struct load_hist h_ack, h_offer, h_assign, h_accept;
	struct load_journal *journal;
	FILE *journal_file;
};

/* ---- small helpers ------------------------------------------------------------- */

static double load_uniform(struct load *l)
{
	return rng_unit(&l->rng);
}

/* A uniform delay in [lo, hi] ms, in microseconds. */
static int64_t load_between_us(struct load *l, long lo, long hi)
{
	if (hi <= lo)
		return (int64_t)lo * 1000;
	return (int64_t)lo * 1000 + (int64_t)(load_uniform(l) * (double)(hi - lo) * 1000.0);
}

static void load_count_error(struct load *l, int code)
{
	l->n.errors[code >= 0 && code < LOAD_MAX_ERR ? code : 0]++;
}

static const char *const req_names[] = {"submit", "set_state", "accept", "complete", "ready"};

/* With --verbose: one line per Error, naming the request it answers. */
static void load_say_error(const struct load *l, const struct conn *c, const Envelope *env,
                           const struct req *r)
{
	if (!l->o.verbose)
		return;
	fprintf(stderr, "sb-load: %s %s: %s %s%s%s: %s\n", c->agent ? "agent" : "gateway", c->id,
	        sbc_error_code_name((int)env->error->code), r ? req_names[r->kind] : "notice",
	        r && r->contact_id ? " " : "", r && r->contact_id ? r->contact_id : "",
	        env->error->message ? env->error->message : "");
}

/* Contact index of an external id of this run, or -1. */
static long load_index_of(const struct load *l, const char *external_id)
{
	size_t plen = strlen(l->prefix);
	char *end;
	unsigned long v;

	if (external_id == NULL || strncmp(external_id, l->prefix, plen) != 0 ||
	    external_id[plen] != '-')
		return -1;
	errno = 0;
	v = strtoul(external_id + plen + 1, &end, 10);
	if (errno != 0 || *end != '\0' || v >= l->ncontacts)
		return -1;
	return (long)v;
}

/* Contact index of a contact id this run was given, or -1. */
static long load_index_of_id(const struct load *l, const char *contact_id)
{
	void *v = contact_id != NULL ? strmap_get(&l->by_id, contact_id) : NULL;

	return v != NULL ? (long)((uintptr_t)v - 1) : -1;
}

/* ---- the timer heap -------------------------------------------------------------- */

static void heap_swap(struct action *a, struct action *b)
{
	struct action t = *a;
	*a = *b;
	*b = t;
}

static void load_act(struct load *l, struct action a)
{
	size_t i;

	if (l->nheap == l->heap_cap) {
		l->heap_cap = l->heap_cap ? l->heap_cap * 2 : 256;
		l->heap = xrealloc(l->heap, l->heap_cap * sizeof(*l->heap));
	}
	i = l->nheap++;
	l->heap[i] = a;
	while (i > 0 && l->heap[(i - 1) / 2].due > l->heap[i].due) {
		heap_swap(&l->heap[(i - 1) / 2], &l->heap[i]);
		i = (i - 1) / 2;
	}
}

/* Removes the earliest action into *out. */
static void load_act_pop(struct load *l, struct action *out)
{
	size_t i = 0;

	*out = l->heap[0];
	l->heap[0] = l->heap[--l->nheap];
	for (;;) {
		size_t c = 2 * i + 1, m = i;

		if (c < l->nheap && l->heap[c].due < l->heap[m].due)
			m = c;
		if (c + 1 < l->nheap && l->heap[c + 1].due < l->heap[m].due)
			m = c + 1;
		if (m == i)
			break;
		heap_swap(&l->heap[i], &l->heap[m]);
		i = m;
	}
}

/* ---- readiness -------------------------------------------------------------------- */

/* After anything that may have changed connection c (a frame read, a
 * request sent, sbs_service()): a new socket joins the epoll set, frames
 * already in sbclient's buffer put c on the ready list (epoll cannot see
 * them), and the session's wake-up time follows sbs_next_wake(). A socket
 * that was closed left the epoll set by itself (sbclient never dup()s it),
 * so there is nothing to remove, and no EPOLL_CTL_DEL on a number another
 * connection may have been given since. */
static void conn_touch(struct load *l, struct conn *c)
{
	uint32_t id = (uint32_t)(c - l->conns);
	int64_t w;

	if (sbs_up(c->s)) {
		struct sbc *sc = sbs_client(c->s);

		if (c->reg_gen != c->gen) {
			struct epoll_event ev = {.events = EPOLLIN, .data.u32 = id};

			if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, sbc_fd(sc), &ev) != 0 &&
			    (errno != EEXIST ||
			     epoll_ctl(l->epfd, EPOLL_CTL_MOD, sbc_fd(sc), &ev) != 0)) {
				fprintf(stderr, "sb-load: epoll_ctl: %s\n", strerror(errno));
				l->fatal = true;
			}
			c->reg_gen = c->gen;
			/* Frames sent during a pass go out together at its end
			 * (load_flush): one send() per session per pass. */
			sbc_cork(sc, true);
			/* The Welcome may have come with frames right behind it. */
			load_ready_push(&l->ready, id);
		}
		if (sbc_pending(sc))
			load_ready_push(&l->ready, id);
		if (!c->dirty && sbc_unflushed(sc) > 0) {
			c->dirty = true;
			l->dirty[l->ndirty++] = id;
		}
	}
	w = sbs_next_wake(c->s);
	load_timers_set(&l->wakes, id, w < INT64_MAX / 1000 ? w * 1000 : INT64_MAX);
}

/* ---- requests --------------------------------------------------------------------- */

static void req_free(struct req *r)
{
	free(r->offer_id);
	free(r->contact_id);
}

/* Records a request sent as seq; when seq is 0 the send failed and the
 * connection is given up (it reconnects). Returns true when sent. */
static bool conn_sent(struct conn *c, uint64_t seq, struct req r)
{
	if (seq == 0) {
		req_free(&r);
		sbs_lost(c->s, sbc_last_error(sbs_client(c->s)));
		return false;
	}
	r.seq = seq;
	r.sent_us = load_now_us();
	if (c->nreqs == c->reqs_cap) {
		c->reqs_cap = c->reqs_cap ? c->reqs_cap * 2 : 64;
		c->reqs = xrealloc(c->reqs, c->reqs_cap * sizeof(*c->reqs));
	}
	c->reqs[c->nreqs++] = r;
	return true;
}

/* Takes the request ref answers, if any, into *out. */
static bool conn_take(struct conn *c, uint64_t ref, struct req *out)
{
	if (ref == 0)
		return false;
	for (size_t i = 0; i < c->nreqs; i++) {
		if (c->reqs[i].seq != ref)
			continue;
		*out = c->reqs[i];
		memmove(&c->reqs[i], &c->reqs[i + 1], (c->nreqs - i - 1) * sizeof(*c->reqs));
		c->nreqs--;
		return true;
	}
	return false;
}

/* Forgets every outstanding request: their answers died with the connection. */
static void conn_forget(struct conn *c)
{
	for (size_t i = 0; i < c->nreqs; i++)
		req_free(&c->reqs[i]);
	c->nreqs = 0;
}

static void strmap_clear_owned(struct strmap *m)
{
	size_t it = 0;
	const char *k;
	void *v;

	while (strmap_next(m, &it, &k, &v))
		free(v);
	strmap_free(m);
	strmap_init(m);
}

/* Adds an owned copy of s to a set of owned strings. */
static void set_add(struct strmap *m, const char *s)
{
	char *copy;

	if (strmap_get(m, s) != NULL)
		return;
	copy = xstrdup(s);
	strmap_put(m, copy, copy);
}

/* Removes s; true when it was there. */
static bool set_del(struct strmap *m, const char *s)
{
	char *v = strmap_del(m, s);

	free(v);
	return v != NULL;
}

/* ---- gateways ----------------------------------------------------------------------- */

/* Sends contact i's SubmitContact on its gateway, if connected. */
static void gw_send_submit(struct load *l, uint32_t i)
{
	struct contact *ct = &l->contacts[i];
	struct conn *c = &l->conns[ct->gw];
	char ext[96], cust[32];
	struct sbc_submit sub = {0};
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__SubmitContact *sc;
	Switchboard__V1__SkillRequirement reqs[LOAD_MAX_SKILLS], *preqs[LOAD_MAX_SKILLS];
	size_t nreq = 0;
	uint64_t seq;

	if (!sbs_up(c->s))
		return;
	snprintf(ext, sizeof(ext), "%s-%u", l->prefix, i);
	snprintf(cust, sizeof(cust), "cust-%u", i % 1000);
	sub.external_id = ext;
	sub.channel = (Switchboard__V1__Channel)channel_to_wire(ct->channel);
	sub.queue = ct->queue >= 0 ? l->queues[ct->channel][ct->queue] : "";
	sub.customer_id = cust;
	sub.customer_tier = ct->tier >= 0 ? l->o.tiers[ct->tier].name : "";
	if (ct->skills == 0) {
		seq = sbc_submit(sbs_client(c->s), &sub);
	} else {
		/* sbc_submit has no skills: build the frame here. */
		Switchboard__V1__Customer cu = SWITCHBOARD__V1__CUSTOMER__INIT;

		sc = xcalloc(1, sizeof(*sc));
		switchboard__v1__submit_contact__init(sc);
		sc->external_id = ext;
		sc->channel = sub.channel;
		sc->queue = (char *)sub.queue;
		cu.id = cust;
		cu.tier = (char *)sub.customer_tier;
		sc->customer = &cu;
		sc->language = (char *)"";
		sc->preferred_agent_id = (char *)"";
		for (size_t k = 0; k < l->o.nskills; k++) {
			if (!(ct->skills & (1u << k)))
				continue;
			switchboard__v1__skill_requirement__init(&reqs[nreq]);
			reqs[nreq].name = l->o.skills[k].name;
			reqs[nreq].min_level = (uint32_t)l->o.skills[k].level;
			preqs[nreq] = &reqs[nreq];
			nreq++;
		}
		sc->n_required_skills = nreq;
		sc->required_skills = preqs;
		env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_SUBMIT_CONTACT;
		env.submit_contact = sc;
		seq = sbc_send(sbs_client(c->s), &env);
		free(sc);
	}
	conn_sent(c, seq, (struct req){.kind = REQ_SUBMIT, .contact = i});
}

/* Picks a weighted entry; -1 when every weight is 0. */
static int load_pick(struct load *l, const struct weighted *w, size_t n)
{
	double total = 0.0, u;

	for (size_t i = 0; i < n; i++)
		total += w[i].weight;
	if (total <= 0.0)
		return -1;
	u = load_uniform(l) * total;
	for (size_t i = 0; i < n; i++) {
		if (u < w[i].weight)
			return (int)i;
		u -= w[i].weight;
	}
	return (int)n - 1;
}

/* Makes contact number ncontacts on gateway gw and submits it. */
static void gw_new_contact(struct load *l, size_t gw)
{
	struct contact *ct;
	struct conn *c = &l->conns[gw];
	double total = 0.0, u;
	uint32_t i;

	if (l->ncontacts == l->contacts_cap) {
		l->contacts_cap = l->contacts_cap ? l->contacts_cap * 2 : 4096;
		l->contacts = xrealloc(l->contacts, l->contacts_cap * sizeof(*l->contacts));
	}
	i = (uint32_t)l->ncontacts++;
	ct = &l->contacts[i];
	memset(ct, 0, sizeof(*ct));
	ct->gw = (uint32_t)gw;
	for (int k = 0; k < SB_CH_COUNT; k++)
		total += l->o.mix[k];
	u = load_uniform(l) * total;
	ct->channel = SB_CH_VOICE;
	for (int k = 0; k < SB_CH_COUNT; k++) {
		if (u < l->o.mix[k] && l->o.mix[k] > 0) {
			ct->channel = (uint8_t)k;
			break;
		}
		u -= l->o.mix[k];
	}
	ct->queue = l->nqueues[ct->channel] > 0
	                ? (int16_t)(load_uniform(l) * (double)l->nqueues[ct->channel])
	                : -1;
	ct->tier = (int8_t)load_pick(l, l->o.tiers, l->o.ntiers);
	for (size_t k = 0; k < l->o.nskills; k++)
		if (load_uniform(l) * 100.0 < l->o.skills[k].weight)
			ct->skills |= (uint8_t)(1u << k);
	ct->t_submit = load_now_us();
	l->n.submitted++;
	if (c->nunacked == c->unacked_cap) {
		c->unacked_cap = c->unacked_cap ? c->unacked_cap * 2 : 256;
		c->unacked = xrealloc(c->unacked, c->unacked_cap * sizeof(*c->unacked));
	}
	c->unacked[c->nunacked++] = i;
	c->open++;
	gw_send_submit(l, i);
}

/* Drops acknowledged and failed contacts from a gateway's unacked list. */
static void gw_compact(struct load *l, struct conn *c)
{
	size_t k = 0;

	for (size_t i = 0; i < c->nunacked; i++) {
		const struct contact *ct = &l->contacts[c->unacked[i]];

		if (!ct->acked && !ct->failed)
			c->unacked[k++] = c->unacked[i];
	}
	c->nunacked = k;
}

/* ContactAccepted for contact i. */
static void gw_acked(struct load *l, uint32_t i, const char *contact_id)
{
	struct contact *ct = &l->contacts[i];
	char ext[96];

	if (ct->acked)
		return;
	ct->acked = 1;
	if (!ct->failed)
		l->conns[ct->gw].open--;
	ct->contact_id = xstrdup(contact_id);
	strmap_put(&l->by_id, ct->contact_id, (void *)(uintptr_t)(i + 1));
	l->n.acked++;
	load_hist_add(&l->h_ack, (uint64_t)(load_now_us() - ct->t_submit));
	snprintf(ext, sizeof(ext), "%s-%u", l->prefix, i);
	load_journal_ack(l->journal, contact_id, ext);
}

/* The delay before contact i's next retry: doubling from LOAD_RETRY_US to
 * LOAD_RETRY_MAX_US, with up to half of it random. */
static int64_t load_submit_backoff(struct load *l, uint32_t i)
{
	struct contact *ct = &l->contacts[i];
	int64_t d = LOAD_RETRY_US;

	for (unsigned k = 0; k < ct->retries && d < LOAD_RETRY_MAX_US; k++)
		d *= 2;
	if (d > LOAD_RETRY_MAX_US)
		d = LOAD_RETRY_MAX_US;
	if (ct->retries < UINT8_MAX)
		ct->retries++;
	return d / 2 + (int64_t)(load_uniform(l) * (double)(d / 2));
}

/* Whether an error is worth retrying the same request for. */
static bool load_retryable(int code)
{
	return code == SWITCHBOARD__V1__ERROR_CODE__STORE_UNAVAILABLE ||
	       code == SWITCHBOARD__V1__ERROR_CODE__OVERLOADED ||
	       code == SWITCHBOARD__V1__ERROR_CODE__NOT_LEADER;
}

static void gw_on_frame(struct load *l, struct conn *c, const Envelope *env)
{
	struct req r;
	bool answered = conn_take(c, env->ref, &r);
	long i;

	switch (env->body_case) {
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_ACCEPTED:
		i = answered && r.kind == REQ_SUBMIT
		        ? (long)r.contact
		        : load_index_of_id(l, env->contact_accepted->contact_id);
		if (i >= 0)
			gw_acked(l, (uint32_t)i, env->contact_accepted->contact_id);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_ERROR: {
		int code = (int)env->error->code;

		load_count_error(l, code);
		load_say_error(l, c, env, answered ? &r : NULL);
		if (code == SWITCHBOARD__V1__ERROR_CODE__NOT_LEADER) {
			/* Answer or notice: to the leader (resubmitted on reconnect). */
			sbs_not_leader(c->s, env->error->leader);
		} else if (answered && r.kind == REQ_SUBMIT) {
			if (load_retryable(code))
				load_act(l, (struct action){.due = load_now_us() +
				                                   load_submit_backoff(l, r.contact),
				                            .kind = ACT_RESUBMIT,
				                            .conn = (uint32_t)(c - l->conns),
				                            .contact = r.contact});
			else if (!l->contacts[r.contact].acked && !l->contacts[r.contact].failed) {
				l->contacts[r.contact].failed = 1;
				l->n.failed++;
				c->open--;
			}
		}
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_COMPLETED:
		i = load_index_of_id(l, env->contact_completed->contact_id);
		if (i >= 0)
			load_journal_complete(l->journal, env->contact_completed->contact_id, c->id);
		if (i >= 0 && !l->contacts[i].completed) {
			l->contacts[i].completed = 1;
			l->n.completed++;
		}
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_EVENT:
		if (env->contact_event->kind != SWITCHBOARD__V1__CONTACT_EVENT__KIND__EXPIRED)
			break;
		i = load_index_of_id(l, env->contact_event->contact_id);
		if (i >= 0 && !l->contacts[i].ended && !l->contacts[i].completed) {
			l->contacts[i].ended = 1;
			l->n.ended++;
		}
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_CANCELLED:
		i = load_index_of_id(l, env->contact_cancelled->contact_id);
		if (i >= 0 && !l->contacts[i].ended && !l->contacts[i].completed) {
			l->contacts[i].ended = 1;
			l->n.ended++;
		}
		break;
	default:
		break; /* Pong, ContactAssigned (the agents count assignments) */
	}
	if (answered)
		req_free(&r);
}

/* ---- agents -------------------------------------------------------------------------- */

static void agent_send_available(struct conn *c)
{
	if (sbs_up(c->s))
		conn_sent(c,
		          sbc_set_state(sbs_client(c->s), SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE,
		                        ""),
		          (struct req){.kind = REQ_STATE});
}

/* The contact index of a ContactInfo from this run, or -1. */
static long agent_index_of(const struct load *l, const Switchboard__V1__ContactInfo *ci,
                           const char *contact_id)
{
	long i = ci != NULL ? load_index_of(l, ci->external_id) : -1;

	return i >= 0 ? i : load_index_of_id(l, contact_id);
}

static void agent_on_offer(struct load *l, struct conn *c, const Switchboard__V1__Offer *of)
{
	const char *cid = of->contact != NULL ? of->contact->contact_id : "";
	long i = agent_index_of(l, of->contact, cid);
	int64_t now = load_now_us();

	if (i >= 0 && !l->contacts[i].offered) {
		l->contacts[i].offered = 1;
		l->contacts[i].t_offer = now;
		l->n.offered++;
		load_hist_add(&l->h_offer, (uint64_t)(now - l->contacts[i].t_submit));
	}
	if (strmap_get(&c->offers, of->offer_id) != NULL)
		return; /* already scheduled */
	set_add(&c->offers, of->offer_id);
	load_act(l, (struct action){.due = now + load_between_us(l, l->o.accept_min_ms,
	                                                          l->o.accept_max_ms),
	                            .kind = ACT_ACCEPT,
	                            .conn = (uint32_t)(c - l->conns),
	                            .gen = c->gen,
	                            .a = xstrdup(of->offer_id),
	                            .b = xstrdup(cid)});
}

static void agent_on_assignment(struct load *l, struct conn *c,
                                const Switchboard__V1__AssignmentConfirmed *ac, const struct req *r)
{
	long i = agent_index_of(l, ac->contact, ac->contact_id);
	int64_t now = load_now_us();

	if (strmap_get(&c->held, ac->contact_id) != NULL)
		return; /* a redelivery of one we hold */
	set_add(&c->held, ac->contact_id);
	load_journal_assign(l->journal, ac->contact_id, c->id);
	if (i >= 0 && !l->contacts[i].assigned) {
		struct contact *ct = &l->contacts[i];

		ct->assigned = 1;
		l->n.assigned++;
		if (!ct->offered) {
			/* Auto-accepted: the assignment was the offer. */
			ct->offered = 1;
			ct->t_offer = now;
			l->n.offered++;
			load_hist_add(&l->h_offer, (uint64_t)(now - ct->t_submit));
		}
		load_hist_add(&l->h_assign, (uint64_t)(now - ct->t_offer));
		if (r != NULL && r->kind == REQ_ACCEPT)
			load_hist_add(&l->h_accept, (uint64_t)(now - r->sent_us));
	}
	load_act(l, (struct action){.due = now + load_between_us(l, l->o.handle_min_ms,
	                                                          l->o.handle_max_ms),
	                            .kind = ACT_COMPLETE,
	                            .conn = (uint32_t)(c - l->conns),
	                            .gen = c->gen,
	                            .a = xstrdup(ac->contact_id)});
}

static void agent_on_frame(struct load *l, struct conn *c, const Envelope *env)
{
	struct req r;
	bool answered = conn_take(c, env->ref, &r);

	switch (env->body_case) {
	case SWITCHBOARD__V1__ENVELOPE__BODY_OFFER:
		agent_on_offer(l, c, env->offer);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_OFFER_RESCINDED:
		set_del(&c->offers, env->offer_rescinded->offer_id);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_ASSIGNMENT_CONFIRMED:
		agent_on_assignment(l, c, env->assignment_confirmed, answered ? &r : NULL);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_STATE_CHANGED:
		/* Put on break (no-answer, say) or logged out behind our back:
		 * a simulated agent goes back to work. */
		if (!answered && env->state_changed->state ==
		                     SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_BREAK)
			load_act(l, (struct action){.due = load_now_us() + LOAD_AVAILABLE_AGAIN_US,
			                            .kind = ACT_AVAILABLE,
			                            .conn = (uint32_t)(c - l->conns),
			                            .gen = c->gen});
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_ACK:
		if (answered && r.kind == REQ_COMPLETE) {
			long i = load_index_of_id(l, r.contact_id);

			load_journal_complete(l->journal, r.contact_id, c->id);
			/* Counted here too: the gateway's ContactCompleted is not
			 * redelivered if its connection was down at that moment. */
			if (i >= 0 && !l->contacts[i].completed) {
				l->contacts[i].completed = 1;
				l->n.completed++;
			}
			set_del(&c->held, r.contact_id);
			if (l->o.ready && sbs_up(c->s))
				conn_sent(c, sbc_ready(sbs_client(c->s)), (struct req){.kind = REQ_READY});
		}
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_ERROR: {
		int code = (int)env->error->code;

		load_count_error(l, code);
		load_say_error(l, c, env, answered ? &r : NULL);
		if (code == SWITCHBOARD__V1__ERROR_CODE__NOT_LEADER) {
			sbs_not_leader(c->s, env->error->leader);
		} else if (answered && load_retryable(code)) {
			/* Ask again: an accept or completion the store could not record. */
			if (r.kind == REQ_ACCEPT)
				load_act(l, (struct action){.due = load_now_us() + LOAD_RETRY_US,
				                            .kind = ACT_ACCEPT,
				                            .conn = (uint32_t)(c - l->conns),
				                            .gen = c->gen,
				                            .a = xstrdup(r.offer_id),
				                            .b = xstrdup(r.contact_id)}),
				    set_add(&c->offers, r.offer_id);
			else if (r.kind == REQ_COMPLETE)
				load_act(l, (struct action){.due = load_now_us() + LOAD_RETRY_US,
				                            .kind = ACT_COMPLETE,
				                            .conn = (uint32_t)(c - l->conns),
				                            .gen = c->gen,
				                            .a = xstrdup(r.contact_id)});
			else if (r.kind == REQ_STATE)
				load_act(l, (struct action){.due = load_now_us() + LOAD_RETRY_US,
				                            .kind = ACT_AVAILABLE,
				                            .conn = (uint32_t)(c - l->conns),
				                            .gen = c->gen});
		} else if (answered && r.kind == REQ_COMPLETE) {
			long i = load_index_of_id(l, r.contact_id);

			/* NOT_FOUND: an earlier attempt finished it after all. The
			 * daemon answers STORE_UNAVAILABLE ("did not acknowledge")
			 * to a completion whose write was in flight when Redis went
			 * away, yet keeps it in memory and replays the write. */
			if (code == SWITCHBOARD__V1__ERROR_CODE__NOT_FOUND && i >= 0 &&
			    !l->contacts[i].completed) {
				l->contacts[i].completed = 1;
				l->n.completed++;
			}
			set_del(&c->held, r.contact_id);
		}
		break;
	}
	default:
		break;
	}
	if (answered)
		req_free(&r);
}

/* ---- connections --------------------------------------------------------------------- */

/* Every (re)connection: forget what the old connection was waiting for,
 * then gateways resend every unacknowledged submit and agents go available
 * (the daemon redelivers their live offer and held contacts). */
static void conn_on_connect(struct sbs *s, const Envelope *welcome, void *arg)
{
	struct conn *c = arg;
	struct load *l = c->l;

	(void)welcome;
	c->gen++;
	if (sbs_connections(s) > 1)
		l->n.reconnects++;
	conn_forget(c);
	if (!c->agent) {
		gw_compact(l, c);
		for (size_t k = 0; k < c->nunacked && sbs_up(s); k++)
			gw_send_submit(l, c->unacked[k]);
		return;
	}
	strmap_clear_owned(&c->offers);
	strmap_clear_owned(&c->held);
	agent_send_available(c);
}

/* --retry-ms: every accept or completion that has waited that long for its
 * answer is sent again on the same connection (the same offer or contact),
 * once per original; the copy may be retried in turn. Both answers are
 * taken as they come: a second AssignmentConfirmed is a redelivery, a
 * second Ack finds nothing held. */
static void load_retry_unanswered(struct load *l, int64_t now)
{
	int64_t limit = (int64_t)l->o.retry_ms * 1000;

	for (size_t i = l->ngateways; i < l->nconns; i++) {
		struct conn *c = &l->conns[i];
		size_t n = c->nreqs;

		if (!sbs_up(c->s))
			continue;
		for (size_t k = 0; k < n && sbs_up(c->s); k++) {
			struct req *r = &c->reqs[k];
			struct req copy = {0};
			uint64_t seq;

			if (r->retried || now - r->sent_us < limit ||
			    (r->kind != REQ_ACCEPT && r->kind != REQ_COMPLETE))
				continue;
			r->retried = true;
			copy.kind = r->kind;
			copy.contact_id = r->contact_id ? xstrdup(r->contact_id) : NULL;
			copy.offer_id = r->offer_id ? xstrdup(r->offer_id) : NULL;
			seq = r->kind == REQ_ACCEPT
			          ? sbc_accept(sbs_client(c->s), copy.offer_id)
			          : sbc_complete(sbs_client(c->s), copy.contact_id, "resolved");
			/* conn_sent may grow c->reqs: r is not used after it. */
			if (conn_sent(c, seq, copy))
				l->n.retries++;
		}
		conn_touch(l, c);
	}
}

static void load_run_action(struct load *l, struct action *a)
{
	struct conn *c = &l->conns[a->conn];
	bool current = sbs_up(c->s) && a->gen == c->gen;

	switch (a->kind) {
	case ACT_RESUBMIT:
		if (!l->contacts[a->contact].acked && !l->contacts[a->contact].failed)
			gw_send_submit(l, a->contact);
		break;
	case ACT_ACCEPT:
		/* A stale one (rescinded, or from before a reconnect) is dropped:
		 * the daemon redelivers what is still live. */
		if (current && set_del(&c->offers, a->a))
			conn_sent(c, sbc_accept(sbs_client(c->s), a->a),
			          (struct req){.kind = REQ_ACCEPT,
			                       .offer_id = xstrdup(a->a),
			                       .contact_id = xstrdup(a->b)});
		break;
	case ACT_COMPLETE:
		if (current && strmap_get(&c->held, a->a) != NULL)
			conn_sent(c, sbc_complete(sbs_client(c->s), a->a, "resolved"),
			          (struct req){.kind = REQ_COMPLETE, .contact_id = xstrdup(a->a)});
		break;
	case ACT_AVAILABLE:
		if (current)
			agent_send_available(c);
		break;
	}
	free(a->a);
	free(a->b);
	conn_touch(l, c);
}

/* Reads what connection c has, a batch at most (so one busy connection does
 * not starve the others); what is left is seen again by conn_touch() (in
 * sbclient's buffer) or by the level-triggered epoll (in the kernel). */
static void conn_drain(struct load *l, struct conn *c)
{
	Envelope *env;
	int r = 0;

	for (int k = 0; k < LOAD_DRAIN_BATCH && sbs_up(c->s); k++) {
		/* One read of the socket per pass (a 64 KiB chunk takes what
		 * the kernel has), then only what it buffered: reading on to
		 * EAGAIN would cost a recv() and a poll() per pass for nothing,
		 * as epoll reports the socket again while bytes are waiting. */
		if (k > 0 && !sbc_pending(sbs_client(c->s)))
			break;
		r = sbc_recv(sbs_client(c->s), 0, &env);
		if (r <= 0)
			break;
		/* A gateway drops events it has seen (redelivered after a
		 * reconnect). An agent does not: a redelivered Offer or
		 * AssignmentConfirmed says "still yours" after a reconnect,
		 * and the agent forgot its offers and contacts when the
		 * connection dropped, to rebuild them from exactly these. */
		if (!c->agent && env->ref == 0 && env->event_id != NULL &&
		    env->event_id[0] != '\0' && sbs_dedup_seen(c->dedup, env->event_id)) {
			l->n.duplicates++;
		} else if (c->agent) {
			agent_on_frame(l, c, env);
		} else {
			gw_on_frame(l, c, env);
		}
		envelope_free(env);
	}
	if (r < 0 && sbs_up(c->s))
		sbs_lost(c->s, sbc_last_error(sbs_client(c->s)));
}

/* Makes conns[i] a session for id on addrs. */
static int conn_init(struct load *l, size_t i, const char *id, const char *addrs, bool agent,
                     const char *cred)
{
	struct conn *c = &l->conns[i];
	struct sbs_config cfg = {
	    .addresses = addrs,
	    .role = agent ? SWITCHBOARD__V1__ROLE__ROLE_AGENT : SWITCHBOARD__V1__ROLE__ROLE_GATEWAY,
	    .client_id = id,
	    .credential = cred,
	    .tls = l->o.tls ? &l->o.tls_conf : NULL,
	    .connect_timeout_ms = 1000,
	    .seed = rng_next(&l->rng) | 1,
	    .on_connect = conn_on_connect,
	    .arg = c,
	};
	char err[256];

	c->l = l;
	c->id = xstrdup(id);
	c->agent = agent;
	/* Only a gateway drops redeliveries (conn_drain). */
	c->dedup = agent ? NULL : sbs_dedup_new(LOAD_DEDUP_WINDOW);
	strmap_init(&c->offers);
	strmap_init(&c->held);
	c->s = sbs_new(&cfg, err, sizeof(err));
	if (c->s == NULL) {
		fprintf(stderr, "sb-load: %s %s: %s\n", agent ? "agent" : "gateway", id, err);
		return -1;
	}
	return 0;
}

static void conn_free(struct conn *c)
{
	conn_forget(c);
	free(c->reqs);
	free(c->unacked);
	strmap_clear_owned(&c->offers);
	strmap_clear_owned(&c->held);
	strmap_free(&c->offers);
	strmap_free(&c->held);
	sbs_dedup_free(c->dedup);
	sbs_free(c->s);
	free(c->id);
}

/* ---- set-up from the config or the options --------------------------------------------- */

/* Splits "a,b,c" into a new array of new strings. */
static char **load_split(const char *list, size_t *n)
{
	char *copy = xstrdup(list), *save = NULL, *tok;
	char **out = NULL;

	*n = 0;
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		out = xrealloc(out, (*n + 1) * sizeof(*out));
		out[(*n)++] = xstrdup(tok);
	}
	free(copy);
	return out;
}

static void load_free_split(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Creates every session. Returns 0 or -1 (printed). */
static int load_setup_conns(struct load *l)
{
	const struct load_opts *o = &l->o;
	const struct sb_config *cfg = l->cfg;
	const char *gw_addrs = o->gateway_addrs ? o->gateway_addrs : cfg ? cfg->gateway_listen : NULL;
	const char *ag_addrs = o->agent_addrs ? o->agent_addrs : cfg ? cfg->agent_listen : NULL;
	const char *secret = o->agent_secret ? o->agent_secret : cfg ? cfg->agent_secret : NULL;
	/* The daemon refuses tokens living past its auth.agent_token_max_ttl_s. */
	int64_t ttl = cfg && cfg->agent_token_max_ttl_s < LOAD_TOKEN_TTL_S ? cfg->agent_token_max_ttl_s
									     : LOAD_TOKEN_TTL_S;
	int64_t expiry = (int64_t)time(NULL) + ttl;
	char **gws = NULL, **agents = NULL;
	size_t ngws = 0, nagents = 0, gws_total, agents_total;
	int rc = -1;

	if (gw_addrs == NULL || ag_addrs == NULL) {
		fprintf(stderr, "sb-load: no daemon addresses: give --config or --gateway and --agent\n");
		return -1;
	}
	if (o->gateway_creds != NULL)
		gws = load_split(o->gateway_creds, &ngws);
	else if (cfg != NULL) {
		ngws = cfg->n_gateways;
		gws = xcalloc(ngws ? ngws : 1, sizeof(*gws));
		for (size_t i = 0; i < ngws; i++)
			if (asprintf(&gws[i], "%s:%s", cfg->gateways[i].id, cfg->gateways[i].secret) < 0)
				abort();
	}
	if (o->agent_ids != NULL)
		agents = load_split(o->agent_ids, &nagents);
	else if (cfg != NULL) {
		nagents = cfg->n_agents;
		agents = xcalloc(nagents ? nagents : 1, sizeof(*agents));
		for (size_t i = 0; i < nagents; i++)
			agents[i] = xstrdup(cfg->agents[i].id);
	}
	gws_total = ngws;
	agents_total = nagents;
	if (ngws == 0) {
		fprintf(stderr, "sb-load: no gateways: give --config or --gateway-creds\n");
		goto out;
	}
	if (nagents > 0 && secret == NULL) {
		fprintf(stderr, "sb-load: agents need the agent secret: --config or --agent-secret\n");
		goto out;
	}
	if (o->gateways > 0 && (size_t)o->gateways < ngws)
		ngws = (size_t)o->gateways;
	if (o->agents >= 0 && (size_t)o->agents < nagents)
		nagents = (size_t)o->agents;
	l->ngateways = ngws;
	l->nconns = ngws + nagents;
	l->conns = xcalloc(l->nconns, sizeof(*l->conns));
	for (size_t i = 0; i < ngws; i++) {
		char *colon = strchr(gws[i], ':');

		if (colon == NULL) {
			fprintf(stderr, "sb-load: --gateway-creds wants id:secret, not '%s'\n", gws[i]);
			goto out;
		}
		*colon = '\0';
		if (conn_init(l, i, gws[i], gw_addrs, false, colon + 1) != 0)
			goto out;
	}
	for (size_t i = 0; i < nagents; i++) {
		char *token = token_mint(secret, agents[i], expiry);
		int r = conn_init(l, ngws + i, agents[i], ag_addrs, true, token);

		free(token);
		if (r != 0)
			goto out;
	}
	rc = 0;
out:
	load_free_split(gws, gws_total);
	load_free_split(agents, agents_total);
	return rc;
}

/* Queues by channel, from the config (none: the channel's default queue). */
static void load_setup_queues(struct load *l)
{
	for (int ch = 0; ch < SB_CH_COUNT; ch++) {
		l->queues[ch] = xcalloc(l->cfg ? l->cfg->n_queues + 1 : 1, sizeof(char *));
		if (l->cfg == NULL)
			continue;
		for (size_t i = 0; i < l->cfg->n_queues; i++)
			if ((int)l->cfg->queues[i].channel == ch)
				l->queues[ch][l->nqueues[ch]++] = l->cfg->queues[i].name;
	}
}

/* ---- reports ------------------------------------------------------------------------ */

static void load_second(struct load *l, int64_t now)
{
	double t = (double)(now - l->start) / 1e6;
	unsigned long errs = 0, up = 0;

	for (int k = 0; k < LOAD_MAX_ERR; k++)
		errs += l->n.errors[k];
	for (size_t i = 0; i < l->nconns; i++)
		up += sbs_up(l->conns[i].s);
	fprintf(stderr,
	        "%7.1fs  submitted %lu (+%lu)  acked %lu (+%lu)  offered %lu  assigned %lu  "
	        "completed %lu (+%lu)  errors %lu  up %lu/%zu  reconnects %lu\n",
	        t, l->n.submitted, l->n.submitted - l->last.submitted, l->n.acked,
	        l->n.acked - l->last.acked, l->n.offered, l->n.assigned, l->n.completed,
	        l->n.completed - l->last.completed, errs, up, l->nconns, l->n.reconnects);
	l->last = l->n;
}

static const char *const hist_names[] = {"submit_to_ack", "submit_to_offer", "offer_to_assigned",
                                         "accept_to_assigned"};

static void load_hists(const struct load *l, const struct load_hist *h[4])
{
	h[0] = &l->h_ack;
	h[1] = &l->h_offer;
	h[2] = &l->h_assign;
	h[3] = &l->h_accept;
}

static void load_report_text(const struct load *l, double secs, const struct load_check_result *cr,
                             bool checked, unsigned long unacked)
{
	const struct load_hist *h[4];
	static const double qs[] = {0.5, 0.9, 0.99, 0.999};

	load_hists(l, h);
	printf("sb-load: %.1f s, %zu gateways, %zu agents\n", secs, l->ngateways,
	       l->nconns - l->ngateways);
	printf("  submitted %lu  acknowledged %lu  offered %lu  assigned %lu  completed %lu  "
	       "expired/cancelled %lu  unacknowledged %lu  refused %lu\n",
	       l->n.submitted, l->n.acked, l->n.offered, l->n.assigned, l->n.completed, l->n.ended,
	       unacked, l->n.failed);
	printf("  throughput %.0f acknowledged/s, %.0f completed/s; reconnects %lu; "
	       "redeliveries dropped %lu; requests retried unanswered %lu\n",
	       secs > 0 ? (double)l->n.acked / secs : 0.0,
	       secs > 0 ? (double)l->n.completed / secs : 0.0, l->n.reconnects, l->n.duplicates,
	       l->n.retries);
	printf("  errors:");
	bool any = false;
	for (int k = 0; k < LOAD_MAX_ERR; k++)
		if (l->n.errors[k] > 0) {
			printf(" %s %lu", sbc_error_code_name(k), l->n.errors[k]);
			any = true;
		}
	printf("%s\n", any ? "" : " none");
	printf("  latency (ms)        %8s %8s %8s %8s %8s %8s %9s\n", "p50", "p90", "p99", "p99.9",
	       "max", "mean", "n");
	for (int k = 0; k < 4; k++) {
		printf("  %-19s", hist_names[k]);
		for (int q = 0; q < 4; q++)
			printf(" %8.3f", (double)load_hist_quantile(h[k], qs[q]) / 1000.0);
		printf(" %8.3f %8.3f %9" PRIu64 "\n", (double)h[k]->max / 1000.0,
		       load_hist_mean(h[k]) / 1000.0, h[k]->n);
	}
	if (checked)
		printf("  check: %zu contacts  lost %zu  double-assigned %zu  stuck %zu  "
		       "(finished %zu, events scanned %zu)\n",
		       cr->checked, cr->lost, cr->double_assigned, cr->stuck, cr->finished,
		       cr->events_scanned);
}

static void load_report_json(const struct load *l, double secs, const struct load_check_result *cr,
                             bool checked, unsigned long unacked)
{
	const struct load_hist *h[4];
	bool first = true;

	load_hists(l, h);
	/* load_seconds: from the end of the login pass, the rate's time. */
	printf("{\"seconds\":%.3f,\"load_seconds\":%.3f,\"gateways\":%zu,\"agents\":%zu,\"submitted\":%lu,"
	       "\"acknowledged\":%lu,\"offered\":%lu,\"assigned\":%lu,\"completed\":%lu,"
	       "\"expired_or_cancelled\":%lu,\"unacknowledged\":%lu,\"refused\":%lu,"
	       "\"reconnects\":%lu,\"redeliveries_dropped\":%lu,\"retries\":%lu,\"errors\":{",
	       secs, l->load_start ? secs - (double)(l->load_start - l->start) / 1e6 : secs,
	       l->ngateways, l->nconns - l->ngateways, l->n.submitted, l->n.acked,
	       l->n.offered, l->n.assigned, l->n.completed, l->n.ended, unacked, l->n.failed,
	       l->n.reconnects, l->n.duplicates, l->n.retries);
	for (int k = 0; k < LOAD_MAX_ERR; k++)
		if (l->n.errors[k] > 0) {
			printf("%s\"%s\":%lu", first ? "" : ",", sbc_error_code_name(k), l->n.errors[k]);
			first = false;
		}
	printf("},\"latency_us\":{");
	for (int k = 0; k < 4; k++)
		printf("%s\"%s\":{\"n\":%" PRIu64 ",\"p50\":%" PRIu64 ",\"p90\":%" PRIu64
		       ",\"p99\":%" PRIu64 ",\"p999\":%" PRIu64 ",\"max\":%" PRIu64 ",\"mean\":%.1f}",
		       k ? "," : "", hist_names[k], h[k]->n, load_hist_quantile(h[k], 0.5),
		       load_hist_quantile(h[k], 0.9), load_hist_quantile(h[k], 0.99),
		       load_hist_quantile(h[k], 0.999), h[k]->max, load_hist_mean(h[k]));
	printf("}");
	if (checked)
		printf(",\"check\":{\"contacts\":%zu,\"lost\":%zu,\"double_assigned\":%zu,"
		       "\"stuck\":%zu,\"finished\":%zu,\"events_scanned\":%zu}",
		       cr->checked, cr->lost, cr->double_assigned, cr->stuck, cr->finished,
		       cr->events_scanned);
	printf("}\n");
}

/* ---- the loop -------------------------------------------------------------------------- */

/* Everything submitted is acknowledged (or refused) and finished. */
static bool load_all_done(const struct load *l)
{
	return l->n.acked + l->n.failed >= l->ncontacts && l->n.completed + l->n.ended >= l->n.acked;
}

/* In the drain: every submit acknowledged and Redis's open set empty, so
 * no news a client missed (its connection was down when a contact was
 * completed) keeps the run waiting for the settle time. Only with
 * --check-redis and the open set checked. */
static bool load_nothing_open(const struct load *l)
{
	struct load_check_opts co = {.redis_addr = l->o.check_redis, .site = l->o.site};
	long long n = -1;
	char err[256];

	if (l->o.check_redis == NULL || !l->o.check_open_set ||
	    l->n.acked + l->n.failed < l->ncontacts)
		return false;
	return load_check_open_count(&co, &n, err, sizeof(err)) == 0 && n == 0;
}

/* New contacts due now. */
static void load_arrivals(struct load *l, int64_t now)
{
	const struct load_opts *o = &l->o;

	if (o->rate > 0) {
		int64_t step = (int64_t)(1e6 / o->rate);

		if (step < 1)
			step = 1;
		while (now >= l->next_arrival &&
		       (o->contacts == 0 || l->ncontacts < (size_t)o->contacts)) {
			gw_new_contact(l, l->next_gw);
			conn_touch(l, &l->conns[l->next_gw]);
			l->next_gw = (l->next_gw + 1) % l->ngateways;
			l->next_arrival += step;
		}
		return;
	}
	for (size_t g = 0; g < l->ngateways; g++) {
		struct conn *c = &l->conns[g];

		/* Contacts waiting for a retry count too: a daemon that says
		 * OVERLOADED is not sent more. */
		while (sbs_up(c->s) && c->open < (size_t)o->inflight &&
		       (o->contacts == 0 || l->ncontacts < (size_t)o->contacts))
			gw_new_contact(l, g);
		conn_touch(l, c);
	}
}

/* Runs sbs_service() for the sessions whose wake-up is due: taken off the
 * heap first, then serviced, so a session that is due again at once (a
 * NOT_LEADER redirect is followed immediately) runs once per pass, as
 * before, instead of spinning here. */
static void load_service_due(struct load *l, int64_t now)
{
	size_t n = 0;
	uint32_t id;

	while (load_timers_pop_due(&l->wakes, now, &id))
		l->due[n++] = id;
	for (size_t k = 0; k < n; k++) {
		struct conn *c = &l->conns[l->due[k]];

		if (sbs_service(c->s, now / 1000) == SBS_FATAL) {
			fprintf(stderr, "sb-load: %s %s: %s\n", c->agent ? "agent" : "gateway", c->id,
			        sbs_last_error(c->s));
			l->fatal = true;
		}
		conn_touch(l, c);
	}
}

/* Reads every connection on the ready list once (those the kernel reported
 * and those with frames buffered); a connection still holding a whole frame
 * afterwards goes back on the list for the next pass. */
static void load_read_ready(struct load *l)
{
	size_t n = load_ready_count(&l->ready);
	uint32_t id;

	while (n-- > 0 && load_ready_pop(&l->ready, &id)) {
		struct conn *c = &l->conns[id];

		if (sbs_up(c->s))
			conn_drain(l, c);
		conn_touch(l, c);
	}
}

/* Writes the frames every session corked during this pass. A session
 * whose write fails is lost, as when a send fails at once. */
static void load_flush(struct load *l)
{
	size_t n = l->ndirty;

	l->ndirty = 0;
	for (size_t k = 0; k < n; k++) {
		struct conn *c = &l->conns[l->dirty[k]];

		c->dirty = false;
		if (sbs_up(c->s) && sbc_flush(sbs_client(c->s)) != 0) {
			sbs_lost(c->s, sbc_last_error(sbs_client(c->s)));
			conn_touch(l, c);
		}
	}
}

/* Runs the load, then the drain. Returns 0, or -1 when a client was refused.
 *
 * epoll, level-triggered: each socket is registered once, when its session
 * connects (conn_touch), and leaves the set when sbclient closes it. Level,
 * not edge: conn_drain reads a socket once per pass (and at most
 * LOAD_DRAIN_BATCH frames), and sbclient's sbc_recv() does not say whether
 * that emptied the kernel's buffer, so with edge triggering a connection
 * with bytes left would never be reported again; level triggering reports
 * it on the next epoll_wait for as long as bytes are waiting, at no cost
 * for the sockets that have none. The ready list adds what epoll cannot see: frames
 * already in sbclient's buffer (sbc_recv() reads whole chunks). Sends are
 * corked in sbclient and written by load_flush() before each epoll_wait,
 * so no session has sends pending across a wait. Per pass the cost is the
 * sessions that are due, ready or sent to, not the number of sessions. */
static int load_loop(struct load *l)
{
	struct epoll_event *events = xcalloc(LOAD_EPOLL_EVENTS, sizeof(*events));
	int64_t end = INT64_MAX; /* set when the load starts */
	int64_t drain_end = 0, next_open_poll = 0, next_retry_scan = 0;
	bool submitting = true, started = false;

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		fprintf(stderr, "sb-load: epoll_create1: %s\n", strerror(errno));
		free(events);
		return -1;
	}
	load_ready_init(&l->ready, l->nconns);
	load_timers_init(&l->wakes, l->nconns);
	l->due = xcalloc(l->nconns ? l->nconns : 1, sizeof(*l->due));
	l->dirty = xcalloc(l->nconns ? l->nconns : 1, sizeof(*l->dirty));
	for (size_t i = 0; i < l->nconns; i++)
		conn_touch(l, &l->conns[i]); /* all due now: the first connection */
	l->next_report = l->start + 1000000;
	while (load_signals < 2 && !l->fatal) {
		int64_t now = load_now_us(), wake;
		int timeout_ms = 0, nev;

		if (submitting && (now >= end || load_signals > 0 || (l->o.contacts > 0 &&
		                                  l->ncontacts >= (size_t)l->o.contacts))) {
			submitting = false;
			drain_end = now + (int64_t)l->o.settle_ms * 1000;
		}
		if (!submitting && (load_all_done(l) || now >= drain_end))
			break;
		if (!submitting && now >= next_open_poll && load_nothing_open(l)) {
			if (!l->o.quiet)
				fprintf(stderr, "sb-load: the daemon has finished every contact\n");
			break;
		}
		if (!submitting && now >= next_open_poll)
			next_open_poll = now + LOAD_OPEN_POLL_US;
		load_service_due(l, now);
		now = load_now_us();
		if (!started) {
			/* The load (the arrival clock and --duration) starts when
			 * every session has had its first login attempt. 10 000
			 * agents log in one after the other (a blocking connect and
			 * Hello each, ~1.5 s); a clock started before that made the
			 * first pass submit every contact due meanwhile in one burst
			 * (7 800 at 5 000/s), whose queueing then was the run's p99. */
			started = true;
			l->load_start = now;
			l->next_arrival = now;
			end = now + (int64_t)(l->o.duration_s * 1e6);
		}
		if (submitting)
			load_arrivals(l, now);
		while (l->nheap > 0 && l->heap[0].due <= now) {
			struct action a;

			load_act_pop(l, &a);
			load_run_action(l, &a);
		}
		if (l->o.retry_ms > 0 && now >= next_retry_scan) {
			load_retry_unanswered(l, now);
			next_retry_scan = now + 50000;
		}
		if (now >= l->next_report) {
			if (!l->o.quiet)
				load_second(l, now);
			l->next_report += 1000000;
		}

		wake = l->next_report;
		if (submitting && l->o.rate > 0 && l->next_arrival < wake)
			wake = l->next_arrival;
		if (submitting && end < wake)
			wake = end;
		if (!submitting && drain_end < wake)
			wake = drain_end;
		if (l->o.retry_ms > 0 && next_retry_scan < wake)
			wake = next_retry_scan;
		if (l->nheap > 0 && l->heap[0].due < wake)
			wake = l->heap[0].due;
		if (load_timers_next(&l->wakes) < wake)
			wake = load_timers_next(&l->wakes);
		now = load_now_us();
		if (load_ready_count(&l->ready) == 0 && wake > now) {
			int64_t ms = (wake - now + 999) / 1000;

			timeout_ms = ms > 1000 ? 1000 : (int)ms;
		}
		load_flush(l);
		nev = epoll_wait(l->epfd, events, LOAD_EPOLL_EVENTS, timeout_ms);
		for (int k = 0; k < nev; k++)
			load_ready_push(&l->ready, events[k].data.u32);
		load_read_ready(l);
	}
	free(events);
	return l->fatal ? -1 : 0;
}

/* ---- options ------------------------------------------------------------------------------ */

/* "A" or "A-B" milliseconds. */
static int load_parse_range(const char *s, long *lo, long *hi)
{
	char *end;

	errno = 0;
	*lo = strtol(s, &end, 10);
	if (errno != 0 || end == s || *lo < 0)
		return -1;
	if (*end == '\0') {
		*hi = *lo;
		return 0;
	}
	if (*end != '-')
		return -1;
	s = end + 1;
	*hi = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *hi < *lo)
		return -1;
	return 0;
}

static int load_parse_num(const char *s, double max, double *out)
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

/* "name=weight,..." (skills: "name:level=percent,..."). Returns the count or -1. */
static int load_parse_weights(const char *list, struct weighted *w, size_t max, bool skills)
{
	size_t n = 0, nitems;
	char **items = load_split(list, &nitems);
	int rc = -1;

	for (size_t i = 0; i < nitems; i++) {
		char *eq = strchr(items[i], '=');
		char *colon;
		double v;
		long lvl = 0;

		if (eq == NULL || n == max || load_parse_num(eq + 1, 1e9, &v) != 0)
			goto out;
		*eq = '\0';
		colon = strchr(items[i], ':');
		if (skills) {
			char *end;

			if (colon == NULL)
				goto out;
			*colon = '\0';
			lvl = strtol(colon + 1, &end, 10);
			if (*end != '\0' || lvl < 1 || lvl > 5 || v > 100)
				goto out;
		} else if (colon != NULL) {
			goto out;
		}
		if (items[i][0] == '\0')
			goto out;
		w[n].name = xstrdup(items[i]);
		w[n].weight = v;
		w[n].level = (int)lvl;
		n++;
	}
	rc = (int)n;
out:
	if (rc < 0)
		for (size_t i = 0; i < n; i++)
			free(w[i].name);
	load_free_split(items, nitems);
	return rc;
}

static int load_parse_mix(const char *list, double mix[SB_CH_COUNT])
{
	struct weighted w[SB_CH_COUNT * 2];
	int n = load_parse_weights(list, w, SB_CH_COUNT * 2, false);
	int rc = 0;

	if (n < 0)
		return -1;
	for (int k = 0; k < SB_CH_COUNT; k++)
		mix[k] = 0.0;
	for (int i = 0; i < n; i++) {
		int ch = channel_parse(w[i].name);

		if (ch < 0)
			rc = -1;
		else
			mix[ch] = w[i].weight;
		free(w[i].name);
	}
	return rc;
}

static int load_usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "sb-load: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(sb-load --help lists the options)\n");
	return 2;
}

/* Parses argv into l->o. Returns 0, or an exit status (2 usage, or 0 with
 * *done after --help). */
static int load_parse_args(struct load *l, int argc, char **argv, bool *done)
{
	enum {
		O_CONFIG = 0x100, O_GATEWAY, O_AGENT, O_GATEWAYS, O_AGENTS, O_GW_CREDS, O_AGENT_IDS,
		O_AGENT_SECRET, O_RATE, O_INFLIGHT, O_CONTACTS, O_DURATION, O_MIX, O_TIERS,
		O_SKILLS, O_ACCEPT, O_HANDLE, O_NO_READY, O_SEED, O_PREFIX, O_SETTLE, O_CHECK,
		O_SITE, O_NO_OPEN, O_JOURNAL, O_CHECK_JOURNAL, O_JSON, O_QUIET, O_HELP, O_TLS,
		O_TLS_CA, O_TLS_CERT, O_TLS_KEY, O_TLS_NAME, O_VERBOSE, O_RETRY
	};
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, O_CONFIG},
	    {"gateway", required_argument, NULL, O_GATEWAY},
	    {"agent", required_argument, NULL, O_AGENT},
	    {"gateways", required_argument, NULL, O_GATEWAYS},
	    {"agents", required_argument, NULL, O_AGENTS},
	    {"gateway-creds", required_argument, NULL, O_GW_CREDS},
	    {"agent-ids", required_argument, NULL, O_AGENT_IDS},
	    {"agent-secret", required_argument, NULL, O_AGENT_SECRET},
	    {"rate", required_argument, NULL, O_RATE},
	    {"inflight", required_argument, NULL, O_INFLIGHT},
	    {"contacts", required_argument, NULL, O_CONTACTS},
	    {"duration", required_argument, NULL, O_DURATION},
	    {"mix", required_argument, NULL, O_MIX},
	    {"tiers", required_argument, NULL, O_TIERS},
	    {"skills", required_argument, NULL, O_SKILLS},
	    {"accept-ms", required_argument, NULL, O_ACCEPT},
	    {"handle-ms", required_argument, NULL, O_HANDLE},
	    {"no-ready", no_argument, NULL, O_NO_READY},
	    {"seed", required_argument, NULL, O_SEED},
	    {"prefix", required_argument, NULL, O_PREFIX},
	    {"settle-ms", required_argument, NULL, O_SETTLE},
	    {"retry-ms", required_argument, NULL, O_RETRY},
	    {"check-redis", required_argument, NULL, O_CHECK},
	    {"site", required_argument, NULL, O_SITE},
	    {"no-open-set", no_argument, NULL, O_NO_OPEN},
	    {"journal", required_argument, NULL, O_JOURNAL},
	    {"check-journal", required_argument, NULL, O_CHECK_JOURNAL},
	    {"json", no_argument, NULL, O_JSON},
	    {"quiet", no_argument, NULL, O_QUIET},
	    {"help", no_argument, NULL, O_HELP},
	    {"tls", no_argument, NULL, O_TLS},
	    {"verbose", no_argument, NULL, O_VERBOSE},
	    {"tls-ca", required_argument, NULL, O_TLS_CA},
	    {"tls-cert", required_argument, NULL, O_TLS_CERT},
	    {"tls-key", required_argument, NULL, O_TLS_KEY},
	    {"tls-name", required_argument, NULL, O_TLS_NAME},
	    {NULL, 0, NULL, 0},
	};
	struct load_opts *o = &l->o;
	double v;
	int opt, n;

	*done = false;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case O_CONFIG: o->config_path = optarg; break;
		case O_GATEWAY: o->gateway_addrs = optarg; break;
		case O_AGENT: o->agent_addrs = optarg; break;
		case O_GATEWAYS:
			if (load_parse_num(optarg, 100000, &v) != 0 || v < 1)
				return load_usage_error("--gateways wants a number >= 1, not '%s'", optarg);
			o->gateways = (long)v;
			break;
		case O_AGENTS:
			if (load_parse_num(optarg, 1000000, &v) != 0)
				return load_usage_error("--agents wants a number >= 0, not '%s'", optarg);
			o->agents = (long)v;
			break;
		case O_GW_CREDS: o->gateway_creds = optarg; break;
		case O_AGENT_IDS: o->agent_ids = optarg; break;
		case O_AGENT_SECRET: o->agent_secret = optarg; break;
		case O_RATE:
			if (load_parse_num(optarg, 10000000, &o->rate) != 0)
				return load_usage_error("--rate wants contacts per second >= 0, not '%s'", optarg);
			break;
		case O_INFLIGHT:
			if (load_parse_num(optarg, 1000000, &v) != 0 || v < 1)
				return load_usage_error("--inflight wants a number >= 1, not '%s'", optarg);
			o->inflight = (long)v;
			break;
		case O_CONTACTS:
			if (load_parse_num(optarg, 4e9, &v) != 0)
				return load_usage_error("--contacts wants a number >= 0, not '%s'", optarg);
			o->contacts = (long)v;
			break;
		case O_DURATION:
			if (load_parse_num(optarg, 365 * 86400.0, &o->duration_s) != 0)
				return load_usage_error("--duration wants seconds >= 0, not '%s'", optarg);
			break;
		case O_MIX:
			if (load_parse_mix(optarg, o->mix) != 0)
				return load_usage_error("--mix wants voice=W,chat=W,email=W,social=W, not '%s'",
				                        optarg);
			break;
		case O_TIERS:
			n = load_parse_weights(optarg, o->tiers, LOAD_MAX_TIERS, false);
			if (n < 0)
				return load_usage_error("--tiers wants TIER=WEIGHT,..., not '%s'", optarg);
			o->ntiers = (size_t)n;
			break;
		case O_SKILLS:
			n = load_parse_weights(optarg, o->skills, LOAD_MAX_SKILLS, true);
			if (n < 0)
				return load_usage_error(
				    "--skills wants NAME:LEVEL=PERCENT,... (level 1-5, at most 8), not '%s'",
				    optarg);
			o->nskills = (size_t)n;
			break;
		case O_ACCEPT:
			if (load_parse_range(optarg, &o->accept_min_ms, &o->accept_max_ms) != 0)
				return load_usage_error("--accept-ms wants MS or MIN-MAX, not '%s'", optarg);
			break;
		case O_HANDLE:
			if (load_parse_range(optarg, &o->handle_min_ms, &o->handle_max_ms) != 0)
				return load_usage_error("--handle-ms wants MS or MIN-MAX, not '%s'", optarg);
			break;
		case O_NO_READY: o->ready = false; break;
		case O_SEED:
			if (load_parse_num(optarg, 1.8e19, &v) != 0)
				return load_usage_error("--seed wants a whole number, not '%s'", optarg);
			o->seed = (uint64_t)v;
			break;
		case O_PREFIX:
			if (optarg[0] == '\0' || strlen(optarg) > 40 || strchr(optarg, ' '))
				return load_usage_error("--prefix wants 1-40 characters without spaces, not '%s'",
				                        optarg);
			o->prefix = optarg;
			break;
		case O_SETTLE:
			if (load_parse_num(optarg, 86400000, &v) != 0)
				return load_usage_error("--settle-ms wants milliseconds, not '%s'", optarg);
			o->settle_ms = (long)v;
			break;
		case O_RETRY:
			if (load_parse_num(optarg, 3600000, &v) != 0)
				return load_usage_error("--retry-ms wants milliseconds, not '%s'", optarg);
			o->retry_ms = (long)v;
			break;
		case O_CHECK: o->check_redis = optarg; break;
		case O_SITE: o->site = optarg; break;
		case O_NO_OPEN: o->check_open_set = false; break;
		case O_JOURNAL: o->journal_path = optarg; break;
		case O_CHECK_JOURNAL: o->check_journal = optarg; break;
		case O_JSON: o->json = true; break;
		case O_QUIET: o->quiet = true; break;
		case O_TLS: o->tls = true; break;
		case O_VERBOSE: o->verbose = true; break;
		case O_TLS_CA: o->tls = true; o->tls_conf.ca_file = optarg; break;
		case O_TLS_CERT: o->tls = true; o->tls_conf.cert_file = optarg; break;
		case O_TLS_KEY: o->tls = true; o->tls_conf.key_file = optarg; break;
		case O_TLS_NAME: o->tls = true; o->tls_conf.server_name = optarg; break;
		case O_HELP:
			fputs(load_usage, stdout);
			*done = true;
			return 0;
		default:
			return load_usage_error("%s", "unknown option");
		}
	}
	if (optind < argc)
		return load_usage_error("unexpected argument '%s'", argv[optind]);
	if (o->check_journal != NULL && o->check_redis == NULL)
		return load_usage_error("%s", "--check-journal needs --check-redis");
	return 0;
}

static void load_free(struct load *l)
{
	for (size_t i = 0; i < l->nconns; i++)
		conn_free(&l->conns[i]);
	free(l->conns);
	for (size_t i = 0; i < l->ncontacts; i++)
		free(l->contacts[i].contact_id);
	free(l->contacts);
	strmap_free(&l->by_id);
	for (size_t i = 0; i < l->nheap; i++) {
		free(l->heap[i].a);
		free(l->heap[i].b);
	}
	free(l->heap);
	load_ready_free(&l->ready);
	load_timers_free(&l->wakes);
	free(l->due);
	free(l->dirty);
	if (l->epfd >= 0)
		close(l->epfd);
	for (int ch = 0; ch < SB_CH_COUNT; ch++)
		free(l->queues[ch]);
	for (size_t i = 0; i < l->o.ntiers; i++)
		free(l->o.tiers[i].name);
	for (size_t i = 0; i < l->o.nskills; i++)
		free(l->o.skills[i].name);
	load_journal_free(l->journal);
	if (l->journal_file != NULL)
		fclose(l->journal_file);
	config_free(l->cfg);
}

/* Reads a journal written by --journal into l->journal. Returns 0 or -1
 * (printed). */
static int load_read_journal(struct load *l, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512], kind[16], a[200], b[200];
	long long ms;
	unsigned long lineno = 0;

	if (f == NULL) {
		fprintf(stderr, "sb-load: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		/* The time (a fourth field) is for other readers (bench/sb-check). */
		if (sscanf(line, "%15s %199s %199s %lld", kind, a, b, &ms) < 3) {
			fprintf(stderr, "%s:%lu: want \"ack CONTACT EXTERNAL [MS]\", "
			        "\"assign CONTACT AGENT [MS]\" or \"complete CONTACT WHO [MS]\"\n",
			        path, lineno);
			fclose(f);
			return -1;
		}
		if (strcmp(kind, "ack") == 0) {
			load_journal_ack(l->journal, a, b);
		} else if (strcmp(kind, "assign") == 0) {
			load_journal_assign(l->journal, a, b);
		} else if (strcmp(kind, "complete") == 0) {
			/* Not used by this check. */
		} else {
			fprintf(stderr, "%s:%lu: unknown record '%s'\n", path, lineno, kind);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	static struct load l; /* large: histograms */
	struct load_check_result cr = {0};
	bool done, checked = false;
	unsigned long unacked = 0;
	double secs;
	int rc;

	l.o = (struct load_opts){.agents = -1,
	                         .inflight = 32,
	                         .duration_s = 10,
	                         .handle_min_ms = 50,
	                         .handle_max_ms = 50,
	                         .mix = {40, 40, 10, 10},
	                         .ready = true,
	                         .settle_ms = 5000,
	                         .check_open_set = true};
	l.epfd = -1; /* load_loop() makes it */
	rc = load_parse_args(&l, argc, argv, &done);
	if (rc != 0 || done) {
		load_free(&l);
		return rc;
	}
	if (l.o.config_path != NULL) {
		struct config_errors errs = {0};

		if (config_load(l.o.config_path, &l.cfg, &errs) != 0) {
			for (size_t i = 0; i < errs.n; i++)
				fprintf(stderr, "%s\n", errs.msgs[i]);
			config_errors_clear(&errs);
			fprintf(stderr, "sb-load: cannot load %s\n", l.o.config_path);
			load_free(&l);
			return 1;
		}
		config_errors_clear(&errs);
	}
	if (l.o.site == NULL)
		l.o.site = l.cfg != NULL ? l.cfg->site : "main";
	rng_seed(&l.rng, l.o.seed != 0 ? l.o.seed
	                                      : (uint64_t)load_now_us() ^ ((uint64_t)getpid() << 40));
	if (l.o.prefix != NULL)
		snprintf(l.prefix, sizeof(l.prefix), "%s", l.o.prefix);
	else
		snprintf(l.prefix, sizeof(l.prefix), "load-%d-%lld", (int)getpid(),
		         (long long)time(NULL));
	if (l.o.journal_path != NULL) {
		l.journal_file = fopen(l.o.journal_path, "w");
		if (l.journal_file == NULL) {
			fprintf(stderr, "sb-load: cannot write %s: %s\n", l.o.journal_path,
			        strerror(errno));
			load_free(&l);
			return 1;
		}
		/* A line as each frame is received: what a client was told is on
		 * file even if sb-load itself is killed. */
		setvbuf(l.journal_file, NULL, _IOLBF, 0);
	}
	l.journal = load_journal_new(l.journal_file);
	strmap_init(&l.by_id);
	load_hist_init(&l.h_ack);
	load_hist_init(&l.h_offer);
	load_hist_init(&l.h_assign);
	load_hist_init(&l.h_accept);
	load_setup_queues(&l);
	if (l.o.check_journal != NULL) {
		/* Checking only: nothing connects, nothing is submitted. */
		if (load_read_journal(&l, l.o.check_journal) != 0) {
			load_free(&l);
			return 1;
		}
	} else if (load_setup_conns(&l) != 0) {
		load_free(&l);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, load_on_signal);
	signal(SIGTERM, load_on_signal);

	l.start = load_now_us();
	rc = l.o.check_journal != NULL ? 0 : load_loop(&l) == 0 ? 0 : 1;
	secs = (double)(load_now_us() - l.start) / 1e6;
	for (size_t i = 0; i < l.ncontacts; i++)
		unacked += !l.contacts[i].acked && !l.contacts[i].failed;
	if (rc == 0 && l.o.check_redis != NULL) {
		struct load_check_opts co = {.redis_addr = l.o.check_redis,
		                             .site = l.o.site,
		                             .check_open_set = l.o.check_open_set,
		                             .detail = stderr,
		                             .max_detail = 10};
		char err[256];

		if (load_check(l.journal, &co, &cr, err, sizeof(err)) != 0) {
			fprintf(stderr, "sb-load: check: %s\n", err);
			rc = 1;
		} else {
			checked = true;
		}
	}
	if (l.o.json)
		load_report_json(&l, secs, &cr, checked, unacked);
	else
		load_report_text(&l, secs, &cr, checked, unacked);
	if (checked && (cr.lost || cr.double_assigned || cr.stuck))
		rc = 1;
	if (load_journal_doubles(l.journal) > 0 || unacked > 0)
		rc = 1;
	if (unacked > 0)
		fprintf(stderr, "sb-load: %lu submitted contacts were never acknowledged\n", unacked);
	load_free(&l);
	return rc;
}
