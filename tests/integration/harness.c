/* Integration-test harness: a private Redis and switchboard per test. See
 * harness.h for the contract. */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>

#include "security/token.h"

#define HARNESS_SITE "test"
#define HARNESS_AGENT_SECRET "itest-agent-secret-0123456789abcdef"
#define HARNESS_ADMIN_TOKEN "itest-admin-token-0123456789abcdef"
#define HARNESS_GW1_SECRET "itest-gw1-secret-0123456789abcdef"
#define HARNESS_GW2_SECRET "itest-gw2-secret-fedcba9876543210"
#define HARNESS_START_MS 10000 /* daemon start-up bound */
#define HARNESS_STOP_MS 5000   /* SIGTERM grace before SIGKILL */
#define HARNESS_SLICE_MS 50    /* poll slice while waiting */
#define HARNESS_LOG_TAIL 60    /* log lines printed for a failed test */

/* Something the harness frees at stop. */
struct harness_owned {
	void *p;
	void (*free_fn)(void *);
};

/* A client handed out, with its keepalive schedule. */
struct harness_client {
	struct sbc *c;
	bool keepalive;
	int64_t last_ping_ms; /* monotonic */
};

struct harness {
	struct harness_opts opts;
	char tmpdir[256];
	char config_path[300];
	char log_path[300];
	char redis_log_path[300];
	char gateway_addr[64];
	char agent_addr[64];
	char redis_addr[64];
	char admin_addr[64];       /* "" unless opts.admin */
	char proxy_addr[64];       /* "" unless opts.redis_proxy */
	char admin_token_path[300];
	int gateway_port, agent_port, redis_port;

	pid_t daemon_pid;  /* 0 once reaped */
	int daemon_status; /* exit status once reaped, -1 before */
	pid_t redis_pid;
	pid_t proxy_pid;   /* opts.redis_proxy's sb-proxy, 0 otherwise */
	/* SIGSTOPped by the test: thawed at stop, so nothing waits on them. */
	bool redis_frozen, proxy_frozen, daemon_frozen;

	bool passed;
	int n_runs; /* names TMP/run-N.out */

	struct redisContext *redis;

	struct harness_client *clients;
	size_t n_clients, cap_clients;

	struct harness_owned *owned;
	size_t n_owned, cap_owned;

	pid_t *spawned;
	size_t n_spawned, cap_spawned;
};

static const char *harness_describe(struct harness *h, const Envelope *env);

/* ---- small utilities ----------------------------------------------------- */

/* Monotonic milliseconds, for deadlines. */
static int64_t harness_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wall clock, Unix milliseconds. */
int64_t harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms without keeping anything alive. */
static void harness_nap(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Aborts on allocation failure; tests have no better answer. */
static void *harness_xalloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q == NULL) {
		fprintf(stderr, "harness: out of memory\n");
		abort();
	}
	return q;
}

/* Records p to be released with free_fn at stop; returns p. */
static void *harness_own(struct harness *h, void *p, void (*free_fn)(void *))
{
	if (p == NULL)
		return NULL;
	if (h->n_owned == h->cap_owned) {
		h->cap_owned = h->cap_owned ? h->cap_owned * 2 : 64;
		h->owned = harness_xalloc(h->owned, h->cap_owned * sizeof *h->owned);
	}
	h->owned[h->n_owned].p = p;
	h->owned[h->n_owned].free_fn = free_fn;
	h->n_owned++;
	return p;
}

/* envelope_free with the signature harness_own wants. */
static void harness_free_envelope(void *p)
{
	envelope_free(p);
}

/* Keeps an Envelope until stop. */
static Envelope *harness_own_env(struct harness *h, Envelope *env)
{
	return harness_own(h, env, harness_free_envelope);
}

/* vasprintf into a string owned by h. */
static char *harness_vfmt(struct harness *h, const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	return harness_own(h, s, free);
}

