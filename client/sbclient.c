/* sbclient: a blocking Switchboard client over one socket.
 *
 * Everything waits with poll() against an absolute deadline on the monotonic
 * clock, so an EINTR or a frame that is not the one wanted never stretches a
 * timeout. Incoming bytes go to a flat read buffer that frame_parse() cuts
 * into envelopes; frames set aside while waiting for a particular reply sit in
 * a FIFO that sbc_recv() empties first, so nothing is lost or reordered. */
#define _GNU_SOURCE
#include "sbclient.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "wire/frame.h"
#include "util/xalloc.h"

/* The client trusts the daemon more than the daemon trusts clients, but a
 * runaway length must still not make it allocate without bound. */
#define SBC_MAX_FRAME (16u * 1024 * 1024)
#define SBC_READ_CHUNK 65536
/* A daemon that accepts no bytes for this long is treated as gone. */
#define SBC_WRITE_TIMEOUT_MS 10000

struct sbc {
	int fd;
	SSL *ssl;      /* NULL: plain TCP */
	short io_want; /* what a TLS call that would block waits for */
	uint64_t seq;  /* last seq sent */

	uint8_t *buf; /* received bytes not yet parsed: buf[start..end) */
	size_t start, end, cap;

	Envelope **queue; /* frames set aside by the wait calls, oldest first */
	size_t qlen, qcap;

	bool eof;    /* the peer closed; only buffered frames remain */
	bool broken; /* undecodable input or a write error: no more frames */
	char err[160];

	/* Corked (sbc_cork): frames sent wait here for sbc_flush(). */
	bool corked;
	uint8_t *out;
	size_t out_len, out_cap;
};

/* A corked client writes what it holds once it holds this much. */
#define SBC_CORK_MAX (256 * 1024)

typedef bool (*sbc_match_fn)(const Envelope *env, const void *arg);

/* Milliseconds on the monotonic clock, for deadlines. */
static int64_t sbc_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Unix milliseconds, for Ping and for rendering the daemon's timestamps. */
static int64_t sbc_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A deadline for timeout_ms from now; -1 (no deadline) for a negative timeout. */
static int64_t sbc_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : sbc_mono_ms() + timeout_ms;
}

