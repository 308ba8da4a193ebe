/* The estimated wait: the pure rule (engine/estimate.h) case by case, then
 * what engine_submit and engine_contact_estimate answer from a live engine,
 * driven with a fake clock: unknown while nobody who could take the contact
 * is logged in and available (whatever the queue's history), ~0 when an
 * agent is free, else the contacts ahead over the staffed capacity times
 * the queue's handle time plus wrap-up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "engine/estimate.h"

/* ---- the rule ------------------------------------------------------------ */

/* One class for the whole wait. */
static struct estimate_in one(uint32_t position, uint32_t free_slots, uint32_t staffed_slots,
                              double handle_ms, int64_t wrapup_ms)
{
	struct estimate_in in = {.position = position, .n_phases = 1,
	                         .handle_ms = handle_ms, .wrapup_ms = wrapup_ms};
	in.phases[0] = (struct estimate_phase){0, free_slots, staffed_slots};
	return in;
}

/* Nobody staffed: unknown at every place, even with a handle time known. */
static void test_rule_nobody_staffed_is_unknown(void **state)
{
	(void)state;
	for (uint32_t pos = 1; pos <= 3; pos++) {
		struct estimate_in in = one(pos, 0, 0, 180000, 0);
		assert_int_equal(estimate_wait(&in), ENGINE_WAIT_UNKNOWN);
	}
	struct estimate_in none = one(1, 0, 0, -1, 0);
	assert_int_equal(estimate_wait(&none), ENGINE_WAIT_UNKNOWN);
}

/* A free eligible slot for its place: no wait, handle time or not. */
static void test_rule_free_agent_is_zero(void **state)
{
	(void)state;
	struct estimate_in in = one(1, 1, 1, -1, 0);
	assert_int_equal(estimate_wait(&in), 0);
	in = one(3, 3, 10, 60000, 0);
	assert_int_equal(estimate_wait(&in), 0);
	/* Not in a queue (offered, assigned): 0, "no longer waiting". */
	in = one(0, 0, 0, -1, 0);
	assert_int_equal(estimate_wait(&in), 0);
}

/* Every slot busy: each place ahead waits for one slot to turn over, and
 * slots turn over every (handle + wrap-up) / slots. */
static void test_rule_busy_agents_proportional(void **state)
{
	(void)state;
	struct estimate_in in = one(1, 0, 10, 180000, 0);
	assert_int_equal(estimate_wait(&in), 18000);
	in.position = 5;
	assert_int_equal(estimate_wait(&in), 90000);
	/* Twice the agents, half the wait. */
	in.phases[0].staffed_slots = 20;
	assert_int_equal(estimate_wait(&in), 45000);
	/* Wrap-up holds the slot too. */
	in = one(2, 0, 4, 50000, 10000);
	assert_int_equal(estimate_wait(&in), 30000);
}

/* Chat: three agents of capacity 3 are nine slots. */
static void test_rule_chat_capacity(void **state)
{
	(void)state;
	struct estimate_in in = one(1, 0, 9, 90000, 5000);
	assert_int_equal(estimate_wait(&in), 10556); /* 95 000 / 9, rounded */
	in.position = 9;
	assert_int_equal(estimate_wait(&in), 95000);
}

/* Free slots take the first places: only the places past them wait. */
static void test_rule_free_slots_take_first_places(void **state)
{
	(void)state;
	struct estimate_in in = one(5, 2, 10, 100000, 0);
	assert_int_equal(estimate_wait(&in), 30000);
}

/* Staffed and busy, but no handle time measured yet: unknown. */
static void test_rule_no_handle_time_is_unknown(void **state)
{
	(void)state;
	struct estimate_in in = one(2, 1, 3, -1, 0);
	assert_int_equal(estimate_wait(&in), ENGINE_WAIT_UNKNOWN);
}

/* A class that widens while it waits: the first class's pace until the
 * second takes over, then the second's. */
