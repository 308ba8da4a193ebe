/* The wallboard's figures of the day as Redis keeps them (the hash
 * sb:{site}:wallboard, docs/redis.md "Wallboard figures"), so that "today"
 * and the hour chart outlive a restart:
 *   day          local midnight the figures count from (Unix ms)
 *   q:<queue>    "offered answered answered_in_sla abandoned_in_sla
 *                 abandoned_after_sla expired overflowed asa_sum_ms"
 *   h:<queue>    the hour's samples, oldest first, comma-separated
 *                "t_ms:sl:waiting" (sl in thousandths, -1 when none)
 *
 * Owner: record_figures_encode hands the caller the fields, released with
 * record_figures_free. */
#ifndef SB_RECORD_FIGURES_H
#define SB_RECORD_FIGURES_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

struct store_field;

/* One queue's figures. today's asa_ms and service_level are not stored:
 * asa_sum_ms is (the average is recomputed from it). */
struct record_figures_queue {
	const char *name;
	struct engine_period_stats today;
	double asa_sum_ms;
	size_t n; /* history samples, oldest first */
	const int64_t *t_ms;
	const double *sl; /* < 0: none */
	const uint32_t *waiting;
};

struct store_field *record_figures_encode(int64_t day_ms, const struct record_figures_queue *q,
                                          size_t nq, size_t *n_fields);
void record_figures_free(struct store_field *f, size_t n);

/* Each queue found, by what it is: its counts, or its history (arrays
 * valid during the call). */
struct record_figures_sink {
	void (*today)(void *arg, const char *queue, const struct engine_period_stats *today,
	              double asa_sum_ms);
	void (*history)(void *arg, const char *queue, size_t n, const int64_t *t_ms,
	                const double *sl, const uint32_t *waiting);
	void *arg;
};
/* Reads the hash: *day_ms (0 when absent), then the queues to the sink.
 * A field it cannot read is skipped and counted in the return value. */
int record_figures_decode(const struct store_field *f, size_t n, int64_t *day_ms,
                          const struct record_figures_sink *sink);

#endif