/* What is left of a deadline, as a poll() timeout. */
static int sbc_remaining(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - sbc_mono_ms();
	if (left <= 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Formats into a caller's error buffer (may be NULL). */
static void sbc_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sbc_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Waits for fd to become ready for events until deadline, riding out EINTR.
 * Returns 1 ready, 0 timed out, -1 poll failed. */
static int sbc_poll_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int n;

	for (;;) {
		n = poll(&pfd, 1, sbc_remaining(deadline));
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Finishes a non-blocking connect() started on fd. Returns 0 or an errno. */
static int sbc_connect_wait(int fd, int64_t deadline)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	int r = sbc_poll_fd(fd, POLLOUT, deadline);

	if (r == 0)
		return ETIMEDOUT;
	if (r < 0)
		return errno;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return errno;
	return soerr;
}

/* Connects a new non-blocking socket to sa. Returns the fd or -1 (errno set). */
static int sbc_connect_addr(int family, const struct sockaddr *sa, socklen_t salen,
                            int64_t deadline)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int e;

	if (fd < 0)
		return -1;
	if (connect(fd, sa, salen) == 0)
		return fd;
	/* A unix socket with a full backlog says EAGAIN; wait for it like TCP. */
	if (errno != EINPROGRESS && errno != EAGAIN && errno != EINTR) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	e = sbc_connect_wait(fd, deadline);
	if (e != 0) {
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Connects to "unix:/path". */
static int sbc_connect_unix(const char *path, int64_t deadline, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		sbc_errf(err, errlen, "unix socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = sbc_connect_addr(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun), deadline);
	if (fd < 0)
		sbc_errf(err, errlen, "connect unix:%s: %s", path, strerror(errno));
	return fd;
}

/* Splits "host:port" or "[v6]:port" into new host and port strings. */
static int sbc_split_hostport(const char *address, char **host, char **port)
{
	const char *colon;

	if (address[0] == '[') {
		const char *close = strchr(address, ']');

		if (close == NULL || close[1] != ':' || close[2] == '\0')
			return -1;
		*host = xstrndup(address + 1, (size_t)(close - address - 1));
		*port = xstrdup(close + 2);
		return 0;
	}
	colon = strrchr(address, ':');
	if (colon == NULL || colon[1] == '\0')
		return -1;
	*host = xstrndup(address, (size_t)(colon - address));
	*port = xstrdup(colon + 1);
	return 0;
}

/* Connects to the first reachable address host:port resolves to. */
static int sbc_connect_tcp(const char *address, int64_t deadline, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL, *ai;
	char *host = NULL, *port = NULL;
	int fd = -1, rc, one = 1, last = 0;

	if (sbc_split_hostport(address, &host, &port) < 0) {
		sbc_errf(err, errlen, "bad address '%s' (want host:port, [v6]:port or unix:/path)",
		         address);
		return -1;
	}
	/* An empty or wildcard host (a listen address copied from the config)
	 * means this machine. */
	if (host[0] == '\0' || strcmp(host, "*") == 0) {
		free(host);
		host = NULL;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		sbc_errf(err, errlen, "resolve %s: %s", address, gai_strerror(rc));
		goto out;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = sbc_connect_addr(ai->ai_family, ai->ai_addr, ai->ai_addrlen, deadline);
		if (fd < 0)
			last = errno;
	}
	if (fd < 0) {
		sbc_errf(err, errlen, "connect %s: %s", address, strerror(last));
		goto out;
	}
	/* Frames are small and latency-sensitive; Nagle only adds delay. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
out:
	if (res != NULL)
		freeaddrinfo(res);
	free(host);
	free(port);
	return fd;
}

/* ---- TLS: the only part of the client that speaks OpenSSL -------------- */

/* OpenSSL's reason for the last failure ("" when none); drains the queue. */
static void sbc_tls_reason(char *out, size_t len)
{
	unsigned long e = ERR_get_error();

	out[0] = '\0';
	if (e != 0)
		ERR_error_string_n(e, out, len);
	ERR_clear_error();
}

/* OpenSSL writes with write(), which raises SIGPIPE on a closed peer; the
 * signal is held back around its calls and swallowed if it came, so that
 * a daemon closing the connection is an error to report, not a crash. */
static bool sbc_tls_nopipe_begin(sigset_t *old)
{
	sigset_t pipe;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, old);
	/* Blocked already by the caller: a pending one may be theirs to see. */
	return !sigismember(old, SIGPIPE);
}

/* Ends sbc_tls_nopipe_begin: discards a SIGPIPE raised meanwhile. */
static void sbc_tls_nopipe_end(const sigset_t *old, bool blocked)
{
	sigset_t pipe, pending;
	struct timespec zero = {0, 0};

	if (!blocked)
		return;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
		sigtimedwait(&pipe, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* A client context: TLS 1.2 or later, the server verified against
 * tls->ca_file (or the system's CAs), our certificate when given. */
static SSL_CTX *sbc_tls_ctx(const struct sbc_tls *tls, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char why[256];

	if (ctx == NULL) {
		sbc_tls_reason(why, sizeof(why));
		sbc_errf(err, errlen, "cannot create a TLS context: %s", why);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* The protocol's frames carry their own lengths: a close without
	 * close_notify is an ordinary end of stream. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (tls->ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, tls->ca_file, NULL) != 1
	                         : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		sbc_tls_reason(why, sizeof(why));
		sbc_errf(err, errlen, "cannot load CA %s: %s",
		         tls->ca_file ? tls->ca_file : "(system default)", why);
		goto fail;
	}
	if (tls->cert_file != NULL &&
	    SSL_CTX_use_certificate_chain_file(ctx, tls->cert_file) != 1) {
		sbc_tls_reason(why, sizeof(why));
		sbc_errf(err, errlen, "cannot load certificate %s: %s", tls->cert_file, why);
		goto fail;
	}
	if (tls->cert_file != NULL &&
	    (SSL_CTX_use_PrivateKey_file(ctx, tls->key_file ? tls->key_file : tls->cert_file,
	                                 SSL_FILETYPE_PEM) != 1 ||
	     SSL_CTX_check_private_key(ctx) != 1)) {
		sbc_tls_reason(why, sizeof(why));
		sbc_errf(err, errlen, "cannot load private key %s: %s",
		         tls->key_file ? tls->key_file : tls->cert_file, why);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Which name the server's certificate must carry: server_name, else the
 * host part of address (none for unix sockets: the chain is still checked).
 * Returns 0, or -1 with err. */
static int sbc_tls_set_name(SSL *ssl, const char *address, const struct sbc_tls *tls, char *err,
                            size_t errlen)
{
	char *host = NULL, *port = NULL;
	const char *name = tls->server_name;
	unsigned char ip[16];
	int rc = 0;

	if (name == NULL && strncmp(address, "unix:", 5) != 0 &&
	    sbc_split_hostport(address, &host, &port) == 0)
		name = host;
	if (name != NULL) {
		bool is_ip =
		    inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

		/* An address is matched against IP subjectAltNames, a name
		 * against DNS ones and sent as SNI. */
		if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, name) != 1
		          : SSL_set1_host(ssl, name) != 1 ||
		                SSL_set_tlsext_host_name(ssl, name) != 1) {
			sbc_errf(err, errlen, "bad TLS server name '%s'", name);
			rc = -1;
		}
	}
	free(host);
	free(port);
	return rc;
}

/* Runs the client handshake on fd until deadline. Returns the session, or
 * NULL with err (the certificate check's verdict when that was the cause). */
static SSL *sbc_tls_start(int fd, const char *address, const struct sbc_tls *tls, int64_t deadline,
                          char *err, size_t errlen)
{
	SSL_CTX *ctx = sbc_tls_ctx(tls, err, errlen);
	SSL *ssl = ctx != NULL ? SSL_new(ctx) : NULL;
	char why[256];

	SSL_CTX_free(ctx); /* the session holds its own reference */
	if (ssl == NULL) {
		if (ctx != NULL)
			sbc_errf(err, errlen, "cannot create a TLS session");
		return NULL;
	}
	if (SSL_set_fd(ssl, fd) != 1 || sbc_tls_set_name(ssl, address, tls, err, errlen) != 0)
		goto fail;
	for (;;) {
		sigset_t old;
		bool blocked = sbc_tls_nopipe_begin(&old);
		ERR_clear_error();
		int r = SSL_connect(ssl);
		int e = SSL_get_error(ssl, r);
		sbc_tls_nopipe_end(&old, blocked);
		if (r == 1)
			return ssl;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			int p =
			    sbc_poll_fd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
			if (p > 0)
				continue;
			sbc_errf(err, errlen, "TLS handshake with %s: %s", address,
			         p == 0 ? "timed out" : strerror(errno));
			goto fail;
		}
		long v = SSL_get_verify_result(ssl);
		sbc_tls_reason(why, sizeof(why));
		if (v != X509_V_OK)
			sbc_errf(err, errlen,
			         "TLS handshake with %s: certificate verify failed: %s", address,
			         X509_verify_cert_error_string(v));
		else if (why[0] != '\0')
			sbc_errf(err, errlen, "TLS handshake with %s: %s", address, why);
		else
			sbc_errf(err, errlen, "TLS handshake with %s: %s", address,
			         e == SSL_ERROR_SYSCALL && errno != 0 ? strerror(errno)
			                                              : "connection closed");
		goto fail;
	}
fail:
	SSL_free(ssl);
	return NULL;
}

/* Maps a failed SSL_read/SSL_write to the socket calls' convention:
 * 0 at end of stream, else -1 with errno EAGAIN (c->io_want says for what)
 * or EPROTO (c->err says why). */
static ssize_t sbc_tls_result(struct sbc *c, int r, const char *op)
{
	int e = SSL_get_error(c->ssl, r);
	int saved = errno;
	/* what fits in c->err after "TLS write: " */
	char why[sizeof c->err - 16];

	switch (e) {
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_WANT_READ:
		c->io_want = POLLIN;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		c->io_want = POLLOUT;
		errno = EAGAIN;
		return -1;
	default:
		sbc_tls_reason(why, sizeof(why));
		snprintf(c->err, sizeof(c->err), "TLS %s: %s", op,
		         why[0] != '\0' ? why
		         : saved != 0   ? strerror(saved)
		                        : "connection lost");
		errno = EPROTO;
		return -1;
	}
}

/* send() over TLS. */
static ssize_t sbc_tls_send(struct sbc *c, const void *data, size_t len)
{
	sigset_t old;
	bool blocked;
	ssize_t n;
	int r;

	blocked = sbc_tls_nopipe_begin(&old);
	ERR_clear_error();
	errno = 0;
	r = SSL_write(c->ssl, data, len > INT32_MAX ? INT32_MAX : (int)len);
	n = r > 0 ? r : sbc_tls_result(c, r, "write");
	sbc_tls_nopipe_end(&old, blocked);
	if (r <= 0 && n == 0) {
		/* The daemon said goodbye while we were writing. */
		snprintf(c->err, sizeof(c->err), "TLS write: connection closed by daemon");
		errno = EPROTO;
		n = -1;
	}
	return n;
}

/* recv() over TLS. */
static ssize_t sbc_tls_recv(struct sbc *c, void *buf, size_t len)
{
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	return r > 0 ? r : sbc_tls_result(c, r, "read");
}

/* Whether OpenSSL holds received bytes that poll() cannot see. */
static bool sbc_tls_has_pending(const struct sbc *c)
{
	return c->ssl != NULL && SSL_has_pending(c->ssl) == 1;
}

/* Says goodbye (best effort, never waits) and frees the TLS session. */
static void sbc_tls_close(struct sbc *c)
{
	sigset_t old;
	bool blocked;

	if (c->ssl == NULL)
		return;
	blocked = sbc_tls_nopipe_begin(&old);
	if (!c->broken)
		SSL_shutdown(c->ssl);
	sbc_tls_nopipe_end(&old, blocked);
	SSL_free(c->ssl);
	c->ssl = NULL;
}

/* ---- connecting ----------------------------------------------------------- */

/* A connected socket to address, or -1 with err. */
static int sbc_open(const char *address, int64_t deadline, char *err, size_t errlen)
{
	if (address == NULL || address[0] == '\0') {
		sbc_errf(err, errlen, "no address given");
		return -1;
	}
	if (strncmp(address, "unix:", 5) == 0)
		return sbc_connect_unix(address + 5, deadline, err, errlen);
	return sbc_connect_tcp(address, deadline, err, errlen);
}

struct sbc *sbc_connect(const char *address, int timeout_ms, char *err, size_t errlen)
{
	int fd = sbc_open(address, sbc_deadline(timeout_ms), err, errlen);
	struct sbc *c;

	if (fd < 0)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	return c;
}

struct sbc *sbc_connect_tls(const char *address, int timeout_ms, const struct sbc_tls *tls,
                            char *err, size_t errlen)
{
	int64_t deadline = sbc_deadline(timeout_ms);
	struct sbc *c;
	SSL *ssl;
	int fd;

	if (tls == NULL)
		return sbc_connect(address, timeout_ms, err, errlen);
	fd = sbc_open(address, deadline, err, errlen);
	if (fd < 0)
		return NULL;
	ssl = sbc_tls_start(fd, address, tls, deadline, err, errlen);
	if (ssl == NULL) {
		close(fd);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->ssl = ssl;
	return c;
}

void sbc_close(struct sbc *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->qlen; i++)
		envelope_free(c->queue[i]);
	free(c->queue);
	free(c->buf);
	free(c->out);
	sbc_tls_close(c);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

int sbc_fd(const struct sbc *c)
{
	return c->fd;
}

const char *sbc_last_error(const struct sbc *c)
{
	return c->err[0] != '\0' ? c->err : "no error";
}

bool sbc_pending(const struct sbc *c)
{
	size_t avail = c->end - c->start;
	const uint8_t *p = c->buf + c->start;

	if (c->qlen > 0 || c->eof || c->broken || sbc_tls_has_pending(c))
		return true;
	if (avail < FRAME_HEADER_BYTES)
		return false;
	/* A whole frame, or a bad length that sbc_recv() will report. */
	uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return len == 0 || len > SBC_MAX_FRAME || avail - FRAME_HEADER_BYTES >= len;
}

/* Writes all of data, waiting (bounded) while the socket buffer is full. */
static int sbc_write_all(struct sbc *c, const uint8_t *data, size_t len)
{
	int64_t deadline = sbc_deadline(SBC_WRITE_TIMEOUT_MS);
	ssize_t n;

	if (c->broken) {
		return -1;
	}
	while (len > 0) {
		/* MSG_NOSIGNAL: a closed peer is an error to report, not SIGPIPE. */
		c->io_want = POLLOUT;
		n = c->ssl != NULL ? sbc_tls_send(c, data, len)
		                   : send(c->fd, data, len, MSG_NOSIGNAL);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = sbc_poll_fd(c->fd, c->io_want, deadline);

			if (r > 0)
				continue;
			snprintf(c->err, sizeof(c->err), "write: %s",
			         r == 0 ? "daemon stopped reading" : strerror(errno));
		} else if (c->ssl == NULL || errno != EPROTO) {
			snprintf(c->err, sizeof(c->err), "write: %s", strerror(errno));
		}
		c->broken = true;
		return -1;
	}
	return 0;
}

uint64_t sbc_send(struct sbc *c, Envelope *env)
{
	uint8_t *bytes = NULL;
	size_t len;
	int r;

	env->seq = ++c->seq;
	len = frame_encode(env, &bytes);
	if (len == 0) {
		free(bytes);
		snprintf(c->err, sizeof(c->err), "could not encode frame");
		return 0;
	}
	if (c->corked) {
		r = 0;
		if (c->out_len + len > SBC_CORK_MAX)
			r = sbc_flush(c);
		if (c->out_len + len > c->out_cap) {
			c->out_cap = c->out_len + len > 2 * c->out_cap ? c->out_len + len : 2 * c->out_cap;
			c->out = xrealloc(c->out, c->out_cap);
		}
		memcpy(c->out + c->out_len, bytes, len);
		c->out_len += len;
	} else {
		r = sbc_write_all(c, bytes, len);
	}
	free(bytes);
	return r == 0 ? env->seq : 0;
}

int sbc_send_raw(struct sbc *c, const void *data, size_t len)
{
	if (sbc_flush(c) != 0)
		return -1;
	return sbc_write_all(c, data, len);
}

void sbc_cork(struct sbc *c, bool on)
{
	c->corked = on;
	if (!on)
		(void)sbc_flush(c);
}

bool sbc_corked(const struct sbc *c)
{
	return c->corked;
}

size_t sbc_unflushed(const struct sbc *c)
{
	return c->out_len;
}

int sbc_flush(struct sbc *c)
{
	size_t len = c->out_len;

	if (len == 0)
		return 0;
	c->out_len = 0;
	return sbc_write_all(c, c->out, len);
}

/* Cuts one frame off the read buffer. Returns 1 (*out set), 0 when more bytes
 * are needed, -1 when the stream is undecodable (the connection is done). */
static int sbc_take_buffered(struct sbc *c, Envelope **out)
{
	size_t used = 0;
	const char *why = NULL;
	int r;

	if (c->broken)
		return -1;
	for (;;) {
		if (c->end == c->start)
			return 0;
		r = frame_parse(c->buf + c->start, c->end - c->start, SBC_MAX_FRAME, out, &used,
		                &why);
		if (r == 0)
			return 0;
		/* A string the daemon sent that is not valid UTF-8 (a contact
		 * stored before the daemon checked): a C client takes the
		 * bytes as they are, as it always did. */
		if (r == SB_ERR_INVALID_ARGUMENT)
			r = 1;
		if (r == 1 || (envelope_is_unknown_body(why) && used > 0)) {
			c->start += used;
			if (c->start == c->end)
				c->start = c->end = 0;
			if (r == 1)
				return 1;
			/* A newer daemon's body this build cannot show: the
			 * stream is still in step, so skip it and read on. */
			continue;
		}
		break;
	}
	snprintf(c->err, sizeof(c->err), "bad frame from daemon: %s", why ? why : "?");
	c->broken = true;
	return -1;
}

/* Makes room for at least one read chunk, compacting before growing. */
static void sbc_reserve(struct sbc *c)
{
	size_t want;

	if (c->cap - c->end >= SBC_READ_CHUNK)
		return;
	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
		if (c->cap - c->end >= SBC_READ_CHUNK)
			return;
	}
	/* Bounded: frame_parse rejects lengths above SBC_MAX_FRAME, so the
	 * buffer never holds more than one maximal frame plus a chunk. */
	want = c->cap ? c->cap * 2 : 2 * SBC_READ_CHUNK;
	while (want - c->end < SBC_READ_CHUNK)
		want *= 2;
	c->buf = xrealloc(c->buf, want);
	c->cap = want;
}

/* Reads what the socket has, waiting until deadline for something.
 * Returns 1 bytes read, 0 timed out, -1 closed or failed. */
static int sbc_fill(struct sbc *c, int64_t deadline)
{
	ssize_t n;
	int r;

	for (;;) {
		sbc_reserve(c);
		c->io_want = POLLIN;
		n = c->ssl != NULL ? sbc_tls_recv(c, c->buf + c->end, c->cap - c->end)
		                   : recv(c->fd, c->buf + c->end, c->cap - c->end, 0);
		if (n > 0) {
			c->end += (size_t)n;
			return 1;
		}
		if (n == 0) {
			c->eof = true;
			snprintf(c->err, sizeof(c->err), "%s",
			         c->end > c->start ? "connection closed mid-frame"
			                           : "connection closed by daemon");
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			/* A TLS failure has already said what went wrong. */
			if (c->ssl == NULL || errno != EPROTO)
				snprintf(c->err, sizeof(c->err), "read: %s", strerror(errno));
			c->broken = true;
			return -1;
		}
		r = sbc_poll_fd(c->fd, c->io_want, deadline);
		if (r == 0)
			return 0;
		if (r < 0) {
			snprintf(c->err, sizeof(c->err), "poll: %s", strerror(errno));
			c->broken = true;
			return -1;
		}
	}
}

/* Next frame off the wire (not the queue), waiting until deadline. */
static int sbc_next(struct sbc *c, int64_t deadline, Envelope **out)
{
	int r;

	for (;;) {
		r = sbc_take_buffered(c, out);
		if (r != 0)
			return r;
		if (c->eof)
			return -1;
		r = sbc_fill(c, deadline);
		if (r <= 0)
			return r;
	}
}

/* Appends env to the set-aside FIFO. */
static void sbc_enqueue(struct sbc *c, Envelope *env)
{
	if (c->qlen == c->qcap) {
		c->qcap = c->qcap ? c->qcap * 2 : 8;
		c->queue = xreallocarray(c->queue, c->qcap, sizeof(*c->queue));
	}
	c->queue[c->qlen++] = env;
}

/* Removes and returns queue entry i, keeping the others in order. */
static Envelope *sbc_dequeue_at(struct sbc *c, size_t i)
{
	Envelope *env = c->queue[i];

	memmove(c->queue + i, c->queue + i + 1, (c->qlen - i - 1) * sizeof(*c->queue));
	c->qlen--;
	return env;
}

/* The first frame that satisfies match, from the queue or the wire; frames
 * read meanwhile that do not match are queued for sbc_recv(). */
static int sbc_wait_match(struct sbc *c, sbc_match_fn match, const void *arg, int timeout_ms,
                          Envelope **out)
{
	int64_t deadline = sbc_deadline(timeout_ms);
	Envelope *env;
	int r;

	*out = NULL;
	/* A request still corked would never be answered. */
	if (timeout_ms != 0 && sbc_flush(c) != 0)
		return -1;
	for (size_t i = 0; i < c->qlen; i++) {
		if (match(c->queue[i], arg)) {
			*out = sbc_dequeue_at(c, i);
			return 1;
		}
	}
	for (;;) {
		r = sbc_next(c, deadline, &env);
		if (r <= 0)
			return r;
		if (match(env, arg)) {
			*out = env;
			return 1;
		}
		sbc_enqueue(c, env);
	}
}

int sbc_recv(struct sbc *c, int timeout_ms, Envelope **out)
{
	*out = NULL;
	if (timeout_ms != 0 && sbc_flush(c) != 0)
		return -1;
	if (c->qlen > 0) {
		*out = sbc_dequeue_at(c, 0);
		return 1;
	}
	return sbc_next(c, sbc_deadline(timeout_ms), out);
}

/* Matches the reply to one request. */
static bool sbc_match_ref(const Envelope *env, const void *arg)
{
	return env->ref == *(const uint64_t *)arg;
}

/* Matches one body type. */
static bool sbc_match_body(const Envelope *env, const void *arg)
{
	return env->body_case == *(const Switchboard__V1__Envelope__BodyCase *)arg;
}

/* Matches the answer to Hello: its reply, or a Welcome or refusal that a
 * daemon sent without echoing the seq. */
static bool sbc_match_hello(const Envelope *env, const void *arg)
{
	if (env->ref == *(const uint64_t *)arg)
		return true;
	return env->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_WELCOME ||
	       (env->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_ERROR && env->ref == 0);
}

int sbc_wait_reply(struct sbc *c, uint64_t seq, int timeout_ms, Envelope **out)
{
	return sbc_wait_match(c, sbc_match_ref, &seq, timeout_ms, out);
}

int sbc_wait_body(struct sbc *c, Switchboard__V1__Envelope__BodyCase body, int timeout_ms,
                  Envelope **out)
{
	return sbc_wait_match(c, sbc_match_body, &body, timeout_ms, out);
}

/* protobuf-c wants char *; the builders never let it write through them. */
static char *sbc_str(const char *s)
{
	return (char *)(s != NULL ? s : "");
}

int sbc_hello(struct sbc *c, Switchboard__V1__Role role, const char *client_id, const char *token,
              int timeout_ms, Envelope **welcome)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Hello hello = SWITCHBOARD__V1__HELLO__INIT;
	Envelope *reply = NULL;
	uint64_t seq;
	int r;

	if (welcome != NULL)
		*welcome = NULL;
	hello.role = role;
	hello.client_id = sbc_str(client_id);
	hello.token = sbc_str(token);
	hello.protocol_version = 1;
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	seq = sbc_send(c, &env);
	if (seq == 0)
		return -1;
	r = sbc_wait_match(c, sbc_match_hello, &seq, timeout_ms, &reply);
	if (r == 0)
		snprintf(c->err, sizeof(c->err), "no answer to Hello within %d ms", timeout_ms);
	if (r <= 0)
		return -1;
	if (reply->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_WELCOME) {
		if (welcome != NULL)
			*welcome = reply;
		else
			envelope_free(reply);
		return 0;
	}
	if (reply->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_ERROR) {
		int code = reply->error->code > 0 ? (int)reply->error->code
		                                  : SWITCHBOARD__V1__ERROR_CODE__INTERNAL;

		snprintf(c->err, sizeof(c->err), "Hello refused: %s",
		         reply->error->message ? reply->error->message : "");
		envelope_free(reply);
		return code;
	}
	snprintf(c->err, sizeof(c->err), "unexpected %s in answer to Hello",
	         envelope_body_name(reply->body_case));
	envelope_free(reply);
	return -1;
}

uint64_t sbc_submit(struct sbc *c, const struct sbc_submit *s)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__SubmitContact sub = SWITCHBOARD__V1__SUBMIT_CONTACT__INIT;
	Switchboard__V1__Customer cust = SWITCHBOARD__V1__CUSTOMER__INIT;
	Switchboard__V1__SubmitContact__AttributesEntry *entries = NULL;
	Switchboard__V1__SubmitContact__AttributesEntry **ptrs = NULL;
	uint64_t seq;

	sub.external_id = sbc_str(s->external_id);
	sub.channel = s->channel;
	sub.queue = sbc_str(s->queue);
	if ((s->customer_id && s->customer_id[0]) || (s->customer_tier && s->customer_tier[0])) {
		cust.id = sbc_str(s->customer_id);
		cust.tier = sbc_str(s->customer_tier);
		sub.customer = &cust;
	}
	sub.language = sbc_str(s->language);
	sub.priority = s->priority;
	sub.preferred_agent_id = sbc_str(s->preferred_agent_id);
	sub.preferred_wait_ms = s->preferred_wait_ms;
	if (s->n_attrs > 0) {
		entries = xcalloc(s->n_attrs, sizeof(*entries));
		ptrs = xcalloc(s->n_attrs, sizeof(*ptrs));
		for (size_t i = 0; i < s->n_attrs; i++) {
			Switchboard__V1__SubmitContact__AttributesEntry init =
			    SWITCHBOARD__V1__SUBMIT_CONTACT__ATTRIBUTES_ENTRY__INIT;

			entries[i] = init;
			entries[i].key = sbc_str(s->attr_keys[i]);
			entries[i].value = sbc_str(s->attr_values[i]);
			ptrs[i] = &entries[i];
		}
		sub.n_attributes = s->n_attrs;
		sub.attributes = ptrs;
	}
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_SUBMIT_CONTACT;
	env.submit_contact = &sub;
	seq = sbc_send(c, &env);
	free(ptrs);
	free(entries);
	return seq;
}

uint64_t sbc_cancel(struct sbc *c, const char *contact_id, const char *reason)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__CancelContact m = SWITCHBOARD__V1__CANCEL_CONTACT__INIT;

	m.contact_id = sbc_str(contact_id);
	m.reason = sbc_str(reason);
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_CANCEL_CONTACT;
	env.cancel_contact = &m;
	return sbc_send(c, &env);
}

uint64_t sbc_explain(struct sbc *c, const char *contact_id)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__ExplainContact m = SWITCHBOARD__V1__EXPLAIN_CONTACT__INIT;

	m.contact_id = sbc_str(contact_id);
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_EXPLAIN_CONTACT;
	env.explain_contact = &m;
	return sbc_send(c, &env);
}

uint64_t sbc_set_state(struct sbc *c, Switchboard__V1__AgentState state, const char *reason)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__SetState m = SWITCHBOARD__V1__SET_STATE__INIT;

	m.state = state;
	m.reason = sbc_str(reason);
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_SET_STATE;
	env.set_state = &m;
	return sbc_send(c, &env);
}

