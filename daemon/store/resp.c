#include "store/resp.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static void resp_reserve(struct resp *r, size_t more)
{
	if (r->len + more <= r->cap)
		return;
	size_t cap = r->cap ? r->cap : 256;
	while (cap < r->len + more)
		cap *= 2;
	r->buf = xrealloc(r->buf, cap);
	r->cap = cap;
}

static void resp_raw(struct resp *r, const void *p, size_t len)
{
	if (len == 0)
		return;
	resp_reserve(r, len);
	memcpy(r->buf + r->len, p, len);
	r->len += len;
}

void resp_add(struct resp *r, const void *v, size_t len)
{
	char head[32];
	int h = snprintf(head, sizeof head, "$%zu\r\n", len);

	resp_reserve(r, (size_t)h + len + 2);
	resp_raw(r, head, (size_t)h);
	resp_raw(r, v, len);
	resp_raw(r, "\r\n", 2);
	r->n++;
}

void resp_add_str(struct resp *r, const char *s)
{
	resp_add(r, s, strlen(s));
}

void resp_add_num(struct resp *r, int64_t v)
{
	char buf[24];
	int len = snprintf(buf, sizeof buf, "%" PRId64, v);

	resp_add(r, buf, (size_t)len);
}

void resp_add_all(struct resp *r, const struct resp *src)
{
	resp_raw(r, src->buf, src->len);
	r->n += src->n;
}

void resp_add_header(struct resp *r, int n)
{
	char head[24];
	int h = snprintf(head, sizeof head, "*%d\r\n", n);

	resp_raw(r, head, (size_t)h);
}

void resp_free(struct resp *r)
{
	free(r->buf);
	*r = (struct resp){ 0 };
}
