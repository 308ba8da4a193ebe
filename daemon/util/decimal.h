/* Integers as decimal text, for the paths that write several per contact
 * (Redis arguments, event ids, timestamps): snprintf's format parsing was
 * a tenth of the daemon's CPU there. */
#ifndef SB_DECIMAL_H
#define SB_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* Room for any int64 with its sign and the terminating NUL. */
#define DECIMAL_MAX 21

/* Writes v and a NUL into buf (at least DECIMAL_MAX bytes); returns the
 * number of digits (and sign) written. */
size_t decimal_u64(char *buf, uint64_t v);
size_t decimal_i64(char *buf, int64_t v);

#endif
