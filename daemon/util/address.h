/* Addresses as written in config and on the command line:
 * "host:port", "[v6addr]:port" or "unix:/path". */
#ifndef SB_ADDRESS_H
#define SB_ADDRESS_H

#include <stdbool.h>

struct address {
	bool is_unix;
	char host[256]; /* numeric or name; empty for unix */
	int port;
	char path[108]; /* unix socket path */
};

/* Returns 0, or -1 with *why set to a static reason. */
int address_parse(const char *s, struct address *out, const char **why);

#endif
