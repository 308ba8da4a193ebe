/* The built tools as an operator runs them: switchboard's command line
 * (--check-config, --version, --help, --mint-token, address overrides) and
 * sbctl submitting a contact and playing an agent that handles it. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "harness.h"
#include "security/token.h"

#define RUN_MS 10000 /* bound on any one command */

/* Runs argv; returns its status and sets *out. */
static int run(struct harness *h, const char *const argv[], const char **out)
{
	int status = harness_run(h, argv, RUN_MS, out);

	if (status != 0)
		print_message("%s exited %d:\n%s\n", argv[0], status, *out);
	return status;
}

/* The line of text starting with prefix, without trailing whitespace, in
 * buf (stderr lines may surround it); "" when there is none. */
static const char *line_starting(const char *text, const char *prefix, char *buf, size_t len)
{
	const char *p = text;

	while (strncmp(p, prefix, strlen(prefix)) != 0) {
		p = strchr(p, '\n');
		if (p == NULL) {
			buf[0] = '\0';
			return buf;
		}
		p++;
	}
	text = p;
	size_t n = strcspn(text, "\r\n");

	if (n >= len)
		n = len - 1;
	memcpy(buf, text, n);
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	return buf;
}

HARNESS_TEST(test_check_config_accepts_a_good_file)
{
	const char *out;
	const char *const argv[] = {harness_daemon_path(), "--check-config",
				    harness_config_path(h), NULL};

	assert_int_equal(run(h, argv, &out), 0);
	assert_non_null(strstr(out, "configuration OK"));
}

HARNESS_TEST(test_check_config_names_the_bad_line)
{
	const char *good = harness_read_file(h, harness_config_path(h));
	const char *at = strstr(good, "  heartbeat_ms: ");
	int line = 1;
	char loc[64];

	assert_non_null(at);
	for (const char *p = good; p < at; p++)
		line += *p == '\n';
	/* the same config with one value of the wrong type */
	size_t head = (size_t)(at - good);
	const char *tail = strchr(at, '\n');
	char *bad = NULL;
	assert_true(asprintf(&bad, "%.*s  heartbeat_ms: banana%s", (int)head, good, tail) > 0);
	const char *path = harness_write_file(h, "bad.yaml", bad);
	free(bad);

	const char *out;
	const char *const argv[] = {harness_daemon_path(), "--check-config", path, NULL};
	assert_int_equal(harness_run(h, argv, RUN_MS, &out), 1);
	snprintf(loc, sizeof loc, "bad.yaml:%d:", line);
	if (strstr(out, loc) == NULL)
		fail_msg("expected \"%s\" in:\n%s", loc, out);
	assert_null(strstr(out, "configuration OK"));
}

HARNESS_TEST(test_version_and_help_exit_zero)
{
	const char *out;
	const char *const version[] = {harness_daemon_path(), "--version", NULL};
	const char *const help[] = {harness_daemon_path(), "--help", NULL};

	assert_int_equal(run(h, version, &out), 0);
	assert_non_null(strstr(out, "0."));
	assert_int_equal(run(h, help, &out), 0);
	assert_non_null(strstr(out, "--config"));
	assert_non_null(strstr(out, "--check-config"));
}

HARNESS_TEST(test_minted_token_is_valid_and_logs_in)
{
	const char *out;
	char token[256];
	const char *const argv[] = {harness_daemon_path(), "--config", harness_config_path(h),
				    "--mint-token", "alice", "--ttl", "600", NULL};

	assert_int_equal(run(h, argv, &out), 0);
	line_starting(out, "v1.", token, sizeof token);
	assert_memory_equal(token, "v1.", 3);
	int64_t expiry = strtoll(token + 3, NULL, 10);
	int64_t now = (int64_t)time(NULL);
	assert_in_range(expiry, now + 590, now + 610);
	const char *why = NULL;
	assert_int_equal(token_verify(harness_agent_secret(h), "alice", token, now, 86400, &why), 0);

	struct sbc *c = harness_connect(h, HARNESS_AGENT_PORT);
	assert_int_equal(sbc_hello(c, SWITCHBOARD__V1__ROLE__ROLE_AGENT, "alice", token,
				   HARNESS_REPLY_MS, NULL),
			 0);

	/* An id the file does not list: refused unless --api-agent (an agent
	 * added over the admin API); a malformed id always. */
	const char *const nobody[] = {harness_daemon_path(), "--config", harness_config_path(h),
				      "--mint-token", "zoe", NULL};
	assert_int_equal(run(h, nobody, &out), 1);
	assert_non_null(strstr(out, "--api-agent"));
	const char *const api[] = {harness_daemon_path(), "--config", harness_config_path(h),
				   "--mint-token", "zoe", "--api-agent", NULL};
	assert_int_equal(run(h, api, &out), 0);
	line_starting(out, "v1.", token, sizeof token);
	assert_int_equal(token_verify(harness_agent_secret(h), "zoe", token, now, 86400, &why), 0);
	const char *const bad[] = {harness_daemon_path(), "--config", harness_config_path(h),
				   "--mint-token", "zoe smith", "--api-agent", NULL};
	assert_int_equal(run(h, bad, &out), 1);
}