static void test_rule_class_widens(void **state)
{
	(void)state;
	/* A VIP for seniors only (6 busy) for 10 s, then everyone (36 busy);
	 * 240 s a contact. Place 3: 10 s clear 0.25 places, the other 2.75
	 * take 2.75 x 240 s / 36. */
	struct estimate_in in = {.position = 3, .n_phases = 2, .handle_ms = 240000};
	in.phases[0] = (struct estimate_phase){0, 0, 6};
	in.phases[1] = (struct estimate_phase){10000, 0, 36};
	assert_int_equal(estimate_wait(&in), 28333);
	/* Served before the change: the first class alone. */
	in.position = 1;
	in.phases[1].from_ms = 60000;
	assert_int_equal(estimate_wait(&in), 40000);
	/* A free agent in the wider class takes it when the class widens. */
	in.phases[1] = (struct estimate_phase){10000, 2, 36};
	assert_int_equal(estimate_wait(&in), 10000);
	/* Nobody for it now, someone after a step: known, not unknown. */
	in.phases[0] = (struct estimate_phase){0, 0, 0};
	in.phases[1] = (struct estimate_phase){20000, 0, 10};
	in.position = 2;
	assert_int_equal(estimate_wait(&in), 20000 + 48000);
	/* Nobody in any class it will have: unknown. */
	in.phases[1].staffed_slots = 0;
	assert_int_equal(estimate_wait(&in), ENGINE_WAIT_UNKNOWN);
}

/* Absurd inputs stay finite and positive. */
static void test_rule_bounded(void **state)
{
	(void)state;
	struct estimate_in in = one(UINT32_MAX, 0, 1, 1e30, INT64_MAX);
	int64_t w = estimate_wait(&in);
	assert_true(w > 0);
	assert_true(w <= ESTIMATE_MAX_MS);
	in = one(3, 0, 2, 0, 0); /* nothing takes any time */
	assert_int_equal(estimate_wait(&in), 0);
}

/* ---- the engine ------------------------------------------------------------ */

/* One engine with a fake clock; the sink keeps the last offer's id. */
struct efx {
	struct engine *e;
	int64_t now;
	char last_offer[64];
	char last_offer_agent[32];
	int n;
};

static void sink_offer(void *ctx, const struct engine_contact_view *c, int64_t now)
{
	struct efx *f = ctx;
	(void)now;
	snprintf(f->last_offer, sizeof f->last_offer, "%s", c->offer_id);
	snprintf(f->last_offer_agent, sizeof f->last_offer_agent, "%s", c->agent_id);
}
static void sink_offer_ended(void *ctx, const struct engine_contact_view *c, const char *agent_id,
                             const char *offer_id, enum engine_offer_end why, int64_t now)
{
	(void)ctx, (void)c, (void)agent_id, (void)offer_id, (void)why, (void)now;
}
static void sink_contact(void *ctx, const struct engine_contact_view *c, int64_t now)
{
	(void)ctx, (void)c, (void)now;
}
static void sink_completed(void *ctx, const struct engine_contact_view *c, const char *disp,
                           int64_t now)
{
	(void)ctx, (void)c, (void)disp, (void)now;
}
static void sink_cancelled(void *ctx, const struct engine_contact_view *c, const char *reason,
                           const char *agent, const char *offer, int64_t now)
{
	(void)ctx, (void)c, (void)reason, (void)agent, (void)offer, (void)now;
}
static void sink_expired(void *ctx, const struct engine_contact_view *c, const char *reason,
                         int64_t now)
{
	(void)ctx, (void)c, (void)reason, (void)now;
}
static void sink_event(void *ctx, const struct engine_contact_view *c, enum engine_event ev,
                       const char *detail, int64_t now)
{
	(void)ctx, (void)c, (void)ev, (void)detail, (void)now;
}
static void sink_agent_state(void *ctx, const struct engine_agent_view *a, int64_t now)
{
	(void)ctx, (void)a, (void)now;
}
static void sink_free(void *ctx, void *user)
{
	(void)ctx, (void)user;
}

static const struct engine_sink sink = {
    .offer = sink_offer,
    .offer_ended = sink_offer_ended,
    .assigned = sink_contact,
    .completed = sink_completed,
    .cancelled = sink_cancelled,
    .expired = sink_expired,
    .event = sink_event,
    .agent_state = sink_agent_state,
    .contact_free = sink_free,
};

/* Voice (capacity 1, 10 s wrap-up) and chat (capacity 3, 5 s wrap-up);
 * queues voice-q, chat-q, billing (billing:3) and tech (tech:3, tech:2
 * after 20 s); alice, bob and carol serve every queue without skills, dave
 * has billing:5, erin tech:2, frank tech:3. Nobody logged in. */
