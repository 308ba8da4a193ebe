/* The admin HTTP server: set-up, limits, connection cap, routing, auth and
 * replies. Handlers live in admin_routes.c, admin_roster.c and
 * admin_metrics.c.
 *
 * Limits. evhttp caps header and body sizes and idle time when told to;
 * the connection cap, the request deadline and making room at the cap are
 * admin_conns.c's. */
#include "admin/admin.h"
#include "admin/admin_internal.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/accept_guard.h"
#include "util/address.h"
#include "util/json_out.h"
#include "util/json_parse.h"
#include "config/config.h"
#include "util/err.h"
#include "util/log.h"
#include "metrics.h"
#include "security/token.h"
#include "router/router.h"
#include "util/xalloc.h"

void admin_reply(struct evhttp_request *req, int status, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *reason = NULL;

	switch (status) {
	case 200:
		reason = "OK";
		break;
	case 201:
		reason = "Created";
		break;
	case 202:
		reason = "Accepted";
		break;
	case 400:
		reason = "Bad Request";
		break;
	case 401:
		reason = "Unauthorized";
		break;
	case 403:
		reason = "Forbidden";
		break;
	case 404:
		reason = "Not Found";
		break;
	case 405:
		reason = "Method Not Allowed";
		break;
	case 409:
		reason = "Conflict";
		break;
	case 413:
		reason = "Payload Too Large";
		break;
	case 415:
		reason = "Unsupported Media Type";
		break;
	case 503:
		reason = "Service Unavailable";
		break;
	default:
		reason = "Internal Server Error";
		break;
	}
	if (evhttp_find_header(h, "Content-Type") == NULL)
		evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evbuffer_add(body, "\n", 1);
	/* evhttp 2.1 would send a HEAD reply's body: drop it here */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD)
		evbuffer_drain(body, evbuffer_get_length(body));
	evhttp_send_reply(req, status, reason, body);
	evbuffer_free(body);
}

void admin_error(struct evhttp_request *req, int status, const char *code, const char *fmt, ...)
{
	struct evbuffer *body = evbuffer_new();
	struct json_out j;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_init(&j, body);
	json_obj_open(&j);
	json_key(&j, "error");
	json_obj_open(&j);
	json_kstr(&j, "code", code);
	json_kstr(&j, "message", msg);
	json_obj_close(&j);
	json_obj_close(&j);
	admin_reply(req, status, body);
}

void admin_error_err(struct evhttp_request *req, int err, const char *message)
{
	int status;

	switch (err) {
	case SB_ERR_NOT_FOUND:
		status = 404;
		break;
	case SB_ERR_INVALID_ARGUMENT:
		status = 400;
		break;
	case SB_ERR_CONFLICT:
		status = 409;
		break;
	case SB_ERR_STORE_UNAVAILABLE:
	case SB_ERR_NOT_LEADER:
		status = 503;
		break;
	case SB_ERR_UNAUTHENTICATED:
		status = 401;
		break;
	case SB_ERR_FORBIDDEN:
		status = 403;
		break;
	default:
		status = 500;
		break;
	}
	admin_error(req, status, sb_err_name(err), "%s", message);
}

struct jv *admin_body_json(struct admin_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	char err[160];
	struct jv *v;

	if (len == 0) {
		admin_error(r->req, 400, "INVALID_ARGUMENT", "a JSON body is required");
		return NULL;
	}
	/* evhttp already refused bodies above admin.max_body_bytes */
	v = jv_parse((const char *)evbuffer_pullup(in, -1), len, err, sizeof err);
	if (v == NULL)
		admin_error(r->req, 400, "BAD_JSON", "the body is not valid JSON: %s", err);
	return v;
}

/* Whether the request carries "Authorization: Bearer <admin.token>". The
 * comparison is constant-time (digests), whatever the lengths. */
