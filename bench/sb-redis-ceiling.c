/* sb-redis-ceiling: how many contacts per second Redis can record when it
 * runs exactly the writes Switchboard makes per contact, with nothing else
 * in the way (no daemon, no routing, no client protocol).
 *
 * It drives the daemon's own store (daemon/store/) so the batches, keys,
 * argument counts and field sets are the daemon's by construction: per
 * contact one `submit` and the `offered`, `assigned` and `completed` writes,
 * encoded by the daemon's record module, with a payload of --payload-bytes. Each connection is one store that takes the
 * leader lease for its own site (the fencing check runs in every batch, as
 * in production) and keeps --depth contacts in flight, the four operations
 * of a contact asked for back to back; the store groups what is asked in
 * one loop turn into batches exactly as it does in the daemon.
 *
 * Redis's INFO commandstats before and after gives the commands Redis
 * really executed per contact (the scripts' own calls included).
 *
 *   sb-redis-ceiling --redis HOST:PORT [--conns N] [--depth D]
 *                    [--duration S | --contacts N] [--payload-bytes B]
 *
 * Last line of output, for scripts: "RESULT key=value ...". */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record/record.h"
#include "util/err.h"
#include "util/log.h"
#include "store/store.h"
#include "util/xalloc.h"

struct bench;

/* One connection: a store with its own site and lease. */
struct conn {
	struct bench *b;
	struct store *st;
	char *site;
	int index;
	bool leading;
	int inflight;   /* contacts whose completed write is not answered */
	uint64_t next;  /* next contact number on this connection */
};

