/* A request's arguments, encoded as RESP bulk strings as they are built, so
 * sending is one copy into hiredis's output buffer: no argument is
 * allocated on its own and hiredis formats nothing. A batch concatenates
 * its operations' encodings without re-encoding them. */
#ifndef SB_STORE_RESP_H
#define SB_STORE_RESP_H

#include <stddef.h>
#include <stdint.h>

struct resp {
	char *buf; /* owned; "$<len>\r\n<bytes>\r\n" per argument */
	size_t len, cap;
	int n; /* arguments encoded */
};

/* Room for `more` bytes beyond what is there, so that appending them
 * does not reallocate (for a buffer whose final size is known). */
void resp_reserve(struct resp *r, size_t more);
/* Binary-safe: exactly len bytes of v. */
void resp_add(struct resp *r, const void *v, size_t len);
void resp_add_str(struct resp *r, const char *s);
/* One argument made of the n strings one after another (a key: its
 * prefix and an id), without building it elsewhere first. */
#define RESP_MAX_PARTS 4
void resp_add_parts(struct resp *r, const char *const *parts, size_t n);
void resp_add_num(struct resp *r, int64_t v);
/* Appends src's arguments to r. */
void resp_add_all(struct resp *r, const struct resp *src);
/* Appends a multi-bulk header "*<n>\r\n" (counts no argument). */
void resp_add_header(struct resp *r, int n);
void resp_free(struct resp *r);
/* The first argument's bytes (in r's buffer) and length; NULL if none. */
const char *resp_first(const struct resp *r, size_t *len);

#endif
