/* The estimated wait: M/M/c's wait for a caller who finds every slot busy
 * with places ahead of it. Each place ahead of a contact, past the slots
 * free now, waits for one slot to turn over, and the staffed slots turn
 * over one every (handle time + wrap-up) / slots. With one class:
 *
 *     wait = (position - free slots) x (mean handle time + wrap-up) / staffed slots
 *
 * Staffed counts only agents who could take this contact (its queue,
 * skills and tiers) and are logged in, connected and available. A contact
 * whose class widens while it waits (an escalation step, a VIP's tier
 * widening) is served at each class's pace in turn: places are cleared at
 * the first class's rate until the second takes over, and so on.
 *
 * With nobody staffed in any class it will have, or with no handle time
 * measured yet, there is nothing to estimate from, and the answer is
 * "unknown" rather than a number that misleads. */
#include <math.h>

#include "engine/estimate.h"

/* The wait for in's contact, in ms, or ENGINE_WAIT_UNKNOWN. */
int64_t estimate_wait(const struct estimate_in *in)
{
	double left = in->position; /* places still to clear, its own included */
	double t = 0;               /* ms from now */
	double turn = in->handle_ms + (double)(in->wrapup_ms > 0 ? in->wrapup_ms : 0);

	if (in->position == 0)
		return 0;
	for (size_t i = 0; i < in->n_phases; i++) {
		const struct estimate_phase *p = &in->phases[i];
		bool last = i + 1 == in->n_phases;
		double end = last ? INFINITY : (double)in->phases[i + 1].from_ms;

		/* Free slots take the first places the moment the class is in force. */
		if (left <= p->free_slots)
			return llround(t);
		if (p->staffed_slots == 0) {
			if (last)
				return ENGINE_WAIT_UNKNOWN;
			t = end; /* nobody serves it in this class: wait for the next */
			continue;
		}
		if (!(in->handle_ms >= 0))
			return ENGINE_WAIT_UNKNOWN;
		left -= p->free_slots;
		double rate = (double)p->staffed_slots / turn; /* places per ms */
		if (!(turn > 0) || t + left / rate <= end) {
			t += turn > 0 ? left / rate : 0;
			break;
		}
		left -= (end - t) * rate;
		t = end;
	}
	if (!(t < (double)ESTIMATE_MAX_MS))
		return ESTIMATE_MAX_MS;
	return llround(t);
}
