/* sbctl: the command-line tool for people. Submit, cancel and watch contacts
 * as a gateway, act as an agent by hand or by script, or run the demo.
 *
 * Every subcommand is a blocking sbclient conversation; the long-running ones
 * (watch, submit --watch, agent) poll one socket (and stdin) with a deadline
 * taken from the next heartbeat or scheduled action. Exit codes: 0 ok,
 * 1 refused or failed, 2 usage. No credential is ever printed. */
#define _GNU_SOURCE
#include "sbctl.h"
#include "sbsession.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "sbclient.h"
#include "util/xalloc.h"

#define SBCTL_DEFAULT_TIMEOUT_MS 5000
#define SBCTL_MAX_ATTRS 32
#define SBCTL_LINE_MAX 1024
#define SBCTL_DESCRIBE_MAX 512

static volatile sig_atomic_t sbctl_stop_flag;

/* Options every gateway subcommand takes. */
struct sbctl_gw_opts {
	const char *address;
	const char *id;
	const char *secret;
	const char *secret_file;
	long timeout_ms;
	struct sbctl_tls_opts tls;
};

enum sbctl_optid {
	OPT_GATEWAY = 256,
	OPT_ID,
	OPT_SECRET,
	OPT_SECRET_FILE,
	OPT_TIMEOUT,
	OPT_CHANNEL,
	OPT_EXTERNAL_ID,
	OPT_QUEUE,
	OPT_TIER,
	OPT_CUSTOMER,
	OPT_PRIORITY,
	OPT_ATTR,
	OPT_LANGUAGE,
	OPT_WATCH,
	OPT_CONTACT,
	OPT_REASON,
	OPT_HELP,
};

// clang-format off
/* Tables read best one entry per line. */
#define SBCTL_GW_LONGOPTS                                                                        \
	{ "gateway", required_argument, NULL, OPT_GATEWAY },                                     \
	{ "id", required_argument, NULL, OPT_ID },                                               \
	{ "secret", required_argument, NULL, OPT_SECRET },                                       \
	{ "secret-file", required_argument, NULL, OPT_SECRET_FILE },                             \
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },                                     \
	{ "help", no_argument, NULL, OPT_HELP },                                                 \
	SBCTL_TLS_LONGOPTS

#define SBCTL_GW_USAGE                                                                           \
	"  --gateway ADDR        the daemon's gateway port: host:port, [v6]:port or unix:/path;\n" \
	"                        a comma-separated list tries each (active/standby)\n"          \
	"  --id GW               this gateway's id (from the daemon's config)\n"                  \
	"  --secret S            the gateway's secret (visible in ps; prefer --secret-file)\n"    \
	"  --secret-file F       read the secret from the first line of F\n"                      \
	"  --timeout MS          connect and reply timeout (default 5000)\n"                     \
	SBCTL_TLS_USAGE
// clang-format on

static const char sbctl_usage_main[] =
    "usage: sbctl COMMAND [OPTIONS]   (sbctl COMMAND --help for details)\n"
    "\n"
    "  submit   submit a contact as a gateway, optionally follow it (--watch)\n"
    "  cancel   cancel a contact as the gateway that submitted it\n"
    "  explain  why a contact is not assigned yet\n"
    "  watch    print every event a gateway receives\n"
    "  agent    log in as an agent; act by typed commands or automatically\n"
    "  demo     drive demo traffic through a daemon from its config file\n"
    "\n"
    "  Over the admin HTTP API (sbctl_admin.c; --admin ADDR, --token-file F, --json):\n"
    "  status       version, uptime, store, counts\n"
    "  queues       live figures per queue (or one: queues NAME)\n"
    "  agents       state and load per agent (or one: agents ID)\n"
    "  contact      a live contact and why it is not assigned yet\n"
    "  roster       list | add ID | set ID | rm ID (--skill, --capacity, --tier, --queue)\n"
    "  force-state  AGENT available|break|offline [REASON]\n"
    "  requeue      CONTACT: take it from its agent (gone for good); another gets it\n"
    "  close        CONTACT DISPOSITION: end an assigned contact for its agent\n"
    "  reload       re-read the configuration (as SIGHUP)\n"
    "\n"
    "Exit status: 0 ok, 1 refused or failed, 2 usage error.\n";

