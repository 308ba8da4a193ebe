/* admin_roster_restore (admin/admin.h): how the daemon applies the roster
 * overrides the admin API stored in Redis (docs/redis.md) when it recovers
 * its state. A real server, built from an in-memory config with the admin
 * API off and Redis never started; only the engine's roster is looked at. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "admin/admin.h"
#include "config/config.h"
#include "engine/engine.h"
#include "util/err.h"
#include "util/log.h"
#include "server.h"

static const char config_text[] = "site: t\n"
                                  "listen:\n"
                                  "  gateway: unix:%s-g.sock\n"
                                  "  agent: unix:%s-a.sock\n"
                                  "admin:\n"
                                  "  listen: \"\"\n"
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

static int setup(void **state)
{
	char base[64], text[sizeof config_text + 128];
	struct sb_config *cfg = NULL;
	struct config_errors errs = {0};

	log_set_level(LOG_LEVEL_ERROR);
	snprintf(base, sizeof base, "/tmp/test-admin-roster-%ld", (long)getpid());
	int n = snprintf(text, sizeof text, config_text, base, base);
	assert_int_equal(config_load_buffer("unit.yaml", text, (size_t)n, &cfg, &errs), 0);
	*state = server_new(cfg);
	assert_non_null(*state);
	return 0;
}

static int teardown(void **state)
{
	char path[96];

	server_free(*state);
	snprintf(path, sizeof path, "/tmp/test-admin-roster-%ld-g.sock", (long)getpid());
	unlink(path);
	snprintf(path, sizeof path, "/tmp/test-admin-roster-%ld-a.sock", (long)getpid());
	unlink(path);
	return 0;
}

/* A stored definition adds an agent the config lacks, and replaces one it has. */
static void test_restore_adds_and_replaces(void **state)
{
	struct server *srv = *state;
	struct admin *adm = server_admin(srv);
	const char *why = NULL;

	assert_non_null(adm);
	assert_int_equal(
	    admin_roster_restore(adm, "dave",
	                         "{\"id\":\"dave\",\"name\":\"Dave\",\"tier\":\"senior\","
	                         "\"skills\":{\"billing\":4},\"capacity\":{\"chat\":2},"
	                         "\"queues\":[\"q-chat\"]}",
	                         false, &why),
	    0);
	const struct engine_agent_view *d = engine_agent(server_engine(srv), "dave");
	assert_non_null(d);
	assert_string_equal(d->tier, "senior");
	assert_int_equal(d->capacity[SB_CH_CHAT], 2);

	assert_int_equal(
	    admin_roster_restore(
	        adm, "alice", "{\"id\":\"alice\",\"tier\":\"senior\",\"skills\":{}}", false, &why),
	    0);
	assert_string_equal(engine_agent(server_engine(srv), "alice")->tier, "senior");
}

/* roster_removed = 1 takes the agent out; an unknown one is no error. */
static void test_restore_removes(void **state)
{
	struct server *srv = *state;
	const char *why = NULL;

	assert_int_equal(admin_roster_restore(server_admin(srv), "bob", NULL, true, &why), 0);
	assert_null(engine_agent(server_engine(srv), "bob"));
	assert_int_equal(admin_roster_restore(server_admin(srv), "nobody", NULL, true, &why), 0);
}

/* A bad stored value is refused with a reason, and changes nothing. */
static void test_restore_refuses_bad_definitions(void **state)
{
	struct server *srv = *state;
	struct admin *adm = server_admin(srv);
	const char *why = NULL;

	assert_int_equal(admin_roster_restore(adm, "erin", "{\"id\":", false, &why),
	                 SB_ERR_INVALID_ARGUMENT);
	assert_non_null(why);
	assert_int_equal(admin_roster_restore(adm, "erin", "{\"id\":\"frank\"}", false, &why),
	                 SB_ERR_INVALID_ARGUMENT);
	assert_int_equal(admin_roster_restore(adm, "erin", "{\"id\":\"erin\",\"tier\":\"no-such\"}",
	                                      false, &why),
	                 SB_ERR_INVALID_ARGUMENT);
	assert_int_equal(admin_roster_restore(adm, "erin",
	                                      "{\"id\":\"erin\",\"queues\":[\"no-such\"]}", false,
	                                      &why),
	                 SB_ERR_INVALID_ARGUMENT);
	assert_null(engine_agent(server_engine(srv), "erin"));
	assert_null(engine_agent(server_engine(srv), "frank"));
	/* alice as configured */
	assert_string_equal(engine_agent(server_engine(srv), "alice")->tier, "regular");
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
