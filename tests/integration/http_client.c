/* The tests' HTTP client: see http_client.h. */
#define _GNU_SOURCE
#include "http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

void resp_free(struct resp *r)
{
	free(r->head);
	free(r->body);
	jv_free(r->json);
	memset(r, 0, sizeof *r);
}

int http_connect(const char *addr)
{
	const char *colon = strrchr(addr, ':');
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	return fd;
}

void http_send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

char *http_read(int fd, int ms, bool *closed)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap + 1);
	int64_t end = harness_now_ms() + ms;

	assert_non_null(buf);
	*closed = false;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = end - harness_now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*closed = true;
			break;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

bool http_parse(char *raw, struct resp *r)
{
	char *sep = strstr(raw, "\r\n\r\n"), err[160];

	memset(r, 0, sizeof *r);
	if (sep == NULL || strncmp(raw, "HTTP/1.1 ", 9) != 0) {
		free(raw);
		return false;
	}
	r->status = atoi(raw + 9);
	r->body = strdup(sep + 4);
	*sep = '\0';
	r->head = raw;
	r->json = jv_parse(r->body, strlen(r->body), err, sizeof err);
	return true;
}

struct resp http_at(const char *addr, const char *method, const char *path, const char *token,
		    const char *body, int ms)
{
	char *req = NULL;
	struct resp r;
	bool closed;
	int fd = http_connect(addr);

	assert_true(asprintf(&req,
			     "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n%s%s%s"
			     "Content-Length: %zu\r\n\r\n%s",
			     method, path, token ? "Authorization: Bearer " : "",
			     token ? token : "", token ? "\r\n" : "", body ? strlen(body) : 0,
			     body ? body : "") > 0);
	http_send_all(fd, req, strlen(req));
	free(req);
	char *raw = http_read(fd, ms, &closed);
	close(fd);
	if (!http_parse(raw, &r))
		fail_msg("%s %s: no HTTP response", method, path);
	return r;
}

const char *http_header(const char *head, const char *name)
{
	static char value[512];
	const char *p = head;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, strlen(name)) == 0 && p[strlen(name)] == ':') {
			const char *v = p + strlen(name) + 1;
			while (*v == ' ')
				v++;
			size_t n = strcspn(v, "\r\n");
			snprintf(value, sizeof value, "%.*s", (int)n, v);
			return value;
		}
	}
	return NULL;
}

const struct jv *jpath(const struct jv *v, const char *path)
{
	char buf[160], *save = NULL;

	snprintf(buf, sizeof buf, "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k != NULL && v != NULL;
	     k = strtok_r(NULL, ".", &save)) {
		if (v->type == JV_ARRAY) {
			size_t i = (size_t)atoi(k);
			v = i < v->n ? &v->items[i] : NULL;
		} else {
			v = jv_get(v, k);
		}
	}
	return v;
}