static int efx_setup(void **state)
{
	static struct efx f;
	struct engine_conf conf = {0};
	const char *why = NULL;

	memset(&f, 0, sizeof f);
	conf.offer_prefix = "T";
	conf.reject_delay_ms = 5000;
	conf.stats_window_ms = 900000;
	conf.check_invariants = true;
	for (int ch = 0; ch < SB_CH_COUNT; ch++)
		conf.channels[ch] = (struct engine_channel_conf){
		    .sla_ms = 60000, .offer_timeout_ms = 20000, .capacity = 1};
	conf.channels[SB_CH_VOICE] = (struct engine_channel_conf){
	    .sla_ms = 30000, .offer_timeout_ms = 15000, .wrapup_ms = 10000, .capacity = 1,
	    .exclusive = true};
	conf.channels[SB_CH_CHAT] = (struct engine_channel_conf){
	    .sla_ms = 60000, .offer_timeout_ms = 20000, .wrapup_ms = 5000, .capacity = 3};
	f.e = engine_new(&conf, &sink, &f);
	assert_non_null(f.e);
	const struct engine_skill_req billing_req = {"billing", 3}, tech_req = {"tech", 3};
	const struct engine_step relax = {.after_ms = 20000, .skill_relax = 1};
	const struct engine_queue_def queues[] = {
	    {.name = "voice-q", .channel = SB_CH_VOICE},
	    {.name = "chat-q", .channel = SB_CH_CHAT},
	    {.name = "billing", .channel = SB_CH_VOICE, .skills = &billing_req, .n_skills = 1},
	    {.name = "tech", .channel = SB_CH_VOICE, .skills = &tech_req, .n_skills = 1,
	     .steps = &relax, .n_steps = 1},
	};
	for (size_t i = 0; i < sizeof queues / sizeof *queues; i++)
		assert_int_equal(engine_queue_add(f.e, &queues[i], &why), 0);
	assert_int_equal(engine_queues_done(f.e, &why), 0);
	static const char *const ids[] = {"alice", "bob", "carol"};
	for (size_t i = 0; i < 3; i++) {
		const struct engine_agent_def d = {.id = ids[i]};
		assert_int_equal(engine_agent_add(f.e, &d, NULL, &why), 0);
	}
	const struct engine_skill_level dave_skill = {"billing", 5};
	const struct engine_agent_def dave = {.id = "dave", .skills = &dave_skill, .n_skills = 1};
	assert_int_equal(engine_agent_add(f.e, &dave, NULL, &why), 0);
	const struct engine_skill_level erin_skill = {"tech", 2}, frank_skill = {"tech", 3};
	const struct engine_agent_def erin = {.id = "erin", .skills = &erin_skill, .n_skills = 1};
	const struct engine_agent_def frank = {.id = "frank", .skills = &frank_skill, .n_skills = 1};
	assert_int_equal(engine_agent_add(f.e, &erin, NULL, &why), 0);
	assert_int_equal(engine_agent_add(f.e, &frank, NULL, &why), 0);
	*state = &f;
	return 0;
}

static int efx_teardown(void **state)
{
	struct efx *f = *state;
	engine_free(f->e);
	return 0;
}

/* Submits a contact now to queue; returns its estimate, its place through *pos. */
static int64_t efx_submit(struct efx *f, const char *queue, uint32_t *pos)
{
	static char ids[512][16];
	char *id = ids[f->n++ % 512];
	enum sb_channel ch = strcmp(queue, "chat-q") == 0 ? SB_CH_CHAT : SB_CH_VOICE;
	uint32_t p = 0;
	int64_t est = -2;

	snprintf(id, 16, "c%d", f->n);
	const struct engine_submit in = {
	    .id = id,
	    .gateway_id = "gw",
	    .external_id = id,
	    .queue = queue,
	    .channel = ch,
	    .arrived_ms = f->now,
	    .deadline_ms = engine_deadline(f->e, queue, ch, NULL, f->now, 0),
	};
	assert_int_equal(engine_submit(f->e, &in, f->now, &p, &est), 0);
	assert_null(engine_check_invariants(f->e));
	assert_true(est >= 0 || est == ENGINE_WAIT_UNKNOWN);
	/* The query the daemon uses later agrees at the same moment. */
	assert_int_equal(engine_contact_estimate(f->e, id, f->now), est);
	if (pos != NULL)
		*pos = p;
	return est;
}

