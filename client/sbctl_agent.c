/* sbctl agent: one agent session for a person at a terminal or for a script.
 *
 * Typed commands (from a terminal, a pipe or a file) become requests; every
 * frame the daemon sends is printed. --auto-accept and --auto-complete let a
 * script play the agent: they only schedule the same requests a person would
 * type, on a small timer list checked by the one poll() loop. */
#define _GNU_SOURCE
#include "sbctl.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xalloc.h"

#define AGENT_LINE_MAX 1024

static const char sbctl_agent_usage[] =
    "usage: sbctl agent --agent ADDR --id AGENT (--token T | --token-file F)\n"
    "                   [--tls | --tls-ca F] [--tls-cert F --tls-key F] [--tls-name N]\n"
    "                   [--available] [--auto-accept[=DELAY_MS]]\n"
    "                   [--auto-complete=HANDLE_MS] [--disposition D]\n"
    "\n"
    "Logs in as an agent and prints every frame received (pongs excepted). When\n"
    "stdin is a terminal, a pipe or a file, reads commands, one per line:\n"
    "  available                      go available (receive offers)\n"
    "  break REASON                   take a break (lunch, training, ...)\n"
    "  offline                        stop being routable\n"
    "  accept OFFER_ID                take an offered contact\n"
    "  reject OFFER_ID [REASON]       decline it; it goes to someone else\n"
    "  complete CONTACT_ID DISPOSITION\n"
    "  ready                          end wrap-up now\n"
    "  quit                           log out and exit\n"
    "End of input on a terminal quits; on a pipe or file it only stops reading.\n"
    "\n"
    "  --agent ADDR          the daemon's agent port: host:port, [v6]:port or unix:/path;\n"
    "                        a comma-separated list tries each (active/standby)\n"
    "  --id AGENT            agent id from the roster\n"
    "  --token T             token from `switchboard --mint-token AGENT` (visible in ps)\n"
    "  --token-file F        read the token from the first line of F\n"
    "  --timeout MS          connect and login timeout (default 5000)\n" SBCTL_TLS_USAGE
    "  --available           go available right after login\n"
    "  --auto-accept[=MS]    accept every offer after MS milliseconds (default 0)\n"
    "  --auto-complete=MS    complete each assigned contact after MS milliseconds\n"
    "  --disposition D       disposition for --auto-complete (default resolved)\n"
    "\n"
    "Exit status: 0 when no request was refused, 1 on a refusal or a lost\n"
    "connection, 2 on a usage error.\n";

enum sbctl_agent_optid {
	AOPT_AGENT = 256,
	AOPT_ID,
	AOPT_TOKEN,
	AOPT_TOKEN_FILE,
	AOPT_TIMEOUT,
	AOPT_AVAILABLE,
	AOPT_AUTO_ACCEPT,
	AOPT_AUTO_COMPLETE,
	AOPT_DISPOSITION,
	AOPT_HELP,
};

enum sbctl_timer_kind { TIMER_ACCEPT, TIMER_COMPLETE };

/* An automatic request due at a monotonic time; id is owned. */
struct sbctl_timer {
	int64_t due;
	enum sbctl_timer_kind kind;
	char *id; /* offer id (accept) or contact id (complete) */
};

/* One agent session; everything in it belongs to sbctl_agent_main(). */
struct sbctl_agent {
	struct sbc *c;
	long accept_delay_ms; /* < 0: offers wait for a typed accept */
	long complete_ms;     /* < 0: contacts wait for a typed complete */
	const char *disposition;

	struct sbctl_timer *timers;
	size_t ntimers, timers_cap;

	char line[AGENT_LINE_MAX]; /* stdin bytes up to the next newline */
	size_t line_len;
	bool line_too_long;

	bool read_stdin; /* stdin is a terminal, pipe or file and not at its end */
	bool stdin_tty;
	bool quit;    /* typed quit, or end of a terminal's input */
	bool refused; /* some request got an Error: exit 1 */
	bool lost;    /* the connection is gone */
};

/* Adds an automatic request unless the same one is already scheduled (the
 * daemon re-sends offers and assignments after a reconnect). */
static void sbctl_agent_schedule(struct sbctl_agent *a, int64_t due, enum sbctl_timer_kind kind,
                                 const char *id)
{
	for (size_t i = 0; i < a->ntimers; i++)
		if (a->timers[i].kind == kind && strcmp(a->timers[i].id, id) == 0)
			return;
	if (a->ntimers == a->timers_cap) {
		a->timers_cap = a->timers_cap ? a->timers_cap * 2 : 8;
		a->timers = xreallocarray(a->timers, a->timers_cap, sizeof(*a->timers));
	}
	a->timers[a->ntimers++] = (struct sbctl_timer){due, kind, xstrdup(id)};
}