static const char sbctl_usage_submit[] =
    "usage: sbctl submit --gateway ADDR --id GW (--secret S | --secret-file F)\n"
    "                    --channel voice|chat|email|social --external-id X [--queue Q]\n"
    "                    [--tier T] [--customer C] [--priority N] [--language L]\n"
    "                    [--attr KEY=VALUE ...] [--watch]\n"
    "\n"
    "Submits one contact and prints the daemon's ContactAccepted. Resubmitting an\n"
    "external id answers with the same contact (duplicate). With --watch, keeps\n"
    "printing the contact's events until it is completed, cancelled or expired.\n"
    "\n" SBCTL_GW_USAGE "  --channel CH          voice, chat, email or social (required)\n"
    "  --external-id X       the gateway's own id for the contact (required)\n"
    "  --queue Q             target queue (default: the channel's default queue)\n"
    "  --tier T              customer tier (vip, gold, ...)\n"
    "  --customer C          customer id (informational)\n"
    "  --priority N          seconds taken off the deadline, 0..3600\n"
    "  --language L          e.g. en\n"
    "  --attr KEY=VALUE      attribute passed to the agent (repeatable)\n"
    "  --watch               follow the contact until it ends or Ctrl-C\n";

static const char sbctl_usage_cancel[] =
    "usage: sbctl cancel --gateway ADDR --id GW (--secret S | --secret-file F)\n"
    "                    --contact ID [--reason R]\n"
    "\n"
    "Cancels a contact this gateway submitted (the customer hung up).\n"
    "\n" SBCTL_GW_USAGE "  --contact ID          the daemon's contact id (required)\n"
    "  --reason R            e.g. abandoned (default)\n";

static const char sbctl_usage_explain[] =
    "usage: sbctl explain --gateway ADDR --id GW (--secret S | --secret-file F)\n"
    "                     --contact ID\n"
    "\n"
    "Asks why a contact of this gateway is not assigned yet: its escalation step,\n"
    "deadline and place, how many agents could take it now, and how many are kept\n"
    "away by queue, skill, tier, preferred agent, state, capacity or reject penalty.\n"
    "\n" SBCTL_GW_USAGE "  --contact ID          the daemon's contact id (required)\n";

static const char sbctl_usage_watch[] =
    "usage: sbctl watch --gateway ADDR --id GW (--secret S | --secret-file F)\n"
    "\n"
    "Prints every event the daemon sends this gateway until Ctrl-C. The daemon may\n"
    "send a gateway's events to its most recent connection only.\n"
    "\n" SBCTL_GW_USAGE;

int64_t sbctl_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sbctl_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes one timestamped line; flushed so pipes see events as they happen. */
static void sbctl_vline(FILE *f, const char *fmt, va_list ap)
{
	int64_t now = sbctl_wall_ms();
	time_t secs = (time_t)(now / 1000);
	struct tm tm;

	localtime_r(&secs, &tm);
	fprintf(f, "%02d:%02d:%02d.%03d  ", tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(now % 1000));
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	fflush(f);
}

void sbctl_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbctl_vline(stdout, fmt, ap);
	va_end(ap);
}

void sbctl_warn(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout); /* keep the two streams in order on a shared terminal */
	va_start(ap, fmt);
	sbctl_vline(stderr, fmt, ap);
	va_end(ap);
}

/* Only sets a flag: everything else happens in the loops, outside the handler. */
static void sbctl_on_signal(int sig)
{
	(void)sig;
	sbctl_stop_flag = 1;
}

void sbctl_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sbctl_on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: poll() must return EINTR so Ctrl-C is seen at once. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

bool sbctl_stopping(void)
{
	return sbctl_stop_flag != 0;
}

char *sbctl_read_secret(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	n = getline(&line, &cap, f);
	fclose(f);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
	                 line[n - 1] == '\t'))
		line[--n] = '\0';
	if (n <= 0) {
		free(line);
		snprintf(err, errlen, "%s: empty", path);
		return NULL;
	}
	return line;
}

int sbctl_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Reports a usage error the same way for every subcommand. */
int sbctl_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		fprintf(stderr, "sbctl %s: ", cmd);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "Try 'sbctl %s --help'.\n", cmd);
	return SBCTL_EXIT_USAGE;
}

