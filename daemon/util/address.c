#include "util/address.h"

#include <stdlib.h>
#include <string.h>

int address_parse(const char *s, struct address *out, const char **why)
{
	memset(out, 0, sizeof *out);
	if (strncmp(s, "unix:", 5) == 0) {
		size_t n = strlen(s + 5);
		if (n == 0 || n >= sizeof out->path) {
			*why = "unix socket path empty or too long";
			return -1;
		}
		out->is_unix = true;
		memcpy(out->path, s + 5, n + 1);
		return 0;
	}
	const char *colon = strrchr(s, ':');
	if (colon == NULL) {
		*why = "expected host:port, [v6]:port or unix:/path";
		return -1;
	}
	const char *h = s;
	size_t hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 2 || s[hl - 1] != ']') {
			*why = "an IPv6 address goes in brackets: [v6]:port";
			return -1;
		}
		h++;
		hl -= 2;
	}
	if (memchr(h, '[', hl) != NULL || memchr(h, ']', hl) != NULL) {
		*why = "misplaced bracket in host";
		return -1;
	}
	/* strtol would take a sign or leading blanks: require digits only. */
	const char *p = colon + 1;
	if (*p == '\0' || strspn(p, "0123456789") != strlen(p) || strlen(p) > 5) {
		*why = "port must be a number from 0 to 65535";
		return -1;
	}
	long port = strtol(p, NULL, 10);
	if (port > 65535) {
		*why = "port must be a number from 0 to 65535";
		return -1;
	}
	if (hl == 0 || hl >= sizeof out->host) {
		*why = "host empty or too long";
		return -1;
	}
	memcpy(out->host, h, hl);
	out->host[hl] = '\0';
	out->port = (int)port;
	return 0;
}
