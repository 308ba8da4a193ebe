/* The no-answer rule: an agent that lets max_no_answer offers in a row time
 * out is put on break "no-answer", so contacts stop being offered to someone
 * who is not there (0: never). The run ends when the agent accepts
 * (accept.c) and when it becomes available again (agent_state.c). */
#include "engine/internal.h"

/* Counts an offer a let time out; at the limit a goes on break. */
void no_answer_missed(struct engine *e, struct eagent *a, int64_t now)
{
	/* While paused the agent's answer may have been refused, not missed. */
	if (!e->paused && e->conf.max_no_answer > 0 && ++a->no_answer >= e->conf.max_no_answer &&
	    a->v.state == AGENT_AVAILABLE)
		agent_state_set(e, a, AGENT_BREAK, "no-answer", now);
}