/* Picks the credential from exactly one of an inline value and a file.
 * Returns 0 with *cred set (*owned to free), or an exit code with both NULL. */
int sbctl_credential(const char *cmd, const char *name, const char *inline_value, const char *file,
                     const char **cred, char **owned)
{
	char err[256];

	*cred = NULL;
	*owned = NULL;
	if ((inline_value != NULL) == (file != NULL))
		return sbctl_usage_error(cmd, "give exactly one of --%s and --%s-file", name, name);
	if (inline_value != NULL) {
		*cred = inline_value;
		return 0;
	}
	*owned = sbctl_read_secret(file, err, sizeof(err));
	if (*owned == NULL) {
		sbctl_warn("cannot read --%s-file: %s", name, err);
		return SBCTL_EXIT_FAIL;
	}
	*cred = *owned;
	return 0;
}

/* Handles an option common to the gateway commands: 1 taken, 0 not ours,
 * -1 bad value. */
static int sbctl_gw_option(int opt, const char *arg, struct sbctl_gw_opts *o)
{
	switch (opt) {
	case OPT_GATEWAY:
		o->address = arg;
		return 1;
	case OPT_ID:
		o->id = arg;
		return 1;
	case OPT_SECRET:
		o->secret = arg;
		return 1;
	case OPT_SECRET_FILE:
		o->secret_file = arg;
		return 1;
	case OPT_TIMEOUT:
		return sbctl_parse_long(arg, 1, 3600000, &o->timeout_ms) == 0 ? 1 : -1;
	default:
		return sbctl_tls_option(&o->tls, opt, arg) ? 1 : 0;
	}
}

/* Prints a received frame; replies say which request they answer. */
void sbctl_print_frame(const Envelope *env)
{
	char buf[SBCTL_DESCRIBE_MAX];

	sbc_describe(env, buf, sizeof(buf));
	if (env->ref != 0 && env->body_case != SWITCHBOARD__V1__ENVELOPE__BODY_ERROR)
		sbctl_say("< %s [ref %" PRIu64 "]", buf, env->ref);
	else
		sbctl_say("< %s", buf);
}

bool sbctl_tls_option(struct sbctl_tls_opts *t, int opt, const char *arg)
{
	switch (opt) {
	case SBCTL_OPT_TLS:
		break;
	case SBCTL_OPT_TLS_CA:
		t->tls.ca_file = arg;
		break;
	case SBCTL_OPT_TLS_CERT:
		t->tls.cert_file = arg;
		break;
	case SBCTL_OPT_TLS_KEY:
		t->tls.key_file = arg;
		break;
	case SBCTL_OPT_TLS_NAME:
		t->tls.server_name = arg;
		break;
	default:
		return false;
	}
	t->on = true;
	return true;
}

const struct sbc_tls *sbctl_tls(const struct sbctl_tls_opts *t)
{
	return t->on ? &t->tls : NULL;
}

/* Prints the Welcome of a list login and keeps its heartbeat. */
static void sbctl_login_welcome(struct sbs *s, const Envelope *welcome, void *arg)
{
	uint32_t *heartbeat_ms = arg;

	(void)s;
	sbctl_print_frame(welcome);
	*heartbeat_ms = welcome->welcome->heartbeat_ms ? welcome->welcome->heartbeat_ms : 5000;
}

/* sbctl_login for "addr,addr,...": each address once in turn (and the
 * leader a standby names), through sbsession, until one welcomes us. */
static int sbctl_login_list(const char *addresses, const struct sbc_tls *tls,
                            Switchboard__V1__Role role, const char *id, const char *cred,
                            long timeout_ms, struct sbc **out, uint32_t *heartbeat_ms)
{
	struct sbs_config cfg = {
	    .addresses = addresses,
	    .role = role,
	    .client_id = id,
	    .credential = cred,
	    .tls = tls,
	    .connect_timeout_ms = (int)timeout_ms,
	    .on_connect = sbctl_login_welcome,
	    .arg = heartbeat_ms,
	};
	char err[256];
	struct sbs *s;
	unsigned n = 1;

	for (const char *p = addresses; *p != '\0'; p++)
		n += *p == ',';
	/* Each address once, plus room to follow NOT_LEADER twice. */
	cfg.max_failures = n + 2;
	s = sbs_new(&cfg, err, sizeof(err));
	if (s == NULL) {
		sbctl_warn("cannot connect: %s", err);
		return SBCTL_EXIT_FAIL;
	}
	if (sbs_connect(s, (int)(timeout_ms * (long)cfg.max_failures)) != SBS_UP) {
		sbctl_warn("login as %s failed: %s", id, sbs_last_error(s));
		sbs_free(s);
		*heartbeat_ms = 0;
		return SBCTL_EXIT_FAIL;
	}
	*out = sbs_detach(s);
	sbs_free(s);
	return 0;
}

