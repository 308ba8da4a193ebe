/* router_restore_roster (router/router.h): how the daemon applies the roster
 * overrides the admin API stored in Redis (docs/redis.md) when it recovers
 * its state. A real router, built from an in-memory config with no store
 * (restoring writes nothing); only the engine's roster is looked at. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>

#include "config/config.h"
#include "engine/engine.h"
#include "record/roster.h"
#include "router/router.h"
#include "util/err.h"
#include "util/log.h"

static const char config_text[] = "site: t\n"
                                  "redis:\n"
                                  "  address: 127.0.0.1:1\n"
                                  "auth:\n"
                                  "  agent_secret: unit-agent-secret-0123456789abcdef\n"
                                  "gateways:\n"
                                  "  - {id: gw, secret: unit-gateway-secret-0123456789}\n"
                                  "queues:\n"
                                  "  - {name: q-voice, channel: voice}\n"
                                  "  - {name: q-chat, channel: chat}\n"
                                  "agents:\n"
                                  "  - {id: alice, tier: regular, skills: {billing: 2}}\n"
                                  "  - {id: bob}\n";

/* What a test works on: a router over an event loop, on its config. */
struct fixture {
	struct event_base *base;
	struct sb_config *cfg;
	struct router *r;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct config_errors errs = {0};
	struct router_hooks hooks = {0};

	log_set_level(LOG_LEVEL_ERROR);
	assert_int_equal(config_load_buffer("unit.yaml", config_text, sizeof config_text - 1,
	                                    &f->cfg, &errs),
	                 0);
	f->base = event_base_new();
	f->r = router_new(f->base, NULL, f->cfg, true, &hooks);
	assert_non_null(f->r);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	router_free(f->r);
	config_free(f->cfg);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* A stored definition adds an agent the config lacks, and replaces one it has. */
static void test_restore_adds_and_replaces(void **state)
{
	struct router *r = ((struct fixture *)*state)->r;
	const char *why = NULL;

	assert_int_equal(
	    router_restore_roster(r, "dave",
	                         "{\"id\":\"dave\",\"name\":\"Dave\",\"tier\":\"senior\","
	                         "\"skills\":{\"billing\":4},\"capacity\":{\"chat\":2},"
	                         "\"queues\":[\"q-chat\"]}",
	                         false, &why),
	    0);
	const struct engine_agent_view *d = engine_agent(router_engine(r), "dave");
	assert_non_null(d);
	assert_string_equal(d->tier, "senior");
	assert_int_equal(d->capacity[SB_CH_CHAT], 2);

	assert_int_equal(
	    router_restore_roster(
	        r, "alice", "{\"id\":\"alice\",\"tier\":\"senior\",\"skills\":{}}", false, &why),
	    0);
	assert_string_equal(engine_agent(router_engine(r), "alice")->tier, "senior");
	/* and the roster shown is the stored definition */
	assert_string_equal(router_roster_get(r, "dave")->name, "Dave");
}

/* roster_removed = 1 takes the agent out; an unknown one is no error. */
static void test_restore_removes(void **state)
{
	struct router *r = ((struct fixture *)*state)->r;
	const char *why = NULL;

	assert_int_equal(router_restore_roster(r, "bob", NULL, true, &why), 0);
	assert_null(engine_agent(router_engine(r), "bob"));
	assert_null(router_roster_get(r, "bob"));
	assert_int_equal(router_restore_roster(r, "nobody", NULL, true, &why), 0);
}

/* A bad stored value is refused with a reason, and changes nothing. */
static void test_restore_refuses_bad_definitions(void **state)
{
	struct router *r = ((struct fixture *)*state)->r;
	const char *why = NULL;

	assert_int_equal(router_restore_roster(r, "erin", "{\"id\":", false, &why),
	                 SB_ERR_INVALID_ARGUMENT);
	assert_non_null(why);
	assert_int_equal(router_restore_roster(r, "erin", "{\"id\":\"frank\"}", false, &why),
	                 SB_ERR_INVALID_ARGUMENT);
	assert_int_equal(router_restore_roster(r, "erin", "{\"id\":\"erin\",\"tier\":\"no-such\"}",
	                                      false, &why),
	                 SB_ERR_INVALID_ARGUMENT);
	assert_int_equal(router_restore_roster(r, "erin",
	                                      "{\"id\":\"erin\",\"queues\":[\"no-such\"]}", false,
	                                      &why),
	                 SB_ERR_INVALID_ARGUMENT);
	assert_null(engine_agent(router_engine(r), "erin"));
	assert_null(engine_agent(router_engine(r), "frank"));
	/* alice as configured */
	assert_string_equal(engine_agent(router_engine(r), "alice")->tier, "regular");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_restore_adds_and_replaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_removes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_refuses_bad_definitions, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
