/* A small blocking HTTP/1.1 client for the integration tests of the admin
 * API and the wallboard: one request per connection (Connection: close),
 * loopback only. Failures to connect fail the running cmocka test. */
#ifndef SB_TEST_HTTP_CLIENT_H
#define SB_TEST_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/json_parse.h"

/* One response. Owner: the test (resp_free). */
struct resp {
	int status;
	char *head;      /* status line and headers */
	char *body;
	struct jv *json; /* the body parsed, or NULL */
};

void resp_free(struct resp *r);

/* A connected socket to "127.0.0.1:port". */
int http_connect(const char *addr);
/* Sends all of data; stops quietly when the peer has closed (it may answer
 * 413 and close before reading everything). */
void http_send_all(int fd, const char *data, size_t len);
/* Reads until EOF or ms; returns what came (malloc'd, NUL-terminated) and
 * sets *closed when the peer closed. */
char *http_read(int fd, int ms, bool *closed);
/* Splits raw (taken) into r; false (raw freed) when it is not a response. */
bool http_parse(char *raw, struct resp *r);
/* method path [Bearer token] [body] to addr: the whole response, waiting up
 * to ms. */
struct resp http_at(const char *addr, const char *method, const char *path, const char *token,
		    const char *body, int ms);

/* The value of header name in head (case-insensitive), or NULL; a static
 * buffer, valid until the next call. */
const char *http_header(const char *head, const char *name);
/* Member path "a.b.c" of v, a number segment indexing an array; NULL when
 * absent. */
const struct jv *jpath(const struct jv *v, const char *path);

#endif
