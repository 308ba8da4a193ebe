/* Agent selection (DESIGN 3.3): among agents that may take a contact, the
 * queue's strategy orders them. Each strategy is a key (k1, k2) computed
 * when the agent is (re)filed in a class's ready heap. Where a strategy's
 * own measure ties (two equally skilled agents), the longer idle goes first
 * — fairer than always favouring one id — and only then the agent id, so a
 * run is deterministic given its inputs. */
#include <string.h>

#include "engine/internal.h"

/* The most-skilled key: a's levels summed over q's skills. */
static int64_t select_skill_sum(const struct eagent *a, const struct equeue *q)
{
	int64_t sum = 0;
	for (int i = 0; i < q->n_reqs; i++)
		sum += eligibility_level(a, q->reqs[i].skill);
	return sum;
}

/* Share of the agent's capacity on the class's channel in use, in parts
 * per million: capacity on channels the queue does not take says nothing
 * about how busy the agent is for this contact. */
static int64_t select_occupancy(const struct eagent *a, enum sb_channel ch)
{
	int64_t cap = a->v.capacity[ch];
	return cap ? (int64_t)a->v.load[ch] * 1000000 / cap : 0;
}

/* a's key in b's ready heap under b's queue's strategy; less is better. */
void select_key(const struct engine *e, const struct eagent *a, const struct bucket *b,
		int64_t *k1, int64_t *k2)
{
	const struct equeue *q = b->queue;

	*k2 = a->idle_since;
	switch (q->strategy) {
	case STRATEGY_LONGEST_IDLE:
		*k1 = a->idle_since;
		*k2 = 0;
		break;
	case STRATEGY_MOST_SKILLED:
		*k1 = -select_skill_sum(a, q);
		break;
	case STRATEGY_LEAST_OCCUPIED:
		*k1 = select_occupancy(a, b->channel);
		break;
	case STRATEGY_ROUND_ROBIN:
		*k1 = a->last_offer[q->index];
		*k2 = 0;
		break;
	case STRATEGY_FEWEST_CONTACTS:
		*k1 = a->v.handled;
		break;
	case STRATEGY_RANDOM:
	default:
		*k1 = (int64_t)(a->rnd >> 1);
		*k2 = 0;
		break;
	}
}

/* The ready heap's order: key, then agent id, so runs are reproducible. */
bool select_less(const void *x, const void *y)
{
	const struct link *l = x, *m = y;

	if (l->k1 != m->k1)
		return l->k1 < m->k1;
	if (l->k2 != m->k2)
		return l->k2 < m->k2;
	return strcmp(l->agent->v.id, m->agent->v.id) < 0;
}

/* A strategy as the config file writes it. */
const char *engine_strategy_name(enum engine_strategy s)
{
	static const char *const names[STRATEGY_COUNT] = {
		"longest-idle", "most-skilled",	   "least-occupied",
		"round-robin",	"fewest-contacts", "random",
	};
	return (unsigned)s < STRATEGY_COUNT ? names[s] : "?";
}

/* A strategy from its config-file name; -1 if unknown. */
int engine_strategy_parse(const char *name)
{
	for (int s = 0; s < STRATEGY_COUNT; s++)
		if (strcmp(engine_strategy_name((enum engine_strategy)s), name) == 0)
			return s;
	return -1;
}