/* Removes timer i and frees its id (order does not matter: the loop scans
 * them all). */
static void sbctl_agent_drop_timer(struct sbctl_agent *a, size_t i)
{
	size_t last = a->ntimers - 1;

	free(a->timers[i].id);
	/* The last timer fills the hole; the slot it leaves keeps no pointer,
	 * so no freed id is ever left in the array. */
	a->timers[i] = a->timers[last];
	a->timers[last].id = NULL;
	a->ntimers = last;
}

/* Forgets a scheduled request that no longer applies (a rescinded offer). */
static void sbctl_agent_unschedule(struct sbctl_agent *a, enum sbctl_timer_kind kind,
                                   const char *id)
{
	for (size_t i = 0; i < a->ntimers; i++) {
		if (a->timers[i].kind == kind && strcmp(a->timers[i].id, id) == 0) {
			sbctl_agent_drop_timer(a, i);
			return;
		}
	}
}

/* The earliest scheduled request's due time, or INT64_MAX. */
static int64_t sbctl_agent_next_due(const struct sbctl_agent *a)
{
	int64_t next = INT64_MAX;

	for (size_t i = 0; i < a->ntimers; i++)
		if (a->timers[i].due < next)
			next = a->timers[i].due;
	return next;
}

/* Reports a request just sent; a failed send ends the session. */
static void sbctl_agent_sent(struct sbctl_agent *a, uint64_t seq, const char *what, const char *how)
{
	if (seq == 0) {
		sbctl_warn("send failed: %s", sbc_last_error(a->c));
		a->lost = true;
		return;
	}
	sbctl_say("> %s [seq %" PRIu64 "]%s", what, seq, how);
}

/* Sends every automatic request that is due. */
static void sbctl_agent_fire(struct sbctl_agent *a, int64_t now)
{
	char what[300];
	size_t i = 0;

	while (i < a->ntimers && !a->lost) {
		struct sbctl_timer *t = &a->timers[i];

		if (t->due > now) {
			i++;
			continue;
		}
		if (t->kind == TIMER_ACCEPT) {
			snprintf(what, sizeof(what), "accept %s", t->id);
			sbctl_agent_sent(a, sbc_accept(a->c, t->id), what, " (auto)");
		} else {
			snprintf(what, sizeof(what), "complete %s %s", t->id, a->disposition);
			sbctl_agent_sent(a, sbc_complete(a->c, t->id, a->disposition), what,
			                 " (auto)");
		}
		sbctl_agent_drop_timer(a, i);
	}
}

/* Prints a frame from the daemon and schedules what the auto modes do. */
static void sbctl_agent_frame(struct sbctl_agent *a, const Envelope *env)
{
	int64_t now = sbctl_mono_ms();

	if (env->body_case == SWITCHBOARD__V1__ENVELOPE__BODY_PONG)
		return;
	sbctl_print_frame(env);
	switch (env->body_case) {
	case SWITCHBOARD__V1__ENVELOPE__BODY_ERROR:
		a->refused = true;
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_OFFER:
		if (a->accept_delay_ms >= 0 && env->offer->offer_id[0] != '\0')
			sbctl_agent_schedule(a, now + a->accept_delay_ms, TIMER_ACCEPT,
			                     env->offer->offer_id);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_OFFER_RESCINDED:
		sbctl_agent_unschedule(a, TIMER_ACCEPT, env->offer_rescinded->offer_id);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_ASSIGNMENT_REVOKED:
		sbctl_agent_unschedule(a, TIMER_COMPLETE, env->assignment_revoked->contact_id);
		break;
	case SWITCHBOARD__V1__ENVELOPE__BODY_ASSIGNMENT_CONFIRMED:
		if (a->complete_ms >= 0 && env->assignment_confirmed->contact_id[0] != '\0')
			sbctl_agent_schedule(a, now + a->complete_ms, TIMER_COMPLETE,
			                     env->assignment_confirmed->contact_id);
		break;
	default:
		break;
	}
}

