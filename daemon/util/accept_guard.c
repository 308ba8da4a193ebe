/* Backing off when accept() fails: see accept_guard.h. */
#include "util/accept_guard.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/xalloc.h"

/* The first pause, and the longest: long enough that the loop does real
 * work between tries, short enough that a freed descriptor is used soon. */
#define ACCEPT_GUARD_FIRST_MS 100
#define ACCEPT_GUARD_MAX_MS 1000 /* "up to 1 s" in the log line */
/* At most one line about failures per this long. */
#define ACCEPT_GUARD_LOG_MS 10000

struct accept_guard {
	struct evconnlistener *lev;
	struct event *timer;  /* ends a pause */
	struct event *report; /* reports failures not logged yet */
	void (*resume)(void *arg);
	void *arg;
	char name[160];
	bool paused;
	int64_t delay_ms;     /* the next pause */
	uint64_t run;         /* failures since the last accepted connection */
	uint64_t unlogged;    /* failures not reported yet */
	int64_t unlogged_ms;  /* when the first of them happened */
	int64_t logged_ms;    /* the last report; 0: none yet */
	int last_errno;
	bool recovered_unsaid; /* accepting again, and not logged yet */
	struct accept_guard *next; /* accept_guards */
};

/* libevent hands an error callback the listener and the accept callback's
 * argument, which for the admin port is evhttp's: a guard is found by its
 * listener. There are as many as listening ports (three). */
static struct accept_guard *accept_guards;

static int64_t accept_guard_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Logs the failures not reported yet, in one line. A daemon at its file
 * limit may fail and succeed in turn as descriptors come and go: every
 * line, including the one saying it accepts again, shares one budget of a
 * line per ACCEPT_GUARD_LOG_MS. */
static void accept_guard_report(struct accept_guard *g, int64_t now)
{
	if (g->unlogged == 0 && !(g->recovered_unsaid && g->run == 0))
		return;
	if (g->unlogged == 0)
		log_info("%s: accepting again", g->name);
	else if (g->unlogged == 1 && g->run == 1)
		log_warnx("%s: accept failed: %s; accepting paused for %" PRId64 " ms", g->name,
			  strerror(g->last_errno), g->delay_ms);
	else
		log_warnx("%s: accept failed %" PRIu64 " times in the last %" PRId64 " s: %s; %s",
			  g->name, g->unlogged, (now - g->unlogged_ms + 999) / 1000,
			  strerror(g->last_errno),
			  g->run > 0 ? "accepting paused (up to 1 s at a time)" : "accepting again");
	if (g->run == 0)
		g->recovered_unsaid = false;
	g->unlogged = 0;
	g->logged_ms = now;
}

/* Reports now when the budget allows, else once it does. */
static void accept_guard_report_soon(struct accept_guard *g, int64_t now)
{
	if (g->logged_ms == 0 || now - g->logged_ms >= ACCEPT_GUARD_LOG_MS) {
		accept_guard_report(g, now);
	} else if (!evtimer_pending(g->report, NULL)) {
		int64_t in = g->logged_ms + ACCEPT_GUARD_LOG_MS - now;
		struct timeval tv = {in / 1000, (in % 1000) * 1000};
		evtimer_add(g->report, &tv);
	}
}

static void accept_guard_on_report(evutil_socket_t fd, short what, void *arg)
{
	accept_guard_report(arg, accept_guard_now_ms());
}

static void accept_guard_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct accept_guard *g = arg;

	g->paused = false;
	g->resume(g->arg);
}

static void accept_guard_on_error(struct evconnlistener *lev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	int64_t now = accept_guard_now_ms();
	struct accept_guard *g = accept_guards;

	while (g != NULL && g->lev != lev)
		g = g->next;
	if (g == NULL) {
		log_warnx("accept failed: %s", strerror(err));
		return;
	}
	if (g->run++ == 0)
		g->delay_ms = ACCEPT_GUARD_FIRST_MS;
	if (g->unlogged++ == 0)
		g->unlogged_ms = now;
	g->last_errno = err;
	accept_guard_report_soon(g, now);
	/* The connection stays queued in the kernel's backlog until then. */
	evconnlistener_disable(lev);
	g->paused = true;
	struct timeval tv = {g->delay_ms / 1000, (g->delay_ms % 1000) * 1000};
	evtimer_add(g->timer, &tv);
	g->delay_ms = g->delay_ms * 2 > ACCEPT_GUARD_MAX_MS ? ACCEPT_GUARD_MAX_MS : g->delay_ms * 2;
}

struct accept_guard *accept_guard_new(struct evconnlistener *lev, const char *name,
				      void (*resume)(void *arg), void *arg)
{
	struct accept_guard *g = xcalloc(1, sizeof *g);

	g->lev = lev;
	g->resume = resume;
	g->arg = arg;
	snprintf(g->name, sizeof g->name, "%s", name);
	g->timer = evtimer_new(evconnlistener_get_base(lev), accept_guard_on_timer, g);
	g->report = evtimer_new(evconnlistener_get_base(lev), accept_guard_on_report, g);
	g->next = accept_guards;
	accept_guards = g;
	evconnlistener_set_error_cb(lev, accept_guard_on_error);
	return g;
}

void accept_guard_free(struct accept_guard *g)
{
	if (g == NULL)
		return;
	for (struct accept_guard **pp = &accept_guards; *pp != NULL; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	event_free(g->timer);
	event_free(g->report);
	free(g);
}

void accept_guard_accepted(struct accept_guard *g)
{
	if (g == NULL || g->run == 0)
		return;
	g->run = 0;
	g->recovered_unsaid = true;
	accept_guard_report_soon(g, accept_guard_now_ms());
}

bool accept_guard_paused(const struct accept_guard *g)
{
	return g != NULL && g->paused;
}
