/* The re-entry guard. A sink callback runs in the middle of an entry
 * point, with the engine half-way through a change: calling any entry point
 * that changes state from there would work on structures that are not
 * consistent (a contact out of every index, a load not yet counted) and
 * corrupt them silently. Each such entry point marks the engine busy
 * (reentry_enter in internal.h) and a nested one aborts here, in every
 * build: this is a bug in the caller, never a condition to recover from.
 * The rule is stated in engine.h, beside struct engine_sink. */
#include <stdlib.h>

#include "engine/internal.h"
#include "util/log.h"

/* Names both entry points, so the log says which callback broke the rule. */
void reentry_abort(const struct engine *e, const char *fn)
{
	log_error("engine: %s called while %s is running (from a sink callback?): sink "
		  "callbacks must not change the engine (engine.h)",
		  fn, e->busy);
	abort();
}
