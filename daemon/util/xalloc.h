/* Allocators for control structures: they abort on out-of-memory, because a
 * daemon that cannot allocate a session struct cannot do anything useful, and
 * every caller checking NULL is noise. Anything a client can grow is capped by
 * configuration and checked *before* it allocates. */
#ifndef SB_XALLOC_H
#define SB_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* asprintf that aborts on failure; returns the new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
