/* Backing off when accept() fails. Out of file descriptors (EMFILE,
 * ENFILE) or kernel memory, a listening socket stays readable with the
 * connection still queued, and libevent calls the error callback and tries
 * again at once: the loop spins, other clients wait, and a line logged per
 * try fills the disk. A guard pauses the listener instead (100 ms, doubling
 * while failures go on, up to 1 s), and logs at most one line per 10 s with
 * how many accepts failed, and one when accepting works again.
 *
 * Owner: whoever owns the listener; free the guard before the listener.
 * Both the client ports (session/listener.c) and the admin port use it. */
#ifndef SB_UTIL_ACCEPT_GUARD_H
#define SB_UTIL_ACCEPT_GUARD_H

#include <stdbool.h>

struct evconnlistener;
struct accept_guard;

/* Guards lev (installing its error callback); name is for logs ("gateway
 * listener 127.0.0.1:7400"). When a pause ends, resume(arg) is called to
 * enable the listener again, so that an owner which also pauses it for
 * reasons of its own (a connection cap) keeps the last word. */
struct accept_guard *accept_guard_new(struct evconnlistener *lev, const char *name,
				      void (*resume)(void *arg), void *arg);
void accept_guard_free(struct accept_guard *g);

/* A connection was accepted: ends a run of failures. Cheap when none. */
void accept_guard_accepted(struct accept_guard *g);
/* Whether accepting is paused after a failure. */
bool accept_guard_paused(const struct accept_guard *g);

#endif
