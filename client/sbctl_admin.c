/* The ops side of sbctl: status, queues, agents, contact, roster,
 * force-state, requeue and close, talking to the daemon's admin HTTP API
 * (docs/admin-api.md) with a small blocking HTTP/1.1 client. Tables by default, the API's own
 * JSON with --json. */
#define _GNU_SOURCE
#include "sbctl.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/address.h"
#include "util/json_parse.h"
#include "util/xalloc.h"

#define ADMIN_DEFAULT_ADDR "127.0.0.1:7402"
#define ADMIN_MAX_RESPONSE (16 * 1024 * 1024)

/* Options every admin subcommand takes. */
struct admin_opts {
	const char *cmd;
	const char *address;
	const char *token, *token_file;
	long timeout_ms;
	bool json;
};

/* A response: status and body (NUL-terminated). Owner: the caller
 * (admin_response_free). */
struct admin_response {
	int status;
	char *body;
	size_t len;
};

static void admin_response_free(struct admin_response *r)
{
	free(r->body);
	r->body = NULL;
}

/* Connects to "host:port", "[v6]:port" or "unix:/path"; -1 after printing. */
static int admin_connect(const struct admin_opts *o)
{
	struct address a;
	const char *why;
	int fd = -1;

	if (address_parse(o->address, &a, &why) != 0) {
		fprintf(stderr, "sbctl %s: --admin %s: %s\n", o->cmd, o->address, why);
		return -1;
	}
	if (a.is_unix) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		snprintf(sun.sun_path, sizeof sun.sun_path, "%s", a.path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
			close(fd);
			fd = -1;
		}
	} else {
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
		char port[16];
		snprintf(port, sizeof port, "%d", a.port);
		if (getaddrinfo(a.host, port, &hints, &res) == 0) {
			for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
				fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
				if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
					close(fd);
					fd = -1;
				}
			}
			freeaddrinfo(res);
		}
	}
	if (fd < 0)
		fprintf(stderr, "sbctl %s: cannot connect to the admin API at %s: %s\n", o->cmd,
		        o->address, strerror(errno));
	return fd;
}

/* Waits until fd is ready for events or the deadline; false on timeout. */
static bool admin_ready(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int64_t left = deadline - sbctl_mono_ms();

	if (left <= 0)
		return false;
	return poll(&p, 1, (int)left) > 0;
}

/* One request, one response ("Connection: close": the body ends at EOF or
 * at Content-Length). Returns 0, or an exit code after printing. */
static int admin_request(const struct admin_opts *o, const char *method, const char *path,
                         const char *body, bool auth, struct admin_response *out)
{
	int64_t deadline = sbctl_mono_ms() + o->timeout_ms;
	char *token = NULL, err[256], *req = NULL, *buf = NULL;
	size_t len = 0, cap = 0, sent = 0;
	int fd, rc = SBCTL_EXIT_FAIL;

	memset(out, 0, sizeof *out);
	if (auth && (o->token != NULL || o->token_file != NULL)) {
		if (o->token_file != NULL &&
		    (token = sbctl_read_secret(o->token_file, err, sizeof err)) == NULL) {
			fprintf(stderr, "sbctl %s: cannot read --token-file: %s\n", o->cmd, err);
			return SBCTL_EXIT_FAIL;
		}
		if (token == NULL)
			token = xstrdup(o->token);
	}
	if ((fd = admin_connect(o)) < 0) {
		free(token);
		return SBCTL_EXIT_FAIL;
	}
	char length[48] = "";
	if (body != NULL)
		snprintf(length, sizeof length, "Content-Length: %zu\r\n", strlen(body));
	req = xasprintf("%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
	                "Accept: application/json\r\n%s%s%s%s%s\r\n%s",
	                method, path, o->address, token ? "Authorization: Bearer " : "",
	                token ? token : "", token ? "\r\n" : "",
	                body ? "Content-Type: application/json\r\n" : "", length, body ? body : "");
	if (token != NULL) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	while (sent < strlen(req)) {
		if (!admin_ready(fd, POLLOUT, deadline))
			goto timeout;
		ssize_t n = send(fd, req + sent, strlen(req) - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto ioerr;
		sent += (size_t)n;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 16384;
			buf = xrealloc(buf, cap + 1);
		}
		if (!admin_ready(fd, POLLIN, deadline))
			goto timeout;
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto ioerr;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > ADMIN_MAX_RESPONSE) {
			fprintf(stderr, "sbctl %s: response larger than %d bytes\n", o->cmd,
			        ADMIN_MAX_RESPONSE);
			goto out;
		}
	}
	if (buf == NULL)
		buf = xmalloc(1);
	buf[len] = '\0';
	char *hdr_end = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.", 7) != 0 || hdr_end == NULL || strlen(buf) < 12) {
		fprintf(stderr, "sbctl %s: %s did not answer HTTP\n", o->cmd, o->address);
		goto out;
	}
	out->status = atoi(buf + 9);
	out->len = len - (size_t)(hdr_end + 4 - buf);
	out->body = xmalloc(out->len + 1);
	memcpy(out->body, hdr_end + 4, out->len);
	out->body[out->len] = '\0';
	rc = 0;
	goto out;