uint64_t sbc_accept(struct sbc *c, const char *offer_id)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__AcceptOffer m = SWITCHBOARD__V1__ACCEPT_OFFER__INIT;

	m.offer_id = sbc_str(offer_id);
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_ACCEPT_OFFER;
	env.accept_offer = &m;
	return sbc_send(c, &env);
}

uint64_t sbc_reject(struct sbc *c, const char *offer_id, const char *reason)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__RejectOffer m = SWITCHBOARD__V1__REJECT_OFFER__INIT;

	m.offer_id = sbc_str(offer_id);
	m.reason = sbc_str(reason);
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_REJECT_OFFER;
	env.reject_offer = &m;
	return sbc_send(c, &env);
}

uint64_t sbc_complete(struct sbc *c, const char *contact_id, const char *disposition)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__CompleteContact m = SWITCHBOARD__V1__COMPLETE_CONTACT__INIT;

	m.contact_id = sbc_str(contact_id);
	m.disposition = sbc_str(disposition);
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_COMPLETE_CONTACT;
	env.complete_contact = &m;
	return sbc_send(c, &env);
}

uint64_t sbc_ready(struct sbc *c)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Ready m = SWITCHBOARD__V1__READY__INIT;

	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_READY;
	env.ready = &m;
	return sbc_send(c, &env);
}

