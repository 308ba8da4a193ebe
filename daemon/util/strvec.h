/* A growable array of owned strings. Owner: whoever holds the struct;
 * strvec_free releases the strings and the array. */
#ifndef SB_UTIL_STRVEC_H
#define SB_UTIL_STRVEC_H

#include <stddef.h>

struct strvec {
	char **v;
	size_t n, cap;
};

/* Appends a copy of s. */
void strvec_push(struct strvec *sv, const char *s);
void strvec_free(struct strvec *sv);

#endif
