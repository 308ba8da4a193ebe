/* A small strict JSON reader (RFC 8259) for admin request bodies: a tree of
 * values, depth-limited, strings decoded to UTF-8 (no NUL allowed). Bodies
 * are capped by admin.max_body_bytes before they get here.
 *
 * Owner: jv_parse returns a tree the caller releases with jv_free. */
#ifndef SB_UTIL_JSON_PARSE_H
#define SB_UTIL_JSON_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define JV_MAX_DEPTH 16

enum jv_type { JV_NULL, JV_BOOL, JV_NUMBER, JV_STRING, JV_ARRAY, JV_OBJECT };

struct jv {
	enum jv_type type;
	bool b;
	double num;
	char *str;        /* JV_STRING */
	struct jv *items; /* JV_ARRAY, JV_OBJECT: n values */
	char **keys;      /* JV_OBJECT: n member names */
	size_t n;
};

/* NULL on a syntax error, with err saying what and at which byte. */
struct jv *jv_parse(const char *text, size_t len, char *err, size_t errlen);
void jv_free(struct jv *v);
/* An object's member, or NULL (also when v is not an object). A name given
 * twice is refused by jv_parse, so the answer is unambiguous. */
const struct jv *jv_get(const struct jv *v, const char *key);
const char *jv_type_name(enum jv_type t);

#endif