/* Runs one typed command line. */
static void sbctl_agent_command(struct sbctl_agent *a, char *line)
{
	char *save = NULL, *cmd, *arg, *rest;
	char what[AGENT_LINE_MAX + 32];
	uint64_t seq;

	cmd = strtok_r(line, " \t\r", &save);
	if (cmd == NULL || cmd[0] == '#')
		return;
	arg = strtok_r(NULL, " \t\r", &save);
	/* Whatever follows the first argument, spaces kept (reasons, dispositions). */
	rest = strtok_r(NULL, "", &save);
	while (rest != NULL && (*rest == ' ' || *rest == '\t'))
		rest++;
	if (rest != NULL && *rest == '\0')
		rest = NULL;

	if (strcmp(cmd, "available") == 0 && arg == NULL) {
		seq = sbc_set_state(a->c, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE, "");
	} else if (strcmp(cmd, "offline") == 0 && arg == NULL) {
		seq = sbc_set_state(a->c, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_OFFLINE, "");
	} else if (strcmp(cmd, "break") == 0 && arg != NULL) {
		snprintf(what, sizeof(what), "%s%s%s", arg, rest ? " " : "", rest ? rest : "");
		seq = sbc_set_state(a->c, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_BREAK, what);
	} else if (strcmp(cmd, "accept") == 0 && arg != NULL && rest == NULL) {
		sbctl_agent_unschedule(a, TIMER_ACCEPT, arg);
		seq = sbc_accept(a->c, arg);
	} else if (strcmp(cmd, "reject") == 0 && arg != NULL) {
		sbctl_agent_unschedule(a, TIMER_ACCEPT, arg);
		seq = sbc_reject(a->c, arg, rest ? rest : "");
	} else if (strcmp(cmd, "complete") == 0 && arg != NULL && rest != NULL) {
		sbctl_agent_unschedule(a, TIMER_COMPLETE, arg);
		seq = sbc_complete(a->c, arg, rest);
	} else if (strcmp(cmd, "ready") == 0 && arg == NULL) {
		seq = sbc_ready(a->c);
	} else if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0) {
		a->quit = true;
		return;
	} else {
		sbctl_warn("unknown or incomplete command '%s'; try: available, break REASON, "
		           "offline, accept OFFER, reject OFFER [REASON], complete CONTACT "
		           "DISPOSITION, ready, quit",
		           cmd);
		return;
	}
	snprintf(what, sizeof(what), "%s%s%s%s%s", cmd, arg ? " " : "", arg ? arg : "",
	         rest ? " " : "", rest ? rest : "");
	sbctl_agent_sent(a, seq, what, "");
}

/* Reads what stdin has and runs each complete line. */
static void sbctl_agent_read_stdin(struct sbctl_agent *a)
{
	char chunk[512];
	ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));

	if (n < 0) {
		if (errno != EINTR && errno != EAGAIN)
			a->read_stdin = false;
		return;
	}
	if (n == 0) {
		/* Ctrl-D at a terminal means "done"; a script's pipe ending
		 * means only that it has nothing more to type. */
		if (a->line_len > 0 && !a->line_too_long) {
			a->line[a->line_len] = '\0';
			sbctl_agent_command(a, a->line);
		}
		a->line_len = 0;
		a->read_stdin = false;
		if (a->stdin_tty)
			a->quit = true;
		return;
	}
	for (ssize_t i = 0; i < n && !a->quit; i++) {
		if (chunk[i] != '\n') {
			if (a->line_len + 1 < sizeof(a->line))
				a->line[a->line_len++] = chunk[i];
			else
				a->line_too_long = true;
			continue;
		}
		a->line[a->line_len] = '\0';
		if (a->line_too_long)
			sbctl_warn("command line too long; ignored");
		else
			sbctl_agent_command(a, a->line);
		a->line_len = 0;
		a->line_too_long = false;
	}
}

/* Whether stdin is something a person or a script types commands into. */
static bool sbctl_agent_stdin_usable(bool *tty)
{
	struct stat st;

	*tty = isatty(STDIN_FILENO) != 0;
	if (*tty)
		return true;
	if (fstat(STDIN_FILENO, &st) < 0)
		return false;
	return S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode);
}

