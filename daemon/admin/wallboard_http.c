/* The wallboard over HTTP: the page (embedded web/ files), the snapshot as
 * JSON, and a stream of server-sent events carrying the snapshot.
 *
 * Streams. Each stream holds its request open (evhttp_send_reply_start) and
 * gets a snapshot at once, then every WB_PUSH_MS, or sooner when something
 * a viewer sees changes (checked every WB_CHECK_MS, so bursts are throttled
 * to that). Bounded: at most admin.max_event_streams at once (more are
 * refused with 503); a client whose unsent output passes WB_MAX_BACKLOG is
 * dropped; a stream ends after WB_STREAM_MAX_S (the page's EventSource
 * reconnects by itself). A stream learns that its client left through
 * admin_watch_close, and that is the only place a stream is freed. */
#include "admin/admin_internal.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json_out.h"
#include "admin/wallboard.h"
#include "admin/web_assets.h"
#include "config/config.h"
#include "util/log.h"
#include "router/router.h"
#include "util/xalloc.h"

#define WB_PUSH_MS 1000          /* a snapshot at least this often */
#define WB_CHECK_MS 250          /* look for changes this often */
#define WB_MAX_BACKLOG (256 * 1024) /* unsent bytes before a client is dropped */
#define WB_STREAM_MAX_S 3600     /* the page reconnects after this */

/* The page may load only its own files and talk only to this server. */
#define WB_CSP                                                                                     \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* One open stream. Owner: wallboard_http.streams; freed only by
 * wbh_on_gone (its connection's end). */
struct wb_stream {
	struct wallboard_http *wbh;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct wb_stream *next;
};

/* Owner: struct admin (admin->wbh). */
struct wallboard_http {
	struct admin *adm;
	struct wallboard *wb; /* owned */
	struct event *timer;
	struct wb_stream *streams;
	size_t n_streams;
	uint64_t last_key;
	int64_t last_push_ms, next_tick_ms;
};

static void wbh_arm(struct wallboard_http *h, int64_t now);

static int64_t wbh_now(const struct wallboard_http *h)
{
	return router_now_ms();
}

/* The whole snapshot as one "snapshot" event (the JSON has no newline). */
static struct evbuffer *wbh_event(struct wallboard_http *h, int64_t now)
{
	struct evbuffer *b = evbuffer_new();
	struct json_out j;

	evbuffer_add_printf(b, "event: snapshot\ndata: ");
	json_init(&j, b);
	wallboard_write(h->wb, &j, now, h->n_streams);
	evbuffer_add(b, "\n\n", 2);
	return b;
}

/* Sends data to every stream; drops those whose client does not read. */
static void wbh_push(struct wallboard_http *h, int64_t now)
{
	struct evbuffer *ev = wbh_event(h, now);
	size_t len = evbuffer_get_length(ev);
	const unsigned char *data = evbuffer_pullup(ev, -1);
	struct evhttp_connection *drop[64];
	size_t n_drop = 0;

	for (struct wb_stream *s = h->streams; s != NULL; s = s->next) {
		struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);
		if (evbuffer_get_length(bufferevent_get_output(bev)) > WB_MAX_BACKLOG) {
			if (n_drop < sizeof drop / sizeof drop[0])
				drop[n_drop++] = s->evcon;
			continue;
		}
		struct evbuffer *chunk = evbuffer_new();
		evbuffer_add(chunk, data, len);
		evhttp_send_reply_chunk(s->req, chunk);
		evbuffer_free(chunk);
	}
	evbuffer_free(ev);
	h->last_push_ms = now;
	/* freeing a connection runs its close callback, which frees the
	 * stream: done after the walk */
	for (size_t i = 0; i < n_drop; i++) {
		log_warnx("admin: wallboard stream dropped: its client is %d KiB behind",
		          WB_MAX_BACKLOG / 1024);
		evhttp_connection_free(drop[i]);
	}
}

/* The one timer: "today" and history upkeep, and pushes while streams are
 * open. */
static void wbh_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct wallboard_http *h = arg;
	int64_t now = wbh_now(h);

	(void)fd;
	(void)what;
	h->next_tick_ms = wallboard_tick(h->wb, now);
	if (h->n_streams > 0) {
		uint64_t key = wallboard_change_key(h->wb);
		if (key != h->last_key || now - h->last_push_ms >= WB_PUSH_MS - WB_CHECK_MS / 2) {
			h->last_key = key;
			wbh_push(h, now);
		}
	}
	wbh_arm(h, now);
}

static void wbh_arm(struct wallboard_http *h, int64_t now)
{
	int64_t at = h->next_tick_ms;
	struct timeval tv;

	if (h->n_streams > 0 && now + WB_CHECK_MS < at)
		at = now + WB_CHECK_MS;
	if (at < now)
		at = now;
	if (at - now > 60 * 1000) /* the clock may step: look again within a minute */
		at = now + 60 * 1000;
	tv.tv_sec = (at - now) / 1000;
	tv.tv_usec = ((at - now) % 1000) * 1000;
	evtimer_add(h->timer, &tv);
}