static bool admin_authorized(struct admin *adm, struct evhttp_request *req)
{
	const char *token = router_config(adm->env.router)->admin_token;
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");

	if (token == NULL || h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	return secret_equal(h, token);
}

/* Splits a decoded path into segments; returns their count or -1 when
 * there are too many or the path is malformed. */
static int admin_split(char *path, char *seg[ADMIN_MAX_PATH_SEGMENTS])
{
	int n = 0;

	if (path[0] != '/')
		return -1;
	for (char *p = path + 1; *p != '\0';) {
		char *slash = strchr(p, '/');
		if (n == ADMIN_MAX_PATH_SEGMENTS)
			return -1;
		seg[n++] = p;
		if (slash == NULL)
			break;
		*slash = '\0';
		p = slash + 1;
		if (*p == '\0') /* trailing slash: "/v1/queues/" is "/v1/queues" */
			break;
	}
	return n;
}

/* Whether pattern matches the segments; *param gets the "{}" segment. */
static bool admin_match(const char *pattern, char *const seg[], int n, const char **param)
{
	char buf[128], *pseg[ADMIN_MAX_PATH_SEGMENTS];
	int pn;

	snprintf(buf, sizeof buf, "%s", pattern);
	pn = admin_split(buf, pseg);
	if (pn != n)
		return false;
	*param = NULL;
	for (int i = 0; i < n; i++) {
		if (strcmp(pseg[i], "{}") == 0) {
			if (seg[i][0] == '\0')
				return false;
			*param = seg[i];
		} else if (strcmp(pseg[i], seg[i]) != 0) {
			return false;
		}
	}
	return true;
}

static const char *admin_method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	default:
		return "OTHER";
	}
}

/* Every request: route by path, then method; check the token where the
 * route changes state. */
static void admin_on_request(struct evhttp_request *req, void *arg)
{
	struct admin *adm = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *raw = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	char *seg[ADMIN_MAX_PATH_SEGMENTS], allow[96] = "";
	const struct admin_route *hit = NULL;
	const char *param = NULL;
	size_t plen = 0;
	char *path;
	int n;

	if (adm->metrics != NULL)
		adm->metrics->admin_requests++;
	admin_conns_request_started(adm, req);
	path = raw != NULL ? evhttp_uridecode(raw, 0, &plen) : NULL;
	/* a %00 would cut the path short: refuse it rather than route a prefix */
	if (path == NULL || strlen(path) != plen || (n = admin_split(path, seg)) < 0) {
		free(path);
		admin_error(req, 404, "NOT_FOUND", "no such route");
		return;
	}
	for (size_t i = 0; i < admin_routes_len; i++) {
		const struct admin_route *rt = &admin_routes[i];
		const char *p;
		if (!admin_match(rt->pattern, seg, n, &p))
			continue;
		if (rt->method == method ||
		    (method == EVHTTP_REQ_HEAD && rt->method == EVHTTP_REQ_GET)) {
			hit = rt;
			param = p;
			break;
		}
		if (strstr(allow, admin_method_name(rt->method)) == NULL)
			snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
			         allow[0] ? ", " : "", admin_method_name(rt->method));
	}
	if (hit == NULL) {
		if (allow[0] != '\0') {
			evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
			admin_error(req, 405, "METHOD_NOT_ALLOWED",
			            "%s is not allowed here (allowed: %s)",
			            admin_method_name(method), allow);
		} else {
			admin_error(req, 404, "NOT_FOUND", "no such route");
		}
		free(path);
		return;
	}
	/* Every change, and every attempt refused, says who sent it. */
	char who[96], shown[200];
	if (hit->changes_state && !admin_authorized(adm, req)) {
		log_warnx("admin: %s %s by %s refused: no valid admin token",
		          admin_method_name(method), admin_log_path(raw, shown, sizeof shown),
		          admin_caller(req, who, sizeof who));
		if (router_config(adm->env.router)->admin_token == NULL) {
			admin_error(req, 403, "FORBIDDEN",
			            "changes are disabled: admin.token_file is not configured");
		} else {
			metrics_auth_failure(METRICS_AUTH_ADMIN,
			                     evhttp_find_header(evhttp_request_get_input_headers(req),
			                                        "Authorization") == NULL
			                         ? "no bearer token"
			                         : "wrong bearer token");
			evhttp_add_header(evhttp_request_get_output_headers(req),
			                  "WWW-Authenticate", "Bearer realm=\"switchboard\"");
			admin_error(req, 401, "UNAUTHENTICATED",
			            "this route needs Authorization: Bearer <admin token>");
		}
		free(path);
		return;
	}
	if (hit->changes_state)
		log_info("admin: %s %s by %s with the admin token", admin_method_name(method),
		         admin_log_path(raw, shown, sizeof shown), admin_caller(req, who, sizeof who));
	struct admin_req r = {adm, req, param};
	hit->handler(&r);
	free(path);
}

/* A pause after a failed accept is over: accept again unless at the cap. */
static void admin_resume(void *arg)
{
	struct admin *adm = arg;

	if (!adm->accept_paused && adm->lev != NULL)
		evconnlistener_enable(adm->lev);
}

/* A listener for a unix socket path (evconnlistener_new_bind is TCP only
 * in spirit: it would not unlink a stale socket). */