timeout:
	fprintf(stderr, "sbctl %s: no answer from %s within %ld ms\n", o->cmd, o->address,
	        o->timeout_ms);
	goto out;
ioerr:
	fprintf(stderr, "sbctl %s: %s: %s\n", o->cmd, o->address, strerror(errno));
out:
	free(req);
	free(buf);
	close(fd);
	return rc;
}

/* Prints an API error ({"error":{"code","message"}}) and returns 1. */
static int admin_fail(const struct admin_opts *o, const struct admin_response *r)
{
	char err[160];
	struct jv *v = jv_parse(r->body, r->len, err, sizeof err);
	const struct jv *e = jv_get(v, "error");
	const struct jv *code = jv_get(e, "code"), *msg = jv_get(e, "message");

	if (code != NULL && code->type == JV_STRING && msg != NULL && msg->type == JV_STRING)
		fprintf(stderr, "sbctl %s: %s (HTTP %d): %s\n", o->cmd, code->str, r->status,
		        msg->str);
	else
		fprintf(stderr, "sbctl %s: HTTP %d\n", o->cmd, r->status);
	jv_free(v);
	return SBCTL_EXIT_FAIL;
}

/* GET/POST/... and parse: 0 with *out (jv_free), or an exit code printed.
 * With --json the body is printed as it came and *out is NULL. */
static int admin_call(const struct admin_opts *o, const char *method, const char *path,
                      const char *body, bool auth, struct jv **out)
{
	struct admin_response r;
	char err[160];
	int rc = admin_request(o, method, path, body, auth, &r);

	*out = NULL;
	if (rc != 0)
		return rc;
	if (r.status < 200 || r.status > 299) {
		if (o->json)
			fputs(r.body, stdout);
		rc = admin_fail(o, &r);
	} else if (o->json) {
		fputs(r.body, stdout);
	} else if ((*out = jv_parse(r.body, r.len, err, sizeof err)) == NULL) {
		fprintf(stderr, "sbctl %s: the answer is not JSON: %s\n", o->cmd, err);
		rc = SBCTL_EXIT_FAIL;
	}
	admin_response_free(&r);
	return rc;
}

/* ---- reading the JSON ------------------------------------------------- */

static const char *admin_s(const struct jv *obj, const char *key)
{
	const struct jv *v = jv_get(obj, key);
	return v != NULL && v->type == JV_STRING ? v->str : "";
}

static double admin_n(const struct jv *obj, const char *key)
{
	const struct jv *v = jv_get(obj, key);
	return v != NULL && v->type == JV_NUMBER ? v->num : NAN;
}

/* A duration in ms as "850ms", "12.3s", "4m05s", "2h10m". */
static void admin_dur(char *buf, size_t len, double ms)
{
	if (isnan(ms) || ms < 0)
		snprintf(buf, len, "-");
	else if (ms < 1000)
		snprintf(buf, len, "%.0fms", ms);
	else if (ms < 60000)
		snprintf(buf, len, "%.1fs", ms / 1000);
	else if (ms < 3600000)
		snprintf(buf, len, "%dm%02ds", (int)(ms / 60000), (int)fmod(ms / 1000, 60));
	else
		snprintf(buf, len, "%dh%02dm", (int)(ms / 3600000), (int)fmod(ms / 60000, 60));
}

