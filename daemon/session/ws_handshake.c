/* The WebSocket opening handshake: see ws_handshake.h. */
#include "session/ws_handshake.h"

#include <event2/buffer.h>
#include <http_parser.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The headers the handshake looks at; others are skipped. */
enum ws_header { WS_H_NONE, WS_H_UPGRADE, WS_H_CONNECTION, WS_H_KEY, WS_H_VERSION, WS_H_ORIGIN,
		 WS_H_COUNT };

/* One value of each header of interest: longer ones are refused rather
 * than cut, so a check never reads a truncated value. */
#define WS_VALUE_MAX 256

struct ws_request {
	enum ws_header current; /* the header whose value comes next */
	char name[32];          /* a header name being read (callbacks may split it) */
	size_t name_len;
	bool name_too_long;
	bool in_value;          /* the last callback was a value */
	char value[WS_H_COUNT][WS_VALUE_MAX];
	size_t value_len[WS_H_COUNT];
	unsigned seen[WS_H_COUNT];
	bool too_long; /* a value of interest passed WS_VALUE_MAX */
};

static const char *const ws_header_names[WS_H_COUNT] = {
	[WS_H_UPGRADE] = "upgrade", [WS_H_CONNECTION] = "connection",
	[WS_H_KEY] = "sec-websocket-key", [WS_H_VERSION] = "sec-websocket-version",
	[WS_H_ORIGIN] = "origin",
};

/* Which header of interest the name just read is. */
static enum ws_header ws_header_lookup(const struct ws_request *q)
{
	if (q->name_too_long)
		return WS_H_NONE;
	for (int i = 1; i < WS_H_COUNT; i++)
		if (strlen(ws_header_names[i]) == q->name_len &&
		    strncasecmp(ws_header_names[i], q->name, q->name_len) == 0)
			return (enum ws_header)i;
	return WS_H_NONE;
}

/* A piece of a header name: http-parser may hand one name in pieces. */
static int ws_on_field(http_parser *p, const char *at, size_t len)
{
	struct ws_request *q = p->data;

	if (q->in_value) { /* a new header starts */
		q->name_len = 0;
		q->name_too_long = false;
		q->in_value = false;
	}
	if (q->name_len + len >= sizeof q->name) {
		q->name_too_long = true; /* no header of interest is that long */
		return 0;
	}
	memcpy(q->name + q->name_len, at, len);
	q->name_len += len;
	return 0;
}

/* A piece of a header value, kept for the headers of interest. */
static int ws_on_value(http_parser *p, const char *at, size_t len)
{
	struct ws_request *q = p->data;

	if (!q->in_value) {
		q->in_value = true;
		q->current = ws_header_lookup(q);
		if (q->current != WS_H_NONE) {
			/* A repeated header is joined as a list (RFC 9110 5.3). */
			if (q->seen[q->current]++ > 0 && q->value_len[q->current] + 2 < WS_VALUE_MAX) {
				memcpy(q->value[q->current] + q->value_len[q->current], ", ", 2);
				q->value_len[q->current] += 2;
			}
		}
	}
	if (q->current == WS_H_NONE)
		return 0;
	size_t *n = &q->value_len[q->current];
	if (*n + len >= WS_VALUE_MAX) {
		q->too_long = true;
		return 0;
	}
	memcpy(q->value[q->current] + *n, at, len);
	*n += len;
	q->value[q->current][*n] = '\0';
	return 0;
}

/* Whether list (a comma-separated header value) holds token, ASCII
 * case-insensitively ("keep-alive, Upgrade" holds "upgrade"). */
static bool ws_has_token(const char *list, const char *token)
{
	size_t tl = strlen(token);
	const char *p = list;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *start = p;
		while (*p != '\0' && *p != ',')
			p++;
		const char *end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - start) == tl && strncasecmp(start, token, tl) == 0)
			return true;
	}
	return false;
}

