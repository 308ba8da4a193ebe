/* What the sbctl subcommands and the demo share: clocks, timestamped output,
 * signal handling, secret files, TLS options and exit codes. Private to the tool. */
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

/* The --tls* options every connecting subcommand takes. Any of them turns
 * TLS on; the daemon's certificate is then always verified. */
struct sbctl_tls_opts {
	bool on;
	struct sbc_tls tls;
};

/* getopt codes of the --tls* options, above every subcommand's own. */
enum {
	SBCTL_OPT_TLS = 0x1000,
	SBCTL_OPT_TLS_CA,
	SBCTL_OPT_TLS_CERT,
	SBCTL_OPT_TLS_KEY,
	SBCTL_OPT_TLS_NAME,
};

// clang-format off
#define SBCTL_TLS_LONGOPTS                                                                       \
	{ "tls", no_argument, NULL, SBCTL_OPT_TLS },                                             \
	{ "tls-ca", required_argument, NULL, SBCTL_OPT_TLS_CA },                                 \
	{ "tls-cert", required_argument, NULL, SBCTL_OPT_TLS_CERT },                             \
	{ "tls-key", required_argument, NULL, SBCTL_OPT_TLS_KEY },                               \
	{ "tls-name", required_argument, NULL, SBCTL_OPT_TLS_NAME }

#define SBCTL_TLS_USAGE                                                                          \
	"  --tls                 connect with TLS, trusting the system's CAs\n"                   \
	"  --tls-ca F            connect with TLS, trusting the CA certificate(s) in F (PEM)\n"   \
	"  --tls-cert F          client certificate (PEM) for mutual TLS; implies --tls\n"        \
	"  --tls-key F           its private key (default: read from --tls-cert)\n"              \
	"  --tls-name NAME       name the daemon's certificate must carry (default: the\n"       \
	"                        address's host)\n"
// clang-format on

/* Takes opt if it is a --tls* option: returns true (recorded in t), else false. */
bool sbctl_tls_option(struct sbctl_tls_opts *t, int opt, const char *arg);
/* The TLS settings to connect with, NULL for plain TCP. */
const struct sbc_tls *sbctl_tls(const struct sbctl_tls_opts *t);

/* Connects and sends Hello; prints the Welcome. Returns 0 with *out and
 * *heartbeat_ms set, or an exit code (the failure already printed) with *out
 * NULL and *heartbeat_ms 0. */
int sbctl_login(const char *address, const struct sbc_tls *tls, Switchboard__V1__Role role,
                const char *id, const char *cred, long timeout_ms, struct sbc **out,
                uint32_t *heartbeat_ms);

/* Prints a received frame as "< description [ref N]". */
void sbctl_print_frame(const Envelope *env);

/* poll() that returns early on a signal, so sbctl_stopping() is seen at once. */
void sbctl_wait(struct pollfd *fds, nfds_t n, int64_t timeout_ms);

/* The agent subcommand (sbctl_agent.c) and the demo (demo.c). Each returns
 * an sbctl_exit code. */
int sbctl_agent_main(int argc, char **argv);
/* status, queues, agents, contact, roster, force-state (sbctl_admin.c):
 * argv[0] is "sbctl COMMAND". */
int sbctl_admin_main(int argc, char **argv);
int demo_main(int argc, char **argv);

#endif