static void admin_num(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f", v);
}

/* ---- aligned tables ----------------------------------------------------- */

#define TABLE_MAX_COLS 16

struct table {
	size_t ncols, nrows;
	char **cells; /* nrows x ncols */
	size_t width[TABLE_MAX_COLS];
};

static void table_row(struct table *t, const char *const *cols)
{
	t->cells = xreallocarray(t->cells, (t->nrows + 1) * t->ncols, sizeof *t->cells);
	for (size_t c = 0; c < t->ncols; c++) {
		t->cells[t->nrows * t->ncols + c] = xstrdup(cols[c]);
		if (strlen(cols[c]) > t->width[c])
			t->width[c] = strlen(cols[c]);
	}
	t->nrows++;
}

static void table_print(struct table *t)
{
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			if (c + 1 == t->ncols)
				printf("%s\n", cell);
			else
				printf("%-*s  ", (int)t->width[c], cell);
		}
		for (size_t c = 0; c < t->ncols; c++)
			free(t->cells[r * t->ncols + c]);
	}
	free(t->cells);
}

/* ---- options -------------------------------------------------------------- */

enum {
	OPT_ADMIN = 0x2000,
	OPT_TOKEN,
	OPT_TOKEN_FILE,
	OPT_JSON,
	OPT_TIMEOUT,
	OPT_NAME,
	OPT_TIER,
	OPT_SKILL,
	OPT_CAPACITY,
	OPT_QUEUE
};

#define ADMIN_COMMON_USAGE                                                                         \
	"  --admin ADDR          the admin API (default " ADMIN_DEFAULT_ADDR ", or $SB_ADMIN)\n"   \
	"  --token-file F        the bearer token, for changes (or --token T, or "                 \
	"$SB_ADMIN_TOKEN)\n"                                                                       \
	"  --json                print the API's JSON instead of a table\n"                        \
	"  --timeout MS          connect and reply timeout (default 5000)\n"

static const char admin_usage[] =
    "usage: sbctl status|queues [QUEUE]|agents [AGENT]|contact ID [options]\n"
    "       sbctl roster list\n"
    "       sbctl roster add ID [--name N] [--tier T] [--skill NAME=LEVEL]...\n"
    "                           [--capacity CHANNEL=N]... [--queue Q]...\n"
    "       sbctl roster set ID [the same: what is given replaces what was]\n"
    "       sbctl roster rm ID\n"
    "       sbctl force-state AGENT available|break|offline [REASON]\n"
    "       sbctl requeue CONTACT             (take it from its agent; another gets it)\n"
    "       sbctl close CONTACT DISPOSITION   (end an assigned contact for its agent)\n"
    "       sbctl reload                      (the same as SIGHUP)\n"
    "\n" ADMIN_COMMON_USAGE "\n"
    "Talks to the daemon's admin HTTP API (docs/admin-api.md). Changes (roster add/set/rm,\n"
    "force-state, requeue, close, reload) need the bearer token of admin.token_file.\n";

/* A roster change being built from options: JSON members. */
struct admin_roster_args {
	const char *name, *tier;
	char skills[2048], capacity[256], queues[2048];
	bool any_skill, any_capacity, any_queue;
};

/* Appends ",\"k\":v" style text to a fixed buffer; false if it is full. */
static bool admin_append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool admin_append(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < size - used;
}

/* Whether s is safe inside a JSON string without escaping (names only). */
static bool admin_plain(const char *s)
{
	if (s == NULL)
		return false;
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return false;
	return true;
}

/* Parses the options; the positional arguments are left in argv[optind..].
 * Returns 0 or an exit code. */