HARNESS_TEST(test_command_line_overrides_config_addresses)
{
	const char *gw_addr = harness_free_addr(h);
	const char *agent_addr = harness_free_addr(h);
	/* the file names unusable addresses; the flags must win */
	const char *cfg = harness_write_config_variant(h, "override.yaml", "127.0.0.1:1",
						       "127.0.0.1:2", "127.0.0.1:3");
	const char *const argv[] = {harness_daemon_path(), "--config", cfg, "--gateway-listen",
				    gw_addr, "--agent-listen", agent_addr, "--redis",
				    harness_redis_addr(h), NULL};
	pid_t pid = harness_spawn(h, argv, "override.log");

	/* It shares the harness daemon's Redis and site, so it stands by; its
	 * NOT_LEADER on the overridden ports, naming the harness daemon as the
	 * leader, shows all three flags took effect. */
	assert_true(harness_file_wait(h, "override.log", "standby:", 5000));
	struct sbc *gw = harness_connect_addr(h, gw_addr);
	int rc = sbc_hello(gw, SWITCHBOARD__V1__ROLE__ROLE_GATEWAY, "gw1",
			   harness_gateway_secret(h, "gw1"), HARNESS_REPLY_MS, NULL);
	assert_int_equal(rc, SWITCHBOARD__V1__ERROR_CODE__NOT_LEADER);
	harness_close(h, gw);
	struct sbc *agent = harness_connect_addr(h, agent_addr);
	Envelope hello = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Hello hm = SWITCHBOARD__V1__HELLO__INIT;
	hm.role = SWITCHBOARD__V1__ROLE__ROLE_AGENT;
	hm.client_id = "bob";
	hm.token = (char *)harness_token(h, "bob", 600);
	hello.body_case = SB_BODY(HELLO);
	hello.hello = &hm;
	Envelope *err = harness_expect_error(h, agent, sbc_send(agent, &hello),
					     SB_ERR_CODE(NOT_LEADER), HARNESS_REPLY_MS);
	assert_string_equal(err->error->leader, harness_agent_addr(h));
	harness_close(h, agent);
	assert_int_equal(harness_kill(h, pid), 0);
}

