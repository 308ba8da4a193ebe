/* Drives headless Chromium over the DevTools protocol to check the wallboard
 * page in a real browser (run by test_wallboard_browser.sh, which starts the
 * daemon under demo traffic):
 *
 *   wallboard_browser CHROMIUM URL ADMIN_TOKEN OUTDIR
 *
 * - the page renders the daemon's figures (queues, agents, waiting) and the
 *   connection indicator says "live";
 *   those figures change over a few seconds of traffic (new snapshots
 *   arrive, and what the page shows differs);
 * - it fits a 1366x768 laptop screen without horizontal scrolling, and
 *   1920x1080; a screenshot of each is saved in OUTDIR (paths printed);
 * - a wrong token shows the API's error in the page; the right one forces
 *   an agent's state from the agents list;
 * - no script error and no Content-Security-Policy violation happened.
 *
 * The protocol goes over --remote-debugging-pipe (fd 3: commands to the
 * browser, fd 4: its answers and events, each message JSON ending in NUL),
 * so no WebSocket client is needed. Every wait is bounded. Exit 0 on
 * success, 1 on a failed check (with why on stderr). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/json_parse.h"

#define CMD_MS 15000     /* one protocol command */
#define RENDER_MS 20000  /* the page shows figures */
#define CHANGE_MS 15000  /* they change */
#define MAX_MSG (32 << 20)

static pid_t browser = -1;
static int to_browser = -1, from_browser = -1;
static char *inbuf;
static size_t inlen, incap;
static int next_id = 1;
static char session[128];
static int problems; /* script errors and CSP violations seen */
static char tmpdir[256];

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cleanup(void)
{
	if (browser > 0) {
		kill(browser, SIGTERM);
		for (int i = 0; i < 50 && waitpid(browser, NULL, WNOHANG) == 0; i++)
			usleep(100 * 1000);
		kill(browser, SIGKILL);
		waitpid(browser, NULL, 0);
		browser = -1;
	}
	if (tmpdir[0] != '\0') {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "wallboard_browser: could not remove %s\n", tmpdir);
		tmpdir[0] = '\0';
	}
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cleanup();
	exit(1);
}