uint64_t sbc_ping(struct sbc *c)
{
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Ping m = SWITCHBOARD__V1__PING__INIT;

	m.client_time_ms = (uint64_t)sbc_wall_ms();
	env.body_case = SWITCHBOARD__V1__ENVELOPE__BODY_PING;
	env.ping = &m;
	return sbc_send(c, &env);
}

/* ---- rendering --------------------------------------------------------- */

const char *sbc_error_code_name(int code)
{
	static const char *const names[] = {
	    "ERROR_CODE_UNSPECIFIED",
	    "BAD_FRAME",
	    "UNAUTHENTICATED",
	    "FORBIDDEN",
	    "NOT_FOUND",
	    "INVALID_ARGUMENT",
	    "STORE_UNAVAILABLE",
	    "NOT_LEADER",
	    "OVERLOADED",
	    "CONFLICT",
	    "INTERNAL",
	};

	if (code >= 0 && (size_t)code < sizeof(names) / sizeof(names[0]))
		return names[code];
	return "UNKNOWN_ERROR";
}

const char *sbc_channel_name(int wire)
{
	static const char *const names[] = {"unspecified", "voice", "chat", "email", "social"};

	return wire >= 0 && wire <= 4 ? names[wire] : "?";
}

const char *sbc_state_name(int wire)
{
	static const char *const names[] = {"unspecified", "offline", "available", "break"};

	return wire >= 0 && wire <= 3 ? names[wire] : "?";
}