/* A Sec-WebSocket-Key is 16 random bytes in base64: 22 characters and "==". */
static bool ws_key_valid(const char *k, size_t n)
{
	if (n != 24 || k[22] != '=' || k[23] != '=')
		return false;
	for (size_t i = 0; i < 22; i++) {
		char c = k[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/'))
			return false;
	}
	return true;
}

/* Refuses with status and a reason. */
static int ws_refuse(struct ws_handshake_reply *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int ws_refuse(struct ws_handshake_reply *r, int status, const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof r->why, fmt, ap);
	va_end(ap);
	return -1;
}

int ws_handshake_check(const char *head, size_t len, char *const *origins, size_t n_origins,
		       struct ws_handshake_reply *r)
{
	static const http_parser_settings settings = {
		.on_header_field = ws_on_field,
		.on_header_value = ws_on_value,
	};
	struct ws_request q;
	http_parser p;

	memset(r, 0, sizeof *r);
	memset(&q, 0, sizeof q);
	http_parser_init(&p, HTTP_REQUEST);
	p.data = &q;
	http_parser_execute(&p, &settings, head, len);
	if (HTTP_PARSER_ERRNO(&p) != HPE_OK)
		return ws_refuse(r, 400, "malformed HTTP request: %s",
				 http_errno_description(HTTP_PARSER_ERRNO(&p)));
	if (p.method != HTTP_GET || p.http_major != 1 || p.http_minor < 1)
		return ws_refuse(r, 400, "a WebSocket handshake is a GET over HTTP/1.1");
	if (q.too_long)
		return ws_refuse(r, 400, "a handshake header is longer than %d bytes",
				 WS_VALUE_MAX - 1);
	/* A browser that opened the agent port as a web page lands here. */
	if (!ws_has_token(q.value[WS_H_UPGRADE], "websocket") ||
	    !ws_has_token(q.value[WS_H_CONNECTION], "upgrade"))
		return ws_refuse(r, 400,
				 "this is the agent port: only a WebSocket upgrade (Upgrade: websocket,"
				 " Connection: Upgrade) is served over HTTP");
	if (q.seen[WS_H_VERSION] != 1 || strcmp(q.value[WS_H_VERSION], "13") != 0)
		return ws_refuse(r, 400, "Sec-WebSocket-Version must be 13");
	if (q.seen[WS_H_KEY] != 1 || !ws_key_valid(q.value[WS_H_KEY], q.value_len[WS_H_KEY]))
		return ws_refuse(r, 400,
				 q.seen[WS_H_KEY] == 0
					 ? "Sec-WebSocket-Key is missing"
					 : "Sec-WebSocket-Key must be 16 bytes in base64, once");
	if (q.seen[WS_H_ORIGIN] > 0) {
		bool allowed = false;
		for (size_t i = 0; i < n_origins && !allowed; i++)
			allowed = strcasecmp(origins[i], q.value[WS_H_ORIGIN]) == 0;
		if (!allowed)
			return ws_refuse(r, 403, "origin %.120s is not in websocket.allowed_origins",
					 q.value[WS_H_ORIGIN]);
	}
	if (ws_accept_value(q.value[WS_H_KEY], q.value_len[WS_H_KEY], r->accept) != 0)
		return ws_refuse(r, 500, "cannot compute Sec-WebSocket-Accept");
	r->status = 101;
	return 0;
}

/* The reason phrase of the statuses the handshake answers with. */
static const char *ws_status_text(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 431:
		return "Request Header Fields Too Large";
	default:
		return "Internal Server Error";
	}
}

/* Writes an HTTP error whose body says why, and closes (no keep-alive: the
 * port serves nothing else over HTTP). */
static void ws_write_error(struct evbuffer *out, int status, const char *why)
{
	evbuffer_add_printf(out,
			    "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n%s\r\n%s\n",
			    status, ws_status_text(status), strlen(why) + 1,
			    status == 400 ? "Sec-WebSocket-Version: 13\r\n" : "", why);
}

int ws_handshake_read(struct evbuffer *in, struct evbuffer *out, char *const *origins,
		      size_t n_origins, char *why, size_t why_len)
{
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	struct ws_handshake_reply r;

	if (end.pos < 0) {
		if (evbuffer_get_length(in) <= WS_HANDSHAKE_MAX_BYTES)
			return 0;
		snprintf(why, why_len, "WebSocket handshake: request head over %d bytes",
			 WS_HANDSHAKE_MAX_BYTES);
		ws_write_error(out, 431, why);
		return -1;
	}
	size_t len = (size_t)end.pos + 4;
	if (len > WS_HANDSHAKE_MAX_BYTES) {
		snprintf(why, why_len, "WebSocket handshake: request head over %d bytes",
			 WS_HANDSHAKE_MAX_BYTES);
		ws_write_error(out, 431, why);
		return -1;
	}
	const char *head = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
	int rc = head != NULL ? ws_handshake_check(head, len, origins, n_origins, &r)
			      : ws_refuse(&r, 500, "cannot read the request");
	evbuffer_drain(in, len);
	if (rc != 0) {
		snprintf(why, why_len, "WebSocket handshake refused (%d): %s", r.status, r.why);
		ws_write_error(out, r.status, r.why);
		return -1;
	}
	evbuffer_add_printf(out,
			    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			    r.accept);
	return 1;
}
