/* The estimated wait of a contact in a queue (estimate.c): a pure rule on
 * figures the engine reads from itself, so it is tested case by case. */
#ifndef SB_ENGINE_ESTIMATE_H
#define SB_ENGINE_ESTIMATE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* Longer estimates are reported as this (a year): past it the figure
 * means nothing more. */
#define ESTIMATE_MAX_MS ((int64_t)366 * 86400000)
/* Class changes looked at ahead (escalation steps, tier widening, the end
 * of a preferred agent's wait), the class now included. */
#define ESTIMATE_MAX_PHASES 4

/* The agents who could take the contact during one stretch of its wait:
 * its class from from_ms on (until the next phase's). */
struct estimate_phase {
	int64_t from_ms; /* after now; the first phase's is 0 */
	/* Eligible agents with a free slot now (the class's ready agents). */
	uint32_t free_slots;
	/* Slots (capacity on the channel) of the eligible agents who are
	 * logged in, connected and available, busy or not. */
	uint32_t staffed_slots;
};

/* What an estimate is made from. */
struct estimate_in {
	/* 1-based place in the queue's deadline order; 0: not in a queue. */
	uint32_t position;
	/* Its class now, then the ones it will move to, by from_ms. */
	struct estimate_phase phases[ESTIMATE_MAX_PHASES];
	size_t n_phases; /* >= 1 */
	/* The queue's mean handle time (accept to complete); < 0: none measured. */
	double handle_ms;
	/* The channel's wrap-up: a slot stays taken that long after each contact. */
	int64_t wrapup_ms;
};

/* The wait in ms from now: 0 when a free slot is there for its place (or it
 * is in no queue); ENGINE_WAIT_UNKNOWN when nobody staffed could ever take
 * it in the phases known, or no handle time is known yet. */
int64_t estimate_wait(const struct estimate_in *in);

#endif