struct bench {
	struct event_base *base;
	const char *redis;
	int n_conns;
	int depth;
	double duration_s;
	uint64_t max_contacts; /* 0: until the duration ends */
	size_t payload_bytes;
	char *payload;
	/* The SubmitContact every contact carries: an attribute of
	 * payload_bytes bytes, as a gateway's would be. */
	Switchboard__V1__SubmitContact msg;
	Switchboard__V1__SubmitContact__AttributesEntry attr, *attrs[1];
	char tag[16]; /* the start time in base 36, like the daemon's contact ids: a
		       * second run on the same Redis makes new contacts, not duplicates */
	struct conn *conns;
	int n_leading;
	bool running;
	bool stopping;
	double t_start, t_end;
	uint64_t started, completed, errors;
	struct event *stop_timer;
	int exit_code;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- commands counted by Redis ----------------------------------------- */

struct cmdstats {
	uint64_t evalsha; /* script calls */
	uint64_t inside;  /* every other data command (those run by the scripts) */
};

/* Sums cmdstat_<name>:calls=N from INFO commandstats over a plain
 * connection; the INFO, SCRIPT, CONFIG and lease/epoch traffic of the
 * set-up is small and happens outside the measured window. */
static int read_cmdstats(const char *addr, struct cmdstats *out)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	if (colon == NULL || (size_t)(colon - addr) >= sizeof host) {
		fprintf(stderr, "sb-redis-ceiling: bad --redis address '%s'\n", addr);
		return -1;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	redisContext *c = redisConnect(host, atoi(colon + 1));
	if (c == NULL || c->err) {
		fprintf(stderr, "sb-redis-ceiling: connect %s: %s\n", addr,
			c ? c->errstr : "out of memory");
		if (c != NULL)
			redisFree(c);
		return -1;
	}
	redisReply *r = redisCommand(c, "INFO commandstats");
	if (r == NULL || r->type != REDIS_REPLY_STRING) {
		fprintf(stderr, "sb-redis-ceiling: INFO commandstats failed\n");
		if (r != NULL)
			freeReplyObject(r);
		redisFree(c);
		return -1;
	}
	memset(out, 0, sizeof *out);
	for (char *line = r->str; line != NULL && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		char name[64];
		unsigned long long calls;
		if (sscanf(line, "cmdstat_%63[^:]:calls=%llu", name, &calls) != 2)
			continue;
		if (strcmp(name, "evalsha") == 0)
			out->evalsha += calls;
		else if (strcmp(name, "info") != 0 && strncmp(name, "script", 6) != 0 &&
			 strncmp(name, "config", 6) != 0 && strcmp(name, "ping") != 0)
			out->inside += calls;
	}
	freeReplyObject(r);
	redisFree(c);
	return 0;
}

/* ---- one contact: the daemon's four writes ----------------------------- */

static void conn_fill(struct conn *c);

static void on_completed(void *arg, int err)
{
	struct conn *c = arg;
	struct bench *b = c->b;

	c->inflight--;
	if (err != 0)
		b->errors++;
	else
		b->completed++;
	conn_fill(c);
	if (b->stopping) {
		bool idle = true;
		for (int i = 0; i < b->n_conns; i++)
			idle = idle && b->conns[i].inflight == 0;
		if (idle)
			event_base_loopbreak(b->base);
	}
}

static void on_written(void *arg, int err)
{
	struct conn *c = arg;
	if (err != 0)
		c->b->errors++;
}

static void on_submitted(void *arg, int err, const struct store_submit_result *r)
{
	struct conn *c = arg;
	if (err != 0 || r == NULL || !r->created)
		c->b->errors++;
}

/* Sends submit, offered, assigned, completed for one new contact, each
 * encoded by the daemon's record module from the engine's view of the
 * contact at that step (values of realistic lengths). */
static void contact_send(struct conn *c)
{
	struct bench *b = c->b;
	uint64_t n = c->next++;
	char id[48], ext[48], agent[24], offer[48];
	int64_t now = wall_ms();
	struct record_submit rs;
	struct record_write rw;

	snprintf(id, sizeof id, "c-%s-%" PRIu64, b->tag, n);
	snprintf(ext, sizeof ext, "ext-%s-%d-%" PRIu64, b->tag, c->index, n);
	snprintf(agent, sizeof agent, "agent-%03" PRIu64, n % 1000);
	snprintf(offer, sizeof offer, "o-%s-%" PRIu64, b->tag, n);
	b->msg.external_id = ext;
	struct record_data *data = record_data_new(&b->msg, "g-1", "chat-q");
	data->seq = 1;
	record_submit(&rs, id, "gw1", &b->msg, data, SB_CH_CHAT, "chat-q", now, now + 30000);
	if (store_submit(c->st, &rs.s, on_submitted, c) != 0) {
		record_data_free(NULL, data);
		b->errors++;
		return;
	}
	b->started++;
	c->inflight++;

	struct engine_contact_view v = {
		.id = id, .gateway_id = "gw1", .external_id = ext, .queue = "chat-q",
		.customer_tier = "standard", .channel = SB_CH_CHAT, .state = CONTACT_OFFERED,
		.arrived_ms = now, .deadline_ms = now + 30000, .sla_ms = 30000,
		.agent_id = agent, .offer_id = offer, .offer_expires_ms = now + 15000,
		.assigned_ms = now, .user = data,
	};
	record_offered(&rw, &v, now);
	if (store_write(c->st, &rw.w, on_written, c) != 0)
		b->errors++;
	record_write_done(&rw);
	v.state = CONTACT_ASSIGNED;
	v.offer_id = NULL;
	record_assigned(&rw, &v, 3, true, now);
	if (store_write(c->st, &rw.w, on_written, c) != 0)
		b->errors++;
	record_write_done(&rw);
	record_completed(&rw, &v, "resolved", 5, NULL, 86400, now);
	if (store_write(c->st, &rw.w, on_completed, c) != 0) {
		b->errors++;
		c->inflight--;
	}
	record_write_done(&rw);
	record_data_free(NULL, data);
}

static void conn_fill(struct conn *c)
{
	struct bench *b = c->b;
	while (b->running && !b->stopping && c->inflight < b->depth &&
	       store_state(c->st) == STORE_READY) {
		if (b->max_contacts > 0 && b->started >= b->max_contacts) {
			b->stopping = true;
			break;
		}
		contact_send(c);
	}
}

/* ---- start, lease, stop ------------------------------------------------- */

static void on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	(void)fd;
	(void)what;
	b->stopping = true;
	bool idle = true;
	for (int i = 0; i < b->n_conns; i++)
		idle = idle && b->conns[i].inflight == 0;
	if (idle)
		event_base_loopbreak(b->base);
}