/* Starts the browser with the protocol on fds 3 and 4. */
static void browser_start(const char *chromium)
{
	int cmd[2], out[2];

	snprintf(tmpdir, sizeof tmpdir, "/tmp/sb-wallboard-chromium.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		fail("mkdtemp: %s", strerror(errno));
	if (pipe(cmd) != 0 || pipe(out) != 0)
		fail("pipe: %s", strerror(errno));
	browser = fork();
	if (browser < 0)
		fail("fork: %s", strerror(errno));
	if (browser == 0) {
		char profile[300];
		snprintf(profile, sizeof profile, "--user-data-dir=%s", tmpdir);
		/* the child's fd 3 reads commands, fd 4 writes answers */
		int r = dup(cmd[0]), w = dup(out[1]);
		if (r < 0 || w < 0 || dup2(r, 3) < 0 || dup2(w, 4) < 0)
			_exit(127);
		for (int fd = 5; fd < 1024; fd++)
			close(fd);
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) { /* its chatter about dbus and GPUs is noise here */
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		execl(chromium, chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
		      "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
		      "--disable-extensions", "--disable-background-networking", "--hide-scrollbars",
		      "--mute-audio", "--remote-debugging-pipe", profile, "--window-size=1920,1080",
		      "about:blank", (char *)NULL);
		_exit(127);
	}
	close(cmd[0]);
	close(out[1]);
	to_browser = cmd[1];
	from_browser = out[0];
	signal(SIGPIPE, SIG_IGN);
	incap = 1 << 20;
	inbuf = malloc(incap);
	if (inbuf == NULL)
		fail("out of memory");
}

/* Looks at an event for script errors and CSP violations. */
static void on_event(const struct jv *msg)
{
	const struct jv *m = jv_get(msg, "method");
	const struct jv *p = jv_get(msg, "params");

	if (m == NULL || m->type != JV_STRING)
		return;
	if (strcmp(m->str, "Runtime.exceptionThrown") == 0) {
		const struct jv *d = p ? jv_get(p, "exceptionDetails") : NULL;
		const struct jv *t = d ? jv_get(d, "text") : NULL;
		const struct jv *ex = d ? jv_get(d, "exception") : NULL;
		const struct jv *desc = ex ? jv_get(ex, "description") : NULL;
		fprintf(stderr, "page script error: %s %s\n", t && t->type == JV_STRING ? t->str : "",
		        desc && desc->type == JV_STRING ? desc->str : "");
		problems++;
	} else if (strcmp(m->str, "Log.entryAdded") == 0) {
		const struct jv *e = p ? jv_get(p, "entry") : NULL;
		const struct jv *t = e ? jv_get(e, "text") : NULL;
		const struct jv *src = e ? jv_get(e, "source") : NULL;
		if (t != NULL && t->type == JV_STRING) {
			/* a refused token (401) is logged as a network error: expected */
			bool csp = strstr(t->str, "Content Security Policy") != NULL;
			bool network = src && src->type == JV_STRING && strcmp(src->str, "network") == 0;
			if (csp || !network)
				fprintf(stderr, "browser log: %s\n", t->str);
			if (csp)
				problems++;
		}
	}
}

/* The next whole message (NUL-terminated JSON) within ms, or NULL. */
static struct jv *read_message(int ms)
{
	int64_t end = now_ms() + ms;
	char err[160];

	for (;;) {
		char *nul = memchr(inbuf, '\0', inlen);
		if (nul != NULL) {
			size_t n = (size_t)(nul - inbuf);
			struct jv *v = jv_parse(inbuf, n, err, sizeof err);
			memmove(inbuf, nul + 1, inlen - n - 1);
			inlen -= n + 1;
			if (v == NULL)
				fail("the browser sent something that is not JSON: %s", err);
			return v;
		}
		int64_t left = end - now_ms();
		struct pollfd pfd = {.fd = from_browser, .events = POLLIN};
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return NULL;
		if (inlen + 65536 > incap) {
			if (incap >= MAX_MSG)
				fail("a message from the browser is over %d bytes", MAX_MSG);
			incap *= 2;
			inbuf = realloc(inbuf, incap);
			if (inbuf == NULL)
				fail("out of memory");
		}
		ssize_t n = read(from_browser, inbuf + inlen, incap - inlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("the browser closed its protocol pipe (did it start?)");
		inlen += (size_t)n;
	}
}

/* Sends a command (params: a JSON object's text) and returns its result
 * (the whole answer; the caller frees). Events met meanwhile are looked at. */
static struct jv *cdp(const char *method, const char *params)
{
	int id = next_id++;
	char *msg = NULL;
	int len;
	int64_t end = now_ms() + CMD_MS;

	len = asprintf(&msg, "{\"id\":%d,%s%s%s\"method\":\"%s\",\"params\":%s}", id,
	               session[0] ? "\"sessionId\":\"" : "", session, session[0] ? "\"," : "",
	               method, params != NULL ? params : "{}");
	if (len < 0)
		fail("out of memory");
	for (const char *p = msg; len >= 0;) { /* the message and its NUL */
		ssize_t n = write(to_browser, p, (size_t)len + 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("writing to the browser: %s", strerror(errno));
		p += n;
		len -= (int)n;
	}
	free(msg);
	for (;;) {
		int64_t left = end - now_ms();
		struct jv *v = left > 0 ? read_message((int)left) : NULL;
		if (v == NULL)
			fail("%s: no answer within %d ms", method, CMD_MS);
		const struct jv *vid = jv_get(v, "id");
		if (vid != NULL && vid->type == JV_NUMBER && (int)vid->num == id) {
			const struct jv *e = jv_get(v, "error");
			if (e != NULL) {
				const struct jv *em = jv_get(e, "message");
				fail("%s: %s", method, em && em->type == JV_STRING ? em->str : "error");
			}
			return v;
		}
		on_event(v);
		jv_free(v);
	}
}

static void cdp_do(const char *method, const char *params)
{
	jv_free(cdp(method, params));
}

/* Appends s to b as a JSON string literal (the expressions are ASCII). */
static void json_quote(char *b, size_t cap, const char *s)
{
	size_t n = strlen(b);

	if (n + 2 >= cap)
		fail("an expression is too long");
	b[n++] = '"';
	for (; *s != '\0' && n + 3 < cap; s++) {
		if (*s == '"' || *s == '\\')
			b[n++] = '\\';
		if (*s == '\n') {
			b[n++] = '\\';
			b[n++] = 'n';
			continue;
		}
		b[n++] = *s;
	}
	if (*s != '\0')
		fail("an expression is too long");
	b[n++] = '"';
	b[n] = '\0';
}

/* Evaluates a JS expression in the page that returns a string; returns
 * it (malloc'd). */
static char *eval_str(const char *expr)
{
	char params[8192] = "{\"returnByValue\":true,\"awaitPromise\":true,\"expression\":";
	struct jv *v;
	const struct jv *r;
	char *out;

	json_quote(params, sizeof params - 2, expr);
	strcat(params, "}");
	v = cdp("Runtime.evaluate", params);
	r = jv_get(jv_get(v, "result"), "result");
	r = r ? jv_get(r, "value") : NULL;
	if (r == NULL || r->type != JV_STRING) {
		jv_free(v);
		fail("evaluating %s gave no string", expr);
	}
	out = strdup(r->str);
	jv_free(v);
	return out;
}

static void sleep_ms(int ms)
{
	/* keep reading events meanwhile so the pipe never fills */
	int64_t end = now_ms() + ms;

	for (int64_t left; (left = end - now_ms()) > 0;) {
		struct jv *v = read_message((int)left);
		if (v == NULL)
			break;
		on_event(v);
		jv_free(v);
	}
}

/* Polls a JS boolean expression until true, within ms. */
static bool wait_true(const char *expr, int ms)
{
	char e[4096];
	int64_t end = now_ms() + ms;

	snprintf(e, sizeof e, "String(!!(%s))", expr);
	for (;;) {
		char *s = eval_str(e);
		bool ok = strcmp(s, "true") == 0;
		free(s);
		if (ok)
			return true;
		if (now_ms() > end)
			return false;
		sleep_ms(200);
	}
}

static const unsigned char *b64_table(void)
{
	static unsigned char t[256];
	static bool done;
	const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	if (!done) {
		memset(t, 0xff, sizeof t);
		for (int i = 0; a[i]; i++)
			t[(unsigned char)a[i]] = (unsigned char)i;
		done = true;
	}
	return t;
}

/* Page.captureScreenshot into path (PNG). */
static void screenshot(const char *path)
{
	struct jv *v = cdp("Page.captureScreenshot", "{\"format\":\"png\"}");
	const struct jv *d = jv_get(jv_get(v, "result"), "data");
	const unsigned char *t = b64_table();
	unsigned char *png;
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	FILE *f;

	if (d == NULL || d->type != JV_STRING)
		fail("no screenshot data");
	png = malloc(strlen(d->str));
	if (png == NULL)
		fail("out of memory");
	for (const char *p = d->str; *p != '\0' && *p != '='; p++) {
		unsigned char c = t[(unsigned char)*p];
		if (c == 0xff)
			continue;
		acc = acc << 6 | c;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			png[n++] = (unsigned char)(acc >> bits);
		}
	}
	jv_free(v);
	if (n < 8 || memcmp(png, "\x89PNG", 4) != 0)
		fail("the screenshot is not a PNG");
	f = fopen(path, "wb");
	if (f == NULL || fwrite(png, 1, n, f) != n || fclose(f) != 0)
		fail("writing %s: %s", path, strerror(errno));
	free(png);
	printf("screenshot: %s (%zu bytes)\n", path, n);
}

static void viewport(int w, int h)
{
	char p[160];

	snprintf(p, sizeof p,
	         "{\"width\":%d,\"height\":%d,\"deviceScaleFactor\":1,\"mobile\":false}", w, h);
	cdp_do("Emulation.setDeviceMetricsOverride", p);
}

/* ---- event streams held from here, to fill admin.max_event_streams ---- */

static struct sockaddr_in admin_addr;

/* The page's URL (http://127.0.0.1:PORT/) gives the admin address. */
static void admin_addr_from(const char *url)
{
	char host[64];
	int port;

	if (sscanf(url, "http://%63[0-9.]:%d", host, &port) != 2 ||
	    inet_pton(AF_INET, host, &admin_addr.sin_addr) != 1)
		fail("cannot read an address from %s", url);
	admin_addr.sin_family = AF_INET;
	admin_addr.sin_port = htons((uint16_t)port);
}

/* Sends GET path; returns the socket (the caller closes) and reads the
 * answer's status (0: none within 3 s). */
static int admin_get(const char *path, int *status, char *body, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char req[256], buf[65536];
	size_t n = 0;
	int64_t end = now_ms() + 3000;

	if (fd < 0 || connect(fd, (struct sockaddr *)&admin_addr, sizeof admin_addr) != 0)
		fail("connecting to the admin port: %s", strerror(errno));
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: test\r\n%s\r\n", path,
	         body != NULL ? "Connection: close\r\n" : "Accept: text/event-stream\r\n");
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		fail("writing to the admin port: %s", strerror(errno));
	*status = 0;
	/* the status line, or the whole answer when body is wanted */
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = end - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (body == NULL && strstr(buf, "\r\n") != NULL)
			break;
		if (n + 1 >= sizeof buf)
			break;
	}
	buf[n] = '\0';
	sscanf(buf, "HTTP/1.%*d %d", status);
	if (body != NULL)
		snprintf(body, cap, "%s", buf);
	return fd;
}

