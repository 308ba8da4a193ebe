/* What the sbctl subcommands and the demo share: clocks, timestamped output,
 * signal handling, secret files and exit codes. Private to the tool. */
#ifndef SB_SBCTL_H
#define SB_SBCTL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sbclient.h"

enum sbctl_exit {
	SBCTL_EXIT_OK = 0,
	SBCTL_EXIT_FAIL = 1,  /* a request was refused, or the connection failed */
	SBCTL_EXIT_USAGE = 2, /* bad command line */
};

/* Milliseconds on the monotonic clock (timers) and the wall clock (display). */
int64_t sbctl_mono_ms(void);
int64_t sbctl_wall_ms(void);

/* One output line on stdout, prefixed with the local time HH:MM:SS.mmm. */
void sbctl_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same on stderr, for failures. */
void sbctl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* SIGINT and SIGTERM set a flag (and interrupt poll()) instead of killing. */
void sbctl_catch_signals(void);
bool sbctl_stopping(void);

/* Reads the first line of path (trailing whitespace removed) into a new
 * string. Returns NULL with a message in err when it cannot. */
char *sbctl_read_secret(const char *path, char *err, size_t errlen);

/* Parses a whole decimal number in [min, max]. Returns 0, or -1. */
int sbctl_parse_long(const char *s, long min, long max, long *out);

/* Prints "sbctl CMD: message" (when fmt is set) and a pointer to --help on
 * stderr; returns SBCTL_EXIT_USAGE. */
int sbctl_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Picks a credential from exactly one of --NAME and --NAME-file. Returns 0
 * with *cred set (free *owned afterwards), or an exit code with *cred and
 * *owned NULL. */
int sbctl_credential(const char *cmd, const char *name, const char *inline_value, const char *file,
                     const char **cred, char **owned);

/* Connects and sends Hello; prints the Welcome. Returns 0 with *out and
 * *heartbeat_ms set, or an exit code (the failure already printed) with *out
 * NULL and *heartbeat_ms 0. */
int sbctl_login(const char *address, Switchboard__V1__Role role, const char *id, const char *cred,
                long timeout_ms, struct sbc **out, uint32_t *heartbeat_ms);

/* Prints a received frame as "< description [ref N]". */
void sbctl_print_frame(const Envelope *env);

/* poll() that returns early on a signal, so sbctl_stopping() is seen at once. */
void sbctl_wait(struct pollfd *fds, nfds_t n, int64_t timeout_ms);

/* The agent subcommand (sbctl_agent.c) and the demo (demo.c). Each returns
 * an sbctl_exit code. */
int sbctl_agent_main(int argc, char **argv);
int demo_main(int argc, char **argv);

#endif
