/* Configuration reload (issue 5): SIGHUP applies a valid file to the
 * running daemon without dropping a contact or a connection — offers stay
 * live under the same id, waiting contacts keep their places — and refuses
 * an invalid one, keeping the old configuration; the log says what a
 * reload changed. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

#define VOICE SWITCHBOARD__V1__CHANNEL__CHANNEL_VOICE
#define CHAT SWITCHBOARD__V1__CHANNEL__CHANNEL_CHAT
#define EMAIL SWITCHBOARD__V1__CHANNEL__CHANNEL_EMAIL
#define OFFER_MS 3000

static int setup_slow_offers(void **state)
{
	struct harness_opts opts = {.offer_timeout_ms = 30000};

	*state = harness_start(&opts);
	return 0;
}

/* The running config with `from` replaced by `to` (which must be there). */
static void edit_config(struct harness *h, const char *from, const char *to)
{
	const char *cur = harness_read_file(h, harness_config_path(h));
	const char *at = strstr(cur, from);

	assert_non_null(at);
	const char *text = harness_printf(h, "%.*s%s%s", (int)(at - cur), cur, to, at + strlen(from));
	harness_write_file(h, "switchboard.yaml", text);
}

/* SIGHUP, then waits for the outcome line that follows it in the log. */
static bool reload(struct harness *h, const char *outcome)
{
	const char *log = harness_read_file(h, "switchboard.log");
	long from = log ? (long)strlen(log) : 0;
	harness_daemon_signal(h, SIGHUP);
	for (int i = 0; i < 100; i++) {
		if (harness_log_find(h, outcome, from) >= 0)
			return true;
		harness_sleep(h, 30);
	}
	return false;
}

HARNESS_TEST(test_reload_keeps_contacts_offers_and_connections)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	struct sbc *bob = harness_agent(h, "bob");

	harness_available(h, alice);
	const char *offered = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	const char *offer = harness_offer_for(h, alice, offered, OFFER_MS);
	harness_available(h, bob);
	const char *held = harness_assigned(h, gw, bob, "chat-1", CHAT, "chat-q");
	const char *mail1 = harness_submit_id(h, gw, "mail-1", EMAIL, "email-q");
	(void)mail1;

	edit_config(h, "agents:\n", "  - name: chat-vip\n    channel: chat\nagents:\n");
	assert_true(reload(h, "reload: applied"));
	assert_true(harness_log_contains(h, "3 contacts carried over"));

	/* Nobody was dropped; alice's offer is the same offer. */
	harness_assert_open(h, gw);
	harness_assert_open(h, alice);
	harness_assert_open(h, bob);
	harness_accept(h, alice, offer, offered);
	harness_reply(h, bob, sbc_complete(bob, held, "resolved"), SB_BODY(ACK), HARNESS_REPLY_MS);
	/* The new queue takes contacts. */
	harness_submit_id(h, gw, "chat-2", CHAT, "chat-vip");
}

HARNESS_TEST(test_reload_refuses_an_invalid_file)
{
	struct sbc *gw = harness_gateway(h, "gw1");

	edit_config(h, "queues:\n", "queues: 5\nbroken:\n");
	assert_true(reload(h, "reload refused"));
	assert_true(harness_log_contains(h, "switchboard.yaml:"));
	assert_true(harness_daemon_alive(h));
	harness_assert_open(h, gw);
	harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
}

HARNESS_TEST(test_removed_queue_drains_what_it_holds)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	const char *mail = harness_submit_id(h, gw, "mail-1", EMAIL, "email-q");

	edit_config(h, "  - name: email-q\n    channel: email\n", "");
	assert_true(reload(h, "reload: applied"));
	assert_true(harness_log_contains(h, "queue email-q is no longer configured"));

	struct sbc_submit s = {.external_id = "mail-2", .channel = EMAIL, .queue = "email-q"};
	Envelope *e = harness_expect_error(h, gw, sbc_submit(gw, &s),
					   SB_ERR_CODE(INVALID_ARGUMENT), HARNESS_REPLY_MS);
	assert_non_null(strstr(e->error->message, "removed"));
	/* What it held is still routed. */
	struct sbc *carol = harness_agent(h, "carol");
	harness_available(h, carol);
	harness_offer_for(h, carol, mail, OFFER_MS);
}

