/* A listening socket for one role: TCP (v4 or v6) or a unix socket. */
#ifndef SB_SESSION_LISTENER_H
#define SB_SESSION_LISTENER_H

struct event_base;
struct listener;

/* Called with each accepted socket (the callee owns fd) and its peer. */
typedef void (*listener_accept_fn)(void *arg, int fd, const char *peer);

/* Binds address; returns NULL after logging why. */
struct listener *listener_new(struct event_base *base, const char *address,
			      listener_accept_fn fn, void *arg);
void listener_free(struct listener *l);
/* The bound address, with the real port when 0 was asked for. */
const char *listener_address(const struct listener *l);

#endif