/* The daemon's count of open streams, from its snapshot. */
static int admin_streams(void)
{
	static char body[1 << 20];
	int status;
	const char *p;

	close(admin_get("/v1/wallboard", &status, body, sizeof body));
	p = strstr(body, "\"streams\":");
	if (status != 200 || p == NULL)
		fail("GET /v1/wallboard: %d", status);
	return atoi(p + strlen("\"streams\":"));
}

#define MAX_HELD 256
static int held[MAX_HELD], n_held;

/* Opens streams until the daemon refuses one (503): it is then full. */
static int hold_streams(void)
{
	for (;;) {
		int status, fd;
		if (n_held == MAX_HELD)
			fail("the daemon took %d streams without refusing one", MAX_HELD);
		fd = admin_get("/v1/wallboard/events", &status, NULL, 0);
		if (status != 200) {
			close(fd);
			if (status != 503)
				fail("a stream past the cap was answered %d, not 503", status);
			return n_held;
		}
		held[n_held++] = fd;
	}
}

static void release_streams(void)
{
	while (n_held > 0)
		close(held[--n_held]);
}

/* Whether the first element sel matches is wholly inside the viewport. */
#define IN_VIEW(sel)                                                                               \
	"(() => { const r = document.querySelector('" sel "').getBoundingClientRect();"            \
	" return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight &&"                  \
	" r.right <= window.innerWidth; })()"
