/* A gateway logging in again: at least once for gateways too (issue 14,
 * items 4-6). What finished while it was away is replayed after its
 * Hello.last_outcome_id, across a restart too; ExplainContact tells how a
 * finished contact ended; a backlog bigger than the output cap comes back,
 * paced by the client's reading; a redelivered ContactAccepted says where
 * the contact stands now. */
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
#define EMAIL SWITCHBOARD__V1__CHANNEL__CHANNEL_EMAIL
#define EXPIRED SWITCHBOARD__V1__CONTACT_EVENT__KIND__EXPIRED
#define T(name) cmocka_unit_test_setup_teardown(name, harness_setup, harness_teardown)

/* A gateway logging in with last_outcome_id in its Hello; kept alive by
 * the harness. */
static struct sbc *gateway_after(struct harness *h, const char *id, const char *last_outcome_id)
{
	struct sbc *c = harness_connect(h, HARNESS_GATEWAY_PORT);
	Envelope env = SWITCHBOARD__V1__ENVELOPE__INIT;
	Switchboard__V1__Hello hello = SWITCHBOARD__V1__HELLO__INIT;

	hello.role = SWITCHBOARD__V1__ROLE__ROLE_GATEWAY;
	hello.client_id = (char *)(uintptr_t)id;
	hello.token = (char *)(uintptr_t)harness_gateway_secret(h, id);
	hello.protocol_version = 1;
	hello.last_outcome_id = (char *)(uintptr_t)last_outcome_id;
	env.body_case = SB_BODY(HELLO);
	env.hello = &hello;
	assert_true(sbc_send(c, &env) != 0);
	harness_expect(h, c, SB_BODY(WELCOME), HARNESS_REPLY_MS);
	harness_keepalive(h, c, true);
	return c;
}

/* What a gateway is sent about one contact's outcome. */
struct seen {
	char contact[64];
	char event_id[96];
	int body;
	bool redelivered;
	uint64_t ref;
};

/* Every frame but Pongs that arrives on c within ms (c kept alive by its
 * own Pings): up to max outcome frames (completed, cancelled, expired)
 * into out; the count. */
static size_t outcomes_within(struct harness *h, struct sbc *c, int ms, struct seen *out,
			      size_t max)
{
	int64_t end = harness_now_ms() + ms;
	int64_t ping = 0;
	size_t n = 0;

	for (int64_t now; (now = harness_now_ms()) < end;) {
		Envelope *env = NULL;
		if (now - ping > 250) {
			sbc_ping(c);
			ping = now;
		}
		int r = sbc_recv(c, 50, &env);
		assert_true(r >= 0);
		if (r == 0)
			continue;
		const char *id = NULL;
		if (env->body_case == SB_BODY(CONTACT_COMPLETED))
			id = env->contact_completed->contact_id;
		else if (env->body_case == SB_BODY(CONTACT_CANCELLED))
			id = env->contact_cancelled->contact_id;
		else if (env->body_case == SB_BODY(CONTACT_EVENT) &&
			 env->contact_event->kind == EXPIRED)
			id = env->contact_event->contact_id;
		if (id != NULL && n < max) {
			snprintf(out[n].contact, sizeof out[n].contact, "%s", id);
			snprintf(out[n].event_id, sizeof out[n].event_id, "%s", env->event_id);
			out[n].body = (int)env->body_case;
			out[n].redelivered = env->redelivered;
			out[n].ref = env->ref;
			n++;
		}
		envelope_free(env);
	}
	return n;
}

static size_t count_event(const struct seen *v, size_t n, const char *event_id)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += strcmp(v[i].event_id, event_id) == 0;
	return k;
}

/* Submitted, offered, assigned, then completed: its 4th transition. */
static const char *completed_id(struct harness *h, const char *contact)
{
	return harness_printf(h, "%s/4", contact);
}

/* Item 4: a contact that finishes while its gateway is away is told at the
 * gateway's next login (once: one frame for its event id), and Explain
 * says how it ended instead of NOT_FOUND. */