/* Connects and logs in. Returns 0 with *out and *heartbeat_ms set, or an exit
 * code with *out NULL and *heartbeat_ms 0. ADDRESS may be a comma-separated
 * list (an active/standby pair): the first that welcomes us is used. */
int sbctl_login(const char *address, const struct sbc_tls *tls, Switchboard__V1__Role role,
                const char *id, const char *cred, long timeout_ms, struct sbc **out,
                uint32_t *heartbeat_ms)
{
	char err[256];
	Envelope *welcome = NULL;
	struct sbc *c;
	int r;

	*out = NULL;
	*heartbeat_ms = 0;
	if (strchr(address, ',') != NULL)
		return sbctl_login_list(address, tls, role, id, cred, timeout_ms, out, heartbeat_ms);
	c = sbc_connect_tls(address, (int)timeout_ms, tls, err, sizeof(err));
	if (c == NULL) {
		sbctl_warn("cannot connect: %s", err);
		return SBCTL_EXIT_FAIL;
	}
	r = sbc_hello(c, role, id, cred, (int)timeout_ms, &welcome);
	if (r != 0) {
		if (r > 0)
			sbctl_warn("login as %s: %s (%s)", id, sbc_last_error(c),
			           sbc_error_code_name(r));
		else
			sbctl_warn("login as %s failed: %s", id, sbc_last_error(c));
		sbc_close(c);
		return SBCTL_EXIT_FAIL;
	}
	sbctl_print_frame(welcome);
	/* A daemon that names no interval still closes idle sessions sometime. */
	*heartbeat_ms = welcome->welcome->heartbeat_ms ? welcome->welcome->heartbeat_ms : 5000;
	envelope_free(welcome);
	*out = c;
	return 0;
}

/* Logs in as the gateway the options name. Returns 0 with *out and
 * *heartbeat_ms set, or an exit code with *out NULL and *heartbeat_ms 0. */
static int sbctl_gw_login(const char *cmd, const struct sbctl_gw_opts *o, struct sbc **out,
                          uint32_t *heartbeat_ms)
{
	const char *cred = NULL;
	char *owned = NULL;
	int rc;

	*out = NULL;
	*heartbeat_ms = 0;
	if (o->address == NULL || o->id == NULL)
		return sbctl_usage_error(cmd, "--gateway and --id are required");
	rc = sbctl_credential(cmd, "secret", o->secret, o->secret_file, &cred, &owned);
	if (rc != 0)
		return rc;
	rc = sbctl_login(o->address, sbctl_tls(&o->tls), SWITCHBOARD__V1__ROLE__ROLE_GATEWAY, o->id,
	                 cred, o->timeout_ms, out, heartbeat_ms);
	free(owned);
	return rc;
}

/* Waits until fds are readable, the timeout passes or a signal arrives. */
void sbctl_wait(struct pollfd *fds, nfds_t n, int64_t timeout_ms)
{
	if (timeout_ms < 0)
		timeout_ms = 0;
	/* EINTR simply returns: the caller re-checks sbctl_stopping(). */
	(void)poll(fds, n, timeout_ms > INT32_MAX ? INT32_MAX : (int)timeout_ms);
}

/* Waits for the reply to seq and prints it. Returns 0 on a non-Error reply,
 * 1 otherwise; *reply (may be NULL) keeps it for the caller to free. */
