/* sb-proxy: a freezable TCP relay for fault-injection tests.
 *
 *   sb-proxy LISTEN_HOST:PORT UPSTREAM_HOST:PORT
 *
 * Listens on LISTEN_HOST:PORT and relays every accepted connection to a new
 * connection to UPSTREAM_HOST:PORT, both directions, until either side
 * closes (what one side sent before it closed is still delivered to the
 * other, then both are closed). Prints "ready" on stdout once it listens.
 *
 * Freezing it cuts its clients off from the upstream without closing
 * anything: `kill -STOP <pid>` and the kernel keeps accepting connections
 * into the listen backlog and keeps buffering what clients send, but nothing
 * is relayed; `kill -CONT <pid>` and relaying resumes where it stopped. The
 * integration tests (SB_PROXY) and bench/'s fault-injection script use this
 * exact command line: keep it stable.
 *
 * Hosts are names or addresses ("127.0.0.1", "localhost", "::1" or "[::1]").
 * One process, one poll() loop, no threads; SIGTERM or SIGINT ends it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define PROXY_BUF (64 * 1024)   /* bytes buffered per direction */
#define PROXY_MAX_PAIRS 4096    /* relayed connections at once; more are refused */

/* One direction of a relayed connection: bytes read from one socket and not
 * yet written to the other. */
struct pipe_buf {
	char data[PROXY_BUF];
	size_t off, len;
	bool eof; /* the reading side closed (or failed) */
};

/* A client connection and its upstream connection. */
struct pair {
	int client, upstream;
	bool connecting;       /* the upstream connect() is still in progress */
	struct pipe_buf up;    /* client -> upstream */
	struct pipe_buf down;  /* upstream -> client */
};

static struct pair *pairs[PROXY_MAX_PAIRS];
static size_t n_pairs;

static void usage(void)
{
	fprintf(stderr, "usage: sb-proxy LISTEN_HOST:PORT UPSTREAM_HOST:PORT\n");
	exit(2);
}

/* Splits "host:port" / "[v6]:port" and resolves it; the caller frees *out. */
static int resolve(const char *spec, bool passive, struct addrinfo **out)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	const char *h = spec;
	size_t hl;

	if (colon == NULL || colon[1] == '\0')
		return -1;
	hl = (size_t)(colon - spec);
	if (hl > 0 && spec[0] == '[' && spec[hl - 1] == ']') {
		h = spec + 1;
		hl -= 2;
	}
	if (hl >= sizeof host)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';

	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	if (passive)
		hints.ai_flags = AI_PASSIVE;
	int rc = getaddrinfo(hl ? host : NULL, colon + 1, &hints, out);
	if (rc != 0) {
		fprintf(stderr, "sb-proxy: %s: %s\n", spec, gai_strerror(rc));
		return -1;
	}
	return 0;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int listen_on(const char *spec)
{
	struct addrinfo *ai = NULL;
	int fd = -1, one = 1;

	if (resolve(spec, true, &ai) != 0)
		return -1;
	for (struct addrinfo *p = ai; p != NULL && fd < 0; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, p->ai_addr, p->ai_addrlen) != 0 || listen(fd, 511) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd >= 0)
		set_nonblock(fd);
	return fd;
}

/* Starts a non-blocking connect to the upstream; -1 if it failed at once. */
static int connect_upstream(const struct addrinfo *up, bool *in_progress)
{
	for (const struct addrinfo *p = up; p != NULL; p = p->ai_next) {
		int fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
				p->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, p->ai_addr, p->ai_addrlen) == 0) {
			*in_progress = false;
			return fd;
		}
		if (errno == EINPROGRESS) {
			*in_progress = true;
			return fd;
		}
		close(fd);
	}
	return -1;
}

static void pair_free(size_t i)
{
	struct pair *p = pairs[i];

	close(p->client);
	close(p->upstream);
	free(p);
	pairs[i] = pairs[--n_pairs];
}