/* Name of a ContactEvent kind, as a verb-like word. */
static const char *sbc_event_kind_name(int kind)
{
	switch (kind) {
	case SWITCHBOARD__V1__CONTACT_EVENT__KIND__SLA_BREACHED:
		return "sla_breached";
	case SWITCHBOARD__V1__CONTACT_EVENT__KIND__EXPIRED:
		return "expired";
	case SWITCHBOARD__V1__CONTACT_EVENT__KIND__OVERFLOWED:
		return "overflowed";
	case SWITCHBOARD__V1__CONTACT_EVENT__KIND__REQUEUED:
		return "requeued";
	case SWITCHBOARD__V1__CONTACT_EVENT__KIND__TRANSFERRED:
		return "transferred";
	default:
		return "contact_event";
	}
}

/* A bounded string builder that never overruns and always terminates. */
struct sbc_sb {
	char *buf;
	size_t len, cap;
};

/* Appends formatted text, truncating silently at the end of the buffer. */
static void sbc_sb_add(struct sbc_sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sbc_sb_add(struct sbc_sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len + 1 >= b->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	b->len += (size_t)n < b->cap - b->len ? (size_t)n : b->cap - b->len - 1;
}

/* "in 15.0s" or "3.2s ago" for a Unix ms timestamp from the daemon. */
static void sbc_sb_when(struct sbc_sb *b, uint64_t unix_ms)
{
	int64_t d = (int64_t)unix_ms - sbc_wall_ms();

	if (unix_ms == 0)
		sbc_sb_add(b, "unset");
	else if (d >= 0)
		sbc_sb_add(b, "in %.1fs", (double)d / 1000.0);
	else
		sbc_sb_add(b, "%.1fs ago", (double)-d / 1000.0);
}

/* Shows empty protobuf strings as "-" so columns stay readable. */
static const char *sbc_show(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "-";
}

/* " (text)" when text is non-empty. */
static void sbc_sb_reason(struct sbc_sb *b, const char *text)
{
	if (text != NULL && text[0] != '\0')
		sbc_sb_add(b, " (%s)", text);
}

/* The contact summary shared by Offer and AssignmentConfirmed. */
static void sbc_sb_contact(struct sbc_sb *b, const Switchboard__V1__ContactInfo *ci)
{
	if (ci == NULL)
		return;
	sbc_sb_add(b, " %s queue %s", sbc_channel_name(ci->channel), sbc_show(ci->queue));
	if (ci->customer != NULL && ci->customer->tier != NULL && ci->customer->tier[0] != '\0')
		sbc_sb_add(b, " tier %s", ci->customer->tier);
	if (ci->gateway_id != NULL && ci->gateway_id[0] != '\0')
		sbc_sb_add(b, " from %s/%s", ci->gateway_id, sbc_show(ci->external_id));
}

const char *sbc_describe(const Envelope *env, char *buf, size_t len)
{
	struct sbc_sb b = {buf, 0, len};

	if (len == 0)
		return buf;
	buf[0] = '\0';
	switch (env->body_case) {
	case SWITCHBOARD__V1__ENVELOPE__BODY_HELLO:
		/* The token is a credential: never rendered. */
		sbc_sb_add(&b, "hello %s %s protocol %u",
		           env->hello->role == SWITCHBOARD__V1__ROLE__ROLE_GATEWAY ? "gateway"
		           : env->hello->role == SWITCHBOARD__V1__ROLE__ROLE_AGENT ? "agent"
		                                                                   : "?",
		           sbc_show(env->hello->client_id), env->hello->protocol_version);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_WELCOME:
		sbc_sb_add(&b, "welcome session %s heartbeat %ums",
		           sbc_show(env->welcome->session_id), env->welcome->heartbeat_ms);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_PING:
		sbc_sb_add(&b, "ping");
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_PONG: {
		int64_t rtt = sbc_wall_ms() - (int64_t)env->pong->client_time_ms;

		sbc_sb_add(&b, "pong rtt %" PRId64 "ms", env->pong->client_time_ms ? rtt : 0);
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_ERROR:
		sbc_sb_add(&b, "error %s: %s (ref %" PRIu64 ")",
		           sbc_error_code_name(env->error->code), sbc_show(env->error->message),
		           env->ref ? env->ref : env->error->ref);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_SUBMIT_CONTACT: {
		const Switchboard__V1__SubmitContact *m = env->submit_contact;

		sbc_sb_add(&b, "submit %s %s queue %s", sbc_show(m->external_id),
		           sbc_channel_name(m->channel), sbc_show(m->queue));
		if (m->customer != NULL)
			sbc_sb_add(&b, " customer %s tier %s", sbc_show(m->customer->id),
			           sbc_show(m->customer->tier));
		if (m->priority != 0)
			sbc_sb_add(&b, " priority %d", m->priority);
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_CANCEL_CONTACT:
		sbc_sb_add(&b, "cancel %s", sbc_show(env->cancel_contact->contact_id));
		sbc_sb_reason(&b, env->cancel_contact->reason);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_ACCEPTED: {
		const Switchboard__V1__ContactAccepted *m = env->contact_accepted;

		sbc_sb_add(&b, "accepted contact %s queue %s position %u deadline ",
		           sbc_show(m->contact_id), sbc_show(m->queue), m->position);
		sbc_sb_when(&b, m->deadline_ms);
		if (m->estimated_wait_unknown)
			sbc_sb_add(&b, " estimated wait unknown");
		else
			sbc_sb_add(&b, " estimated wait %.1fs", (double)m->estimated_wait_ms / 1000.0);
		sbc_sb_add(&b, "%s", m->duplicate ? " (duplicate)" : "");
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_ASSIGNED: {
		const Switchboard__V1__ContactAssigned *m = env->contact_assigned;

		sbc_sb_add(&b, "assigned %s -> %s waited %.1fs %s", sbc_show(m->contact_id),
		           sbc_show(m->agent_id), (double)m->waited_ms / 1000.0,
		           m->sla_met ? "SLA met" : "SLA missed");
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_EVENT:
		sbc_sb_add(&b, "%s %s", sbc_event_kind_name(env->contact_event->kind),
		           sbc_show(env->contact_event->contact_id));
		sbc_sb_reason(&b, env->contact_event->detail);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_COMPLETED:
		sbc_sb_add(&b, "completed %s %s handled %.1fs",
		           sbc_show(env->contact_completed->contact_id),
		           sbc_show(env->contact_completed->disposition),
		           (double)env->contact_completed->handle_ms / 1000.0);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_CANCELLED:
		sbc_sb_add(&b, "cancelled %s", sbc_show(env->contact_cancelled->contact_id));
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_EXPLAIN_CONTACT:
		sbc_sb_add(&b, "explain %s", sbc_show(env->explain_contact->contact_id));
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_CONTACT_EXPLANATION: {
		const Switchboard__V1__ContactExplanation *m = env->contact_explanation;

		sbc_sb_add(&b,
		           "explanation %s %s queue %s step %u position %u waited %.1fs deadline ",
		           sbc_show(m->contact_id), sbc_show(m->state), sbc_show(m->queue), m->step,
		           m->position, (double)m->waited_ms / 1000.0);
		sbc_sb_when(&b, m->deadline_ms);
		sbc_sb_add(
		    &b,
		    "; agents eligible %u, blocked by queue %u skill %u tier %u preferred %u "
		    "state %u capacity %u penalty %u",
		    m->eligible, m->blocked_queue, m->blocked_skill, m->blocked_tier,
		    m->blocked_preferred, m->blocked_state, m->blocked_capacity,
		    m->blocked_penalty);
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_SET_STATE:
		sbc_sb_add(&b, "set_state %s", sbc_state_name(env->set_state->state));
		sbc_sb_reason(&b, env->set_state->reason);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_ACCEPT_OFFER:
		sbc_sb_add(&b, "accept %s", sbc_show(env->accept_offer->offer_id));
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_REJECT_OFFER:
		sbc_sb_add(&b, "reject %s", sbc_show(env->reject_offer->offer_id));
		sbc_sb_reason(&b, env->reject_offer->reason);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_COMPLETE_CONTACT:
		sbc_sb_add(&b, "complete %s %s", sbc_show(env->complete_contact->contact_id),
		           sbc_show(env->complete_contact->disposition));
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_READY:
		sbc_sb_add(&b, "ready");
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_TRANSFER:
		sbc_sb_add(&b, "transfer %s to queue %s", sbc_show(env->transfer->contact_id),
		           sbc_show(env->transfer->queue));
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_OFFER: {
		const Switchboard__V1__Offer *m = env->offer;

		sbc_sb_add(&b, "offer %s contact %s", sbc_show(m->offer_id),
		           m->contact ? sbc_show(m->contact->contact_id) : "-");
		sbc_sb_contact(&b, m->contact);
		sbc_sb_add(&b, " expires ");
		sbc_sb_when(&b, m->expires_ms);
		break;
	}
	case SWITCHBOARD__V1__ENVELOPE__BODY_OFFER_RESCINDED:
		sbc_sb_add(&b, "offer_rescinded %s", sbc_show(env->offer_rescinded->offer_id));
		sbc_sb_reason(&b, env->offer_rescinded->reason);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_ASSIGNMENT_CONFIRMED:
		sbc_sb_add(&b, "assignment_confirmed %s",
		           sbc_show(env->assignment_confirmed->contact_id));
		sbc_sb_contact(&b, env->assignment_confirmed->contact);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_ASSIGNMENT_REVOKED:
		sbc_sb_add(&b, "assignment_revoked %s",
		           sbc_show(env->assignment_revoked->contact_id));
		sbc_sb_reason(&b, env->assignment_revoked->reason);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_STATE_CHANGED:
		sbc_sb_add(&b, "state_changed %s", sbc_state_name(env->state_changed->state));
		sbc_sb_reason(&b, env->state_changed->reason);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_ACK:
		sbc_sb_add(&b, "ack");
		break;
	default:
		sbc_sb_add(&b, "unknown body %d", (int)env->body_case);
		break;
	}
	return buf;
}