/* Copies the contact id after "accepted contact " in text into buf. */
static const char *accepted_id(const char *text, char *buf, size_t len)
{
	const char *p = strstr(text, "accepted contact ");

	if (p == NULL)
		return NULL;
	p += strlen("accepted contact ");
	size_t n = strcspn(p, " \r\n");
	if (n == 0 || n >= len)
		return NULL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

HARNESS_TEST(test_sbctl_submit_and_agent_handle_a_contact)
{
	const char *secret = harness_write_file(h, "gw1.secret", harness_gateway_secret(h, "gw1"));
	const char *token = harness_write_file(h, "alice.token", harness_token(h, "alice", 600));
	const char *out;
	char id[128];
	const char *const submit[] = {harness_sbctl_path(h), "submit", "--gateway",
				      harness_gateway_addr(h), "--id", "gw1", "--secret-file",
				      secret, "--channel", "chat", "--external-id", "cli-1", NULL};

	assert_int_equal(run(h, submit, &out), 0);
	if (accepted_id(out, id, sizeof id) == NULL)
		fail_msg("no \"accepted contact ID\" in sbctl output:\n%s", out);
	const char *key = harness_key(h, "contact:%s", id);
	assert_string_equal(harness_hget(h, key, "state"), "waiting");

	const char *const agent[] = {harness_sbctl_path(h), "agent", "--agent",
				     harness_agent_addr(h), "--id", "alice", "--token-file", token,
				     "--available", "--auto-accept", "--auto-complete=200", NULL};
	pid_t pid = harness_spawn(h, agent, "sbctl-agent.log");
	const char *state = harness_hget_wait(h, key, "state", "completed", 5000);
	int status = harness_kill(h, pid);
	const char *log = harness_read_file(h, "sbctl-agent.log");

	if (state == NULL || strcmp(state, "completed") != 0)
		fail_msg("contact %s is %s, not completed; sbctl agent said:\n%s", id,
			 state ? state : "(missing)", log ? log : "");
	assert_non_null(log);
	assert_non_null(strstr(log, id));
	assert_int_equal(status, 0);
}

/* sbctl explain reports why a contact waits: here no agent is logged in,
 * so all three roster agents are blocked by state. */
HARNESS_TEST(test_sbctl_explain_says_why_a_contact_waits)
{
	const char *secret = harness_write_file(h, "gw1.secret", harness_gateway_secret(h, "gw1"));
	const char *out;
	char id[128], want[256];
	const char *const submit[] = {harness_sbctl_path(h), "submit", "--gateway",
				      harness_gateway_addr(h), "--id", "gw1", "--secret-file",
				      secret, "--channel", "voice", "--external-id", "cli-x", NULL};

	assert_int_equal(run(h, submit, &out), 0);
	if (accepted_id(out, id, sizeof id) == NULL)
		fail_msg("no \"accepted contact ID\" in sbctl output:\n%s", out);

	const char *const explain[] = {harness_sbctl_path(h), "explain", "--gateway",
				       harness_gateway_addr(h), "--id", "gw1", "--secret-file",
				       secret, "--contact", id, NULL};
	assert_int_equal(run(h, explain, &out), 0);
	snprintf(want, sizeof want, "explanation %s waiting queue voice-q step 0 position 1", id);
	if (strstr(out, want) == NULL || strstr(out, "eligible 0,") == NULL ||
	    strstr(out, "state 3 ") == NULL)
		fail_msg("sbctl explain said:\n%s", out);

	const char *const unknown[] = {harness_sbctl_path(h), "explain", "--gateway",
				       harness_gateway_addr(h), "--id", "gw1", "--secret-file",
				       secret, "--contact", "c-nope", NULL};
	assert_int_equal(run(h, unknown, &out), 1);
	assert_non_null(strstr(out, "NOT_FOUND"));
}

/* sbctl demo's surges: one begins after --surge-every and ends after
 * --surge-length, each said in a line, and the run ends cleanly; bad surge
 * options are usage errors that name the option. */
HARNESS_TEST(test_sbctl_demo_surges_and_refuses_bad_surge_options)
{
	const char *sbctl = harness_sbctl_path(h), *cfg = harness_config_path(h), *out;
	const char *const run_[] = {sbctl, "demo", "--config", cfg, "--rate", "5", "--seed", "1",
				    "--surge-every", "1", "--surge-length", "0.5",
				    "--surge-factor", "3", "--duration", "2.2", NULL};

	assert_int_equal(run(h, run_, &out), 0);
	assert_non_null(strstr(out, "surges   every 1s, arrivals x3.0 for 0.5s"));
	assert_non_null(strstr(out, "surge    arrivals x3.0"));
	assert_non_null(strstr(out, "surge    over: back to 5.00 contacts/s"));

	const char *const too_long[] = {sbctl, "demo", "--config", cfg, "--surge-every", "10",
					"--surge-length", "10", NULL};
	assert_int_equal(run(h, too_long, &out), 2);
	assert_non_null(strstr(out, "--surge-length must be shorter than --surge-every"));
	const char *const slower[] = {sbctl, "demo", "--config", cfg, "--surge-factor", "0.5",
				      NULL};
	assert_int_equal(run(h, slower, &out), 2);
	assert_non_null(strstr(out, "--surge-factor wants a number from 1 to 100"));
}

/* Fixture: the admin API on, and an agent whose session closes is logged
 * out at once. */
static int setup_admin(void **state)
{
	struct harness_opts opts = {.admin = true, .agent_grace_ms = -1};

	*state = harness_start(&opts);
	return 0;
}

/* A supervisor frees contacts left with an agent who logged out for good:
 * sbctl requeue gives one to another agent, sbctl close ends the other
 * with a disposition; Redis has each (read here on its own) and the
 * gateway is told. */
HARNESS_TEST(test_sbctl_requeues_and_closes_a_departed_agents_contacts)
{
	const char *sbctl = harness_sbctl_path(h), *addr = harness_admin_addr(h);
	const char *tf = harness_admin_token_file(h), *out;
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	char one[96], two[96];

	harness_available(h, alice);
	snprintf(one, sizeof one, "%s", harness_assigned(h, gw, alice, "cli-r1",
							 SWITCHBOARD__V1__CHANNEL__CHANNEL_CHAT,
							 "chat-q"));
	snprintf(two, sizeof two, "%s", harness_assigned(h, gw, alice, "cli-r2",
							 SWITCHBOARD__V1__CHANNEL__CHANNEL_CHAT,
							 "chat-q"));
	harness_close(h, alice);
	assert_non_null(harness_hget_wait(h, harness_key(h, "agent:alice"), "reason",
					  "logged-out", 3000));

	const char *const requeue[] = {sbctl,   "requeue", one, "--admin", addr, "--token-file",
				       tf,      NULL};
	assert_int_equal(run(h, requeue, &out), 0);
	assert_non_null(strstr(out, one));
	assert_non_null(strstr(out, "alice"));
	assert_string_equal(harness_hget(h, harness_key(h, "contact:%s", one), "state"), "waiting");
	Envelope *ev = harness_await(h, gw, SB_BODY(CONTACT_EVENT), HARNESS_REPLY_MS);
	assert_string_equal(ev->contact_event->contact_id, one);
	assert_string_equal(ev->contact_event->detail, "admin");
	struct sbc *bob = harness_agent(h, "bob");
	harness_available(h, bob);
	harness_offer_for(h, bob, one, 2000);

	const char *const close_[] = {sbctl,  "close",        two, "agent-left", "--admin",
				      addr,   "--token-file", tf,  NULL};
	assert_int_equal(run(h, close_, &out), 0);
	assert_non_null(strstr(out, "agent-left"));
	const char *key = harness_key(h, "contact:%s", two);
	assert_string_equal(harness_hget(h, key, "state"), "completed");
	assert_string_equal(harness_hget(h, key, "disposition"), "agent-left");
	Envelope *done = harness_await(h, gw, SB_BODY(CONTACT_COMPLETED), HARNESS_REPLY_MS);
	assert_string_equal(done->contact_completed->contact_id, two);
	assert_string_equal(done->contact_completed->disposition, "agent-left");

	/* Refusals: finished, unknown, no token, usage. */
	assert_int_equal(run(h, close_, &out), 1);
	assert_non_null(strstr(out, "NOT_FOUND"));
	const char *const unknown[] = {sbctl,   "requeue", "c-nope-1", "--admin", addr,
				       "--token-file", tf, NULL};
	assert_int_equal(run(h, unknown, &out), 1);
	assert_non_null(strstr(out, "NOT_FOUND"));
	const char *const noauth[] = {sbctl, "requeue", one, "--admin", addr, NULL};
	assert_int_equal(run(h, noauth, &out), 1);
	assert_non_null(strstr(out, "UNAUTHENTICATED"));
	const char *const nodisp[] = {sbctl, "close", one, "--admin", addr, "--token-file", tf,
				      NULL};
	assert_int_equal(run(h, nodisp, &out), 2);
	const char *const baddisp[] = {sbctl, "close", one, "a\"b", "--admin", addr,
				       "--token-file", tf, NULL};
	assert_int_equal(run(h, baddisp, &out), 2);
}

#define T(name) cmocka_unit_test_setup_teardown(name, harness_setup, harness_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_check_config_accepts_a_good_file),
		T(test_check_config_names_the_bad_line),
		T(test_version_and_help_exit_zero),
		T(test_minted_token_is_valid_and_logs_in),
		T(test_command_line_overrides_config_addresses),
		T(test_sbctl_submit_and_agent_handle_a_contact),
		T(test_sbctl_explain_says_why_a_contact_waits),
		T(test_sbctl_demo_surges_and_refuses_bad_surge_options),
		cmocka_unit_test_setup_teardown(
			test_sbctl_requeues_and_closes_a_departed_agents_contacts, setup_admin,
			harness_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