static int admin_options(int argc, char **argv, struct admin_opts *o, struct admin_roster_args *ra)
{
	static const struct option longopts[] = {
	    {"admin", required_argument, NULL, OPT_ADMIN},
	    {"token", required_argument, NULL, OPT_TOKEN},
	    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"name", required_argument, NULL, OPT_NAME},
	    {"tier", required_argument, NULL, OPT_TIER},
	    {"skill", required_argument, NULL, OPT_SKILL},
	    {"capacity", required_argument, NULL, OPT_CAPACITY},
	    {"queue", required_argument, NULL, OPT_QUEUE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	o->address = getenv("SB_ADMIN") != NULL ? getenv("SB_ADMIN") : ADMIN_DEFAULT_ADDR;
	o->token = getenv("SB_ADMIN_TOKEN");
	o->timeout_ms = 5000;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		char *eq = optarg != NULL ? strchr(optarg, '=') : NULL;
		long n;
		switch (opt) {
		case OPT_ADMIN:
			o->address = optarg;
			break;
		case OPT_TOKEN:
			o->token = optarg;
			o->token_file = NULL;
			break;
		case OPT_TOKEN_FILE:
			o->token_file = optarg;
			o->token = NULL;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_TIMEOUT:
			if (sbctl_parse_long(optarg, 1, 600000, &o->timeout_ms) != 0)
				return sbctl_usage_error(o->cmd, "bad --timeout '%s'", optarg);
			break;
		case OPT_NAME:
		case OPT_TIER:
			if (!admin_plain(optarg))
				return sbctl_usage_error(o->cmd, "bad value '%s'", optarg);
			if (opt == OPT_NAME)
				ra->name = optarg;
			else
				ra->tier = optarg;
			break;
		case OPT_SKILL:
		case OPT_CAPACITY:
			if (eq == NULL || eq == optarg || !admin_plain(optarg) ||
			    sbctl_parse_long(eq + 1, 1, 50, &n) != 0)
				return sbctl_usage_error(o->cmd, "--%s wants NAME=NUMBER",
				                         opt == OPT_SKILL ? "skill" : "capacity");
			if (!admin_append(
			        opt == OPT_SKILL ? ra->skills : ra->capacity,
			        opt == OPT_SKILL ? sizeof ra->skills : sizeof ra->capacity,
			        "%s\"%.*s\":%ld",
			        (opt == OPT_SKILL ? ra->any_skill : ra->any_capacity) ? "," : "",
			        (int)(eq - optarg), optarg, n))
				return sbctl_usage_error(o->cmd, "too many --%s",
				                         opt == OPT_SKILL ? "skill" : "capacity");
			if (opt == OPT_SKILL)
				ra->any_skill = true;
			else
				ra->any_capacity = true;
			break;
		case OPT_QUEUE:
			if (!admin_plain(optarg) ||
			    !admin_append(ra->queues, sizeof ra->queues, "%s\"%s\"",
			                  ra->any_queue ? "," : "", optarg))
				return sbctl_usage_error(o->cmd, "bad or too many --queue");
			ra->any_queue = true;
			break;
		case 'h':
			fputs(admin_usage, stdout);
			return -1;
		default:
			return sbctl_usage_error(o->cmd, NULL);
		}
	}
	return 0;
}

/* A path segment, percent-encoded. */
static char *admin_escape(const char *s)
{
	char *out = xmalloc(strlen(s) * 3 + 1), *w = out;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~')
			*w++ = (char)c;
		else
			w += sprintf(w, "%%%02X", c);
	}
	*w = '\0';
	return out;
}

/* ---- the subcommands ---------------------------------------------------- */

static int admin_status(const struct admin_opts *o)
{
	struct jv *v;
	int rc = admin_call(o, "GET", "/v1/status", NULL, false, &v);
	char up[32];

	if (rc != 0 || v == NULL)
		return rc;
	const struct jv *ag = jv_get(v, "agents"), *cn = jv_get(v, "connections");
	admin_dur(up, sizeof up, admin_n(v, "uptime_s") * 1000);
	printf("version      %s\n", admin_s(v, "version"));
	printf("site         %s\n", admin_s(v, "site"));
	printf("uptime       %s\n", up);
	printf("store        %s (%.0f pending)\n", admin_s(v, "store"),
	       admin_n(v, "store_pending"));
	printf("waiting      %.0f in %.0f queues\n", admin_n(v, "waiting"), admin_n(v, "queues"));
	printf("agents       %.0f in the roster, %.0f logged in: %.0f available, %.0f on break, "
	       "%.0f offline\n",
	       admin_n(ag, "roster"), admin_n(ag, "logged_in"), admin_n(ag, "available"),
	       admin_n(ag, "break"), admin_n(ag, "offline"));
	printf("connections  %.0f gateway, %.0f agent, %.0f admin\n", admin_n(cn, "gateway"),
	       admin_n(cn, "agent"), admin_n(cn, "admin"));
	jv_free(v);
	return 0;
}

