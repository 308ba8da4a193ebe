/* Strict JSON reader: see json_parse.h. */
#include "util/json_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json_out.h"
#include "util/xalloc.h"

struct jv_reader {
	const char *p, *end, *start;
	char *err;
	size_t errlen;
	bool failed;
};

static bool jv_fail(struct jv_reader *r, const char *what)
{
	if (!r->failed)
		snprintf(r->err, r->errlen, "%s at byte %zu", what, (size_t)(r->p - r->start));
	r->failed = true;
	return false;
}

static void jv_ws(struct jv_reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static void jv_clear(struct jv *v)
{
	free(v->str);
	for (size_t i = 0; i < v->n; i++) {
		jv_clear(&v->items[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	memset(v, 0, sizeof *v);
}

void jv_free(struct jv *v)
{
	if (v == NULL)
		return;
	jv_clear(v);
	free(v);
}

static int jv_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits after "\u". */
static bool jv_u16(struct jv_reader *r, uint32_t *out)
{
	uint32_t v = 0;

	if (r->end - r->p < 4)
		return jv_fail(r, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		int h = jv_hex(r->p[i]);
		if (h < 0)
			return jv_fail(r, "bad \\u escape");
		v = v << 4 | (uint32_t)h;
	}
	r->p += 4;
	*out = v;
	return true;
}

static size_t jv_put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string literal, r->p on its opening quote; *out is NUL-terminated. */
static bool jv_string(struct jv_reader *r, char **out)
{
	/* decoded is never longer than the literal */
	const char *q = ++r->p;
	size_t cap = 0;

	while (q < r->end && *q != '"') {
		if (*q == '\\')
			q++;
		q++;
	}
	if (q >= r->end)
		return jv_fail(r, "unterminated string");
	cap = (size_t)(q - r->p) + 1;
	char *o = xmalloc(cap), *w = o;
	while (*r->p != '"') {
		unsigned char c = (unsigned char)*r->p;
		if (c < 0x20) {
			free(o);
			return jv_fail(r, "control character in string");
		}
		if (c >= 0x80) {
			/* JSON text is UTF-8 (RFC 8259 8.1): refuse anything else
			 * rather than store bytes no reader can show */
			size_t n = json_utf8_len((const unsigned char *)r->p, (size_t)(q - r->p));
			if (n == 0) {
				free(o);
				return jv_fail(r, "invalid UTF-8 in string");
			}
			memcpy(w, r->p, n);
			w += n;
			r->p += n;
			continue;
		}
		if (c != '\\') {
			*w++ = (char)c;
			r->p++;
			continue;
		}
		r->p++;
		char e = *r->p++;
		uint32_t cp = 0;
		switch (e) {
		case '"':
			*w++ = '"';
			break;
		case '\\':
			*w++ = '\\';
			break;
		case '/':
			*w++ = '/';
			break;
		case 'b':
			*w++ = '\b';
			break;
		case 'f':
			*w++ = '\f';
			break;
		case 'n':
			*w++ = '\n';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case 't':
			*w++ = '\t';
			break;
		case 'u':
			if (!jv_u16(r, &cp))
				break;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				uint32_t lo;
				if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u') {
					jv_fail(r, "unpaired surrogate");
					break;
				}
				r->p += 2;
				if (!jv_u16(r, &lo))
					break;
				if (lo < 0xdc00 || lo > 0xdfff) {
					jv_fail(r, "unpaired surrogate");
					break;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				jv_fail(r, "unpaired surrogate");
				break;
			} else if (cp == 0) {
				jv_fail(r, "NUL in string");
				break;
			}
			w += jv_put_utf8(w, cp);
			break;
		default:
			jv_fail(r, "bad escape");
			break;
		}
		if (r->failed) {
			free(o);
			return false;
		}
	}
	r->p++;
	*w = '\0';
	*out = o;
	return true;
}

/* A number per the JSON grammar (no leading zeros, no bare dot). */
static bool jv_number(struct jv_reader *r, double *out)
{
	const char *s = r->p;
	char buf[64];

	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p >= r->end || *r->p < '0' || *r->p > '9')
		return jv_fail(r, "bad number");
	if (*r->p == '0')
		r->p++;
	else
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return jv_fail(r, "bad number");
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return jv_fail(r, "bad number");
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if ((size_t)(r->p - s) >= sizeof buf)
		return jv_fail(r, "number too long");
	memcpy(buf, s, (size_t)(r->p - s));
	buf[r->p - s] = '\0';
	*out = strtod(buf, NULL);
	return true;
}

static bool jv_literal(struct jv_reader *r, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return jv_fail(r, "unexpected character");
	r->p += n;
	return true;
}

static bool jv_value(struct jv_reader *r, struct jv *v, int depth);

/* Appends a slot to a container. */
static struct jv *jv_push(struct jv *v)
{
	v->items = xreallocarray(v->items, v->n + 1, sizeof *v->items);
	memset(&v->items[v->n], 0, sizeof *v->items);
	if (v->type == JV_OBJECT) {
		v->keys = xreallocarray(v->keys, v->n + 1, sizeof *v->keys);
		v->keys[v->n] = NULL;
	}
	return &v->items[v->n++];
}

static bool jv_container(struct jv_reader *r, struct jv *v, int depth)
{
	bool obj = *r->p == '{';
	char close = obj ? '}' : ']';

	if (depth >= JV_MAX_DEPTH)
		return jv_fail(r, "nested too deeply");
	v->type = obj ? JV_OBJECT : JV_ARRAY;
	r->p++;
	jv_ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return true;
	}
	for (;;) {
		char *key = NULL;
		jv_ws(r);
		if (obj) {
			if (r->p >= r->end || *r->p != '"')
				return jv_fail(r, "expected a member name");
			if (!jv_string(r, &key))
				return false;
			if (jv_get(v, key) != NULL) {
				free(key);
				return jv_fail(r, "duplicate member name");
			}
			jv_ws(r);
			if (r->p >= r->end || *r->p != ':') {
				free(key);
				return jv_fail(r, "expected ':'");
			}
			r->p++;
		}
		struct jv *item = jv_push(v);
		if (obj)
			v->keys[v->n - 1] = key;
		if (!jv_value(r, item, depth + 1))
			return false;
		jv_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			return true;
		}
		return jv_fail(r, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static bool jv_value(struct jv_reader *r, struct jv *v, int depth)
{
	jv_ws(r);
	if (r->p >= r->end)
		return jv_fail(r, "unexpected end of input");
	switch (*r->p) {
	case '{':
	case '[':
		return jv_container(r, v, depth);
	case '"':
		v->type = JV_STRING;
		return jv_string(r, &v->str);
	case 't':
		v->type = JV_BOOL;
		v->b = true;
		return jv_literal(r, "true");
	case 'f':
		v->type = JV_BOOL;
		return jv_literal(r, "false");
	case 'n':
		v->type = JV_NULL;
		return jv_literal(r, "null");
	default:
		v->type = JV_NUMBER;
		return jv_number(r, &v->num);
	}
}

struct jv *jv_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct jv_reader r = {text, text + len, text, err, errlen, false};
	struct jv *v = xcalloc(1, sizeof *v);

	if (jv_value(&r, v, 0)) {
		jv_ws(&r);
		if (r.p == r.end)
			return v;
		jv_fail(&r, "trailing characters");
	}
	jv_free(v);
	return NULL;
}

const struct jv *jv_get(const struct jv *v, const char *key)
{
	if (v == NULL || v->type != JV_OBJECT)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (v->keys[i] != NULL && strcmp(v->keys[i], key) == 0)
			return &v->items[i];
	return NULL;
}

const char *jv_type_name(enum jv_type t)
{
	static const char *const names[] = {"null",   "boolean", "number",
	                                    "string", "array",   "object"};
	return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}