HARNESS_TEST(test_outcome_missed_while_away_is_told_at_login)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	struct seen v[16];

	harness_available(h, alice);
	const char *id = harness_assigned(h, gw, alice, "call-1", VOICE, "voice-q");
	harness_await(h, gw, SB_BODY(CONTACT_ASSIGNED), HARNESS_REPLY_MS);
	harness_close(h, gw);
	harness_reply(h, alice, sbc_complete(alice, id, "resolved"), SB_BODY(ACK),
		      HARNESS_REPLY_MS);

	gw = gateway_after(h, "gw1", "");
	harness_keepalive(h, gw, false);
	size_t n = outcomes_within(h, gw, 1500, v, 16);
	if (count_event(v, n, completed_id(h, id)) != 1)
		fail_msg("after logging in again gw1 got %zu ContactCompleted for %s (want 1)",
			 count_event(v, n, completed_id(h, id)), completed_id(h, id));
	assert_int_equal(n, 1);
	assert_int_equal(v[0].body, SB_BODY(CONTACT_COMPLETED));
	assert_true(v[0].redelivered);
	assert_int_equal(v[0].ref, 0);
	harness_keepalive(h, gw, true);

	Envelope *x = harness_reply(h, gw, sbc_explain(gw, id), SB_BODY(CONTACT_EXPLANATION),
				    HARNESS_REPLY_MS);
	assert_string_equal(x->contact_explanation->contact_id, id);
	assert_string_equal(x->contact_explanation->state, "completed");
	assert_string_equal(x->contact_explanation->detail, "resolved");
	assert_int_equal(x->contact_explanation->position, 0);

	/* Another gateway's finished contact stays its own. */
	struct sbc *gw2 = harness_gateway(h, "gw2");
	harness_expect_error(h, gw2, sbc_explain(gw2, id), SB_ERR_CODE(FORBIDDEN),
			     HARNESS_REPLY_MS);
}

/* Item 4: the replay starts after the outcome the gateway names, keeps the
 * recorded order, and covers cancels and expiries too. */
HARNESS_TEST(test_outcomes_replay_after_the_last_one_processed)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	struct seen v[16];

	const char *c1 = harness_submit_id(h, gw, "call-1", VOICE, "voice-q");
	const char *c2 = harness_submit_id(h, gw, "call-2", VOICE, "voice-q");
	const char *c3 = harness_submit_id(h, gw, "call-3", VOICE, "voice-q");
	Envelope *cx = harness_reply(h, gw, sbc_cancel(gw, c1, "abandoned"),
				     SB_BODY(CONTACT_CANCELLED), HARNESS_REPLY_MS);
	const char *c1_done = harness_printf(h, "%s", cx->event_id);
	assert_string_equal(c1_done, harness_printf(h, "%s/2", c1));
	harness_close(h, gw);

	harness_available(h, alice);
	harness_accept(h, alice, harness_offer_for(h, alice, c2, 3000), c2);
	harness_reply(h, alice, sbc_complete(alice, c2, "sold"), SB_BODY(ACK), HARNESS_REPLY_MS);
	harness_accept(h, alice, harness_offer_for(h, alice, c3, 3000), c3);
	harness_reply(h, alice, sbc_complete(alice, c3, "callback"), SB_BODY(ACK),
		      HARNESS_REPLY_MS);

	/* Processed c1's cancel: c2's and c3's completions, in that order. */
	gw = gateway_after(h, "gw1", c1_done);
	harness_keepalive(h, gw, false);
	size_t n = outcomes_within(h, gw, 1200, v, 16);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].event_id, completed_id(h, c2));
	assert_string_equal(v[1].event_id, completed_id(h, c3));
	harness_close(h, gw);

	/* Processed c2's: c3's only. */
	gw = gateway_after(h, "gw1", completed_id(h, c2));
	harness_keepalive(h, gw, false);
	n = outcomes_within(h, gw, 1200, v, 16);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].event_id, completed_id(h, c3));
	harness_close(h, gw);

	/* No id, or one not kept: every outcome kept, the cancel too. */
	gw = gateway_after(h, "gw1", "c-nosuch-1/3");
	harness_keepalive(h, gw, false);
	n = outcomes_within(h, gw, 1200, v, 16);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].event_id, c1_done);
	assert_int_equal(v[0].body, SB_BODY(CONTACT_CANCELLED));
	assert_int_equal(v[0].ref, 0);
	assert_string_equal(v[1].event_id, completed_id(h, c2));
	assert_string_equal(v[2].event_id, completed_id(h, c3));
}

/* Fixture: a queue whose contacts expire after a second. */
static int setup_expiring(void **state)
{
	struct harness_opts opts = {
		.queues_yaml = "  - name: short-q\n"
			       "    channel: voice\n"
			       "    max_wait_ms: 1000\n",
	};

	*state = harness_start(&opts);
	return 0;
}