/* printf into a string owned by h. */
static char *harness_fmt(struct harness *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static char *harness_fmt(struct harness *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *s = harness_vfmt(h, fmt, ap);
	va_end(ap);
	return s;
}

const char *harness_printf(struct harness *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *s = harness_vfmt(h, fmt, ap);
	va_end(ap);
	return s;
}

/* Reads a whole file into a new NUL-terminated buffer (free()); NULL if it
 * cannot be read. */
static char *harness_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = harness_xalloc(buf, cap);
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* Writes text to path; returns 0 or -1. */
static int harness_spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	size_t len = strlen(text);
	int rc = fwrite(text, 1, len, f) == len ? 0 : -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* Prints the last lines of a log file to stderr. */
static void harness_print_tail(const char *path, int lines)
{
	char *text = harness_slurp(path);

	if (text == NULL)
		return;
	size_t len = strlen(text);
	const char *start = text + len;
	int seen = 0;
	while (start > text) {
		if (start[-1] == '\n' && start != text + len && ++seen > lines)
			break;
		start--;
	}
	fprintf(stderr, "---- %s (last %d lines) ----\n%s---- end ----\n", path, lines, start);
	free(text);
}

/* Prints the daemon's log and fails the running test with a message. */
static void harness_fail(struct harness *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
static void harness_fail(struct harness *h, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (h != NULL)
		harness_print_tail(h->log_path, HARNESS_LOG_TAIL);
	fail_msg("%s", msg);
	abort(); /* fail_msg does not return; keeps noreturn honest */
}

/* Converts a waitpid status to an exit status (128 + signal when killed). */
static int harness_exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return -1;
}

/* ---- processes ----------------------------------------------------------- */

/* fork/exec argv with stdin from /dev/null and stdout+stderr appended to
 * log_path; the child dies with the test process, and with max_files > 0
 * may open no more than that many files. Returns the pid or -1. */
static pid_t harness_fork_exec_limited(const char *const argv[], const char *log_path,
				       int max_files)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0)
		return pid;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (max_files > 0) {
		struct rlimit rl = {(rlim_t)max_files, (rlim_t)max_files};
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			_exit(125);
	}
	int in = open("/dev/null", O_RDONLY);
	int out = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (in < 0 || out < 0)
		_exit(126);
	dup2(in, STDIN_FILENO);
	dup2(out, STDOUT_FILENO);
	dup2(out, STDERR_FILENO);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], (char *const *)argv);
	dprintf(STDERR_FILENO, "harness: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* The same without a file limit. */
static pid_t harness_fork_exec(const char *const argv[], const char *log_path)
{
	return harness_fork_exec_limited(argv, log_path, 0);
}

/* Waits up to timeout_ms for pid; its exit status, or -1 if still running. */
static int harness_wait_pid(pid_t pid, int timeout_ms)
{
	int64_t end = harness_mono_ms() + timeout_ms;
	int wstatus;

	for (;;) {
		pid_t r = waitpid(pid, &wstatus, WNOHANG);
		if (r == pid)
			return harness_exit_status(wstatus);
		if (r < 0)
			return -1;
		if (harness_mono_ms() >= end)
			return -1;
		harness_nap(10);
	}
}

/* SIGTERM, then SIGKILL after grace_ms; returns the exit status. */
static int harness_terminate(pid_t pid, int grace_ms)
{
	kill(pid, SIGTERM);
	int st = harness_wait_pid(pid, grace_ms);
	if (st >= 0)
		return st;
	fprintf(stderr, "harness: pid %d ignored SIGTERM for %d ms, killing it\n", (int)pid,
		grace_ms);
	kill(pid, SIGKILL);
	st = harness_wait_pid(pid, 5000);
	return st >= 0 ? st : 128 + SIGKILL;
}

/* Path of the daemon under test ($SB_DAEMON). */
const char *harness_daemon_path(void)
{
	const char *p = getenv("SB_DAEMON");

	return p != NULL && *p != '\0' ? p : "./switchboard";
}

/* sbctl lives beside the daemon binary. */
const char *harness_sbctl_path(struct harness *h)
{
	const char *d = harness_daemon_path();
	const char *slash = strrchr(d, '/');

	if (slash == NULL)
		return "./sbctl";
	return harness_fmt(h, "%.*s/sbctl", (int)(slash - d), d);
}

/* Runs argv to completion, capturing its output. */
int harness_run(struct harness *h, const char *const argv[], int timeout_ms, const char **output)
{
	char *out_path = harness_fmt(h, "%s/run-%d.out", h->tmpdir, ++h->n_runs);
	pid_t pid = harness_fork_exec(argv, out_path);
	if (pid < 0)
		harness_fail(h, "fork %s: %s", argv[0], strerror(errno));
	int st = harness_wait_pid(pid, timeout_ms);
	if (st < 0) {
		kill(pid, SIGKILL);
		harness_wait_pid(pid, 5000);
	}
	if (output != NULL) {
		char *text = harness_slurp(out_path);
		*output = text != NULL ? harness_own(h, text, free) : "";
	}
	return st;
}

/* Starts argv in the background; it is killed at stop. */
pid_t harness_spawn(struct harness *h, const char *const argv[], const char *logname)
{
	char *log = harness_fmt(h, "%s/%s", h->tmpdir, logname);
	pid_t pid = harness_fork_exec(argv, log);
	if (pid < 0)
		harness_fail(h, "fork %s: %s", argv[0], strerror(errno));
	if (h->n_spawned == h->cap_spawned) {
		h->cap_spawned = h->cap_spawned ? h->cap_spawned * 2 : 8;
		h->spawned = harness_xalloc(h->spawned, h->cap_spawned * sizeof *h->spawned);
	}
	h->spawned[h->n_spawned++] = pid;
	return pid;
}

/* Forgets a spawned pid once it has been reaped. */
static void harness_unspawn(struct harness *h, pid_t pid)
{
	for (size_t i = 0; i < h->n_spawned; i++) {
		if (h->spawned[i] == pid) {
			h->spawned[i] = h->spawned[--h->n_spawned];
			return;
		}
	}
}

/* Waits for a spawned process to exit on its own. */
int harness_reap(struct harness *h, pid_t pid, int timeout_ms)
{
	int st = harness_wait_pid(pid, timeout_ms);

	if (st >= 0)
		harness_unspawn(h, pid);
	return st;
}

/* Stops a spawned process. */
int harness_kill(struct harness *h, pid_t pid)
{
	int st = harness_terminate(pid, 2000);

	harness_unspawn(h, pid);
	return st;
}

/* ---- ports and files ------------------------------------------------------ */

/* Binds n loopback sockets to port 0 at once (so the ports differ), notes
 * their ports and closes them. Returns 0 or -1. */
static int harness_free_ports(int *ports, int n)
{
	int fds[8];
	int rc = 0;

	for (int i = 0; i < n; i++)
		fds[i] = -1;
	for (int i = 0; i < n && rc == 0; i++) {
		struct sockaddr_in sin = {.sin_family = AF_INET};
		socklen_t len = sizeof sin;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sin, sizeof sin) != 0 ||
		    getsockname(fds[i], (struct sockaddr *)&sin, &len) != 0)
			rc = -1;
		else
			ports[i] = ntohs(sin.sin_port);
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

/* A free loopback address. */
const char *harness_free_addr(struct harness *h)
{
	int port;

	if (harness_free_ports(&port, 1) != 0)
		harness_fail(h, "no free port: %s", strerror(errno));
	return harness_fmt(h, "127.0.0.1:%d", port);
}

/* true when something accepts TCP connections on 127.0.0.1:port. */
static bool harness_port_open(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Writes text to TMP/name. */
const char *harness_write_file(struct harness *h, const char *name, const char *text)
{
	char *path = harness_fmt(h, "%s/%s", h->tmpdir, name);

	if (harness_spit(path, text) != 0)
		harness_fail(h, "write %s: %s", path, strerror(errno));
	return path;
}

/* Contents of TMP/name or of an absolute path. */
const char *harness_read_file(struct harness *h, const char *name)
{
	char *path = name[0] == '/' ? (char *)name : harness_fmt(h, "%s/%s", h->tmpdir, name);

	return harness_own(h, harness_slurp(path), free);
}

bool harness_file_wait(struct harness *h, const char *name, const char *text, int timeout_ms)
{
	for (int waited = 0;; waited += 20) {
		const char *content = harness_read_file(h, name);
		if (content != NULL && strstr(content, text) != NULL)
			return true;
		if (waited >= timeout_ms)
			return false;
		harness_sleep(h, 20);
	}
}

struct harness_standby harness_start_standby(struct harness *h)
{
	struct harness_standby sb = {harness_free_addr(h), harness_free_addr(h), 0};
	const char *cfg = harness_write_config_variant(h, "standby.yaml", sb.gateway, sb.agent,
						       harness_redis_addr(h));
	const char *const argv[] = {harness_daemon_path(), "--config", cfg, NULL};

	sb.pid = harness_spawn(h, argv, "standby.log");
	if (!harness_file_wait(h, "standby.log", "standby:", 5000))
		fail_msg("the standby daemon did not stand by within 5 s (see standby.log)");
	return sb;
}

/* nftw callback removing one entry. */
static int harness_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* rm -rf dir. */
static void harness_rm_tree(const char *dir)
{
	nftw(dir, harness_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the configuration ----------------------------------------------------- */

/* The harness's YAML config with the given addresses (free()). */
static char *harness_config_text(const struct harness *h, const char *gw, const char *agent,
				 const char *redis)
{
	const struct harness_opts *o = &h->opts;
	const char *level = getenv("SB_LOG_LEVEL");
	char *text = NULL;

	if (asprintf(&text,
		     "# written by the integration-test harness\n"
		     "site: %s\n"
		     "log_level: %s\n"
		     "listen:\n"
		     "  gateway: \"%s\"\n"
		     "  agent: \"%s\"\n"
		     "redis:\n"
		     "  address: \"%s\"\n"
		     "  connect_timeout_ms: 500\n"
		     "  command_timeout_ms: 500\n"
		     "  reconnect_max_ms: 200\n"
		     "limits:\n"
		     "  handshake_timeout_ms: %lld\n"
		     "%s"
		     "admin:\n"
		     "  listen: \"%s\"\n"
		     "%s%s%s"
		     "%s"
		     "sessions:\n"
		     "  heartbeat_ms: %lld\n"
		     "  missed_heartbeats: 3\n"
		     "  agent_grace_ms: %lld\n"
		     "auth:\n"
		     "  agent_secret: \"%s\"\n"
		     "channels:\n"
		     "  voice:\n"
		     "    offer_timeout_ms: %lld\n"
		     "    wrapup_ms: %lld\n"
		     "  chat:\n"
		     "    offer_timeout_ms: %lld\n"
		     "    wrapup_ms: 0\n"
		     "  email:\n"
		     "    wrapup_ms: 0\n"
		     "    auto_accept: %s\n"
		     "  social:\n"
		     "    wrapup_ms: 0\n"
		     "gateways:\n"
		     "  - id: gw1\n"
		     "    secret: \"%s\"\n"
		     "  - id: gw2\n"
		     "    secret: \"%s\"\n"
		     "queues:\n"
		     "  - name: voice-q\n"
		     "    channel: voice\n"
		     "  - name: chat-q\n"
		     "    channel: chat\n"
		     "  - name: email-q\n"
		     "    channel: email\n"
		     "  - name: social-q\n"
		     "    channel: social\n"
		     "%s"
		     "agents:\n"
		     "  - id: alice\n"
		     "    name: Alice Example\n"
		     "  - id: bob\n"
		     "    name: Bob Example\n"
		     "  - id: carol\n"
		     "    name: Carol Example\n"
		     "%s",
		     HARNESS_SITE, level != NULL ? level : "info", gw, agent, redis,
		     (long long)(o->handshake_timeout_ms ? o->handshake_timeout_ms : 1000),
		     o->limits_yaml != NULL ? o->limits_yaml : "", h->admin_addr,
		     o->admin ? "  token_file: \"" : "", o->admin ? h->admin_token_path : "",
		     o->admin ? "\"\n" : "", o->admin_yaml != NULL ? o->admin_yaml : "",
		     (long long)(o->heartbeat_ms ? o->heartbeat_ms : 1000),
		     (long long)(o->agent_grace_ms ? (o->agent_grace_ms < 0 ? 0 : o->agent_grace_ms)
						   : 30000),
		     HARNESS_AGENT_SECRET,
		     (long long)(o->offer_timeout_ms ? o->offer_timeout_ms : 1000),
		     (long long)o->voice_wrapup_ms,
		     (long long)(o->offer_timeout_ms ? o->offer_timeout_ms : 1000),
		     o->email_auto_accept ? "true" : "false", HARNESS_GW1_SECRET, HARNESS_GW2_SECRET,
		     o->queues_yaml != NULL ? o->queues_yaml : "",
		     o->extra_yaml != NULL ? o->extra_yaml : "") < 0)
		abort();
	return text;
}

/* Writes TMP/name with other addresses. */
const char *harness_write_config_variant(struct harness *h, const char *name,
					 const char *gateway_listen, const char *agent_listen,
					 const char *redis_address)
{
	char *text = harness_config_text(h, gateway_listen, agent_listen, redis_address);
	const char *path = harness_write_file(h, name, text);

	free(text);
	return path;
}

/* The temporary directory holding config, logs and Redis data. */
const char *harness_tmpdir(const struct harness *h)
{
	return h->tmpdir;
}

/* TMP/switchboard.yaml. */
const char *harness_config_path(const struct harness *h)
{
	return h->config_path;
}

/* "127.0.0.1:port" of the gateway listener. */
const char *harness_gateway_addr(const struct harness *h)
{
	return h->gateway_addr;
}

/* "127.0.0.1:port" of the agent listener. */
const char *harness_agent_addr(const struct harness *h)
{
	return h->agent_addr;
}

/* The admin API's address; "" when opts.admin is off. */
const char *harness_admin_addr(const struct harness *h)
{
	return h->admin_addr;
}

/* The admin bearer token; NULL when opts.admin is off. */
const char *harness_admin_token(const struct harness *h)
{
	return h->opts.admin ? HARNESS_ADMIN_TOKEN : NULL;
}

/* TMP/admin.token; NULL when opts.admin is off. */
const char *harness_admin_token_file(const struct harness *h)
{
	return h->opts.admin ? h->admin_token_path : NULL;
}

/* "127.0.0.1:port" of the test Redis. */
const char *harness_redis_addr(const struct harness *h)
{
	return h->redis_addr;
}

/* The HMAC secret the daemon verifies agent tokens with. */
const char *harness_agent_secret(const struct harness *h)
{
	return HARNESS_AGENT_SECRET;
}

/* The secret configured for gateway id; NULL for an unknown one. */
const char *harness_gateway_secret(const struct harness *h, const char *id)
{
	if (strcmp(id, "gw1") == 0)
		return HARNESS_GW1_SECRET;
	if (strcmp(id, "gw2") == 0)
		return HARNESS_GW2_SECRET;
	return NULL;
}

/* ---- Redis ----------------------------------------------------------------- */

/* true when Redis on port answers PING with PONG. */
static bool harness_redis_pings(int port)
{
	struct timeval tv = {0, 300000};
	redisContext *rc = redisConnectWithTimeout("127.0.0.1", port, tv);
	bool ok = false;

	if (rc != NULL && rc->err == 0) {
		redisReply *r = redisCommand(rc, "PING");
		ok = r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
		if (r != NULL)
			freeReplyObject(r);
	}
	if (rc != NULL)
		redisFree(rc);
	return ok;
}

/* Starts redis-server; returns NULL or a reason it did not come up. */
static const char *harness_redis_launch(struct harness *h)
{
	char port[16];
	const char *const argv[] = {"/usr/bin/redis-server", "--port", port, "--bind", "127.0.0.1",
				    "--dir", h->tmpdir, "--save", "", "--appendonly", "yes",
				    "--appendfsync", "everysec", "--daemonize", "no",
				    /* CONFIG SET dir (a test making BGSAVE fail) */
				    "--enable-protected-configs", "yes", NULL};

	snprintf(port, sizeof port, "%d", h->redis_port);
	h->redis_pid = harness_fork_exec(argv, h->redis_log_path);
	if (h->redis_pid < 0) {
		h->redis_pid = 0;
		return "fork failed";
	}
	int64_t end = harness_mono_ms() + 5000;
	while (!harness_redis_pings(h->redis_port)) {
		if (harness_wait_pid(h->redis_pid, 0) >= 0) {
			h->redis_pid = 0;
			return "redis-server exited";
		}
		if (harness_mono_ms() >= end)
			return "redis-server did not answer PING within 5 s";
		harness_nap(20);
	}
	return NULL;
}

/* Starts Redis again on the same port and directory. */
void harness_redis_start(struct harness *h)
{
	if (h->redis_pid != 0)
		harness_fail(h, "harness_redis_start: Redis is already running");
	const char *why = harness_redis_launch(h);
	if (why != NULL) {
		harness_print_tail(h->redis_log_path, 20);
		harness_fail(h, "redis: %s", why);
	}
}

/* Stops Redis and forgets the assertion connection. */
void harness_redis_stop(struct harness *h)
{
	if (h->redis != NULL) {
		redisFree(h->redis);
		h->redis = NULL;
	}
	if (h->redis_pid != 0) {
		if (h->redis_frozen)
			kill(h->redis_pid, SIGCONT);
		h->redis_frozen = false;
		harness_terminate(h->redis_pid, HARNESS_STOP_MS);
		h->redis_pid = 0;
	}
}

void harness_redis_signal(struct harness *h, int sig)
{
	if (h->redis_pid == 0)
		harness_fail(h, "harness_redis_signal: Redis is not running");
	if (h->redis != NULL) {
		/* A frozen or killed Redis would leave it hanging or broken. */
		redisFree(h->redis);
		h->redis = NULL;
	}
	if (kill(h->redis_pid, sig) != 0)
		harness_fail(h, "kill(redis %d, %d): %s", (int)h->redis_pid, sig, strerror(errno));
	if (sig == SIGSTOP)
		h->redis_frozen = true;
	else if (sig == SIGCONT)
		h->redis_frozen = false;
	if (sig != SIGKILL)
		return;
	if (harness_wait_pid(h->redis_pid, 5000) < 0)
		harness_fail(h, "redis-server %d did not die of SIGKILL", (int)h->redis_pid);
	h->redis_pid = 0;
	h->redis_frozen = false;
}

/* freeReplyObject with the signature harness_own wants. */
static void harness_free_reply(void *p)
{
	freeReplyObject(p);
}

struct redisReply *harness_redis_command(struct harness *h, const char *fmt, ...)
{
	redisContext *rc = harness_redis(h);
	va_list ap;

	va_start(ap, fmt);
	redisReply *r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (r == NULL)
		harness_fail(h, "redis command %s: %s", fmt, rc->errstr);
	return harness_own(h, r, harness_free_reply);
}

const char *harness_redis_dir(const struct harness *h)
{
	return h->tmpdir;
}

const char *harness_redis_aof_dir(struct harness *h)
{
	return harness_fmt(h, "%s/appendonlydir", h->tmpdir);
}

/* ---- sb-proxy ----------------------------------------------------------------- */

const char *harness_proxy_path(struct harness *h)
{
	const char *p = getenv("SB_PROXY");
	const char *d = harness_daemon_path();
	const char *slash = strrchr(d, '/');

	if (p != NULL && *p != '\0')
		return p;
	if (slash == NULL)
		return "./sb-proxy";
	return harness_fmt(h, "%.*s/tests/tools/sb-proxy", (int)(slash - d), d);
}

/* Spawns an sb-proxy and waits for its "ready"; NULL or why it failed. */
static const char *harness_proxy_launch(struct harness *h, const char *listen_addr,
					const char *upstream_addr, pid_t *pid)
{
	const char *log = harness_fmt(h, "proxy-%s.log", listen_addr);
	const char *const argv[] = {harness_proxy_path(h), listen_addr, upstream_addr, NULL};

	*pid = harness_spawn(h, argv, log);
	if (harness_file_wait(h, log, "ready", 5000))
		return NULL;
	harness_print_tail(harness_fmt(h, "%s/%s", h->tmpdir, log), 20);
	return harness_fmt(h, "sb-proxy %s -> %s did not print ready within 5 s (SB_PROXY=%s)",
			   listen_addr, upstream_addr, harness_proxy_path(h));
}

pid_t harness_start_proxy(struct harness *h, const char *listen_addr, const char *upstream_addr)
{
	pid_t pid = 0;
	const char *why = harness_proxy_launch(h, listen_addr, upstream_addr, &pid);

	if (why != NULL)
		harness_fail(h, "%s", why);
	return pid;
}

const char *harness_proxy_addr(const struct harness *h)
{
	return h->proxy_addr;
}

void harness_proxy_signal(struct harness *h, int sig)
{
	if (h->proxy_pid == 0)
		harness_fail(h, "harness_proxy_signal: no proxy (opts.redis_proxy is off)");
	if (kill(h->proxy_pid, sig) != 0)
		harness_fail(h, "kill(sb-proxy %d, %d): %s", (int)h->proxy_pid, sig, strerror(errno));
	if (sig == SIGSTOP)
		h->proxy_frozen = true;
	else if (sig == SIGCONT)
		h->proxy_frozen = false;
}

/* The assertion connection, (re)connected on demand. */
struct redisContext *harness_redis(struct harness *h)
{
	if (h->redis != NULL && h->redis->err != 0) {
		redisFree(h->redis);
		h->redis = NULL;
	}
	if (h->redis == NULL) {
		struct timeval tv = {1, 0};
		h->redis = redisConnectWithTimeout("127.0.0.1", h->redis_port, tv);
		if (h->redis == NULL || h->redis->err != 0)
			harness_fail(h, "cannot connect to the test Redis on port %d",
				     h->redis_port);
		redisSetTimeout(h->redis, tv);
	}
	return h->redis;
}

/* "sb:{test}:..." */
const char *harness_key(struct harness *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *rest = harness_vfmt(h, fmt, ap);
	va_end(ap);
	return harness_fmt(h, "sb:{%s}:%s", HARNESS_SITE, rest);
}

/* HGET key field. */
const char *harness_hget(struct harness *h, const char *key, const char *field)
{
	redisReply *r = redisCommand(harness_redis(h), "HGET %s %s", key, field);
	char *val = NULL;

	if (r == NULL)
		harness_fail(h, "HGET %s %s: %s", key, field, h->redis->errstr);
	if (r->type == REDIS_REPLY_STRING)
		val = harness_own(h, strndup(r->str, r->len), free);
	freeReplyObject(r);
	return val;
}

/* Polls HGET until it equals want. */
const char *harness_hget_wait(struct harness *h, const char *key, const char *field,
			      const char *want, int timeout_ms)
{
	int64_t end = harness_mono_ms() + timeout_ms;
	const char *val;

	for (;;) {
		val = harness_hget(h, key, field);
		if ((val != NULL && strcmp(val, want) == 0) || harness_mono_ms() >= end)
			return val;
		harness_sleep(h, 20);
	}
}

/* An integer-answering command. */
long long harness_redis_int(struct harness *h, const char *fmt, ...)
{
	redisContext *rc = harness_redis(h);
	va_list ap;
	long long val = -1;

	va_start(ap, fmt);
	redisReply *r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (r == NULL)
		harness_fail(h, "redis command %s: %s", fmt, rc->errstr);
	if (r->type == REDIS_REPLY_INTEGER)
		val = r->integer;
	freeReplyObject(r);
	return val;
}

/* ---- the daemon -------------------------------------------------------------- */

/* Reaps the daemon if it exited; true while it runs. */
bool harness_daemon_alive(struct harness *h)
{
	int wstatus;

	if (h->daemon_pid == 0)
		return false;
	if (waitpid(h->daemon_pid, &wstatus, WNOHANG) == h->daemon_pid) {
		h->daemon_status = harness_exit_status(wstatus);
		h->daemon_pid = 0;
		return false;
	}
	return true;
}

/* For tests that look at the process itself (/proc/<pid>/status). */
pid_t harness_daemon_pid(const struct harness *h)
{
	return h->daemon_pid;
}

/* Offset of text in the log at or after from. */
long harness_log_find(struct harness *h, const char *text, long from)
{
	char *log = harness_slurp(h->log_path);
	long at = -1;

	if (log != NULL && from >= 0 && (size_t)from <= strlen(log)) {
		const char *p = strstr(log + from, text);
		if (p != NULL)
			at = (long)(p - log);
	}
	free(log);
	return at;
}

/* Whether the daemon has logged text. */
bool harness_log_contains(struct harness *h, const char *text)
{
	return harness_log_find(h, text, 0) >= 0;
}

/* Waits for text in the log. */
bool harness_log_wait(struct harness *h, const char *text, int timeout_ms)
{
	int64_t end = harness_mono_ms() + timeout_ms;

	while (!harness_log_contains(h, text)) {
		if (harness_mono_ms() >= end)
			return false;
		harness_sleep(h, 20);
	}
	return true;
}

/* Starts the daemon and waits until it is ready; NULL or why it is not.
 * Only log lines written after the start count (a restart appends). */
static const char *harness_daemon_launch(struct harness *h)
{
	const char *const argv[] = {harness_daemon_path(), "--config", h->config_path, NULL};
	int64_t end = harness_mono_ms() + HARNESS_START_MS;
	char *before = harness_slurp(h->log_path);
	long from = before != NULL ? (long)strlen(before) : 0;

	free(before);
	h->daemon_status = -1;
	h->daemon_pid = harness_fork_exec_limited(argv, h->log_path, h->opts.max_open_files);
	if (h->daemon_pid < 0) {
		h->daemon_pid = 0;
		return "fork failed";
	}
	for (;;) {
		if (!harness_daemon_alive(h)) {
			static char why[64];
			snprintf(why, sizeof why, "the daemon exited during start-up (status %d)",
				 h->daemon_status);
			return why;
		}
		/* Serving: it holds the lease and has loaded its state. */
		bool ready = h->opts.redis_down || harness_log_find(h, "leader: serving", from) >= 0;
		if (ready && harness_port_open(h->gateway_port))
			return NULL;
		if (harness_mono_ms() >= end)
			return ready ? "the gateway port did not open within 10 s"
				     : "no \"leader: serving\" in the log within 10 s";
		harness_nap(20);
	}
}

void harness_daemon_signal(struct harness *h, int sig)
{
	int wstatus;

	if (h->daemon_pid == 0)
		harness_fail(h, "harness_daemon_signal: the daemon is not running");
	kill(h->daemon_pid, sig);
	if (sig == SIGSTOP)
		h->daemon_frozen = true;
	else if (sig == SIGCONT)
		h->daemon_frozen = false;
	if (sig != SIGKILL)
		return;
	h->daemon_frozen = false;
	waitpid(h->daemon_pid, &wstatus, 0);
	/* Killed on purpose: not a failed exit. */
	h->daemon_status = -1;
	h->daemon_pid = 0;
}

void harness_daemon_restart(struct harness *h)
{
	if (harness_daemon_alive(h))
		harness_fail(h, "harness_daemon_restart: the daemon is still running");
	const char *why = harness_daemon_launch(h);
	if (why != NULL)
		harness_fail(h, "daemon restart: %s", why);
}

/* Makes the temporary directory and its file names. */
static int harness_make_dir(struct harness *h)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(h->tmpdir, sizeof h->tmpdir, "%s/sb-itest-XXXXXX", base);
	if (mkdtemp(h->tmpdir) == NULL)
		return -1;
	snprintf(h->config_path, sizeof h->config_path, "%s/switchboard.yaml", h->tmpdir);
	snprintf(h->log_path, sizeof h->log_path, "%s/switchboard.log", h->tmpdir);
	snprintf(h->redis_log_path, sizeof h->redis_log_path, "%s/redis.log", h->tmpdir);
	return 0;
}

/* Everything up to a running daemon; NULL or the reason it failed. */
static const char *harness_bring_up(struct harness *h)
{
	int ports[5];
	int n_ports = 3 + (h->opts.admin ? 1 : 0) + (h->opts.redis_proxy ? 1 : 0);

	if (harness_make_dir(h) != 0)
		return "mkdtemp failed";
	/* one call, so the ports differ from each other */
	if (harness_free_ports(ports, n_ports) != 0)
		return "no free loopback ports";
	if (h->opts.redis_proxy)
		snprintf(h->proxy_addr, sizeof h->proxy_addr, "127.0.0.1:%d", ports[n_ports - 1]);
	h->redis_port = ports[0];
	h->gateway_port = ports[1];
	h->agent_port = ports[2];
	snprintf(h->redis_addr, sizeof h->redis_addr, "127.0.0.1:%d", h->redis_port);
	snprintf(h->gateway_addr, sizeof h->gateway_addr, "127.0.0.1:%d", h->gateway_port);
	snprintf(h->agent_addr, sizeof h->agent_addr, "127.0.0.1:%d", h->agent_port);
	if (h->opts.admin) {
		snprintf(h->admin_addr, sizeof h->admin_addr, "127.0.0.1:%d", ports[3]);
		snprintf(h->admin_token_path, sizeof h->admin_token_path, "%s/admin.token",
			 h->tmpdir);
		/* the daemon refuses a token file others can read */
		if (harness_spit(h->admin_token_path, HARNESS_ADMIN_TOKEN "\n") != 0 ||
		    chmod(h->admin_token_path, 0600) != 0)
			return "cannot write the admin token file";
	}

	char *text = harness_config_text(h, h->gateway_addr, h->agent_addr,
					 h->opts.redis_proxy ? h->proxy_addr : h->redis_addr);
	int rc = harness_spit(h->config_path, text);
	free(text);
	if (rc != 0)
		return "cannot write the config";
	if (!h->opts.redis_down) {
		const char *why = harness_redis_launch(h);
		if (why != NULL) {
			harness_print_tail(h->redis_log_path, 20);
			return why;
		}
	}
	if (h->opts.redis_proxy) {
		const char *why = harness_proxy_launch(h, h->proxy_addr, h->redis_addr,
						       &h->proxy_pid);
		if (why != NULL)
			return why;
	}
	return harness_daemon_launch(h);
}

/* Starts Redis and the daemon. */
struct harness *harness_start(const struct harness_opts *opts)
{
	struct harness *h = harness_xalloc(NULL, sizeof *h);

	memset(h, 0, sizeof *h);
	h->daemon_status = -1;
	if (opts != NULL)
		h->opts = *opts;
	signal(SIGPIPE, SIG_IGN);
	const char *why = harness_bring_up(h);
	if (why != NULL) {
		char msg[512];
		snprintf(msg, sizeof msg, "harness start: %s (dir %s)", why, h->tmpdir);
		harness_stop(h); /* prints the log's tail: the test has not passed */
		fail_msg("%s", msg);
	}
	return h;
}

/* Marks the running test passed, so its directory is removed. */
void harness_passed(struct harness *h)
{
	h->passed = true;
}

/* Closes every client. */
static void harness_close_all(struct harness *h)
{
	for (size_t i = 0; i < h->n_clients; i++)
		sbc_close(h->clients[i].c);
	free(h->clients);
	h->clients = NULL;
	h->n_clients = h->cap_clients = 0;
}

/* Stops everything and frees h. */
int harness_stop(struct harness *h)
{
	if (h == NULL)
		return -1;
	harness_close_all(h);
	/* Thaw what the test froze: a stopped Redis or proxy would hold the
	 * daemon's drain, a stopped daemon its SIGTERM. */
	if (h->proxy_pid != 0 && h->proxy_frozen)
		kill(h->proxy_pid, SIGCONT);
	if (h->redis_pid != 0 && h->redis_frozen)
		kill(h->redis_pid, SIGCONT);
	h->proxy_frozen = h->redis_frozen = false;
	if (h->daemon_pid != 0 && h->daemon_frozen)
		kill(h->daemon_pid, SIGCONT);
	h->daemon_frozen = false;
	if (harness_daemon_alive(h))
		h->daemon_status = harness_terminate(h->daemon_pid, HARNESS_STOP_MS);
	h->daemon_pid = 0;
	int status = h->daemon_status;
	while (h->n_spawned > 0)
		harness_kill(h, h->spawned[0]);
	free(h->spawned);
	harness_redis_stop(h);

	bool keep = getenv("SB_KEEP_TMP") != NULL;
	if (!h->passed || (status != 0 && status != -1)) {
		fprintf(stderr, "harness: daemon exit status %d\n", status);
		harness_print_tail(h->log_path, HARNESS_LOG_TAIL);
		keep = true;
	}
	if (h->tmpdir[0] != '\0') {
		if (keep)
			fprintf(stderr, "harness: kept %s\n", h->tmpdir);
		else
			harness_rm_tree(h->tmpdir);
	}
	for (size_t i = h->n_owned; i > 0; i--)
		h->owned[i - 1].free_fn(h->owned[i - 1].p);
	free(h->owned);
	free(h);
	return status;
}

/* Default fixture. */
int harness_setup(void **state)
{
	*state = harness_start(NULL);
	return 0;
}

/* Default fixture's teardown: fails unless the daemon exited 0 (or the
 * test killed it on purpose: -1). */
int harness_teardown(void **state)
{
	int status = harness_stop(*state);

	*state = NULL;
	if (status != 0 && status != -1) {
		print_error("daemon exit status %d (expected 0 after SIGTERM)\n", status);
		return -1;
	}
	return 0;
}

/* ---- clients ------------------------------------------------------------------ */

/* Registers c with h. */
static struct sbc *harness_track(struct harness *h, struct sbc *c, bool keepalive)
{
	if (h->n_clients == h->cap_clients) {
		h->cap_clients = h->cap_clients ? h->cap_clients * 2 : 8;
		h->clients = harness_xalloc(h->clients, h->cap_clients * sizeof *h->clients);
	}
	h->clients[h->n_clients].c = c;
	h->clients[h->n_clients].keepalive = keepalive;
	h->clients[h->n_clients].last_ping_ms = harness_mono_ms();
	h->n_clients++;
	return c;
}

/* The registration of c, or NULL. */
static struct harness_client *harness_find(struct harness *h, const struct sbc *c)
{
	for (size_t i = 0; i < h->n_clients; i++)
		if (h->clients[i].c == c)
			return &h->clients[i];
	return NULL;
}

/* Turns the pings for c on or off. */
void harness_keepalive(struct harness *h, struct sbc *c, bool on)
{
	struct harness_client *hc = harness_find(h, c);

	if (hc != NULL)
		hc->keepalive = on;
}

/* Registers a client connected outside the harness. */
struct sbc *harness_adopt(struct harness *h, struct sbc *c, bool keepalive)
{
	return harness_track(h, c, keepalive);
}

/* Closes one client. */
void harness_close(struct harness *h, struct sbc *c)
{
	struct harness_client *hc = harness_find(h, c);

	if (hc == NULL)
		return;
	sbc_close(c);
	*hc = h->clients[--h->n_clients];
}

/* Pings every kept-alive client whose last ping is a third of a heartbeat old. */
static void harness_tick(struct harness *h)
{
	int64_t now = harness_mono_ms();
	int64_t every = (h->opts.heartbeat_ms ? h->opts.heartbeat_ms : 1000) / 3;

	for (size_t i = 0; i < h->n_clients; i++) {
		struct harness_client *hc = &h->clients[i];
		if (!hc->keepalive || now - hc->last_ping_ms < every)
			continue;
		hc->last_ping_ms = now;
		if (sbc_ping(hc->c) == 0)
			hc->keepalive = false; /* gone; a test will notice */
	}
}

/* Sleeps, keeping clients alive. */
void harness_sleep(struct harness *h, int ms)
{
	int64_t end = harness_mono_ms() + ms;

	for (;;) {
		harness_tick(h);
		int64_t left = end - harness_mono_ms();
		if (left <= 0)
			return;
		harness_nap(left < HARNESS_SLICE_MS ? (int)left : HARNESS_SLICE_MS);
	}
}

/* A raw connection. */
struct sbc *harness_connect(struct harness *h, enum harness_port port)
{
	return harness_connect_addr(h, port == HARNESS_GATEWAY_PORT ? h->gateway_addr
								     : h->agent_addr);
}

/* A raw connection to addr. */
struct sbc *harness_connect_addr(struct harness *h, const char *addr)
{
	char err[256] = "";
	struct sbc *c = sbc_connect(addr, 2000, err, sizeof err);

	if (c == NULL)
		harness_fail(h, "connect %s: %s", addr, err);
	return harness_track(h, c, false);
}

/* Checks a Welcome's fields. */
static void harness_check_welcome(struct harness *h, const Envelope *w, const char *who)
{
	if (w == NULL || w->body_case != SB_BODY(WELCOME) || w->welcome == NULL)
		harness_fail(h, "%s: Hello not answered with Welcome", who);
	if (w->welcome->heartbeat_ms == 0)
		harness_fail(h, "%s: Welcome.heartbeat_ms is 0", who);
	if (w->welcome->session_id == NULL || w->welcome->session_id[0] == '\0')
		harness_fail(h, "%s: Welcome.session_id is empty", who);
}

/* Connects and says Hello; fails unless welcomed. */
static struct sbc *harness_login(struct harness *h, enum harness_port port,
				 Switchboard__V1__Role role, const char *id, const char *token,
				 Envelope **welcome)
{
	struct sbc *c = harness_connect(h, port);
	Envelope *w = NULL;
	int rc = sbc_hello(c, role, id, token, HARNESS_REPLY_MS, &w);

	harness_own_env(h, w);
	if (rc != 0)
		harness_fail(h, "Hello as %s refused: %s %d", id, rc > 0 ? "Error code" : "I/O", rc);
	harness_check_welcome(h, w, id);
	harness_keepalive(h, c, true);
	if (welcome != NULL)
		*welcome = w;
	return c;
}

/* Logs in as gateway id with its configured secret. */
struct sbc *harness_gateway(struct harness *h, const char *id)
{
	const char *secret = harness_gateway_secret(h, id);

	return harness_login(h, HARNESS_GATEWAY_PORT, SWITCHBOARD__V1__ROLE__ROLE_GATEWAY, id,
			     secret != NULL ? secret : "no-such-gateway-secret", NULL);
}

/* An agent session starts OFFLINE: the daemon says so right after Welcome
 * (before re-sending any assignment the agent still holds). */
static struct sbc *harness_agent_login(struct harness *h, const char *id, Envelope **welcome,
				       Switchboard__V1__AgentState want)
{
	struct sbc *c = harness_login(h, HARNESS_AGENT_PORT, SWITCHBOARD__V1__ROLE__ROLE_AGENT, id,
				      harness_token(h, id, 3600), welcome);
	Envelope *st = harness_expect(h, c, SB_BODY(STATE_CHANGED), HARNESS_REPLY_MS);

	if (st->ref != 0 || st->state_changed->state != want)
		harness_fail(h, "%s: expected StateChanged %s (ref 0) after Welcome, got %s", id,
			     sbc_state_name((int)want), harness_describe(h, st));
	return c;
}

struct sbc *harness_agent_welcome(struct harness *h, const char *id, Envelope **welcome)
{
	return harness_agent_login(h, id, welcome, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_OFFLINE);
}

struct sbc *harness_agent_back(struct harness *h, const char *id, Switchboard__V1__AgentState want)
{
	return harness_agent_login(h, id, NULL, want);
}

/* Logs in as agent id with a fresh token. */
struct sbc *harness_agent(struct harness *h, const char *id)
{
	return harness_agent_welcome(h, id, NULL);
}

/* A token signed with the daemon's agent secret. */
const char *harness_token(struct harness *h, const char *agent_id, int64_t ttl_s)
{
	char *t = token_mint(HARNESS_AGENT_SECRET, agent_id, (int64_t)time(NULL) + ttl_s);

	if (t == NULL)
		harness_fail(h, "token_mint failed");
	return harness_own(h, t, free);
}

/* ---- frames -------------------------------------------------------------------- */

/* One-line description of env. */
static const char *harness_describe(struct harness *h, const Envelope *env)
{
	char buf[512];

	if (env == NULL)
		return "(nothing)";
	sbc_describe(env, buf, sizeof buf);
	return harness_fmt(h, "%s [seq %llu ref %llu]", buf, (unsigned long long)env->seq,
			   (unsigned long long)env->ref);
}

/* What else c received (queued or buffered), for failure messages. */
static const char *harness_drain(struct harness *h, struct sbc *c)
{
	char *all = harness_fmt(h, "%s", "");
	Envelope *env = NULL;

	while (sbc_recv(c, 0, &env) > 0) {
		if (env->body_case != SB_BODY(PONG))
			all = harness_fmt(h, "%s\n  %s", all, harness_describe(h, env));
		envelope_free(env);
	}
	return all[0] != '\0' ? harness_fmt(h, "; received meanwhile:%s", all) : "";
}

/* Stops pinging c once the daemon closed it. */
static void harness_mark_closed(struct harness *h, struct sbc *c)
{
	harness_keepalive(h, c, false);
}

/* Next frame other than a Pong within the deadline: 1, 0 on timeout, -1 closed. */
static int harness_next(struct harness *h, struct sbc *c, int64_t end, bool keep_pongs,
			Envelope **out)
{
	for (;;) {
		harness_tick(h);
		int64_t left = end - harness_mono_ms();
		if (left <= 0)
			return 0;
		Envelope *env = NULL;
		int rc = sbc_recv(c, left < HARNESS_SLICE_MS ? (int)left : HARNESS_SLICE_MS, &env);
		if (rc < 0) {
			harness_mark_closed(h, c);
			return -1;
		}
		if (rc == 0)
			continue;
		if (env->body_case == SB_BODY(PONG) && !keep_pongs) {
			envelope_free(env);
			continue;
		}
		*out = harness_own_env(h, env);
		return 1;
	}
}

/* The next frame other than a Pong, which must have body. */
Envelope *harness_expect(struct harness *h, struct sbc *c, Switchboard__V1__Envelope__BodyCase body,
			 int timeout_ms)
{
	Envelope *env = NULL;
	int rc = harness_next(h, c, harness_mono_ms() + timeout_ms, body == SB_BODY(PONG), &env);

	if (rc == 0)
		harness_fail(h, "no %s within %d ms", envelope_body_name(body), timeout_ms);
	if (rc < 0)
		harness_fail(h, "connection closed while waiting for %s", envelope_body_name(body));
	if (env->body_case != body)
		harness_fail(h, "expected %s, got %s", envelope_body_name(body),
			     harness_describe(h, env));
	return env;
}

/* The first frame with body; the others stay queued. */
Envelope *harness_await(struct harness *h, struct sbc *c, Switchboard__V1__Envelope__BodyCase body,
			int timeout_ms)
{
	int64_t end = harness_mono_ms() + timeout_ms;

	for (;;) {
		harness_tick(h);
		int64_t left = end - harness_mono_ms();
		if (left <= 0)
			harness_fail(h, "no %s within %d ms%s", envelope_body_name(body), timeout_ms,
				     harness_drain(h, c));
		Envelope *env = NULL;
		int rc = sbc_wait_body(c, body, left < HARNESS_SLICE_MS ? (int)left : HARNESS_SLICE_MS,
				       &env);
		if (rc < 0) {
			harness_mark_closed(h, c);
			harness_fail(h, "connection closed while waiting for %s",
				     envelope_body_name(body));
		}
		if (rc > 0)
			return harness_own_env(h, env);
	}
}

/* The frame answering seq: 1, 0 on timeout, -1 closed. */
static int harness_wait_ref(struct harness *h, struct sbc *c, uint64_t seq, int timeout_ms,
			    Envelope **out)
{
	int64_t end = harness_mono_ms() + timeout_ms;

	for (;;) {
		harness_tick(h);
		int64_t left = end - harness_mono_ms();
		if (left <= 0)
			return 0;
		Envelope *env = NULL;
		int rc = sbc_wait_reply(c, seq, left < HARNESS_SLICE_MS ? (int)left : HARNESS_SLICE_MS,
					&env);
		if (rc < 0) {
			harness_mark_closed(h, c);
			return -1;
		}
		if (rc > 0) {
			*out = harness_own_env(h, env);
			return 1;
		}
	}
}

/* The reply to seq, whatever its body. */
Envelope *harness_answer(struct harness *h, struct sbc *c, uint64_t seq, int timeout_ms)
{
	Envelope *env = NULL;

	if (seq == 0)
		harness_fail(h, "request not sent: connection closed");
	int rc = harness_wait_ref(h, c, seq, timeout_ms, &env);
	if (rc == 0)
		harness_fail(h, "no reply to seq %llu within %d ms%s", (unsigned long long)seq,
			     timeout_ms, harness_drain(h, c));
	if (rc < 0)
		harness_fail(h, "connection closed while waiting for the reply to seq %llu",
			     (unsigned long long)seq);
	return env;
}

/* The reply to seq, which must have body. */
Envelope *harness_reply(struct harness *h, struct sbc *c, uint64_t seq,
			Switchboard__V1__Envelope__BodyCase body, int timeout_ms)
{
	Envelope *env = NULL;

	if (seq == 0)
		harness_fail(h, "request for %s was not sent", envelope_body_name(body));
	int rc = harness_wait_ref(h, c, seq, timeout_ms, &env);
	if (rc == 0)
		harness_fail(h, "no reply to seq %llu (wanted %s) within %d ms%s",
			     (unsigned long long)seq, envelope_body_name(body), timeout_ms,
			     harness_drain(h, c));
	if (rc < 0)
		harness_fail(h, "connection closed while waiting for %s (seq %llu)",
			     envelope_body_name(body), (unsigned long long)seq);
	if (env->body_case != body)
		harness_fail(h, "reply to seq %llu: expected %s, got %s", (unsigned long long)seq,
			     envelope_body_name(body), harness_describe(h, env));
	if (env->ref != seq)
		harness_fail(h, "reply ref %llu, expected %llu", (unsigned long long)env->ref,
			     (unsigned long long)seq);
	return env;
}

/* An Error with code, as the reply to seq or as the next frame. */
Envelope *harness_expect_error(struct harness *h, struct sbc *c, uint64_t seq,
			       Switchboard__V1__ErrorCode code, int timeout_ms)
{
	Envelope *env = NULL;
	int rc;

	if (seq != 0)
		rc = harness_wait_ref(h, c, seq, timeout_ms, &env);
	else
		rc = harness_next(h, c, harness_mono_ms() + timeout_ms, false, &env);
	if (rc == 0)
		harness_fail(h, "no Error (code %d) within %d ms%s", (int)code, timeout_ms,
			     harness_drain(h, c));
	if (rc < 0)
		harness_fail(h, "connection closed without an Error (wanted code %d)", (int)code);
	if (env->body_case != SB_BODY(ERROR) || env->error == NULL)
		harness_fail(h, "expected Error code %d, got %s", (int)code,
			     harness_describe(h, env));
	if (env->error->code != code)
		harness_fail(h, "expected Error code %d, got %s", (int)code,
			     harness_describe(h, env));
	return env;
}

/* Fails if anything but a Pong arrives within ms. */
void harness_expect_silence(struct harness *h, struct sbc *c, int ms)
{
	Envelope *env = NULL;
	int rc = harness_next(h, c, harness_mono_ms() + ms, false, &env);

	if (rc > 0)
		harness_fail(h, "expected no frame for %d ms, got %s", ms, harness_describe(h, env));
	if (rc < 0)
		harness_fail(h, "connection closed, expected it to stay open");
}

/* Fails unless the daemon closes c, sending nothing first. */
void harness_assert_closed(struct harness *h, struct sbc *c, int timeout_ms)
{
	Envelope *env = NULL;
	int rc;

	harness_keepalive(h, c, false);
	rc = harness_next(h, c, harness_mono_ms() + timeout_ms, false, &env);
	if (rc > 0)
		harness_fail(h, "expected the connection to close, got %s",
			     harness_describe(h, env));
	if (rc == 0)
		harness_fail(h, "the daemon did not close the connection within %d ms",
			     timeout_ms);
}

/* Fails unless the daemon closes c, sending at most one Error first. */
void harness_assert_closed_notice(struct harness *h, struct sbc *c, int timeout_ms)
{
	int64_t end = harness_mono_ms() + timeout_ms;
	Envelope *env = NULL;
	int rc;

	harness_keepalive(h, c, false);
	rc = harness_next(h, c, end, false, &env);
	if (rc > 0 && env->body_case == SB_BODY(ERROR))
		rc = harness_next(h, c, end, false, &env);
	if (rc > 0)
		harness_fail(h, "expected the connection to close, got %s",
			     harness_describe(h, env));
	if (rc == 0)
		harness_fail(h, "the daemon did not close the connection within %d ms",
			     timeout_ms);
}

/* Fails unless a Ping on c is answered. */
void harness_assert_open(struct harness *h, struct sbc *c)
{
	uint64_t seq = sbc_ping(c);

	if (seq == 0)
		harness_fail(h, "Ping could not be sent: connection closed");
	harness_reply(h, c, seq, SB_BODY(PONG), HARNESS_REPLY_MS);
}

/* ---- requests -------------------------------------------------------------------- */

/* Submits a contact and returns the ContactAccepted. */
Envelope *harness_submit(struct harness *h, struct sbc *gw, const char *external_id,
			 Switchboard__V1__Channel channel, const char *queue)
{
	struct sbc_submit s = {.external_id = external_id, .channel = channel, .queue = queue};
	uint64_t seq = sbc_submit(gw, &s);
	Envelope *env = harness_reply(h, gw, seq, SB_BODY(CONTACT_ACCEPTED), HARNESS_REPLY_MS);
	const char *id = env->contact_accepted->contact_id;

	if (id == NULL || id[0] == '\0')
		harness_fail(h, "ContactAccepted for %s has no contact_id", external_id);
	return env;
}

/* Submits a contact and returns its id. */
const char *harness_submit_id(struct harness *h, struct sbc *gw, const char *external_id,
			      Switchboard__V1__Channel channel, const char *queue)
{
	return harness_submit(h, gw, external_id, channel, queue)->contact_accepted->contact_id;
}

/* Makes agent available and checks the StateChanged. */
void harness_available(struct harness *h, struct sbc *agent)
{
	uint64_t seq = sbc_set_state(agent, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE, "");
	Envelope *env = harness_reply(h, agent, seq, SB_BODY(STATE_CHANGED), HARNESS_REPLY_MS);

	if (env->state_changed->state != SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE)
		harness_fail(h, "SetState AVAILABLE answered %s", harness_describe(h, env));
}

/* Waits for the Offer of contact_id; returns the offer id. */
const char *harness_offer_for(struct harness *h, struct sbc *agent, const char *contact_id,
			      int timeout_ms)
{
	Envelope *env = harness_await(h, agent, SB_BODY(OFFER), timeout_ms);
	const Switchboard__V1__Offer *o = env->offer;

	if (env->ref != 0)
		harness_fail(h, "an Offer is pushed with ref 0: %s", harness_describe(h, env));
	if (o->contact == NULL || strcmp(o->contact->contact_id, contact_id) != 0)
		harness_fail(h, "expected an Offer of %s, got %s", contact_id,
			     harness_describe(h, env));
	if (o->offer_id == NULL || o->offer_id[0] == '\0')
		harness_fail(h, "Offer without offer_id: %s", harness_describe(h, env));
	return o->offer_id;
}

/* Accepts an offer and checks the AssignmentConfirmed. */
void harness_accept(struct harness *h, struct sbc *agent, const char *offer_id,
		    const char *contact_id)
{
	uint64_t seq = sbc_accept(agent, offer_id);
	Envelope *env = harness_reply(h, agent, seq, SB_BODY(ASSIGNMENT_CONFIRMED), HARNESS_REPLY_MS);

	if (strcmp(env->assignment_confirmed->contact_id, contact_id) != 0)
		harness_fail(h, "AssignmentConfirmed names %s, expected %s",
			     env->assignment_confirmed->contact_id, contact_id);
}

/* The offer's wait: generous, as every test's offer timeout is longer. */
#define HARNESS_OFFER_WAIT_MS 3000

const char *harness_assigned(struct harness *h, struct sbc *gw, struct sbc *agent,
			     const char *external_id, Switchboard__V1__Channel channel,
			     const char *queue)
{
	const char *id = harness_submit_id(h, gw, external_id, channel, queue);

	harness_accept(h, agent, harness_offer_for(h, agent, id, HARNESS_OFFER_WAIT_MS), id);
	return id;
}