HARNESS_TEST(test_removing_an_agent_with_contacts_is_refused)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *bob = harness_agent(h, "bob");

	harness_available(h, bob);
	const char *held = harness_assigned(h, gw, bob, "chat-1", CHAT, "chat-q");

	edit_config(h, "  - id: bob\n    name: Bob Example\n", "");
	assert_true(reload(h, "reload refused: agent bob"));
	harness_reply(h, bob, sbc_complete(bob, held, "resolved"), SB_BODY(ACK), HARNESS_REPLY_MS);

	/* Once he holds nothing, the same file applies, and his session ends. */
	assert_true(reload(h, "reload: applied"));
	harness_assert_closed_notice(h, bob, 2000);
}

/* The applied line says what changed, by name, not only how many: an
 * operator reading the log after `systemctl reload` sees what took. */
HARNESS_TEST(test_reload_logs_what_changed)
{
	edit_config(h, "agents:\n", "  - name: chat-vip\n    channel: chat\nagents:\n");
	edit_config(h, "  - id: carol\n    name: Carol Example\n", "");
	edit_config(h, "itest-gw2-secret-fedcba9876543210", "itest-gw2-secret-rotated-0123456789");
	edit_config(h, "  email:\n    wrapup_ms: 0\n", "  email:\n    wrapup_ms: 1500\n");
	assert_true(reload(h, "reload: applied"));
	const char *want =
		harness_printf(h,
			       "reload: applied %s: 5 queues, 2 agents; gateways changed gw2; "
			       "queues added chat-vip; agents removed carol; settings changed "
			       "channels.email.wrapup_ms\n",
			       harness_config_path(h));
	if (!harness_log_contains(h, want))
		fail_msg("no \"%s\" in:\n%s", want, harness_read_file(h, "switchboard.log"));
	/* the rotated secret itself is never logged */
	assert_false(harness_log_contains(h, "rotated"));

	/* the same file again: nothing changed, and the line says so */
	assert_true(reload(h, "reload: applied"));
	assert_true(harness_log_contains(h, "5 queues, 2 agents; nothing changed\n"));
}

static int setup_long_wrapup(void **state)
{
	struct harness_opts opts = {.offer_timeout_ms = 30000, .voice_wrapup_ms = 60000};

	*state = harness_start(&opts);
	return 0;
}

HARNESS_TEST(test_reload_keeps_wrapup)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");

	harness_available(h, alice);
	const char *first = harness_assigned(h, gw, alice, "call-1", VOICE, "voice-q");
	harness_reply(h, alice, sbc_complete(alice, first, "resolved"), SB_BODY(ACK),
		      HARNESS_REPLY_MS);

	edit_config(h, "agents:\n", "  - name: chat-vip\n    channel: chat\nagents:\n");
	assert_true(reload(h, "reload: applied"));

	/* Still in wrap-up: the next call waits until she says Ready. */
	const char *second = harness_submit_id(h, gw, "call-2", VOICE, "voice-q");
	harness_expect_silence(h, alice, 300);
	harness_reply(h, alice, sbc_ready(alice), SB_BODY(ACK), HARNESS_REPLY_MS);
	harness_offer_for(h, alice, second, OFFER_MS);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup_slow_offers, harness_teardown)
	const struct CMUnitTest tests[] = {
		T(test_reload_keeps_contacts_offers_and_connections),
		T(test_reload_refuses_an_invalid_file),
		T(test_removed_queue_drains_what_it_holds),
		T(test_removing_an_agent_with_contacts_is_refused),
		T(test_reload_logs_what_changed),
		cmocka_unit_test_setup_teardown(test_reload_keeps_wrapup, setup_long_wrapup,
						harness_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