static void admin_queue_row(struct table *t, const struct jv *q)
{
	const struct jv *w = jv_get(q, "window"), *tot = jv_get(q, "total");
	char waiting[16], longest[16], sl[16], target[16], ans[16], ab[16], ex[16], ov[16], asa[16],
	    aht[16];
	double slv = admin_n(w, "service_level");

	admin_num(waiting, sizeof waiting, admin_n(q, "waiting"));
	admin_dur(longest, sizeof longest, admin_n(q, "longest_wait_ms"));
	if (isnan(slv))
		snprintf(sl, sizeof sl, "-");
	else
		snprintf(sl, sizeof sl, "%.1f%%%s", slv * 100,
		         slv * 100 < admin_n(q, "target_pct") ? " !" : "");
	snprintf(target, sizeof target, "%.0f%%", admin_n(q, "target_pct"));
	admin_num(ans, sizeof ans, admin_n(tot, "answered"));
	admin_num(ab, sizeof ab, admin_n(tot, "abandoned"));
	admin_num(ex, sizeof ex, admin_n(tot, "expired"));
	admin_num(ov, sizeof ov, admin_n(tot, "overflowed"));
	admin_dur(asa, sizeof asa, admin_n(w, "asa_ms"));
	admin_dur(aht, sizeof aht, admin_n(w, "aht_ms"));
	const char *row[] = {admin_s(q, "name"),
	                     admin_s(q, "channel"),
	                     waiting,
	                     longest,
	                     sl,
	                     target,
	                     ans,
	                     ab,
	                     ex,
	                     ov,
	                     asa,
	                     aht};
	table_row(t, row);
}

static int admin_queues(const struct admin_opts *o, const char *one)
{
	static const char *const head[] = {"QUEUE",   "CHANNEL",    "WAITING",  "LONGEST",
	                                   "SL",      "TARGET",     "ANSWERED", "ABANDONED",
	                                   "EXPIRED", "OVERFLOWED", "ASA",      "AHT"};
	struct table t = {.ncols = 12};
	char *path = NULL;
	struct jv *v;
	int rc;

	if (one != NULL) {
		char *e = admin_escape(one);
		path = xasprintf("/v1/queues/%s", e);
		free(e);
	}
	rc = admin_call(o, "GET", path ? path : "/v1/queues", NULL, false, &v);
	free(path);
	if (rc != 0 || v == NULL)
		return rc;
	table_row(&t, head);
	if (one != NULL) {
		admin_queue_row(&t, v);
	} else {
		const struct jv *qs = jv_get(v, "queues");
		for (size_t i = 0; qs != NULL && qs->type == JV_ARRAY && i < qs->n; i++)
			admin_queue_row(&t, &qs->items[i]);
	}
	table_print(&t);
	printf("(SL: service level over the stats window, \"!\" below target; counts since start; "
	       "ASA, AHT over the window)\n");
	jv_free(v);
	return 0;
}

static void admin_agent_row(struct table *t, const struct jv *a)
{
	static const char *const chans[] = {"voice", "chat", "email", "social"};
	const struct jv *chs = jv_get(a, "channels");
	char cell[4][24], in_state[16], handled[16];

	for (int c = 0; c < 4; c++) {
		const struct jv *ch = jv_get(chs, chans[c]);
		snprintf(cell[c], sizeof cell[c], "%.0f/%.0f", admin_n(ch, "load"),
		         admin_n(ch, "capacity"));
	}
	admin_dur(in_state, sizeof in_state, admin_n(a, "time_in_state_ms"));
	admin_num(handled, sizeof handled, admin_n(a, "handled"));
	const struct jv *li = jv_get(a, "logged_in");
	const struct jv *away = jv_get(a, "away");
	const char *row[] = {admin_s(a, "id"),
	                     admin_s(a, "tier"),
	                     admin_s(a, "state"),
	                     admin_s(a, "reason")[0] ? admin_s(a, "reason") : "-",
	                     in_state,
	                     li == NULL || !li->b ? "no" : away != NULL && away->b ? "away" : "yes",
	                     cell[0],
	                     cell[1],
	                     cell[2],
	                     cell[3],
	                     handled};
	table_row(t, row);
}