static void efx_available(struct efx *f, const char *agent)
{
	const char *why = NULL;
	assert_int_equal(engine_agent_login(f->e, agent, f->now), 0);
	assert_int_equal(engine_agent_set_state(f->e, agent, AGENT_AVAILABLE, NULL, f->now, &why),
	                 0);
}

/* Accepts the last offer (to agent) at now. */
static const char *efx_accept(struct efx *f, const char *agent)
{
	const char *why = NULL;
	const struct engine_contact_view *c = NULL;

	assert_string_equal(f->last_offer_agent, agent);
	assert_int_equal(engine_accept(f->e, agent, f->last_offer, f->now, &why, &c), 0);
	return c->id;
}

static void efx_complete(struct efx *f, const char *agent, const char *contact)
{
	const char *why = NULL;
	assert_int_equal(engine_complete(f->e, agent, contact, "ok", f->now, &why), 0);
	assert_int_equal(engine_ready(f->e, agent, f->now), 0);
}

/* One contact of queue handled for handle_ms from now, by the free agent
 * it is offered to. */
static void efx_handle(struct efx *f, const char *queue, int64_t handle_ms)
{
	char id[16], agent[32];

	assert_int_equal(efx_submit(f, queue, NULL), 0);
	snprintf(agent, sizeof agent, "%s", f->last_offer_agent);
	snprintf(id, sizeof id, "%s", efx_accept(f, agent));
	f->now += handle_ms;
	efx_complete(f, agent, id);
}

/* Positions 1-3 in a queue nobody is logged in for: unknown, not 0. */
static void test_nobody_logged_in_is_unknown(void **state)
{
	struct efx *f = *state;
	uint32_t pos;

	for (uint32_t i = 1; i <= 3; i++) {
		f->now += 1000;
		assert_int_equal(efx_submit(f, "voice-q", &pos), ENGINE_WAIT_UNKNOWN);
		assert_int_equal(pos, i);
	}
}

/* 200 answers, then everybody leaves: the queue's history does not make an
 * estimate (the answer-rate estimate said 219/439/660 ms here). */
static void test_history_without_agents_is_unknown(void **state)
{
	struct efx *f = *state;
	const char *why = NULL;

	efx_available(f, "alice");
	for (int i = 0; i < 200; i++)
		efx_handle(f, "voice-q", 100);
	assert_int_equal(engine_agent_logout(f->e, "alice", f->now), 0);
	for (uint32_t i = 1; i <= 3; i++)
		assert_int_equal(efx_submit(f, "voice-q", NULL), ENGINE_WAIT_UNKNOWN);
	/* Logged in but on a break is not staffed either. */
	assert_int_equal(engine_agent_login(f->e, "bob", f->now), 0);
	assert_int_equal(engine_agent_set_state(f->e, "bob", AGENT_BREAK, "lunch", f->now, &why), 0);
	assert_int_equal(efx_submit(f, "voice-q", NULL), ENGINE_WAIT_UNKNOWN);
}

/* Idle agents who lack the queue's skill are not capacity for it; the one
 * who has it is, once available. */
static void test_only_eligible_agents_count(void **state)
{
	struct efx *f = *state;

	efx_available(f, "alice");
	efx_available(f, "bob");
	assert_int_equal(efx_submit(f, "billing", NULL), ENGINE_WAIT_UNKNOWN);
	efx_available(f, "dave"); /* takes the waiting one */
	assert_string_equal(f->last_offer_agent, "dave");
	/* Dave is ringing; no handle time measured for billing yet. */
	assert_int_equal(efx_submit(f, "billing", NULL), ENGINE_WAIT_UNKNOWN);
}

/* A free eligible agent: offered at once, estimate 0. */
static void test_free_agent_is_zero(void **state)
{
	struct efx *f = *state;
	uint32_t pos;

	efx_available(f, "alice");
	assert_int_equal(efx_submit(f, "voice-q", &pos), 0);
	assert_int_equal(pos, 1);
}

/* Three busy voice agents, 60 s handle time and 10 s wrap-up: a slot turns
 * over every 70 s / 3, and each place waits one more turn. Asked later,
 * the same contact's estimate follows its place. */
