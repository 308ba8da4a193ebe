/* A small JSON writer into an evbuffer: the admin API's only way to emit
 * JSON, so escaping lives in one place. Strings are escaped per RFC 8259;
 * bytes that are not valid UTF-8 (a gateway's external id may hold any)
 * become U+FFFD, so the output is always valid JSON. Non-finite numbers are
 * written as null.
 *
 * Owner: the caller owns the evbuffer; struct json_out holds no memory. */
#ifndef SB_UTIL_JSON_OUT_H
#define SB_UTIL_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define JSON_MAX_DEPTH 32

struct json_out {
	struct evbuffer *buf;
	int depth;
	bool first[JSON_MAX_DEPTH]; /* nothing written yet at this level */
	bool after_key;             /* a key was written: its value comes next */
};

void json_init(struct json_out *j, struct evbuffer *buf);
void json_obj_open(struct json_out *j);
void json_obj_close(struct json_out *j);
void json_arr_open(struct json_out *j);
void json_arr_close(struct json_out *j);
/* An object member's name; the next call writes its value. */
void json_key(struct json_out *j, const char *key);
void json_str(struct json_out *j, const char *s); /* NULL: null */
void json_strn(struct json_out *j, const char *s, size_t len);
void json_int(struct json_out *j, int64_t v);
void json_uint(struct json_out *j, uint64_t v);
void json_num(struct json_out *j, double v);
void json_bool(struct json_out *j, bool v);
void json_null(struct json_out *j);

/* key + value in one call, for the common object member. */
void json_kstr(struct json_out *j, const char *key, const char *s);
void json_kint(struct json_out *j, const char *key, int64_t v);
void json_kuint(struct json_out *j, const char *key, uint64_t v);
void json_knum(struct json_out *j, const char *key, double v);
void json_kbool(struct json_out *j, const char *key, bool v);

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when the
 * bytes there are not UTF-8 (overlong, surrogate, beyond U+10FFFF). */
size_t json_utf8_len(const unsigned char *s, size_t n);

/* Appends s to buf as a JSON string literal (quotes included). */
void json_escape(struct evbuffer *buf, const char *s, size_t len);

#endif