static int admin_agents(const struct admin_opts *o, const char *one)
{
	static const char *const head[] = {"AGENT",    "TIER",      "STATE",  "REASON",
	                                   "IN STATE", "LOGGED IN", "VOICE",  "CHAT",
	                                   "EMAIL",    "SOCIAL",    "HANDLED"};
	struct table t = {.ncols = 11};
	char *path = NULL;
	struct jv *v;
	int rc;

	if (one != NULL) {
		char *e = admin_escape(one);
		path = xasprintf("/v1/agents/%s", e);
		free(e);
	}
	rc = admin_call(o, "GET", path ? path : "/v1/agents", NULL, false, &v);
	free(path);
	if (rc != 0 || v == NULL)
		return rc;
	table_row(&t, head);
	if (one != NULL) {
		admin_agent_row(&t, v);
	} else {
		const struct jv *as = jv_get(v, "agents");
		for (size_t i = 0; as != NULL && as->type == JV_ARRAY && i < as->n; i++)
			admin_agent_row(&t, &as->items[i]);
	}
	table_print(&t);
	jv_free(v);
	return 0;
}

static int admin_contact(const struct admin_opts *o, const char *id)
{
	char *e = admin_escape(id), *path = xasprintf("/v1/contacts/%s", e);
	char waited[16], sla[16], dl[16];
	struct jv *v;
	int rc = admin_call(o, "GET", path, NULL, false, &v);

	free(e);
	free(path);
	if (rc != 0 || v == NULL)
		return rc;
	admin_dur(waited, sizeof waited, admin_n(v, "waited_ms"));
	admin_dur(sla, sizeof sla, admin_n(v, "sla_ms"));
	printf("contact      %s\n", admin_s(v, "id"));
	printf("from         %s / %s\n", admin_s(v, "gateway"), admin_s(v, "external_id"));
	printf("queue        %s (%s), customer tier %s\n", admin_s(v, "queue"),
	       admin_s(v, "channel"),
	       admin_s(v, "customer_tier")[0] ? admin_s(v, "customer_tier") : "-");
	printf("state        %s%s%s\n", admin_s(v, "state"),
	       admin_s(v, "agent")[0] ? ", agent " : "", admin_s(v, "agent"));
	printf("waited       %s (SLA %s%s)\n", waited, sla,
	       jv_get(v, "sla_breached") && jv_get(v, "sla_breached")->b ? ", breached" : "");
	const struct jv *x = jv_get(v, "explain");
	if (x != NULL && x->type == JV_OBJECT) {
		const struct jv *b = jv_get(x, "blocked");
		admin_dur(dl, sizeof dl,
		          admin_n(x, "deadline_ms") - admin_n(v, "arrived_ms") -
		              admin_n(v, "waited_ms"));
		printf("explain      step %.0f, position %.0f, deadline in %s\n",
		       admin_n(x, "step"), admin_n(x, "position"), dl);
		printf("agents       eligible %.0f; blocked by queue %.0f, skill %.0f, tier %.0f, "
		       "preferred %.0f, state %.0f, capacity %.0f, penalty %.0f\n",
		       admin_n(x, "eligible"), admin_n(b, "queue"), admin_n(b, "skill"),
		       admin_n(b, "tier"), admin_n(b, "preferred"), admin_n(b, "state"),
		       admin_n(b, "capacity"), admin_n(b, "penalty"));
	}
	jv_free(v);
	return 0;
}

static void admin_roster_row(struct table *t, const struct jv *a)
{
	char skills[512] = "", caps[128] = "", queues[512] = "";
	const struct jv *s = jv_get(a, "skills"), *c = jv_get(a, "capacity"),
	                *q = jv_get(a, "queues");

	for (size_t i = 0; s != NULL && s->type == JV_OBJECT && i < s->n; i++)
		admin_append(skills, sizeof skills, "%s%s:%.0f", i ? "," : "", s->keys[i],
		             s->items[i].num);
	for (size_t i = 0; c != NULL && c->type == JV_OBJECT && i < c->n; i++)
		admin_append(caps, sizeof caps, "%s%s:%.0f", i ? "," : "", c->keys[i],
		             c->items[i].num);
	for (size_t i = 0; q != NULL && q->type == JV_ARRAY && i < q->n; i++)
		admin_append(queues, sizeof queues, "%s%s", i ? "," : "", q->items[i].str);
	const char *row[] = {admin_s(a, "id"),
	                     admin_s(a, "name"),
	                     admin_s(a, "tier")[0] ? admin_s(a, "tier") : "(lowest)",
	                     skills[0] ? skills : "-",
	                     caps[0] ? caps : "(defaults)",
	                     queues[0] ? queues : "(all)"};
	table_row(t, row);
}