static void bench_go(struct bench *b)
{
	b->running = true;
	b->t_start = now_s();
	if (b->max_contacts == 0) {
		struct timeval tv = { (time_t)b->duration_s,
				      (suseconds_t)((b->duration_s - (double)(time_t)b->duration_s) *
						    1e6) };
		evtimer_add(b->stop_timer, &tv);
	}
	for (int i = 0; i < b->n_conns; i++)
		conn_fill(&b->conns[i]);
}

static void on_lease(void *arg, int err, enum store_lease_status status, const char *info,
		     int64_t epoch)
{
	struct conn *c = arg;
	struct bench *b = c->b;

	if (err != 0 || status == STORE_LEASE_HELD_BY_OTHER) {
		fprintf(stderr, "sb-redis-ceiling: no lease for site %s (%s)\n", c->site,
			info ? info : sb_err_name(err));
		b->exit_code = 1;
		event_base_loopbreak(b->base);
		return;
	}
	if (!c->leading) {
		c->leading = true;
		if (++b->n_leading == b->n_conns)
			event_base_loopbreak(b->base); /* all set: measure from a clean start */
	}
}

static void on_state(void *ctx, enum store_state state)
{
	struct conn *c = ctx;
	if (state == STORE_READY && !c->leading) {
		if (store_lease(c->st, "ceiling", 600000, "ceiling - -", 0, on_lease, c) != 0) {
			c->b->exit_code = 1;
			event_base_loopbreak(c->b->base);
		}
	} else if (state == STORE_DOWN && c->b->running) {
		fprintf(stderr, "sb-redis-ceiling: connection %d to Redis lost\n", c->index);
		c->b->exit_code = 1;
		event_base_loopbreak(c->b->base);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sb-redis-ceiling --redis HOST:PORT [--conns N] [--depth D]\n"
		"                        [--duration S | --contacts N] [--payload-bytes B]\n"
		"  Runs the daemon's per-contact Redis writes (submit, offered, assigned,\n"
		"  completed, batched as the daemon batches them) as fast as Redis answers\n"
		"  them. N connections, each\n"
		"  its own site and lease, D contacts in flight on each (default 4 x 64,\n"
		"  5 s, payload 96 bytes). Prints contacts/s, EVALSHA/s and the commands\n"
		"  Redis executed per contact (INFO commandstats), then a RESULT line.\n");
}