HARNESS_TEST(test_expiry_while_away_is_told_at_login)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct seen v[4];
	const char *id = harness_submit_id(h, gw, "call-1", VOICE, "short-q");

	harness_close(h, gw);
	harness_sleep(h, 2000);
	gw = gateway_after(h, "gw1", "");
	harness_keepalive(h, gw, false);
	size_t n = outcomes_within(h, gw, 1200, v, 4);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].contact, id);
	assert_int_equal(v[0].body, SB_BODY(CONTACT_EVENT));
	assert_true(v[0].redelivered);
	harness_keepalive(h, gw, true);
	Envelope *x = harness_reply(h, gw, sbc_explain(gw, id), SB_BODY(CONTACT_EXPLANATION),
				    HARNESS_REPLY_MS);
	assert_string_equal(x->contact_explanation->state, "expired");
	assert_string_equal(x->contact_explanation->detail, "max-wait");
}

/* Item 4 across a crash and restart: the outcomes are Redis's, not the
 * process's. */
HARNESS_TEST(test_outcome_missed_is_told_after_a_restart)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	struct sbc *alice = harness_agent(h, "alice");
	struct seen v[4];

	harness_available(h, alice);
	const char *id = harness_assigned(h, gw, alice, "call-1", VOICE, "voice-q");
	harness_close(h, gw);
	harness_reply(h, alice, sbc_complete(alice, id, "resolved"), SB_BODY(ACK),
		      HARNESS_REPLY_MS);
	harness_close(h, alice);
	harness_daemon_signal(h, SIGKILL);
	harness_daemon_restart(h);

	gw = gateway_after(h, "gw1", "");
	harness_keepalive(h, gw, false);
	size_t n = outcomes_within(h, gw, 1500, v, 4);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].event_id, completed_id(h, id));
	harness_keepalive(h, gw, true);
	Envelope *x = harness_reply(h, gw, sbc_explain(gw, id), SB_BODY(CONTACT_EXPLANATION),
				    HARNESS_REPLY_MS);
	assert_string_equal(x->contact_explanation->state, "completed");
}

/* Item 6: a redelivered ContactAccepted of a contact still waiting says
 * where it stands (position >= 1), not "no longer waiting" (0). */
HARNESS_TEST(test_redelivered_accepted_says_where_it_waits)
{
	struct sbc *gw = harness_gateway(h, "gw1");
	const char *ids[3];

	for (int i = 0; i < 3; i++)
		ids[i] = harness_submit_id(h, gw, harness_printf(h, "call-%d", i), VOICE, "voice-q");
	harness_close(h, gw);

	gw = harness_gateway(h, "gw1");
	for (int k = 0; k < 3; k++) {
		Envelope *a = harness_expect(h, gw, SB_BODY(CONTACT_ACCEPTED), HARNESS_REPLY_MS);
		assert_true(a->redelivered);
		int i = -1;
		for (int j = 0; j < 3; j++)
			if (strcmp(ids[j], a->contact_accepted->contact_id) == 0)
				i = j;
		assert_true(i >= 0);
		if (a->contact_accepted->position != (uint32_t)i + 1)
			fail_msg("redelivered ContactAccepted of %s says position %u, want %d",
				 ids[i], a->contact_accepted->position, i + 1);
	}
}

/* Item 5: a backlog far past limits.output_buffer_max_bytes comes back to
 * a client that reads, paced by its reading. The cap is set to 1 MiB here
 * and the backlog is 50 000 open contacts, ~3.5 MB of ContactAccepted
 * (3.4 times the cap): the same as 100 000 against the default 4 MiB, in
 * half the time on a busy two-core machine (submitting is most of it). */
#define BACKLOG 50000
#define BACKLOG_CAP (1u << 20)

static int setup_backlog(void **state)
{
	struct harness_opts opts = {
		.limits_yaml = "  frames_per_second: 1000000\n"
			       "  max_waiting_per_queue: 1000000\n"
			       "  output_buffer_max_bytes: 1048576\n",
		.heartbeat_ms = 5000,
	};

	/* The engine's invariant check walks every contact after each
	 * dispatch: quadratic over 100 000 submits. Checked in every other
	 * test; off for this daemon only. */
	const char *check = getenv("SB_CHECK_INVARIANTS");
	char *saved = check != NULL ? strdup(check) : NULL;
	unsetenv("SB_CHECK_INVARIANTS");
	*state = harness_start(&opts);
	if (saved != NULL)
		setenv("SB_CHECK_INVARIANTS", saved, 1);
	free(saved);
	return 0;
}

/* Submits n contacts from gw, pipelined a thousand at a time. One answered
 * STORE_UNAVAILABLE (Redis slow to answer on a busy machine) is submitted
 * again: submits are idempotent. */