static int sbctl_await(struct sbc *c, uint64_t seq, long timeout_ms, Envelope **reply)
{
	Envelope *env = NULL;
	int r;

	if (reply != NULL)
		*reply = NULL;
	if (seq == 0) {
		sbctl_warn("send failed: %s", sbc_last_error(c));
		return SBCTL_EXIT_FAIL;
	}
	r = sbc_wait_reply(c, seq, (int)timeout_ms, &env);
	if (r <= 0) {
		/* A closing daemon may have said why in an unsolicited Error. */
		while (sbc_recv(c, 0, &env) == 1) {
			sbctl_print_frame(env);
			envelope_free(env);
		}
		sbctl_warn("%s", r == 0 ? "no reply in time" : sbc_last_error(c));
		return SBCTL_EXIT_FAIL;
	}
	sbctl_print_frame(env);
	r = env->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_ERROR ? SBCTL_EXIT_FAIL
	                                                            : SBCTL_EXIT_OK;
	if (reply != NULL)
		*reply = env;
	else
		envelope_free(env);
	return r;
}

/* The contact a gateway-bound frame is about, or NULL. */
static const char *sbctl_contact_of(const Envelope *env)
{
	switch (env->body_case) {
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_ACCEPTED:
		return env->contact_accepted->contact_id;
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_ASSIGNED:
		return env->contact_assigned->contact_id;
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_EVENT:
		return env->contact_event->contact_id;
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_COMPLETED:
		return env->contact_completed->contact_id;
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_CANCELLED:
		return env->contact_cancelled->contact_id;
	default:
		return NULL;
	}
}

/* Whether env ends a contact's life as far as its gateway hears. */
static bool sbctl_is_final(const Envelope *env)
{
	return env->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_COMPLETED ||
	       env->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_CANCELLED ||
	       (env->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_EVENT &&
	        env->contact_event->kind == SWITCHBOARD__V1__CONTACT_EVENT__KIND__EXPIRED);
}

/* Prints what a gateway hears, heartbeating, until Ctrl-C or (with contact
 * set) that contact's end. Returns an exit code. */
static int sbctl_gateway_loop(struct sbc *c, uint32_t heartbeat_ms, const char *contact)
{
	int64_t period = heartbeat_ms / 2 > 100 ? heartbeat_ms / 2 : 100;
	int64_t next_ping = sbctl_mono_ms() + period;
	struct pollfd pfd = {.fd = sbc_fd(c), .events = POLLIN};
	Envelope *env;
	int r;

	while (!sbctl_stopping()) {
		if (!sbc_pending(c))
			sbctl_wait(&pfd, 1, next_ping - sbctl_mono_ms());
		while ((r = sbc_recv(c, 0, &env)) == 1) {
			const char *about = sbctl_contact_of(env);
			bool done = false;

			if (env->body_case != SWITCHBOARD__V1__ENVELOPE__BODY_PONG &&
			    (contact == NULL || about == NULL || strcmp(about, contact) == 0)) {
				sbctl_print_frame(env);
				done = contact != NULL && about != NULL && sbctl_is_final(env);
			}
			envelope_free(env);
			if (done)
				return SBCTL_EXIT_OK;
		}
		if (r < 0) {
			sbctl_warn("connection lost: %s", sbc_last_error(c));
			return SBCTL_EXIT_FAIL;
		}
		if (sbctl_mono_ms() >= next_ping) {
			if (sbc_ping(c) == 0) {
				sbctl_warn("connection lost: %s", sbc_last_error(c));
				return SBCTL_EXIT_FAIL;
			}
			next_ping = sbctl_mono_ms() + period;
		}
	}
	return SBCTL_EXIT_OK;
}

