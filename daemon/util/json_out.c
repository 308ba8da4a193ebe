/* JSON writer: see json_out.h. */
#include "util/json_out.h"

#include <utf8proc.h>

#include <event2/buffer.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_init(struct json_out *j, struct evbuffer *buf)
{
	memset(j, 0, sizeof *j);
	j->buf = buf;
	j->first[0] = true;
}

/* The separator a value needs before it: none after a key or first in its
 * container, else a comma. */
static void json_sep(struct json_out *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		evbuffer_add(j->buf, ",", 1);
	j->first[j->depth] = false;
}

static void json_open(struct json_out *j, char c)
{
	json_sep(j);
	evbuffer_add(j->buf, &c, 1);
	/* Deeper than the writer tracks is a bug in a handler, not input: keep
	 * the output well formed by reusing the last level. */
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void json_close(struct json_out *j, char c)
{
	evbuffer_add(j->buf, &c, 1);
	if (j->depth > 0)
		j->depth--;
}

void json_obj_open(struct json_out *j)
{
	json_open(j, '{');
}

void json_obj_close(struct json_out *j)
{
	json_close(j, '}');
}

void json_arr_open(struct json_out *j)
{
	json_open(j, '[');
}

void json_arr_close(struct json_out *j)
{
	json_close(j, ']');
}

void json_key(struct json_out *j, const char *key)
{
	json_sep(j);
	json_escape(j->buf, key, strlen(key));
	evbuffer_add(j->buf, ":", 1);
	j->after_key = true;
}

/* See json_out.h. utf8proc refuses overlong forms, surrogates and anything
 * beyond U+10FFFF, as the wire's string check does (wire/strings.c). */
size_t json_utf8_len(const unsigned char *s, size_t n)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t used = utf8proc_iterate(s, (utf8proc_ssize_t)n, &cp);

	return used > 0 ? (size_t)used : 0;
}

void json_escape(struct evbuffer *buf, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	evbuffer_add(buf, "\"", 1);
	while (p < end) {
		const unsigned char *run = p;
		/* copy plain characters in runs */
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			evbuffer_add(buf, run, (size_t)(p - run));
		if (p == end)
			break;
		if (*p == '"' || *p == '\\') {
			char esc[2] = {'\\', (char)*p};
			evbuffer_add(buf, esc, 2);
			p++;
		} else if (*p < 0x20) {
			switch (*p) {
			case '\n':
				evbuffer_add(buf, "\\n", 2);
				break;
			case '\r':
				evbuffer_add(buf, "\\r", 2);
				break;
			case '\t':
				evbuffer_add(buf, "\\t", 2);
				break;
			default:
				evbuffer_add_printf(buf, "\\u%04x", *p);
				break;
			}
			p++;
		} else {
			size_t n = json_utf8_len(p, (size_t)(end - p));
			if (n == 0) {
				evbuffer_add(buf, "\\ufffd", 6);
				p++;
			} else {
				evbuffer_add(buf, p, n);
				p += n;
			}
		}
	}
	evbuffer_add(buf, "\"", 1);
}

void json_strn(struct json_out *j, const char *s, size_t len)
{
	json_sep(j);
	json_escape(j->buf, s, len);
}

void json_str(struct json_out *j, const char *s)
{
	if (s == NULL) {
		json_null(j);
		return;
	}
	json_strn(j, s, strlen(s));
}

void json_int(struct json_out *j, int64_t v)
{
	json_sep(j);
	evbuffer_add_printf(j->buf, "%" PRId64, v);
}

void json_uint(struct json_out *j, uint64_t v)
{
	json_sep(j);
	evbuffer_add_printf(j->buf, "%" PRIu64, v);
}

void json_num(struct json_out *j, double v)
{
	char tmp[40];

	json_sep(j);
	if (!isfinite(v)) {
		evbuffer_add(j->buf, "null", 4);
		return;
	}
	/* %.17g round-trips; trimmed forms read better for the common cases */
	snprintf(tmp, sizeof tmp, "%.6f", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof tmp, "%.17g", v);
	else {
		char *e = tmp + strlen(tmp) - 1;
		while (*e == '0')
			*e-- = '\0';
		if (*e == '.')
			*e = '\0';
	}
	evbuffer_add(j->buf, tmp, strlen(tmp));
}

void json_bool(struct json_out *j, bool v)
{
	json_sep(j);
	evbuffer_add(j->buf, v ? "true" : "false", v ? 4 : 5);
}

void json_null(struct json_out *j)
{
	json_sep(j);
	evbuffer_add(j->buf, "null", 4);
}

void json_kstr(struct json_out *j, const char *key, const char *s)
{
	json_key(j, key);
	json_str(j, s);
}

void json_kint(struct json_out *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_int(j, v);
}

void json_kuint(struct json_out *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

void json_knum(struct json_out *j, const char *key, double v)
{
	json_key(j, key);
	json_num(j, v);
}

void json_kbool(struct json_out *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}