static void submit_many(struct harness *h, struct sbc *gw, int n)
{
	int *todo = calloc((size_t)n, sizeof *todo), *retry = calloc((size_t)n, sizeof *retry);
	int left = n, rounds = 0;

	assert_non_null(todo);
	assert_non_null(retry);
	for (int i = 0; i < n; i++)
		todo[i] = i;
	while (left > 0) {
		int again = 0;
		assert_true(++rounds <= 20);
		for (int at = 0; at < left;) {
			int batch = left - at < 1000 ? left - at : 1000;
			uint64_t seq[1000];
			char ext[32];
			sbc_cork(gw, true);
			for (int i = 0; i < batch; i++) {
				struct sbc_submit s = { .channel = EMAIL, .queue = "email-q" };
				snprintf(ext, sizeof ext, "bulk-%d", todo[at + i]);
				s.external_id = ext;
				seq[i] = sbc_submit(gw, &s);
				assert_true(seq[i] != 0);
			}
			assert_int_equal(sbc_flush(gw), 0);
			sbc_cork(gw, false);
			for (int got = 0; got < batch;) {
				Envelope *env = NULL;
				assert_int_equal(sbc_recv(gw, 10000, &env), 1);
				if (env->body_case == SB_BODY(CONTACT_ACCEPTED)) {
					got++;
				} else if (env->body_case == SB_BODY(ERROR) &&
					   env->error->code == SB_ERR_CODE(STORE_UNAVAILABLE)) {
					for (int i = 0; i < batch; i++)
						if (seq[i] == env->ref)
							retry[again++] = todo[at + i];
					got++;
				} else if (env->body_case != SB_BODY(PONG) &&
					   env->body_case != SB_BODY(CONTACT_EVENT)) {
					fail_msg("submit: %s", sbc_describe(env, (char[256]){ 0 }, 256));
				}
				envelope_free(env);
			}
			at += batch;
		}
		memcpy(todo, retry, (size_t)again * sizeof *todo);
		left = again;
	}
	free(retry);
	free(todo);
}

HARNESS_TEST(test_big_backlog_comes_back_to_a_reading_client)
{
	struct sbc *gw = harness_gateway(h, "gw1");

	harness_keepalive(h, gw, false);
	int64_t t0 = harness_now_ms();
	submit_many(h, gw, BACKLOG);
	print_message("submitted %d contacts in %lld ms\n", BACKLOG,
		      (long long)(harness_now_ms() - t0));
	harness_close(h, gw);
	t0 = harness_now_ms();

	gw = harness_gateway(h, "gw1");
	harness_keepalive(h, gw, false);
	int64_t ping = 0, end = harness_now_ms() + 45000;
	size_t accepted = 0, bytes = 0;
	while (accepted < BACKLOG && harness_now_ms() < end) {
		Envelope *env = NULL;
		if (harness_now_ms() - ping > 1000) {
			sbc_ping(gw);
			ping = harness_now_ms();
		}
		int r = sbc_recv(gw, 2000, &env);
		if (r < 0)
			fail_msg("the daemon closed the session after %zu of %d states: %s",
				 accepted, BACKLOG, sbc_last_error(gw));
		if (r == 0)
			continue;
		if (env->body_case == SB_BODY(ERROR))
			fail_msg("after %zu of %d states: %s", accepted, BACKLOG,
				 env->error->message);
		if (env->body_case == SB_BODY(CONTACT_ACCEPTED)) {
			assert_true(env->redelivered);
			assert_true(env->contact_accepted->position >= 1);
			bytes += switchboard__v1__envelope__get_packed_size(env) + 4;
			/* Reads steadily, not at once: a pause every 5 000 frames. */
			if (++accepted % 5000 == 0)
				harness_sleep(h, 20);
		}
		envelope_free(env);
	}
	if (accepted != BACKLOG)
		fail_msg("got %zu of %d states", accepted, BACKLOG);
	print_message("read %zu redelivered states (%zu bytes) in %lld ms\n", accepted, bytes,
		      (long long)(harness_now_ms() - t0));
	/* The point of the test: more than the output cap came back. */
	assert_true(bytes > 3u * BACKLOG_CAP);
	harness_keepalive(h, gw, true);
	harness_assert_open(h, gw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_outcome_missed_while_away_is_told_at_login),
		T(test_outcomes_replay_after_the_last_one_processed),
		cmocka_unit_test_setup_teardown(test_expiry_while_away_is_told_at_login,
						setup_expiring, harness_teardown),
		T(test_outcome_missed_is_told_after_a_restart),
		T(test_redelivered_accepted_says_where_it_waits),
		cmocka_unit_test_setup_teardown(test_big_backlog_comes_back_to_a_reading_client,
						setup_backlog, harness_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