/* The JSON object of a roster add (with the id) or set (without). */
static char *admin_roster_body(const struct admin_roster_args *ra, const char *id)
{
	char buf[8192] = "{";
	const char *sep = "";

	if (id != NULL) {
		admin_append(buf, sizeof buf, "\"id\":\"%s\"", id);
		sep = ",";
	}
	if (ra->name != NULL) {
		admin_append(buf, sizeof buf, "%s\"name\":\"%s\"", sep, ra->name);
		sep = ",";
	}
	if (ra->tier != NULL) {
		admin_append(buf, sizeof buf, "%s\"tier\":\"%s\"", sep, ra->tier);
		sep = ",";
	}
	if (ra->any_skill) {
		admin_append(buf, sizeof buf, "%s\"skills\":{%s}", sep, ra->skills);
		sep = ",";
	}
	if (ra->any_capacity) {
		admin_append(buf, sizeof buf, "%s\"capacity\":{%s}", sep, ra->capacity);
		sep = ",";
	}
	if (ra->any_queue)
		admin_append(buf, sizeof buf, "%s\"queues\":[%s]", sep, ra->queues);
	admin_append(buf, sizeof buf, "}");
	return xstrdup(buf);
}

static int admin_roster(const struct admin_opts *o, const struct admin_roster_args *ra,
                        const char *verb, const char *id)
{
	char *path, *e, *body;
	struct jv *v;
	int rc;

	if (strcmp(verb, "list") == 0) {
		static const char *const head[] = {"AGENT",  "NAME",     "TIER",
		                                   "SKILLS", "CAPACITY", "QUEUES"};
		struct table t = {.ncols = 6};
		if ((rc = admin_call(o, "GET", "/v1/roster", NULL, false, &v)) != 0 || v == NULL)
			return rc;
		table_row(&t, head);
		const struct jv *as = jv_get(v, "agents");
		for (size_t i = 0; as != NULL && as->type == JV_ARRAY && i < as->n; i++)
			admin_roster_row(&t, &as->items[i]);
		table_print(&t);
		jv_free(v);
		return 0;
	}
	if (id == NULL)
		return sbctl_usage_error(o->cmd, "roster %s needs an agent id", verb);
	if (!admin_plain(id))
		return sbctl_usage_error(o->cmd, "bad agent id '%s'", id);
	e = admin_escape(id);
	if (strcmp(verb, "rm") == 0) {
		path = xasprintf("/v1/roster/%s", e);
		rc = admin_call(o, "DELETE", path, NULL, true, &v);
		if (rc == 0 && v != NULL)
			printf("removed %s from the roster\n", id);
	} else if (strcmp(verb, "add") == 0 || strcmp(verb, "set") == 0) {
		bool add = verb[0] == 'a';
		body = admin_roster_body(ra, add ? id : NULL);
		path = add ? xstrdup("/v1/roster") : xasprintf("/v1/roster/%s", e);
		rc = admin_call(o, add ? "POST" : "PATCH", path, body, true, &v);
		free(body);
		if (rc == 0 && v != NULL) {
			static const char *const head[] = {"AGENT",  "NAME",     "TIER",
			                                   "SKILLS", "CAPACITY", "QUEUES"};
			struct table t = {.ncols = 6};
			table_row(&t, head);
			admin_roster_row(&t, v);
			table_print(&t);
		}
	} else {
		free(e);
		return sbctl_usage_error(o->cmd, "roster wants list, add, set or rm");
	}
	free(path);
	free(e);
	jv_free(v);
	return rc;
}