/* The session loop: frames, typed commands, automatic requests, heartbeats. */
static void sbctl_agent_loop(struct sbctl_agent *a, uint32_t heartbeat_ms)
{
	int64_t period = heartbeat_ms / 2 > 100 ? heartbeat_ms / 2 : 100;
	int64_t next_ping = sbctl_mono_ms() + period;
	struct pollfd fds[2];
	Envelope *env;
	int64_t now, wake;
	int r;

	while (!sbctl_stopping() && !a->quit && !a->lost) {
		fds[0] = (struct pollfd){.fd = sbc_fd(a->c), .events = POLLIN};
		fds[1] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
		wake = sbctl_agent_next_due(a);
		if (next_ping < wake)
			wake = next_ping;
		fds[1].revents = 0;
		sbctl_wait(fds, a->read_stdin ? 2 : 1,
		           sbc_pending(a->c) ? 0 : wake - sbctl_mono_ms());
		if (a->read_stdin && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
			sbctl_agent_read_stdin(a);
		while ((r = sbc_recv(a->c, 0, &env)) == 1) {
			sbctl_agent_frame(a, env);
			envelope_free(env);
		}
		if (r < 0) {
			sbctl_warn("connection lost: %s", sbc_last_error(a->c));
			a->lost = true;
			break;
		}
		now = sbctl_mono_ms();
		sbctl_agent_fire(a, now);
		if (now >= next_ping && !a->lost) {
			if (sbc_ping(a->c) == 0) {
				sbctl_warn("connection lost: %s", sbc_last_error(a->c));
				a->lost = true;
			}
			next_ping = now + period;
		}
	}
}

int sbctl_agent_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"agent", required_argument, NULL, AOPT_AGENT},
	    {"id", required_argument, NULL, AOPT_ID},
	    {"token", required_argument, NULL, AOPT_TOKEN},
	    {"token-file", required_argument, NULL, AOPT_TOKEN_FILE},
	    {"timeout", required_argument, NULL, AOPT_TIMEOUT},
	    {"available", no_argument, NULL, AOPT_AVAILABLE},
	    {"auto-accept", optional_argument, NULL, AOPT_AUTO_ACCEPT},
	    {"auto-complete", required_argument, NULL, AOPT_AUTO_COMPLETE},
	    {"disposition", required_argument, NULL, AOPT_DISPOSITION},
	    {"help", no_argument, NULL, AOPT_HELP},
	    SBCTL_TLS_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	struct sbctl_agent a = {
	    .accept_delay_ms = -1, .complete_ms = -1, .disposition = "resolved"};
	const char *address = NULL, *id = NULL, *token = NULL, *token_file = NULL, *cred = NULL;
	long timeout_ms = 5000;
	struct sbctl_tls_opts tls = {0};
	bool available = false;
	uint32_t heartbeat_ms = 0;
	char *owned = NULL;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (sbctl_tls_option(&tls, opt, optarg))
			continue;
		switch (opt) {
		case AOPT_AGENT:
			address = optarg;
			break;
		case AOPT_ID:
			id = optarg;
			break;
		case AOPT_TOKEN:
			token = optarg;
			break;
		case AOPT_TOKEN_FILE:
			token_file = optarg;
			break;
		case AOPT_TIMEOUT:
			if (sbctl_parse_long(optarg, 1, 3600000, &timeout_ms) < 0)
				return sbctl_usage_error("agent", "bad --timeout '%s'", optarg);
			break;
		case AOPT_AVAILABLE:
			available = true;
			break;
		case AOPT_AUTO_ACCEPT:
			a.accept_delay_ms = 0;
			if (optarg != NULL &&
			    sbctl_parse_long(optarg, 0, 3600000, &a.accept_delay_ms) < 0)
				return sbctl_usage_error("agent", "bad --auto-accept delay '%s'",
				                         optarg);
			break;
		case AOPT_AUTO_COMPLETE:
			if (sbctl_parse_long(optarg, 0, 86400000, &a.complete_ms) < 0)
				return sbctl_usage_error("agent", "bad --auto-complete time '%s'",
				                         optarg);
			break;
		case AOPT_DISPOSITION:
			/* getopt always sets optarg for a required_argument; the
			 * NULL test only spells that out for static analysis. */
			if (optarg == NULL || optarg[0] == '\0')
				return sbctl_usage_error("agent", "--disposition may not be empty");
			a.disposition = optarg;
			break;
		case AOPT_HELP:
			fputs(sbctl_agent_usage, stdout);
			return SBCTL_EXIT_OK;
		default:
			return sbctl_usage_error("agent", NULL);
		}
	}
	if (optind < argc)
		return sbctl_usage_error("agent", "unexpected argument '%s'", argv[optind]);
	if (address == NULL || id == NULL)
		return sbctl_usage_error("agent", "--agent and --id are required");
	rc = sbctl_credential("agent", "token", token, token_file, &cred, &owned);
	if (rc != 0)
		return rc;
	rc = sbctl_login(address, sbctl_tls(&tls), SWITCHBOARD__V1__ROLE__ROLE_AGENT, id, cred,
	                 timeout_ms, &a.c, &heartbeat_ms);
	free(owned);
	if (rc != 0)
		return rc;

	a.read_stdin = sbctl_agent_stdin_usable(&a.stdin_tty);
	if (available)
		sbctl_agent_sent(
		    &a, sbc_set_state(a.c, SWITCHBOARD__V1__AGENT_STATE__AGENT_STATE_AVAILABLE, ""),
		    "available", "");
	sbctl_agent_loop(&a, heartbeat_ms);

	while (a.ntimers > 0)
		sbctl_agent_drop_timer(&a, 0);
	free(a.timers);
	sbc_close(a.c);
	return a.lost || a.refused ? SBCTL_EXIT_FAIL : SBCTL_EXIT_OK;
}
