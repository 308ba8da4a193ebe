#include "store/resp.h"

#include <stdlib.h>
#include <string.h>

#include "util/decimal.h"
#include "util/xalloc.h"

void resp_reserve(struct resp *r, size_t more)
{
	if (r->len + more <= r->cap)
		return;
	/* Most operations fit in 1 KiB: one allocation, no regrowth. */
	size_t cap = r->cap ? r->cap : 1024;
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

/* "<type><n>\r\n": a bulk string's header ('$', its length) or a
 * command's ('*', its argument count). */
static void resp_head(struct resp *r, char type, uint64_t n)
{
	char head[DECIMAL_MAX + 3];
	size_t h = 1;

	head[0] = type;
	h += decimal_u64(head + 1, n);
	head[h++] = '\r';
	head[h++] = '\n';
	resp_raw(r, head, h);
}

void resp_add(struct resp *r, const void *v, size_t len)
{
	resp_reserve(r, DECIMAL_MAX + 3 + len + 2);
	resp_head(r, '$', len);
	resp_raw(r, v, len);
	resp_raw(r, "\r\n", 2);
	r->n++;
}

void resp_add_parts(struct resp *r, const char *const *parts, size_t n)
{
	size_t lens[RESP_MAX_PARTS], len = 0;

	for (size_t i = 0; i < n && i < RESP_MAX_PARTS; i++)
		len += lens[i] = strlen(parts[i]);
	resp_reserve(r, DECIMAL_MAX + 3 + len + 2);
	resp_head(r, '$', len);
	for (size_t i = 0; i < n && i < RESP_MAX_PARTS; i++)
		resp_raw(r, parts[i], lens[i]);
	resp_raw(r, "\r\n", 2);
	r->n++;
}

void resp_add_str(struct resp *r, const char *s)
{
	resp_add(r, s, strlen(s));
}

void resp_add_num(struct resp *r, int64_t v)
{
	char buf[DECIMAL_MAX];
	size_t len = decimal_i64(buf, v);

	resp_add(r, buf, len);
}

void resp_add_all(struct resp *r, const struct resp *src)
{
	resp_raw(r, src->buf, src->len);
	r->n += src->n;
}

void resp_add_header(struct resp *r, int n)
{
	resp_head(r, '*', n > 0 ? (uint64_t)n : 0);
}

void resp_free(struct resp *r)
{
	free(r->buf);
	*r = (struct resp){ 0 };
}

const char *resp_first(const struct resp *r, size_t *len)
{
	if (r->n == 0 || r->len < 4 || r->buf[0] != '$')
		return NULL;
	char *end;
	*len = strtoul(r->buf + 1, &end, 10);
	return end + 2; /* past "\r\n" */
}
