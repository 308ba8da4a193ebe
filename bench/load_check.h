/* The load generator's journal and its comparison with Redis.
 *
 * The journal records what the daemon told clients during a run: every
 * contact it acknowledged (ContactAccepted), every (contact, agent) pair it
 * confirmed (AssignmentConfirmed), and every completion it reported (the
 * agent's Ack of CompleteContact, the gateway's ContactCompleted).
 * load_check() then reads Redis and counts three kinds of broken promise:
 *
 *   lost            an acknowledged contact whose hash is missing, or
 *                   incomplete (without `payload`, `channel` or `queue`: a
 *                   later write recreated it after Redis lost it), or whose
 *                   state is none of waiting, offered, assigned, completed,
 *                   cancelled, expired;
 *   double-assigned a contact confirmed to two different agents in the
 *                   journal, or with two `assigned` events naming different
 *                   agents in the events stream and no `requeued` or
 *                   `transferred` between them;
 *   stuck           a contact neither finished nor visible: waiting or
 *                   offered but missing from its queue's sorted set or from
 *                   the open set, or assigned without an agent.
 *
 * The journal file (--journal) has one record a line, written as each frame
 * is received, the time last (Unix ms, wall clock):
 *
 *   ack <contact> <external id> <ms>
 *   assign <contact> <agent> <ms>
 *   complete <contact> <agent or gateway id> <ms>
 *
 * Readers take lines without the time too (journals written before it).
 * bench/sb-check reads the same file independently of this code.
 *
 * Owner: load_journal_new() returns a journal the caller frees with
 * load_journal_free(); it owns copies of every id recorded. */
#ifndef SB_BENCH_LOAD_CHECK_H
#define SB_BENCH_LOAD_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct load_journal;

/* file: also append each record to it as a line (the format above); NULL
 * for memory only. The file stays the caller's. */
struct load_journal *load_journal_new(FILE *file);
void load_journal_free(struct load_journal *j);
/* An acknowledged contact (repeats are ignored). */
void load_journal_ack(struct load_journal *j, const char *contact_id, const char *external_id);
/* A confirmed assignment. Returns true when the contact was confirmed to
 * another agent before: a double assignment, counted by load_check(). */
bool load_journal_assign(struct load_journal *j, const char *contact_id, const char *agent_id);
/* A completion a client was told of (who: the agent or the gateway). Only
 * written to the file: load_check() does not use it. */
void load_journal_complete(struct load_journal *j, const char *contact_id, const char *who);
size_t load_journal_acked(const struct load_journal *j);
size_t load_journal_doubles(const struct load_journal *j);

struct load_check_opts {
	const char *redis_addr; /* "host:port" or "unix:/path" */
	const char *site;
	bool check_open_set;    /* false for daemons that keep no sb:{site}:open set */
	FILE *detail;           /* first few offenders of each kind, or NULL */
	size_t max_detail;      /* per kind */
};

struct load_check_result {
	size_t checked; /* acknowledged contacts looked up */
	size_t lost, double_assigned, stuck;
	size_t finished;           /* completed, cancelled or expired in Redis */
	size_t events_scanned;     /* entries of the events stream read */
};

/* How many contacts of the site are still open (SCARD sb:{site}:open), so
 * a run can stop waiting once the daemon has finished everything even when
 * a client missed the news. Returns 0 with *n, or -1 with err. */
int load_check_open_count(const struct load_check_opts *o, long long *n, char *err,
                          size_t errlen);

/* Compares the journal with Redis. Returns 0 with *res filled, or -1 with a
 * message in err when Redis could not be read. */
int load_check(const struct load_journal *j, const struct load_check_opts *o,
               struct load_check_result *res, char *err, size_t errlen);

#endif