static struct evconnlistener *admin_listen_unix(struct event_base *base, const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct evconnlistener *lev;

	if (fd < 0)
		return NULL;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 || listen(fd, 128) != 0 ||
	    evutil_make_socket_nonblocking(fd) != 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	lev = evconnlistener_new(base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (lev == NULL)
		close(fd);
	return lev;
}

static struct evconnlistener *admin_listen(struct admin *adm, const char *address)
{
	struct event_base *base = adm->env.base;
	struct sockaddr_storage ss;
	int sslen = sizeof ss;
	struct address a;
	const char *why;
	char spec[300];
	struct evconnlistener *lev;

	if (address_parse(address, &a, &why) != 0) {
		log_error("admin.listen %s: %s", address, why);
		return NULL;
	}
	if (a.is_unix) {
		lev = admin_listen_unix(base, a.path);
		snprintf(adm->address, sizeof adm->address, "unix:%s", a.path);
	} else {
		snprintf(spec, sizeof spec, strchr(a.host, ':') ? "[%s]:%d" : "%s:%d", a.host,
		         a.port);
		memset(&ss, 0, sizeof ss);
		if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) != 0) {
			log_error("admin.listen %s: not a numeric address", address);
			return NULL;
		}
		lev = evconnlistener_new_bind(base, NULL, NULL,
		                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
		                              (struct sockaddr *)&ss, sslen);
		snprintf(adm->address, sizeof adm->address, "%s", spec);
	}
	if (lev == NULL)
		log_warn("admin: listen %s", address);
	return lev;
}

struct admin *admin_new(const struct admin_env *env)
{
	const struct sb_config *cfg = router_config(env->router);
	struct admin *adm = xcalloc(1, sizeof *adm);
	struct admin *adm_ = adm;
	struct timeval tv;

	adm->env = *env;
	adm->started_ms = router_now_ms();
	adm->max_conns = (size_t)cfg->admin_max_connections;
	admin_conns_init(adm);
	adm->metrics = metrics_new();
	metrics_install(adm->metrics);
	if (cfg->admin_listen == NULL || cfg->admin_listen[0] == '\0') {
		log_info("admin: off (admin.listen is empty)");
		return adm;
	}
	adm->lev = admin_listen(adm, cfg->admin_listen);
	if (adm->lev == NULL) {
		admin_free(adm);
		return NULL;
	}
	adm->http = evhttp_new(adm_->env.base);
	if (adm->http == NULL || evhttp_bind_listener(adm->http, adm->lev) == NULL) {
		log_error("admin: cannot start the HTTP server");
		if (adm->http == NULL)
			evconnlistener_free(adm->lev);
		adm->lev = NULL;
		admin_free(adm);
		return NULL;
	}
	char name[360];
	snprintf(name, sizeof name, "admin listener %s", adm->address);
	adm->guard = accept_guard_new(adm->lev, name, admin_resume, adm);
	evhttp_set_max_headers_size(adm->http, (ev_ssize_t)cfg->admin_max_header_bytes);
	evhttp_set_max_body_size(adm->http, (ev_ssize_t)cfg->admin_max_body_bytes);
	tv.tv_sec = cfg->admin_timeout_ms / 1000;
	tv.tv_usec = (cfg->admin_timeout_ms % 1000) * 1000;
	evhttp_set_timeout_tv(adm->http, &tv);
	/* every method reaches the router, which answers 405 in JSON with Allow */
	evhttp_set_allowed_methods(adm->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	                                          EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE |
	                                          EVHTTP_REQ_PUT | EVHTTP_REQ_OPTIONS |
	                                          EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
	evhttp_set_default_content_type(adm->http, "application/json");
	evhttp_set_bevcb(adm->http, admin_conns_on_new, adm);
	evhttp_set_gencb(adm->http, admin_on_request, adm);
	admin_wallboard_init(adm);
	log_info("admin: listening on %s (changes %s)", adm->address,
	         cfg->admin_token != NULL ? "need the bearer token" : "disabled: no admin.token");
	return adm;
}

void admin_free(struct admin *adm)
{
	if (adm == NULL)
		return;
	/* Frees every connection (each calls admin_on_conn_gone) and the
	 * listener it was bound to. */
	struct evconnlistener *lev = adm->lev;

	adm->lev = NULL; /* evhttp_free frees it before the connections */
	accept_guard_free(adm->guard);
	if (adm->http != NULL)
		evhttp_free(adm->http);
	else if (lev != NULL)
		evconnlistener_free(lev);
	admin_wallboard_clear(adm); /* after evhttp_free: its streams are gone */
	/* every connection's close callback has run; drop what is left */
	admin_conns_clear(adm);
	metrics_free(adm->metrics);
	free(adm);
}