void admin_wallboard_init(struct admin *adm)
{
	struct wallboard_http *h = xcalloc(1, sizeof *h);
	int64_t now = router_now_ms();

	h->adm = adm;
	h->wb = wallboard_new(adm, now);
	h->timer = evtimer_new(adm->env.base, wbh_on_timer, h);
	h->next_tick_ms = wallboard_tick(h->wb, now);
	wbh_arm(h, now);
	adm->wbh = h;
}

void admin_wallboard_clear(struct admin *adm)
{
	struct wallboard_http *h = adm->wbh;

	if (h == NULL)
		return;
	/* evhttp_free has closed every connection, so every stream is gone */
	while (h->streams != NULL) {
		struct wb_stream *s = h->streams;
		h->streams = s->next;
		free(s);
	}
	event_free(h->timer);
	wallboard_free(h->wb);
	free(h);
	adm->wbh = NULL;
}

/* ---- routes --------------------------------------------------------------- */

static void wbh_asset(struct admin_req *r, const char *name)
{
	const struct web_asset *a = web_asset_find(name);
	struct evkeyvalq *hd = evhttp_request_get_output_headers(r->req);
	struct evbuffer *b;

	if (a == NULL) { /* the build embeds every file: not reached */
		admin_error(r->req, 404, "NOT_FOUND", "no such file");
		return;
	}
	b = evbuffer_new();
	evbuffer_add_reference(b, a->data, a->len, NULL, NULL);
	evhttp_add_header(hd, "Content-Type", a->content_type);
	evhttp_add_header(hd, "Content-Security-Policy", WB_CSP);
	evhttp_add_header(hd, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(hd, "Referrer-Policy", "no-referrer");
	evhttp_add_header(hd, "X-Frame-Options", "DENY");
	admin_reply(r->req, 200, b);
}

void admin_route_wallboard_page(struct admin_req *r)
{
	wbh_asset(r, "index.html");
}

void admin_route_wallboard_css(struct admin_req *r)
{
	wbh_asset(r, "wallboard.css");
}

void admin_route_wallboard_js(struct admin_req *r)
{
	wbh_asset(r, "wallboard.js");
}

void admin_route_wallboard_json(struct admin_req *r)
{
	struct wallboard_http *h = r->adm->wbh;
	struct evbuffer *b = evbuffer_new();
	struct json_out j;

	json_init(&j, b);
	wallboard_write(h->wb, &j, wbh_now(h), h->n_streams);
	admin_reply(r->req, 200, b);
}

/* The stream's connection is being freed. If evhttp already let go of the
 * request (the client closed or timed out mid-stream), it is ours to free;
 * otherwise evhttp frees it with the connection. */
static void wbh_on_gone(void *arg)
{
	struct wb_stream *s = arg;
	struct wallboard_http *h = s->wbh;

	for (struct wb_stream **pp = &h->streams; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	h->n_streams--;
	if (evhttp_request_get_connection(s->req) == NULL)
		evhttp_request_free(s->req);
	free(s);
}

void admin_route_wallboard_events(struct admin_req *r)
{
	struct wallboard_http *h = r->adm->wbh;
	const struct sb_config *cfg = router_config(r->adm->env.router);
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
	struct evkeyvalq *hd = evhttp_request_get_output_headers(r->req);
	struct timeval tv = {WB_STREAM_MAX_S, 0};
	struct wb_stream *s;
	struct evbuffer *first;
	int64_t now = wbh_now(h);

	if (evhttp_request_get_command(r->req) == EVHTTP_REQ_HEAD) {
		evhttp_add_header(hd, "Content-Type", "text/event-stream");
		admin_reply(r->req, 200, evbuffer_new());
		return;
	}
	if (h->n_streams >= (size_t)cfg->admin_max_event_streams) {
		admin_error(r->req, 503, "TOO_MANY_STREAMS",
		            "%zu wallboard streams are open (admin.max_event_streams)",
		            h->n_streams);
		return;
	}
	s = xcalloc(1, sizeof *s);
	*s = (struct wb_stream){h, r->req, evcon, h->streams};
	h->streams = s;
	h->n_streams++;
	admin_watch_close(r->adm, evcon, wbh_on_gone, s);
	evhttp_add_header(hd, "Content-Type", "text/event-stream");
	evhttp_add_header(hd, "Cache-Control", "no-store");
	evhttp_add_header(hd, "X-Content-Type-Options", "nosniff");
	evhttp_send_reply_start(r->req, 200, "OK");
	/* admin.timeout_ms would cut the stream: it sends, the client does not */
	evhttp_connection_set_timeout_tv(evcon, &tv);
	first = evbuffer_new();
	evbuffer_add_printf(first, "retry: 2000\n\n");
	evhttp_send_reply_chunk(r->req, first);
	evbuffer_free(first);
	h->last_key = 0; /* the newcomer gets a snapshot now (so do the others) */
	wbh_push(h, now);
	h->last_key = wallboard_change_key(h->wb);
	if (evtimer_pending(h->timer, NULL))
		evtimer_del(h->timer);
	wbh_arm(h, now);
}