static int admin_force_state(const struct admin_opts *o, const char *agent, const char *state,
                             const char *reason)
{
	char *e, *path, *body;
	struct jv *v;
	int rc;

	if (agent == NULL || state == NULL)
		return sbctl_usage_error(o->cmd, "force-state wants AGENT STATE [REASON]");
	if (!admin_plain(state) || (reason != NULL && !admin_plain(reason)))
		return sbctl_usage_error(o->cmd, "bad state or reason");
	e = admin_escape(agent);
	path = xasprintf("/v1/agents/%s/state", e);
	body = reason ? xasprintf("{\"state\":\"%s\",\"reason\":\"%s\"}", state, reason)
	              : xasprintf("{\"state\":\"%s\"}", state);
	rc = admin_call(o, "POST", path, body, true, &v);
	if (rc == 0 && v != NULL)
		printf("%s is now %s%s%s\n", admin_s(v, "id"), admin_s(v, "state"),
		       admin_s(v, "reason")[0] ? " " : "", admin_s(v, "reason"));
	free(e);
	free(path);
	free(body);
	jv_free(v);
	return rc;
}

/* A supervisor requeues (disposition NULL) or closes a contact. */
static int admin_contact_action(const struct admin_opts *o, const char *id,
                                const char *disposition)
{
	char *e, *path, *body = NULL;
	struct jv *v;
	int rc;

	if (!admin_plain(id) || (disposition != NULL && !admin_plain(disposition)))
		return sbctl_usage_error(o->cmd, "bad contact id or disposition");
	e = admin_escape(id);
	path = xasprintf("/v1/contacts/%s/%s", e, disposition ? "close" : "requeue");
	if (disposition != NULL)
		body = xasprintf("{\"disposition\":\"%s\"}", disposition);
	rc = admin_call(o, "POST", path, body, true, &v);
	if (rc == 0 && v != NULL && disposition == NULL)
		printf("%s taken from %s: waiting again in %s\n", admin_s(v, "id"),
		       admin_s(v, "requeued_from"), admin_s(v, "queue"));
	else if (rc == 0 && v != NULL)
		printf("%s of %s closed: %s\n", admin_s(v, "id"), admin_s(v, "agent"),
		       admin_s(v, "disposition"));
	free(e);
	free(path);
	free(body);
	jv_free(v);
	return rc;
}

int sbctl_admin_main(int argc, char **argv)
{
	struct admin_roster_args ra;
	struct admin_opts o;
	const char *cmd = argv[0] + (strncmp(argv[0], "sbctl ", 6) == 0 ? 6 : 0);
	int rc, npos;
	char **pos;

	memset(&o, 0, sizeof o);
	memset(&ra, 0, sizeof ra);
	o.cmd = cmd;
	rc = admin_options(argc, argv, &o, &ra);
	if (rc != 0)
		return rc < 0 ? SBCTL_EXIT_OK : rc;
	pos = argv + optind;
	npos = argc - optind;
	if (strcmp(cmd, "status") == 0 && npos == 0)
		return admin_status(&o);
	if (strcmp(cmd, "queues") == 0 && npos <= 1)
		return admin_queues(&o, npos ? pos[0] : NULL);
	if (strcmp(cmd, "agents") == 0 && npos <= 1)
		return admin_agents(&o, npos ? pos[0] : NULL);
	if (strcmp(cmd, "contact") == 0 && npos == 1)
		return admin_contact(&o, pos[0]);
	if (strcmp(cmd, "roster") == 0 && npos >= 1 && npos <= 2)
		return admin_roster(&o, &ra, pos[0], npos > 1 ? pos[1] : NULL);
	if (strcmp(cmd, "reload") == 0 && npos == 0) {
		struct jv *v;
		rc = admin_call(&o, "POST", "/v1/reload", NULL, true, &v);
		if (rc == 0 && v != NULL)
			printf(
			    "reload requested: the daemon logs whether the new configuration was "
			    "applied\n");
		jv_free(v);
		return rc;
	}
	if (strcmp(cmd, "force-state") == 0 && npos >= 2 && npos <= 3)
		return admin_force_state(&o, pos[0], pos[1], npos > 2 ? pos[2] : NULL);
	if (strcmp(cmd, "requeue") == 0 && npos == 1)
		return admin_contact_action(&o, pos[0], NULL);
	if (strcmp(cmd, "close") == 0 && npos == 2)
		return admin_contact_action(&o, pos[0], pos[1]);
	return sbctl_usage_error(cmd, "wrong number of arguments");
}