/* sbctl submit */
static int sbctl_submit(int argc, char **argv)
{
	static const struct option longopts[] = {
	    SBCTL_GW_LONGOPTS,
	    {"channel", required_argument, NULL, OPT_CHANNEL},
	    {"external-id", required_argument, NULL, OPT_EXTERNAL_ID},
	    {"queue", required_argument, NULL, OPT_QUEUE},
	    {"tier", required_argument, NULL, OPT_TIER},
	    {"customer", required_argument, NULL, OPT_CUSTOMER},
	    {"priority", required_argument, NULL, OPT_PRIORITY},
	    {"language", required_argument, NULL, OPT_LANGUAGE},
	    {"attr", required_argument, NULL, OPT_ATTR},
	    {"watch", no_argument, NULL, OPT_WATCH},
	    {NULL, 0, NULL, 0},
	};
	struct sbctl_gw_opts g = {.timeout_ms = SBCTL_DEFAULT_TIMEOUT_MS};
	struct sbc_submit s = {0};
	const char *keys[SBCTL_MAX_ATTRS], *values[SBCTL_MAX_ATTRS];
	const char *channel = NULL;
	Envelope *reply = NULL;
	struct sbc *c = NULL;
	uint32_t heartbeat_ms = 0;
	bool watch = false;
	char *contact;
	long priority;
	int opt, rc, ch;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if ((rc = sbctl_gw_option(opt, optarg, &g)) != 0) {
			if (rc < 0)
				return sbctl_usage_error("submit", "bad --timeout '%s'", optarg);
			continue;
		}
		switch (opt) {
		case OPT_CHANNEL:
			channel = optarg;
			break;
		case OPT_EXTERNAL_ID:
			s.external_id = optarg;
			break;
		case OPT_QUEUE:
			s.queue = optarg;
			break;
		case OPT_TIER:
			s.customer_tier = optarg;
			break;
		case OPT_CUSTOMER:
			s.customer_id = optarg;
			break;
		case OPT_LANGUAGE:
			s.language = optarg;
			break;
		case OPT_PRIORITY:
			if (sbctl_parse_long(optarg, 0, 3600, &priority) < 0)
				return sbctl_usage_error("submit", "--priority wants 0..3600");
			s.priority = (int32_t)priority;
			break;
		case OPT_ATTR: {
			/* Split in place: argv strings are ours to modify. */
			char *eq = strchr(optarg, '=');

			if (eq == NULL || eq == optarg)
				return sbctl_usage_error("submit", "--attr wants KEY=VALUE");
			if (s.n_attrs == SBCTL_MAX_ATTRS)
				return sbctl_usage_error("submit", "at most %d --attr",
				                         SBCTL_MAX_ATTRS);
			*eq = '\0';
			keys[s.n_attrs] = optarg;
			values[s.n_attrs++] = eq + 1;
			break;
		}
		case OPT_WATCH:
			watch = true;
			break;
		case OPT_HELP:
			fputs(sbctl_usage_submit, stdout);
			return SBCTL_EXIT_OK;
		default:
			return sbctl_usage_error("submit", NULL);
		}
	}
	if (optind < argc)
		return sbctl_usage_error("submit", "unexpected argument '%s'", argv[optind]);
	if (channel == NULL || s.external_id == NULL)
		return sbctl_usage_error("submit", "--channel and --external-id are required");
	if ((ch = channel_parse(channel)) < 0)
		return sbctl_usage_error("submit", "unknown channel '%s'", channel);
	s.channel = (Switchboard__V1__Channel)channel_to_wire((enum sb_channel)ch);
	s.attr_keys = keys;
	s.attr_values = values;

	if ((rc = sbctl_gw_login("submit", &g, &c, &heartbeat_ms)) != 0)
		return rc;
	rc = sbctl_await(c, sbc_submit(c, &s), g.timeout_ms, &reply);
	if (rc == 0 && watch &&
	    reply->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_ACCEPTED) {
		contact = xstrdup(reply->contact_accepted->contact_id);
		envelope_free(reply);
		reply = NULL;
		rc = sbctl_gateway_loop(c, heartbeat_ms, contact);
		free(contact);
	}
	if (reply != NULL)
		envelope_free(reply);
	sbc_close(c);
	return rc;
}

/* sbctl cancel and sbctl explain: one request about one contact. */
static int sbctl_contact_request(int argc, char **argv, const char *cmd, const char *usage,
				 bool cancel)
{
	static const struct option longopts[] = {
	    SBCTL_GW_LONGOPTS,
	    {"contact", required_argument, NULL, OPT_CONTACT},
	    {"reason", required_argument, NULL, OPT_REASON},
	    {NULL, 0, NULL, 0},
	};
	struct sbctl_gw_opts g = {.timeout_ms = SBCTL_DEFAULT_TIMEOUT_MS};
	const char *contact = NULL, *reason = "abandoned";
	struct sbc *c = NULL;
	uint32_t heartbeat_ms = 0;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if ((rc = sbctl_gw_option(opt, optarg, &g)) != 0) {
			if (rc < 0)
				return sbctl_usage_error(cmd, "bad --timeout '%s'", optarg);
			continue;
		}
		switch (opt) {
		case OPT_CONTACT:
			contact = optarg;
			break;
		case OPT_REASON:
			if (!cancel)
				return sbctl_usage_error(cmd, "--reason is for cancel");
			reason = optarg;
			break;
		case OPT_HELP:
			fputs(usage, stdout);
			return SBCTL_EXIT_OK;
		default:
			return sbctl_usage_error(cmd, NULL);
		}
	}
	if (optind < argc)
		return sbctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (contact == NULL)
		return sbctl_usage_error(cmd, "--contact is required");
	if ((rc = sbctl_gw_login(cmd, &g, &c, &heartbeat_ms)) != 0)
		return rc;
	uint64_t seq = cancel ? sbc_cancel(c, contact, reason) : sbc_explain(c, contact);
	rc = sbctl_await(c, seq, g.timeout_ms, NULL);
	sbc_close(c);
	return rc;
}