/* The page's height against the viewport, and where the parts end. */
#define FIT_REPORT                                                                                 \
	"'page ' + document.documentElement.scrollHeight + ' of ' + window.innerHeight + ' px; ' +" \
	" ['.summary', '#queues', '.agents-section', '.events-section'].map(s => s + ' ends at ' +" \
	"   Math.round(document.querySelector(s).getBoundingClientRect().bottom)).join(', ') + '; ' +" \
	" document.querySelectorAll('#queues .queue').length + ' queues, ' +"                      \
	" document.querySelectorAll('#agents tr').length + ' agents'"

/* What the page shows: the figures a viewer reads, as one string. */
#define SHOWN                                                                                      \
	"[document.getElementById('total-waiting').textContent,"                                   \
	" ...[...document.querySelectorAll('[data-fig],[data-count]')].map(e => e.textContent),"    \
	" document.getElementById('agents').textContent,"                                           \
	" document.getElementById('events').textContent].join('|')"

int main(int argc, char **argv)
{
	const char *chromium, *url, *token, *outdir;
	char path[512], expr[2048], *first, *later, *s;
	struct jv *v;
	const struct jv *r;

	if (argc != 5) {
		fprintf(stderr, "usage: wallboard_browser CHROMIUM URL ADMIN_TOKEN OUTDIR\n");
		return 2;
	}
	chromium = argv[1];
	url = argv[2];
	token = argv[3];
	outdir = argv[4];
	mkdir(outdir, 0755);
	browser_start(chromium);

	/* a page target, attached in flat mode: commands carry its session */
	v = cdp("Target.createTarget", "{\"url\":\"about:blank\"}");
	r = jv_get(jv_get(v, "result"), "targetId");
	if (r == NULL || r->type != JV_STRING)
		fail("no target id");
	snprintf(expr, sizeof expr, "{\"targetId\":\"%s\",\"flatten\":true}", r->str);
	jv_free(v);
	v = cdp("Target.attachToTarget", expr);
	r = jv_get(jv_get(v, "result"), "sessionId");
	if (r == NULL || r->type != JV_STRING)
		fail("no session id");
	snprintf(session, sizeof session, "%s", r->str);
	jv_free(v);
	cdp_do("Page.enable", NULL);
	cdp_do("Runtime.enable", NULL);
	cdp_do("Log.enable", NULL);
	viewport(1920, 1080);
	snprintf(expr, sizeof expr, "{\"url\":\"%s\"}", url);
	cdp_do("Page.navigate", expr);

	/* figures appear */
	if (!wait_true("document.body && Number(document.body.dataset.snapshots) >= 1 &&"
	               " document.querySelectorAll('#queues .queue').length > 0 &&"
	               " document.querySelectorAll('#agents tr').length > 0 &&"
	               " /^[0-9]+$/.test(document.getElementById('total-waiting').textContent)",
	               RENDER_MS))
		fail("the page never showed the daemon's figures");
	if (!wait_true("document.getElementById('conn-text').textContent === 'live'", RENDER_MS))
		fail("the connection indicator never said live");
	s = eval_str("document.querySelectorAll('#queues .queue').length + ' queues, ' +"
	             " document.querySelectorAll('#agents tr').length + ' agents, ' +"
	             " document.getElementById('total-waiting').textContent + ' waiting'");
	printf("rendered: %s\n", s);
	free(s);
	/* status never by colour alone: every queue's badge says it in words */
	if (!wait_true("[...document.querySelectorAll('#queues .queue .badge')].every(b =>"
	               " /On target|At risk|Breached/.test(b.textContent))",
	               1000))
		fail("a queue's status badge has no words");

	/* they change under traffic */
	/* the page keeps the first reading to compare against */
	first = eval_str("window.__sbFirst = " SHOWN);
	s = eval_str("document.body.dataset.snapshots");
	snprintf(expr, sizeof expr,
	         "Number(document.body.dataset.snapshots) >= %d + 2 && (" SHOWN ") !== window.__sbFirst",
	         atoi(s));
	free(s);
	if (!wait_true(expr, CHANGE_MS))
		fail("the figures did not change within %d ms: %s", CHANGE_MS, first);
	later = eval_str(SHOWN);
	printf("figures changed:\n  before: %.300s\n  after:  %.300s\n", first, later);
	free(first);
	free(later);

	sleep_ms(500);
	snprintf(path, sizeof path, "%s/wallboard-1920x1080.png", outdir);
	screenshot(path);
	if (!wait_true("document.documentElement.scrollWidth <= window.innerWidth", 1000))
		fail("the page scrolls sideways at 1920x1080");
	/* a wall display cannot be scrolled: the whole page fits, the agents
	 * list with it */
	s = eval_str(FIT_REPORT);
	printf("1920x1080: %s\n", s);
	if (!wait_true("document.documentElement.scrollHeight <= window.innerHeight &&"
	               " " IN_VIEW(".agents-section") " && " IN_VIEW(".summary") " &&"
	               " [...document.querySelectorAll('#queues .queue')].every(q =>"
	               "   q.getBoundingClientRect().bottom <= Math.min(window.innerHeight,"
	               "     document.querySelector('.queues-section').getBoundingClientRect().bottom))",
	               1000))
		fail("the page does not fit 1920x1080 with the agents list in view: %s", s);
	free(s);

	/* a laptop screen: no sideways scrolling, figures still there */
	viewport(1366, 768);
	sleep_ms(1500);
	if (!wait_true("window.innerWidth === 1366 &&"
	               " document.documentElement.scrollWidth <= window.innerWidth",
	               3000)) {
		s = eval_str("document.documentElement.scrollWidth + ' > ' + window.innerWidth + ': ' +"
		             " [...document.querySelectorAll('body *')].filter(e =>"
		             "   e.getBoundingClientRect().right > window.innerWidth).slice(0, 6).map(e =>"
		             "   e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"
		             " .join(', ')");
		fail("the page scrolls sideways at 1366x768: %s", s);
	}
	/* the key tiles are in view without scrolling: totals, agent counts
	 * and the first queue */
	s = eval_str(FIT_REPORT);
	printf("1366x768: %s\n", s);
	if (!wait_true(IN_VIEW(".summary") " && " IN_VIEW("#queues .queue"), 1000))
		fail("the key tiles are not in view at 1366x768: %s", s);
	free(s);
	snprintf(path, sizeof path, "%s/wallboard-1366x768.png", outdir);
	screenshot(path);
	viewport(1920, 1080);

	/* read-only without a token: no state controls */
	if (!wait_true("document.querySelectorAll('#agents select').length === 0", 1000))
		fail("state controls are shown without a token");
	/* a wrong token: the API's refusal is shown in the page */
	free(eval_str("document.getElementById('auth-toggle').click();"
	              " document.getElementById('token').value = 'wrong-token';"
	              " document.getElementById('auth').requestSubmit(); 'ok'"));
#define PICK_AGENT                                                                                 \
	"[...document.querySelectorAll('#agents tr')].find(tr => tr.querySelector('select'))"
	if (!wait_true(PICK_AGENT, 5000))
		fail("no logged-in agent with a state control after entering a token");
	free(eval_str("(() => { const sel = " PICK_AGENT ".querySelector('select');"
	              " sel.value = 'break'; sel.dispatchEvent(new Event('change')); return 'ok'; })()"));
	if (!wait_true("!document.getElementById('error').hidden &&"
	               " /UNAUTHENTICATED/.test(document.getElementById('error').textContent)",
	               5000))
		fail("a refused change did not show the API's error");
	s = eval_str("document.getElementById('error').textContent");
	printf("wrong token shown as: %s\n", s);
	free(s);

	/* the right token: the supervisor puts an agent on break */
	snprintf(expr, sizeof expr,
	         "document.getElementById('auth-toggle').click();"
	         " document.getElementById('token').value = '%s';"
	         " document.getElementById('auth').requestSubmit(); 'ok'",
	         token);
	free(eval_str(expr));
	if (!wait_true(PICK_AGENT, 5000))
		fail("no agent with a state control");
	/* an agent that is available (not on break already) */
	s = eval_str("(() => { const tr = [...document.querySelectorAll('#agents tr')].find(tr =>"
	             " tr.querySelector('select') && !/Break/.test(tr.children[1].textContent))"
	             " || " PICK_AGENT ";"
	             " const sel = tr.querySelector('select'); sel.value = 'break';"
	             " sel.dispatchEvent(new Event('change')); return tr.dataset.agent; })()");
	snprintf(expr, sizeof expr,
	         "document.getElementById('error').hidden &&"
	         " /Break/.test(document.querySelector('#agents tr[data-agent=\"%s\"]')"
	         "   .children[1].textContent)",
	         s);
	if (!wait_true(expr, 5000))
		fail("forcing %s to break did not show it on break", s);
	printf("supervisor put %s on break from the page\n", s);
	free(s);

	/* the page ran under its Content-Security-Policy without breaking it;
	 * and the policy is really enforced: an inline style is refused */
	if (!wait_true("document.documentElement.dataset.cspViolations === '0'", 1000))
		fail("the page broke its Content-Security-Policy");
	free(eval_str("document.getElementById('foot-note').setAttribute('style', 'color: red'); 'ok'"));
	if (!wait_true("document.documentElement.dataset.cspViolations === '1' &&"
	               " getComputedStyle(document.getElementById('foot-note')).color !== 'rgb(255, 0, 0)'",
	               3000))
		fail("an inline style was not refused: is the Content-Security-Policy header sent?");
	printf("Content-Security-Policy enforced: an inline style was refused\n");
	problems = 0; /* that one was ours */

	/* A viewer past admin.max_event_streams: the daemon refuses its stream
	 * (503), which ends an EventSource for good; the page must still show
	 * figures, by asking for snapshots, and take a stream once one frees. */
	admin_addr_from(url);
	cdp_do("Page.navigate", "{\"url\":\"about:blank\"}");
	for (int64_t end = now_ms() + 5000; admin_streams() > 0;) {
		if (now_ms() > end)
			fail("the page's stream was not closed after it left");
		sleep_ms(100);
	}
	printf("holding %d event streams: the daemon refuses the next\n", hold_streams());
	snprintf(expr, sizeof expr, "{\"url\":\"%s\"}", url);
	cdp_do("Page.navigate", expr);
	if (!wait_true("document.body && Number(document.body.dataset.snapshots) >= 2 &&"
	               " document.querySelectorAll('#queues .queue').length > 0 &&"
	               " document.querySelectorAll('#agents tr').length > 0",
	               RENDER_MS))
		fail("a viewer past the cap on streams got no figures");
	s = eval_str("document.getElementById('conn-text').textContent");
	printf("a viewer past the cap shows figures; its indicator says: %s\n", s);
	if (strstr(s, "live") != NULL)
		fail("a viewer refused a stream says live");
	free(s);
	release_streams();
	if (!wait_true("document.getElementById('conn-text').textContent === 'live'", 30000))
		fail("the page did not take a stream once one was free");
	printf("once streams freed, the page went back to live\n");

	sleep_ms(300);
	if (problems > 0)
		fail("%d script error(s) or CSP violation(s) in the page (above)", problems);
	cleanup(); /* SIGTERM: Chromium closes cleanly */
	printf("wallboard in Chromium: ok\n");
	return 0;
}