static int parse_args(struct bench *b, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "redis", required_argument, NULL, 'r' },
		{ "conns", required_argument, NULL, 'n' },
		{ "depth", required_argument, NULL, 'd' },
		{ "duration", required_argument, NULL, 't' },
		{ "contacts", required_argument, NULL, 'c' },
		{ "payload-bytes", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;
	char *end;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		errno = 0;
		end = NULL;
		switch (o) {
		case 'r': b->redis = optarg; break;
		case 'n': b->n_conns = (int)strtol(optarg, &end, 10); break;
		case 'd': b->depth = (int)strtol(optarg, &end, 10); break;
		case 't': b->duration_s = strtod(optarg, &end); break;
		case 'c': b->max_contacts = strtoull(optarg, &end, 10); break;
		case 'p': b->payload_bytes = (size_t)strtoul(optarg, &end, 10); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
		if (end != NULL && (errno != 0 || *end != '\0' || end == optarg)) {
			fprintf(stderr, "sb-redis-ceiling: bad number '%s'\n", optarg);
			return -1;
		}
	}
	if (optind != argc || b->redis == NULL) {
		usage(stderr);
		return -1;
	}
	if (b->n_conns < 1 || b->n_conns > 256 || b->depth < 1 || b->depth > 100000 ||
	    b->duration_s <= 0 || b->payload_bytes < 1 || b->payload_bytes > 65536) {
		fprintf(stderr, "sb-redis-ceiling: --conns 1..256, --depth 1..100000, "
				"--duration > 0, --payload-bytes 1..65536\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = { .n_conns = 4, .depth = 64, .duration_s = 5, .payload_bytes = 96 };
	struct cmdstats before, after;

	if (parse_args(&b, argc, argv) != 0)
		return 2;
	log_set_level(LOG_LEVEL_WARN);
	{
		static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
		char rev[16];
		int n = 0;
		for (uint64_t v = (uint64_t)wall_ms(); v > 0 && n < 15; v /= 36)
			rev[n++] = digits[v % 36];
		for (int i = 0; i < n; i++)
			b.tag[i] = rev[n - 1 - i];
		b.tag[n] = '\0';
	}
	b.payload = xmalloc(b.payload_bytes + 1);
	for (size_t i = 0; i < b.payload_bytes; i++)
		b.payload[i] = (char)('a' + i % 26);
	b.payload[b.payload_bytes] = '\0';
	switchboard__v1__submit_contact__init(&b.msg);
	switchboard__v1__submit_contact__attributes_entry__init(&b.attr);
	b.attr.key = "note";
	b.attr.value = b.payload;
	b.attrs[0] = &b.attr;
	b.msg.attributes = b.attrs;
	b.msg.n_attributes = 1;
	b.msg.channel = SWITCHBOARD__V1__CHANNEL__CHANNEL_CHAT;
	b.msg.queue = "chat-q";
	b.base = event_base_new();
	if (b.base == NULL) {
		fprintf(stderr, "sb-redis-ceiling: event_base_new failed\n");
		return 1;
	}
	b.stop_timer = evtimer_new(b.base, on_stop_timer, &b);
	b.conns = xcalloc((size_t)b.n_conns, sizeof *b.conns);
	for (int i = 0; i < b.n_conns; i++) {
		struct conn *c = &b.conns[i];
		c->b = &b;
		c->index = i;
		c->site = xasprintf("ceiling%d", i);
		struct store_conf sc = {
			.address = b.redis, .site = c->site, .connect_timeout_ms = 2000,
			.command_timeout_ms = 30000, .reconnect_max_ms = 1000,
			.events_maxlen = 1000000, .idempotency_ttl_s = 86400,
			.seq_field = record_seq_field,
		};
		struct store_hooks hooks = { .state = on_state, .ctx = c };
		c->st = store_new(b.base, &sc, &hooks);
		store_start(c->st);
	}

	/* Phase 1: connect, load the scripts, take every lease. */
	event_base_dispatch(b.base);
	if (b.exit_code == 0 && b.n_leading == b.n_conns && read_cmdstats(b.redis, &before) == 0) {
		/* Phase 2: the measured run. */
		bench_go(&b);
		event_base_dispatch(b.base);
		b.t_end = now_s();
		if (read_cmdstats(b.redis, &after) != 0)
			b.exit_code = 1;
	} else {
		b.exit_code = 1;
	}

	if (b.exit_code == 0) {
		double secs = b.t_end - b.t_start;
		double per_s = secs > 0 ? (double)b.completed / secs : 0;
		double evalsha = b.completed ? (double)(after.evalsha - before.evalsha) /
						       (double)b.completed
					     : 0;
		double inside = b.completed ? (double)(after.inside - before.inside) /
						      (double)b.completed
					    : 0;
		printf("sb-redis-ceiling: %d connections x %d contacts in flight, payload %zu B\n",
		       b.n_conns, b.depth, b.payload_bytes);
		printf("contacts completed   %" PRIu64 " in %.2f s, errors %" PRIu64 "\n",
		       b.completed, secs, b.errors);
		printf("contacts/s           %.0f\n", per_s);
		printf("EVALSHA per contact  %.2f (round trips, pipelined)\n", evalsha);
		printf("commands per contact %.2f inside the scripts (INFO commandstats)\n", inside);
		printf("EVALSHA/s            %.0f\n", per_s * evalsha);
		printf("commands/s           %.0f (inside the scripts)\n", per_s * inside);
		printf("RESULT contacts=%" PRIu64 " secs=%.3f contacts_per_s=%.0f evalsha_per_contact=%.2f "
		       "commands_per_contact=%.2f evalsha_per_s=%.0f commands_per_s=%.0f errors=%" PRIu64
		       "\n",
		       b.completed, secs, per_s, evalsha, inside, per_s * evalsha, per_s * inside,
		       b.errors);
		if (b.errors > 0)
			b.exit_code = 1;
	}

	for (int i = 0; i < b.n_conns; i++) {
		store_free(b.conns[i].st);
		free(b.conns[i].site);
	}
	free(b.conns);
	event_free(b.stop_timer);
	event_base_free(b.base);
	free(b.payload);
	return b.exit_code;
}