static void test_busy_agents_proportional(void **state)
{
	struct efx *f = *state;
	const char *agents[] = {"alice", "bob", "carol"};
	char held[3][16];

	for (int i = 0; i < 3; i++)
		efx_available(f, agents[i]);
	for (int i = 0; i < 3; i++)
		efx_handle(f, "voice-q", 60000);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(efx_submit(f, "voice-q", NULL), 0);
		snprintf(held[i], sizeof held[i], "%s", efx_accept(f, f->last_offer_agent));
	}
	uint32_t pos;
	assert_int_equal(efx_submit(f, "voice-q", &pos), 23333); /* 70 000 / 3 */
	assert_int_equal(pos, 1);
	char second[16];
	snprintf(second, sizeof second, "c%d", f->n + 1);
	assert_int_equal(efx_submit(f, "voice-q", &pos), 46667);
	assert_int_equal(pos, 2);
	/* A fourth agent takes the first: four slots, one place ahead less. */
	efx_available(f, "dave");
	(void)efx_accept(f, "dave");
	assert_int_equal(engine_contact_position(f->e, second), 1);
	assert_int_equal(engine_contact_estimate(f->e, second, f->now), 17500); /* 70 000 / 4 */
	/* Assigned or gone: 0, no longer waiting. */
	assert_int_equal(engine_contact_estimate(f->e, "c999", f->now), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(engine_contact_estimate(f->e, held[i], f->now), 0);
}

/* Chat: one agent with three slots, all in use, 90 s handle time and 5 s
 * wrap-up: the next waits 95 s / 3. */
static void test_chat_capacity(void **state)
{
	struct efx *f = *state;

	efx_available(f, "alice");
	efx_handle(f, "chat-q", 90000);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(efx_submit(f, "chat-q", NULL), 0);
		(void)efx_accept(f, "alice");
	}
	assert_int_equal(efx_submit(f, "chat-q", NULL), 31667);
}

/* Staffed and busy before any contact of the queue completed: unknown
 * until a handle time is measured. */
static void test_no_handle_time_yet_is_unknown(void **state)
{
	struct efx *f = *state;

	efx_available(f, "alice");
	assert_int_equal(efx_submit(f, "voice-q", NULL), 0);
	const char *first = efx_accept(f, "alice");
	char id[16];
	snprintf(id, sizeof id, "%s", first);
	assert_int_equal(efx_submit(f, "voice-q", NULL), ENGINE_WAIT_UNKNOWN);
	f->now += 40000;
	const char *why = NULL;
	assert_int_equal(engine_complete(f->e, "alice", id, "ok", f->now, &why), 0);
	/* In wrap-up: the waiting one is not offered yet; now one place ahead
	 * of one slot of 40 s + 10 s. */
	assert_int_equal(efx_submit(f, "voice-q", NULL), 100000);
}

/* A class that widens while the contact waits: frank (tech:3) alone for
 * 20 s, then erin (tech:2) too. The estimate follows the step, once a
 * contact has made the wider class. */
static void test_escalation_step_widens_capacity(void **state)
{
	struct efx *f = *state;

	efx_available(f, "frank");
	efx_handle(f, "tech", 60000); /* a slot turns over every 70 s */
	assert_int_equal(efx_submit(f, "tech", NULL), 0);
	(void)efx_accept(f, "frank");
	/* Nobody has reached the step yet: frank's pace alone. */
	assert_int_equal(efx_submit(f, "tech", NULL), 70000);
	efx_available(f, "erin");
	f->now += 20000;
	engine_tick(f->e, f->now); /* the step: erin takes it */
	(void)efx_accept(f, "erin");
	/* 20 s at one slot's pace clear 2/7 of a place, the rest go at two
	 * slots': 20 s + 5/7 x 35 s. */
	assert_int_equal(efx_submit(f, "tech", NULL), 45000);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, efx_setup, efx_teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule_nobody_staffed_is_unknown),
	    cmocka_unit_test(test_rule_free_agent_is_zero),
	    cmocka_unit_test(test_rule_busy_agents_proportional),
	    cmocka_unit_test(test_rule_chat_capacity),
	    cmocka_unit_test(test_rule_free_slots_take_first_places),
	    cmocka_unit_test(test_rule_no_handle_time_is_unknown),
	    cmocka_unit_test(test_rule_class_widens),
	    cmocka_unit_test(test_rule_bounded),
	    T(test_nobody_logged_in_is_unknown),
	    T(test_history_without_agents_is_unknown),
	    T(test_only_eligible_agents_count),
	    T(test_free_agent_is_zero),
	    T(test_busy_agents_proportional),
	    T(test_chat_capacity),
	    T(test_no_handle_time_yet_is_unknown),
	    T(test_escalation_step_widens_capacity),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