static void accept_all(int lfd, const struct addrinfo *up)
{
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0)
			return; /* EAGAIN, or a transient error: poll again */
		bool in_progress = false;
		int u = n_pairs < PROXY_MAX_PAIRS ? connect_upstream(up, &in_progress) : -1;
		if (u < 0) {
			close(c);
			continue;
		}
		int one = 1;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct pair *p = calloc(1, sizeof *p);
		if (p == NULL) {
			close(c);
			close(u);
			continue;
		}
		p->client = c;
		p->upstream = u;
		p->connecting = in_progress;
		pairs[n_pairs++] = p;
	}
}

/* Reads what from can give into b. */
static void pump_in(int from, struct pipe_buf *b)
{
	if (b->eof || b->len > 0)
		return;
	ssize_t n = read(from, b->data, sizeof b->data);
	if (n > 0) {
		b->off = 0;
		b->len = (size_t)n;
	} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		b->eof = true;
	}
}

/* Writes what b holds to to; false when to failed. */
static bool pump_out(int to, struct pipe_buf *b)
{
	while (b->len > 0) {
		ssize_t n = write(to, b->data + b->off, b->len);
		if (n > 0) {
			b->off += (size_t)n;
			b->len -= (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return true;
		return false;
	}
	return true;
}

/* One pass over a pair after poll(); false when it is finished. */
static bool pair_step(struct pair *p, short crev, short urev)
{
	if (p->connecting) {
		if (!(urev & (POLLOUT | POLLERR | POLLHUP)))
			return !(crev & (POLLERR | POLLHUP)); /* the client gave up */
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(p->upstream, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
			return false;
		p->connecting = false;
	}
	if (crev & (POLLIN | POLLHUP | POLLERR))
		pump_in(p->client, &p->up);
	if (urev & (POLLIN | POLLHUP | POLLERR))
		pump_in(p->upstream, &p->down);
	if (!pump_out(p->upstream, &p->up) || !pump_out(p->client, &p->down))
		return false;
	/* Either side closed and what it sent has been passed on: done. */
	if ((p->up.eof && p->up.len == 0) || (p->down.eof && p->down.len == 0))
		return false;
	return true;
}

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	stopping = 1;
}

int main(int argc, char **argv)
{
	struct addrinfo *up = NULL;
	static struct pollfd fds[1 + 2 * PROXY_MAX_PAIRS];

	if (argc != 3)
		usage();
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int lfd = listen_on(argv[1]);
	if (lfd < 0) {
		fprintf(stderr, "sb-proxy: cannot listen on %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (resolve(argv[2], false, &up) != 0) {
		fprintf(stderr, "sb-proxy: bad upstream address %s\n", argv[2]);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	while (!stopping) {
		size_t n = 0;
		fds[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (size_t i = 0; i < n_pairs; i++) {
			struct pair *p = pairs[i];
			short cev = 0, uev = 0;
			if (p->connecting) {
				uev = POLLOUT;
			} else {
				/* Read a side only while its buffer is empty; write a
				 * side while the other direction holds bytes for it. */
				if (!p->up.eof && p->up.len == 0)
					cev |= POLLIN;
				if (!p->down.eof && p->down.len == 0)
					uev |= POLLIN;
				if (p->up.len > 0)
					uev |= POLLOUT;
				if (p->down.len > 0)
					cev |= POLLOUT;
			}
			fds[n++] = (struct pollfd){.fd = p->client, .events = cev};
			fds[n++] = (struct pollfd){.fd = p->upstream, .events = uev};
		}
		if (poll(fds, n, 1000) < 0) {
			if (errno == EINTR)
				continue;
			perror("sb-proxy: poll");
			return 1;
		}
		/* The pairs, then new ones: fds[] indexes the pairs as they were. */
		size_t polled = n_pairs;
		for (size_t i = polled; i > 0; i--) {
			struct pair *p = pairs[i - 1];
			if (!pair_step(p, fds[1 + 2 * (i - 1)].revents, fds[2 + 2 * (i - 1)].revents))
				pair_free(i - 1);
		}
		if (fds[0].revents & POLLIN)
			accept_all(lfd, up);
	}
	while (n_pairs > 0)
		pair_free(n_pairs - 1);
	close(lfd);
	freeaddrinfo(up);
	return 0;
}
