/* What a reload changes (config_diff.c): queues, agents, gateways and
 * customer tiers added, removed or changed, by name; other keys by path;
 * long lists cut to a few names and a count; no value ever shown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/config_diff.h"

#define BASE                                                                                       \
	"routing:\n"                                                                               \
	"  reject_delay_ms: 5000\n"                                                                \
	"auth:\n"                                                                                  \
	"  agent_secret: fedcba9876543210\n"                                                       \
	"gateways:\n"                                                                              \
	"  - id: pbx1\n"                                                                           \
	"    secret: 0123456789abcdef\n"                                                           \
	"  - id: chat1\n"                                                                          \
	"    secret: 0123456789abcdef\n"                                                           \
	"queues:\n"                                                                                \
	"  - name: support\n"                                                                      \
	"    channel: voice\n"                                                                     \
	"    steps:\n"                                                                             \
	"      - after_ms: 30000\n"                                                                \
	"        skill_relax: 1\n"                                                                 \
	"  - name: old-q\n"                                                                        \
	"    channel: chat\n"                                                                      \
	"  - name: same-q\n"                                                                       \
	"    channel: email\n"

/* Loads YAML from memory; fails the test on errors. */
static struct sb_config *load(const char *yaml)
{
	struct config_errors errs = {0};
	struct sb_config *cfg = NULL;

	if (config_load_buffer("test.yaml", yaml, strlen(yaml), &cfg, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			print_error("%s\n", errs.msgs[i]);
		config_errors_clear(&errs);
		fail_msg("the test's YAML does not load");
	}
	return cfg;
}

/* config_diff(a, b, max) equals want. */
static void expect_diff(const char *a_yaml, const char *b_yaml, size_t max, const char *want)
{
	struct sb_config *a = load(a_yaml), *b = load(b_yaml);
	char *got = config_diff(a, b, max);

	assert_string_equal(got, want);
	free(got);
	config_free(a);
	config_free(b);
}

static void test_nothing_changed(void **state)
{
	expect_diff(BASE, BASE, 10, "");
}

/* Every kind of change at once; a nested list (a queue's steps) and a
 * secret count as changes of their item, and the secret is not shown. */
static void test_each_kind_of_change(void **state)
{
	const char *b = "routing:\n"
	                "  reject_delay_ms: 7000\n"
	                "channels:\n"
	                "  chat:\n"
	                "    sla_ms: 20000\n"
	                "auth:\n"
	                "  agent_secret: fedcba9876543210\n"
	                "gateways:\n"
	                "  - id: pbx1\n"
	                "    secret: 0123456789abcdeX\n"
	                "  - id: chat1\n"
	                "    secret: 0123456789abcdef\n"
	                "queues:\n"
	                "  - name: support\n"
	                "    channel: voice\n"
	                "    steps:\n"
	                "      - after_ms: 30000\n"
	                "        skill_relax: 2\n"
	                "  - name: vip-q\n"
	                "    channel: voice\n"
	                "  - name: chat-q\n"
	                "    channel: chat\n"
	                "  - name: same-q\n"
	                "    channel: email\n"
	                "agents:\n"
	                "  - id: dave\n";

	expect_diff(
	    BASE, b, 10,
	    "gateways changed pbx1; queues added vip-q, chat-q, removed old-q, changed support; "
	    "agents added dave; settings changed routing.reject_delay_ms, "
	    "channels.chat.sla_ms");
}

/* A roster of 25 new agents names the first few and counts the rest. */
static void test_long_lists_are_cut(void **state)
{
	char b[4096];
	size_t off = (size_t)snprintf(b, sizeof b, "%sagents:\n", BASE);

	for (int i = 0; i < 25; i++)
		off += (size_t)snprintf(b + off, sizeof b - off, "  - id: a%02d\n", i);
	expect_diff(BASE, b, 3, "agents added a00, a01, a02 and 22 more");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nothing_changed),
	    cmocka_unit_test(test_each_kind_of_change),
	    cmocka_unit_test(test_long_lists_are_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