static int sbctl_cancel(int argc, char **argv)
{
	return sbctl_contact_request(argc, argv, "cancel", sbctl_usage_cancel, true);
}

static int sbctl_explain(int argc, char **argv)
{
	return sbctl_contact_request(argc, argv, "explain", sbctl_usage_explain, false);
}

/* sbctl watch */
static int sbctl_watch(int argc, char **argv)
{
	static const struct option longopts[] = {SBCTL_GW_LONGOPTS, {NULL, 0, NULL, 0}};
	struct sbctl_gw_opts g = {.timeout_ms = SBCTL_DEFAULT_TIMEOUT_MS};
	struct sbc *c = NULL;
	uint32_t heartbeat_ms = 0;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if ((rc = sbctl_gw_option(opt, optarg, &g)) != 0) {
			if (rc < 0)
				return sbctl_usage_error("watch", "bad --timeout '%s'", optarg);
			continue;
		}
		if (opt == OPT_HELP) {
			fputs(sbctl_usage_watch, stdout);
			return SBCTL_EXIT_OK;
		}
		return sbctl_usage_error("watch", NULL);
	}
	if (optind < argc)
		return sbctl_usage_error("watch", "unexpected argument '%s'", argv[optind]);
	if ((rc = sbctl_gw_login("watch", &g, &c, &heartbeat_ms)) != 0)
		return rc;
	rc = sbctl_gateway_loop(c, heartbeat_ms, NULL);
	sbc_close(c);
	return rc;
}

/* A subcommand: its name and entry point. */
struct sbctl_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct sbctl_cmd sbctl_cmds[] = {
    {"submit", sbctl_submit},    {"cancel", sbctl_cancel}, {"explain", sbctl_explain}, {"watch", sbctl_watch},
    {"agent", sbctl_agent_main}, {"demo", demo_main},
    {"status", sbctl_admin_main}, {"queues", sbctl_admin_main}, {"agents", sbctl_admin_main},
    {"contact", sbctl_admin_main}, {"roster", sbctl_admin_main}, {"force-state", sbctl_admin_main},
    {"reload", sbctl_admin_main}, {"requeue", sbctl_admin_main}, {"close", sbctl_admin_main},
};

/* Dispatches to the subcommand; it sees its own name as argv[0]. */
int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : NULL;
	char *help[] = {argv[0], NULL, (char *)"--help", NULL};

	if (name == NULL) {
		fputs(sbctl_usage_main, stderr);
		return SBCTL_EXIT_USAGE;
	}
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		if (argc < 3) {
			fputs(sbctl_usage_main, stdout);
			return SBCTL_EXIT_OK;
		}
		/* "sbctl help submit" is "sbctl submit --help". */
		name = argv[2];
		help[1] = argv[2];
		argc = 3;
		argv = help;
	}
	if (strcmp(name, "--version") == 0) {
		printf("sbctl %s\n", SB_VERSION);
		return SBCTL_EXIT_OK;
	}
	sbctl_catch_signals();
	for (size_t i = 0; i < sizeof(sbctl_cmds) / sizeof(sbctl_cmds[0]); i++) {
		if (strcmp(name, sbctl_cmds[i].name) == 0) {
			/* getopt names argv[0] in its messages: "sbctl submit: ..." */
			char prog[32];

			snprintf(prog, sizeof(prog), "sbctl %s", name);
			argv[1] = prog;
			return sbctl_cmds[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "sbctl: unknown command '%s'\n", name);
	fputs(sbctl_usage_main, stderr);
	return SBCTL_EXIT_USAGE;
}
