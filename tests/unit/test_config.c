/* Unit tests for the config module: values and defaults, one test per class
 * of error (each checked for its "file:line: message"), collection of every
 * error, the repository's example files, and the reference dump. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <yaml.h>

#include "config/config.h"
#include "config/config_table.h"
#include "util/err.h"

/* Per-test scratch: a private temp directory holding the config file and
 * any secret files, removed afterwards with everything in it. */
struct fx {
	char dir[PATH_MAX];
	char path[PATH_MAX + 32];
	struct sb_config *cfg;
	struct config_errors errs;
};

/* A smallest valid file; tests append to it or replace parts. */
#define MIN_GATEWAYS                                                                               \
	"gateways:\n"                                                                              \
	"  - id: pbx1\n"                                                                           \
	"    secret: 0123456789abcdef\n"
#define MIN_AUTH                                                                                   \
	"auth:\n"                                                                                  \
	"  agent_secret: fedcba9876543210\n"

/* Creates the fixture's temp directory under $TMPDIR or /tmp. */
static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "%s/sb-test-config.XXXXXX",
	         tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/switchboard.yaml", f->dir);
	*state = f;
	return 0;
}

/* Removes a directory and the files and directories directly in it. */
static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char p[PATH_MAX * 2];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (unlink(p) != 0)
			rmdir(p); /* the one subdirectory a test makes is empty */
	}
	closedir(d);
	rmdir(dir);
}

/* Frees what the test loaded and removes the temp directory. */
static int fx_teardown(void **state)
{
	struct fx *f = *state;

	config_free(f->cfg);
	config_errors_clear(&f->errs);
	rm_tree(f->dir);
	free(f);
	return 0;
}

/* Writes content to dir/name. */
static void put_file(const struct fx *f, const char *name, const char *content)
{
	char p[PATH_MAX * 2];
	FILE *fp;

	snprintf(p, sizeof p, "%s/%s", f->dir, name);
	fp = fopen(p, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(content, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	/* as an admin would keep a secret: the loader refuses others' access */
	assert_int_equal(chmod(p, 0600), 0);
}

/* Reads a whole file into a new string. */
static char *read_all(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	assert_non_null(fp);
	do {
		if (len + 4096 > cap) {
			char *grown;

			cap = cap * 2 + 4096;
			grown = realloc(buf, cap);
			assert_non_null(grown);
			buf = grown;
		}
		n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
	} while (n > 0);
	fclose(fp);
	buf[len] = '\0';
	return buf;
}

/* Writes text as the fixture's config file and loads it. */
static int load_text(struct fx *f, const char *text)
{
	config_free(f->cfg);
	f->cfg = NULL;
	config_errors_clear(&f->errs);
	put_file(f, "switchboard.yaml", text);
	return config_load(f->path, &f->cfg, &f->errs);
}

/* Prints every collected message, for failure diagnosis. */
static void print_errors(const struct fx *f)
{
	for (size_t i = 0; i < f->errs.n; i++)
		print_message("  error: %s\n", f->errs.msgs[i]);
}

/* Loads text and requires success. */
static void load_ok(struct fx *f, const char *text)
{
	int rc = load_text(f, text);

	if (rc != 0)
		print_errors(f);
	assert_int_equal(rc, 0);
	assert_non_null(f->cfg);
	assert_int_equal(f->errs.n, 0);
}

/* Loads text and requires failure with no config handed out. */
static void load_fails(struct fx *f, const char *text)
{
	assert_int_equal(load_text(f, text), SB_ERR_CONFIG);
	assert_null(f->cfg);
	assert_true(f->errs.n > 0);
}

/* Requires an error "<file>:<line>: ..." containing needle. */
static void expect_error(const struct fx *f, size_t line, const char *needle)
{
	char prefix[PATH_MAX + 64];

	snprintf(prefix, sizeof prefix, "%s:%zu: ", f->path, line);
	for (size_t i = 0; i < f->errs.n; i++)
		if (strncmp(f->errs.msgs[i], prefix, strlen(prefix)) == 0 &&
		    strstr(f->errs.msgs[i] + strlen(prefix), needle) != NULL)
			return;
	print_errors(f);
	fail_msg("no error at line %zu containing \"%s\"", line, needle);
}

/* Requires the exact message "<file>:<line>: msg". */
static void expect_exact(const struct fx *f, size_t line, const char *msg)
{
	char want[PATH_MAX + 512];

	snprintf(want, sizeof want, "%s:%zu: %s", f->path, line, msg);
	for (size_t i = 0; i < f->errs.n; i++)
		if (strcmp(f->errs.msgs[i], want) == 0)
			return;
	print_errors(f);
	fail_msg("no error \"%s\"", want);
}

/* Requires exactly n errors. */
static void expect_count(const struct fx *f, size_t n)
{
	if (f->errs.n != n) {
		print_errors(f);
		fail_msg("expected %zu errors, got %zu", n, f->errs.n);
	}
}

/* The repository's root: $SB_SOURCE_DIR, else derived from this file's path. */
static void source_dir(char *buf, size_t size)
{
	const char *env = getenv("SB_SOURCE_DIR");
	const char *suffix = "/tests/unit/test_config.c";
	const char *file = __FILE__;
	size_t n = strlen(file);

	if (env != NULL && env[0] != '\0') {
		snprintf(buf, size, "%s", env);
		return;
	}
	/* CMake compiles with the absolute path, so __FILE__ locates the tree */
	assert_true(n > strlen(suffix) && strcmp(file + n - strlen(suffix), suffix) == 0);
	snprintf(buf, size, "%.*s", (int)(n - strlen(suffix)), file);
}

/* Points every /etc/switchboard/secrets/NAME in text at the fixture's
 * directory and creates NAME there, so the production example loads. */
static char *rewrite_secrets(const struct fx *f, const char *text)
{
	static const char from[] = "/etc/switchboard/secrets/";
	size_t cap = strlen(text) * 2 + strlen(f->dir) * 64 + 1;
	char *out = malloc(cap), *o = out;
	const char *p = text, *hit;

	assert_non_null(out);
	while ((hit = strstr(p, from)) != NULL) {
		char name[256];
		size_t n = strcspn(hit + strlen(from), " \t\r\n\"'");

		assert_true(n > 0 && n < sizeof name);
		memcpy(name, hit + strlen(from), n);
		name[n] = '\0';
		put_file(f, name, "test-secret-0123456789abcdef\n");
		memcpy(o, p, (size_t)(hit - p));
		o += hit - p;
		o += sprintf(o, "%s/", f->dir);
		p = hit + strlen(from);
		assert_true((size_t)(o - out) + strlen(p) + strlen(f->dir) < cap);
	}
	strcpy(o, p);
	return out;
}

/* Records dotted key paths found in a YAML tree (list items as
 * "list.key"), to compare against the table. */
struct paths {
	char **v;
	size_t n;
};

/* Adds a path to the set. */
static void paths_add(struct paths *ps, const char *prefix, const char *key)
{
	char **grown = realloc(ps->v, (ps->n + 1) * sizeof *ps->v);
	char buf[256];

	if (prefix[0] != '\0')
		snprintf(buf, sizeof buf, "%s.%s", prefix, key);
	else
		snprintf(buf, sizeof buf, "%s", key);

	assert_non_null(grown);
	ps->v = grown;
	ps->v[ps->n] = strdup(buf);
	assert_non_null(ps->v[ps->n]);
	ps->n++;
}

/* Whether path is in the set. */
static int paths_has(const struct paths *ps, const char *path)
{
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->v[i], path) == 0)
			return 1;
	return 0;
}

/* Frees the set. */
static void paths_free(struct paths *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->v[i]);
	free(ps->v);
}

/* Collects the key paths under node. */
static void paths_collect(yaml_document_t *doc, yaml_node_t *node, const char *prefix,
                          struct paths *ps)
{
	if (node->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     it < node->data.sequence.items.top; it++)
			paths_collect(doc, yaml_document_get_node(doc, *it), prefix, ps);
		return;
	}
	if (node->type != YAML_MAPPING_NODE)
		return;
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		char sub[256];

		assert_int_equal(k->type, YAML_SCALAR_NODE);
		paths_add(ps, prefix, (const char *)k->data.scalar.value);
		snprintf(sub, sizeof sub, "%s%s%s", prefix, prefix[0] ? "." : "",
		         (const char *)k->data.scalar.value);
		paths_collect(doc, yaml_document_get_node(doc, p->value), sub, ps);
	}
}

/* Parses text as YAML (failing the test if it is not) and collects its key paths. */
static void paths_from_yaml(const char *text, struct paths *ps)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;

	assert_true(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&parser, &doc))
		fail_msg("not YAML: %s at line %zu", parser.problem ? parser.problem : "?",
		         parser.problem_mark.line + 1);
	root = yaml_document_get_root_node(&doc);
	assert_non_null(root);
	paths_collect(&doc, root, "", ps);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
}

/* Counts the keys of a list's items (and, if nested, of lists inside
 * them) that text's paths lack, under prefix. */
static int missing_item_keys(const char *what, const struct paths *ps, const char *prefix,
                             const struct config_list *l, int nested)
{
	int missing = 0;

	for (size_t j = 0; j < l->n_items; j++) {
		char p[256], pf[300];

		snprintf(p, sizeof p, "%s.%s", prefix, l->items[j].path);
		snprintf(pf, sizeof pf, "%s_file", p);
		if (!paths_has(ps, p) && !paths_has(ps, pf)) {
			print_message("%s lacks %s\n", what, p);
			missing++;
		}
		if (nested && l->items[j].type == CONFIG_LIST)
			missing += missing_item_keys(what, ps, p, l->items[j].list, nested);
	}
	return missing;
}

/* Requires that text sets every key of the table (a secret in either form);
 * with nested, also the keys of lists inside list items (a queue's steps),
 * which the reference only describes in comments. */
static void expect_every_key(const char *what, const char *text, int nested)
{
	struct paths ps = {0};
	int missing = 0;

	paths_from_yaml(text, &ps);
	for (size_t i = 0; i < config_table_len; i++) {
		const struct config_key *k = &config_table[i];
		char file[256];

		snprintf(file, sizeof file, "%s_file", k->path);
		if (!paths_has(&ps, k->path) && !paths_has(&ps, file)) {
			print_message("%s lacks %s\n", what, k->path);
			missing++;
		}
		if (k->type == CONFIG_LIST)
			missing += missing_item_keys(what, &ps, k->path, k->list, nested);
	}
	paths_free(&ps);
	assert_int_equal(missing, 0);
}

/* The reference dump as a string. */
static char *dump_reference(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	assert_non_null(mem);
	config_dump_reference(mem);
	assert_int_equal(fclose(mem), 0);
	return buf;
}

/* --- tests ---------------------------------------------------------------- */

/* A minimal file gets every documented default, and a default queue per channel. */
static void test_minimal_defaults(void **state)
{
	struct fx *f = *state;
	const struct sb_config *c;

	load_ok(f, MIN_GATEWAYS MIN_AUTH);
	c = f->cfg;
	assert_string_equal(c->path, f->path);
	assert_string_equal(c->site, "main");
	assert_string_equal(c->log_level, "info");
	assert_string_equal(c->gateway_listen, "127.0.0.1:7400");
	assert_string_equal(c->agent_listen, "127.0.0.1:7401");
	assert_string_equal(c->redis_address, "127.0.0.1:6379");
	assert_int_equal(c->redis_connect_timeout_ms, 1000);
	assert_int_equal(c->redis_command_timeout_ms, 2000);
	assert_int_equal(c->redis_reconnect_max_ms, 1000);
	assert_int_equal(c->events_maxlen, 1000000);
	assert_int_equal(c->idempotency_ttl_s, 86400);
	assert_int_equal(c->max_frame_bytes, 65536);
	assert_int_equal(c->handshake_timeout_ms, 5000);
	assert_int_equal(c->output_buffer_max_bytes, 4194304);
	assert_int_equal(c->heartbeat_ms, 5000);
	assert_int_equal(c->missed_heartbeats, 3);
	assert_string_equal(c->agent_secret, "fedcba9876543210");
	assert_int_equal(c->agent_token_max_ttl_s, 86400);

	assert_int_equal(c->channels[SB_CH_VOICE].sla_ms, 30000);
	assert_int_equal(c->channels[SB_CH_VOICE].offer_timeout_ms, 15000);
	assert_int_equal(c->channels[SB_CH_VOICE].wrapup_ms, 10000);
	assert_int_equal(c->channels[SB_CH_VOICE].capacity, 1);
	assert_true(c->channels[SB_CH_VOICE].exclusive);
	assert_int_equal(c->channels[SB_CH_CHAT].sla_ms, 60000);
	assert_int_equal(c->channels[SB_CH_CHAT].offer_timeout_ms, 20000);
	assert_int_equal(c->channels[SB_CH_CHAT].wrapup_ms, 5000);
	assert_int_equal(c->channels[SB_CH_CHAT].capacity, 3);
	assert_false(c->channels[SB_CH_CHAT].exclusive);
	assert_int_equal(c->channels[SB_CH_EMAIL].sla_ms, 14400000);
	assert_int_equal(c->channels[SB_CH_EMAIL].offer_timeout_ms, 60000);
	assert_int_equal(c->channels[SB_CH_EMAIL].wrapup_ms, 0);
	assert_int_equal(c->channels[SB_CH_EMAIL].capacity, 5);
	assert_false(c->channels[SB_CH_EMAIL].exclusive);
	assert_int_equal(c->channels[SB_CH_SOCIAL].sla_ms, 3600000);
	assert_int_equal(c->channels[SB_CH_SOCIAL].offer_timeout_ms, 30000);
	assert_int_equal(c->channels[SB_CH_SOCIAL].wrapup_ms, 0);
	assert_int_equal(c->channels[SB_CH_SOCIAL].capacity, 3);
	assert_false(c->channels[SB_CH_SOCIAL].exclusive);

	for (int ch = 0; ch < SB_CH_COUNT; ch++)
		assert_false(c->channels[ch].auto_accept);

	assert_int_equal(c->n_gateways, 1);
	assert_string_equal(c->gateways[0].id, "pbx1");
	assert_string_equal(c->gateways[0].secret, "0123456789abcdef");
	assert_int_equal(c->n_agents, 0);
	assert_int_equal(c->n_queues, SB_CH_COUNT);
	for (int ch = 0; ch < SB_CH_COUNT; ch++) {
		const struct sb_queue_conf *q = &c->queues[ch];

		assert_string_equal(q->name, channel_name((enum sb_channel)ch));
		assert_int_equal(q->channel, ch);
		/* a default queue has every queue key's default */
		assert_string_equal(q->strategy, "longest-idle");
		assert_int_equal(q->target_pct, 80);
		assert_int_equal(q->sla_ms, 0);
		assert_int_equal(q->n_skills, 0);
		assert_int_equal(q->n_agent_tiers, 0);
		assert_int_equal(q->n_steps, 0);
		assert_int_equal(q->max_wait_ms, 0);
		assert_int_equal(q->max_wait_no_agent_ms, 0);
		assert_null(q->overflow);
	}
}

/* Without routing keys, tier lists or queue details, the documented routing
 * defaults apply: three agent tiers, three customer tiers. */
static void test_routing_defaults(void **state)
{
	struct fx *f = *state;
	const struct sb_config *c;
	const struct sb_customer_tier_conf *t;

	load_ok(f, MIN_GATEWAYS MIN_AUTH "queues:\n"
	                                 "  - name: q\n"
	                                 "    channel: chat\n"
	                                 "agents:\n"
	                                 "  - id: alice\n");
	c = f->cfg;
	assert_int_equal(c->reject_delay_ms, 5000);
	assert_int_equal(c->max_no_answer, 3);
	assert_int_equal(c->transfer_boost_ms, 15000);
	assert_int_equal(c->stats_window_ms, 900000);

	assert_int_equal(c->n_agent_tiers, 3);
	assert_string_equal(c->agent_tiers[0], "senior");
	assert_string_equal(c->agent_tiers[1], "regular");
	assert_string_equal(c->agent_tiers[2], "trainee");

	assert_int_equal(c->n_customer_tiers, 3);
	t = c->customer_tiers;
	assert_string_equal(t[0].name, "vip");
	assert_true(t[0].sla_factor == 0.5);
	assert_int_equal(t[0].n_first_agent_tiers, 1);
	assert_string_equal(t[0].first_agent_tiers[0], "senior");
	assert_int_equal(t[0].widen_after_ms, 10000);
	assert_string_equal(t[1].name, "gold");
	assert_true(t[1].sla_factor == 0.8);
	assert_int_equal(t[1].n_first_agent_tiers, 0);
	assert_int_equal(t[1].widen_after_ms, 0);
	assert_string_equal(t[2].name, "standard");
	assert_true(t[2].sla_factor == 1.0);

	assert_string_equal(c->queues[0].strategy, "longest-idle");
	assert_int_equal(c->queues[0].target_pct, 80);
	assert_null(c->queues[0].steps);
	/* an agent without a tier gets the lowest, by name; no skills, all queues */
	assert_string_equal(c->agents[0].tier, "trainee");
	assert_int_equal(c->agents[0].n_skills, 0);
	assert_int_equal(c->agents[0].n_queues, 0);
	for (int ch = 0; ch < SB_CH_COUNT; ch++)
		assert_int_equal(c->agents[0].capacity[ch], 0);
}

/* Every routing key lands in its field: tiers, numbers, skills, capacity,
 * steps with either kind of time, references to other queues. */
static void test_routing_values(void **state)
{
	struct fx *f = *state;
	const struct sb_config *c;
	const struct sb_queue_conf *q;
	const struct sb_agent_conf *a;

	load_ok(f, MIN_GATEWAYS MIN_AUTH
	        "routing:\n"
	        "  reject_delay_ms: 2s\n"
	        "  max_no_answer: 5\n"
	        "  transfer_boost_ms: 30s\n"
	        "  stats_window_ms: 1h\n"
	        "agent_tiers: [gold_team, silver.team, bronze-team]\n"
	        "customer_tiers:\n"
	        "  - name: platinum\n"
	        "    sla_factor: 0.25\n"
	        "    first_agent_tiers: [gold_team]\n"
	        "    widen_after_ms: 1m\n"
	        "  - name: basic\n"
	        "    sla_factor: 1.25\n"
	        "  - {name: free, sla_factor: 2}\n"
	        "  - {name: partner, sla_factor: .5, first_agent_tiers: [], widen_after_ms: 0}\n"
	        "channels:\n"
	        "  email: {auto_accept: true}\n"
	        "  social:\n"
	        "    auto_accept: true\n"
	        "    exclusive: false\n"
	        "queues:\n"
	        "  - name: general\n"
	        "    channel: voice\n"
	        "  - name: billing\n"
	        "    channel: voice\n"
	        "    skills: {billing: 3, lang_en: 2}\n"
	        "    strategy: most-skilled\n"
	        "    sla_ms: 20s\n"
	        "    target_pct: 90\n"
	        "    agent_tiers: [gold_team, silver.team]\n"
	        "    max_wait_ms: 10m\n"
	        "    max_wait_no_agent_ms: 1m\n"
	        "    overflow: general\n"
	        "    steps:\n"
	        "      - after_ms: 5s\n"
	        "        skill_relax: 1\n"
	        "      - after_pct: 50\n" /* 10 s of the queue's 20 s */
	        "        agent_tiers: [gold_team, silver.team, bronze-team]\n"
	        "      - after_ms: 15s\n"
	        "        add_queue: email\n" /* a default queue can be named */
	        "        skill_relax: 2\n"
	        "      - after_pct: 100\n"
	        "        overflow: general\n"
	        "  - name: web-chat\n"
	        "    channel: chat\n"
	        "    strategy: random\n"
	        "    skills: {}\n"
	        "    steps:\n"
	        "      - {after_ms: 0, add_queue: billing}\n"
	        "agents:\n"
	        "  - id: alice\n"
	        "    tier: gold_team\n"
	        "    skills: {billing: 5, lang_en: 4}\n"
	        "    capacity: {chat: 2, email: 10}\n"
	        "    queues: [billing, web-chat]\n"
	        "  - id: bob\n"
	        "    tier:\n"
	        "    queues: []\n");
	c = f->cfg;
	assert_int_equal(c->reject_delay_ms, 2000);
	assert_int_equal(c->max_no_answer, 5);
	assert_int_equal(c->transfer_boost_ms, 30000);
	assert_int_equal(c->stats_window_ms, 3600000);

	assert_int_equal(c->n_agent_tiers, 3);
	assert_string_equal(c->agent_tiers[1], "silver.team");
	assert_int_equal(c->n_customer_tiers, 4);
	assert_string_equal(c->customer_tiers[0].name, "platinum");
	assert_true(c->customer_tiers[0].sla_factor == 0.25);
	assert_string_equal(c->customer_tiers[0].first_agent_tiers[0], "gold_team");
	assert_int_equal(c->customer_tiers[0].widen_after_ms, 60000);
	assert_true(c->customer_tiers[1].sla_factor == 1.25);
	assert_true(c->customer_tiers[2].sla_factor == 2.0);
	assert_true(c->customer_tiers[3].sla_factor == 0.5);
	assert_int_equal(c->customer_tiers[3].n_first_agent_tiers, 0);

	assert_false(c->channels[SB_CH_VOICE].auto_accept);
	assert_false(c->channels[SB_CH_CHAT].auto_accept);
	assert_true(c->channels[SB_CH_EMAIL].auto_accept);
	assert_true(c->channels[SB_CH_SOCIAL].auto_accept);

	q = config_queue(c, "billing");
	assert_non_null(q);
	assert_int_equal(q->n_skills, 2);
	assert_string_equal(q->skills[0].name, "billing");
	assert_int_equal(q->skills[0].level, 3);
	assert_string_equal(q->skills[1].name, "lang_en");
	assert_int_equal(q->skills[1].level, 2);
	assert_string_equal(q->strategy, "most-skilled");
	assert_int_equal(q->sla_ms, 20000);
	assert_int_equal(q->target_pct, 90);
	assert_int_equal(q->n_agent_tiers, 2);
	assert_string_equal(q->agent_tiers[1], "silver.team");
	assert_int_equal(q->max_wait_ms, 600000);
	assert_int_equal(q->max_wait_no_agent_ms, 60000);
	assert_string_equal(q->overflow, "general");
	assert_int_equal(q->n_steps, 4);
	assert_int_equal(q->steps[0].after_ms, 5000);
	assert_int_equal(q->steps[0].after_pct, 0);
	assert_int_equal(q->steps[0].skill_relax, 1);
	assert_int_equal(q->steps[0].n_agent_tiers, 0);
	assert_null(q->steps[0].add_queue);
	assert_null(q->steps[0].overflow);
	assert_int_equal(q->steps[1].after_pct, 50);
	assert_int_equal(q->steps[1].skill_relax, 0);
	assert_int_equal(q->steps[1].n_agent_tiers, 3);
	assert_string_equal(q->steps[1].agent_tiers[2], "bronze-team");
	assert_int_equal(q->steps[2].after_ms, 15000);
	assert_string_equal(q->steps[2].add_queue, "email");
	assert_int_equal(q->steps[2].skill_relax, 2);
	assert_int_equal(q->steps[3].after_pct, 100);
	assert_string_equal(q->steps[3].overflow, "general");

	q = config_queue(c, "web-chat");
	assert_string_equal(q->strategy, "random");
	assert_int_equal(q->n_skills, 0);
	assert_int_equal(q->n_steps, 1);
	assert_string_equal(q->steps[0].add_queue, "billing");
	assert_string_equal(config_queue(c, "general")->strategy, "longest-idle");

	a = config_agent(c, "alice");
	assert_string_equal(a->tier, "gold_team");
	assert_int_equal(a->n_skills, 2);
	assert_string_equal(a->skills[0].name, "billing");
	assert_int_equal(a->skills[0].level, 5);
	assert_int_equal(a->capacity[SB_CH_VOICE], 0);
	assert_int_equal(a->capacity[SB_CH_CHAT], 2);
	assert_int_equal(a->capacity[SB_CH_EMAIL], 10);
	assert_int_equal(a->capacity[SB_CH_SOCIAL], 0);
	assert_int_equal(a->n_queues, 2);
	assert_string_equal(a->queues[0], "billing");
	assert_string_equal(a->queues[1], "web-chat");
	/* "tier:" with nothing is unset: the lowest configured tier */
	a = config_agent(c, "bob");
	assert_string_equal(a->tier, "bronze-team");
	assert_int_equal(a->n_queues, 0);
}

/* A name that is not an agent tier, wherever tiers are named; a default
 * that names a tier the file removed is reported at agent_tiers. */
static void test_unknown_tier(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH                    /* 1-5 */
	           "customer_tiers:\n"                         /* 6 */
	           "  - name: vip\n"                           /* 7 */
	           "    first_agent_tiers: [senior, seniro]\n" /* 8 */
	           "    widen_after_ms: 5s\n"                  /* 9 */
	           "queues:\n"                                 /* 10 */
	           "  - name: q1\n"                            /* 11 */
	           "    channel: voice\n"                      /* 12 */
	           "    agent_tiers:\n"                        /* 13 */
	           "      - senior\n"                          /* 14 */
	           "      - junior\n"                          /* 15 */
	           "    steps:\n"                              /* 16 */
	           "      - after_ms: 10s\n"                   /* 17 */
	           "        agent_tiers: [senior, intern]\n"   /* 18 */
	           "agents:\n"                                 /* 19 */
	           "  - id: alice\n"                           /* 20 */
	           "    tier: boss\n");                        /* 21 */
	expect_exact(f, 8,
	             "customer_tiers[0].first_agent_tiers: 'seniro' is not an agent tier "
	             "(senior, regular, trainee)");
	expect_exact(f, 15,
	             "queues[0].agent_tiers: 'junior' is not an agent tier (senior, regular, "
	             "trainee)");
	expect_exact(f, 18,
	             "queues[0].steps[0].agent_tiers: 'intern' is not an agent tier (senior, "
	             "regular, trainee)");
	expect_exact(f, 21,
	             "agents[0].tier: 'boss' is not an agent tier (senior, regular, trainee)");
	expect_count(f, 4);

	/* the default vip tier names senior, which this file's tiers lack */
	load_fails(f, MIN_GATEWAYS MIN_AUTH         /* 1-5 */
	           "agent_tiers: [lead, agent]\n"); /* 6 */
	expect_exact(f, 6,
	             "customer_tiers[0].first_agent_tiers: its default names 'senior', which is "
	             "not an agent tier (lead, agent); set customer_tiers in the file");
	expect_count(f, 1);
}

/* Names that are not queues: a queue's overflow, a step's add_queue and
 * overflow, an agent's queues. */
static void test_unknown_queue(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH                /* 1-5 */
	           "queues:\n"                             /* 6 */
	           "  - name: q1\n"                        /* 7 */
	           "    channel: voice\n"                  /* 8 */
	           "    max_wait_ms: 1m\n"                 /* 9 */
	           "    overflow: q9\n"                    /* 10 */
	           "    steps:\n"                          /* 11 */
	           "      - after_ms: 10s\n"               /* 12 */
	           "        add_queue: sales\n"            /* 13 */
	           "      - after_ms: 20s\n"               /* 14 */
	           "        overflow: Q1\n"                /* 15 */
	           "agents:\n"                             /* 16 */
	           "  - id: alice\n"                       /* 17 */
	           "    queues: [q1, voice, chat, q2]\n"); /* 18 */
	expect_exact(f, 10, "queues[0].overflow: 'q9' is not a queue");
	expect_exact(f, 13, "queues[0].steps[0].add_queue: 'sales' is not a queue");
	expect_exact(f, 15, "queues[0].steps[1].overflow: 'Q1' is not a queue");
	/* voice has q1, so no default queue named voice; chat has its default */
	expect_exact(f, 18, "agents[0].queues[1]: 'voice' is not a queue");
	expect_exact(f, 18, "agents[0].queues[3]: 'q2' is not a queue");
	expect_count(f, 5);
}

/* Overflow stays on the channel and leaves the queue; a step may not add
 * its own queue; a queue's overflow needs a max wait to ever happen. */
static void test_overflow_rules(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH         /* 1-5 */
	           "queues:\n"                      /* 6 */
	           "  - name: calls\n"              /* 7 */
	           "    channel: voice\n"           /* 8 */
	           "    max_wait_ms: 5m\n"          /* 9 */
	           "    overflow: chats\n"          /* 10 */
	           "    steps:\n"                   /* 11 */
	           "      - after_ms: 10s\n"        /* 12 */
	           "        add_queue: calls\n"     /* 13 */
	           "      - after_ms: 20s\n"        /* 14 */
	           "        overflow: calls\n"      /* 15 */
	           "  - name: chats\n"              /* 16 */
	           "    channel: chat\n"            /* 17 */
	           "    max_wait_no_agent_ms: 1m\n" /* 18 */
	           "    overflow: chats\n"          /* 19 */
	           "    steps:\n"                   /* 20 */
	           "      - after_ms: 10s\n"        /* 21 */
	           "        overflow: calls\n"      /* 22 */
	           "  - name: more-calls\n"         /* 23 */
	           "    channel: voice\n"           /* 24 */
	           "    overflow: calls\n");        /* 25 */
	expect_exact(f, 10, "queues[0].overflow: 'chats' takes chat contacts, this queue voice");
	expect_exact(f, 13, "queues[0].steps[0].add_queue: 'calls' is this queue itself");
	expect_exact(f, 15, "queues[0].steps[1].overflow: 'calls' is this queue itself");
	expect_exact(f, 19, "queues[1].overflow: 'chats' is this queue itself");
	expect_exact(f, 22,
	             "queues[1].steps[0].overflow: 'calls' takes voice contacts, this queue chat");
	expect_exact(f, 25,
	             "queues[2].overflow: is never used: set max_wait_ms or max_wait_no_agent_ms");
	expect_count(f, 6);
}

/* Steps: strictly increasing in time (after_pct resolved against the
 * queue's threshold), each doing something, none after an overflow, at
 * most 16. */
static void test_steps_order(void **state)
{
	struct fx *f = *state;
	char text[4096];

	load_fails(f, MIN_GATEWAYS MIN_AUTH     /* 1-5 */
	           "queues:\n"                  /* 6 */
	           "  - name: q1\n"             /* 7 */
	           "    channel: voice\n"       /* 8: threshold 30 s */
	           "    steps:\n"               /* 9 */
	           "      - after_ms: 20s\n"    /* 10 */
	           "        skill_relax: 1\n"   /* 11 */
	           "      - after_pct: 50\n"    /* 12: 15 s < 20 s */
	           "        skill_relax: 2\n"   /* 13 */
	           "      - after_ms: 25s\n"    /* 14 */
	           "        skill_relax: 3\n"   /* 15 */
	           "      - after_ms: 25s\n"    /* 16: = 25 s, and idle */
	           "      - after_ms: 30s\n"    /* 17 */
	           "        overflow: q2\n"     /* 18 */
	           "      - after_ms: 40s\n"    /* 19 */
	           "        skill_relax: 4\n"   /* 20 */
	           "  - name: q2\n"             /* 21 */
	           "    channel: voice\n"       /* 22 */
	           "    sla_ms: 10s\n"          /* 23 */
	           "    steps:\n"               /* 24 */
	           "      - after_pct: 100\n"   /* 25: 10 s */
	           "        skill_relax: 1\n"   /* 26 */
	           "      - after_ms: 9999ms\n" /* 27: before 10 s */
	           "        skill_relax: 2\n"   /* 28 */
	           "      - after_ms: 1m\n"     /* 29: nothing, explicitly */
	           "        skill_relax: 0\n"   /* 30 */
	           "        agent_tiers: []\n"  /* 31 */
	           "        add_queue: null\n"  /* 32 */
	           "        overflow:\n");      /* 33 */
	expect_exact(f, 12,
	             "queues[0].steps[1]: applies at 15s, not after steps[0] (at 20s): steps "
	             "must be in strictly increasing time order");
	expect_exact(f, 16,
	             "queues[0].steps[3]: applies at 25s, not after steps[2] (at 25s): steps "
	             "must be in strictly increasing time order");
	expect_exact(f, 16,
	             "queues[0].steps[3]: does nothing: set skill_relax, agent_tiers, add_queue "
	             "or overflow");
	expect_exact(f, 19,
	             "queues[0].steps[5]: comes after an overflow step (steps[4]), so it would "
	             "never apply");
	expect_exact(f, 27,
	             "queues[1].steps[1]: applies at 9999ms, not after steps[0] (at 10s): steps "
	             "must be in strictly increasing time order");
	expect_exact(f, 29,
	             "queues[1].steps[2]: does nothing: set skill_relax, agent_tiers, add_queue "
	             "or overflow");
	expect_count(f, 6);

	/* at most 16 steps */
	strcpy(text, MIN_GATEWAYS MIN_AUTH "queues:\n"            /* 6 */
	                                   "  - name: q1\n"       /* 7 */
	                                   "    channel: email\n" /* 8 */
	                                   "    steps:\n");       /* 9: items from line 10 */
	for (int i = 1; i <= 17; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text),
		         "      - {after_ms: %ds, skill_relax: 1}\n", i);
	load_fails(f, text);
	expect_exact(f, 10, "queues[0].steps: at most 16 steps are allowed, found 17");
	expect_count(f, 1);
}

/* A step sets exactly one of after_ms and after_pct; an unknown key in a
 * step is named with its full path. */
static void test_step_time_keys(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH     /* 1-5 */
	           "queues:\n"                  /* 6 */
	           "  - name: q1\n"             /* 7 */
	           "    channel: voice\n"       /* 8 */
	           "    steps:\n"               /* 9 */
	           "      - after_ms: 10s\n"    /* 10 */
	           "        after_pct: 50\n"    /* 11 */
	           "        skill_relax: 1\n"   /* 12 */
	           "      - skill_relax: 2\n"   /* 13 */
	           "      - after_pct: 0\n"     /* 14 */
	           "        skill_relax: 3\n"   /* 15 */
	           "      - afterms: 90\n"      /* 16 */
	           "        after_ms: 90s\n"    /* 17 */
	           "        skil_relax: 1\n"    /* 18 */
	           "        skill_relax: 5\n"); /* 19 */
	expect_exact(f, 11,
	             "queues[0].steps[0].after_pct: set either after_ms or after_pct, not both");
	expect_exact(f, 13, "queues[0].steps[1]: set after_ms or after_pct");
	expect_exact(f, 14, "queues[0].steps[2].after_pct: 0 is out of range (1..1000)");
	expect_exact(f, 16, "unknown key 'queues[0].steps[3].afterms' (did you mean 'after_ms'?)");
	expect_exact(f, 18,
	             "unknown key 'queues[0].steps[3].skil_relax' (did you mean 'skill_relax'?)");
	expect_exact(f, 19, "queues[0].steps[3].skill_relax: 5 is out of range (0..4)");
	expect_count(f, 6);
}

/* sla_factor is a plain decimal in 0.05..20. */
static void test_sla_factor(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH                            /* 1-5 */
	           "customer_tiers:\n"                                 /* 6 */
	           "  - {name: a, sla_factor: 0.01}\n"                 /* 7 */
	           "  - {name: b, sla_factor: 25}\n"                   /* 8 */
	           "  - {name: c, sla_factor: fast}\n"                 /* 9 */
	           "  - {name: d, sla_factor: 1e3}\n"                  /* 10 */
	           "  - {name: e, sla_factor: 0x10}\n"                 /* 11 */
	           "  - {name: f, sla_factor: 1.2.3}\n"                /* 12 */
	           "  - {name: g, sla_factor: .}\n"                    /* 13 */
	           "  - {name: h, sla_factor: inf}\n"                  /* 14 */
	           "  - {name: i, sla_factor: -0.5}\n"                 /* 15 */
	           "  - {name: j, sla_factor: [1]}\n"                  /* 16 */
	           "  - {name: k, sla_factor: 0.05}\n"                 /* 17: the bounds are in */
	           "  - {name: l, sla_factor: 20.0}\n"                 /* 18 */
	           "  - {name: m, sla_factor: 1.0000000000000001}\n"); /* 19 */
	expect_exact(f, 7, "customer_tiers[0].sla_factor: 0.01 is out of range (0.05..20)");
	expect_exact(f, 8, "customer_tiers[1].sla_factor: 25 is out of range (0.05..20)");
	expect_exact(f, 9,
	             "customer_tiers[2].sla_factor: 'fast' is not a number (like 0.5, 1 or 1.25)");
	expect_exact(f, 10,
	             "customer_tiers[3].sla_factor: '1e3' is not a number (like 0.5, 1 or 1.25)");
	expect_exact(f, 11,
	             "customer_tiers[4].sla_factor: '0x10' is not a number (like 0.5, 1 or 1.25)");
	expect_exact(f, 12,
	             "customer_tiers[5].sla_factor: '1.2.3' is not a number (like 0.5, 1 or 1.25)");
	expect_exact(f, 13,
	             "customer_tiers[6].sla_factor: '.' is not a number (like 0.5, 1 or 1.25)");
	expect_exact(f, 14,
	             "customer_tiers[7].sla_factor: 'inf' is not a number (like 0.5, 1 or 1.25)");
	expect_exact(f, 15, "customer_tiers[8].sla_factor: -0.5 is out of range (0.05..20)");
	expect_exact(f, 16, "customer_tiers[9].sla_factor: expected a number, found a list");
	expect_exact(f, 19,
	             "customer_tiers[12].sla_factor: '1.0000000000000001' has more than 15 digits");
	expect_count(f, 11);
}

/* Skills: names [a-z0-9_]{1,32}, levels 1..5, each once, as a mapping. */
static void test_skills_errors(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH                                               /* 1-5 */
	           "queues:\n"                                                            /* 6 */
	           "  - name: q1\n"                                                       /* 7 */
	           "    channel: voice\n"                                                 /* 8 */
	           "    skills:\n"                                                        /* 9 */
	           "      billing: 6\n"                                                   /* 10 */
	           "      Billing: 1\n"                                                   /* 11 */
	           "      lang-en: 2\n"                                                   /* 12 */
	           "      sales: high\n"                                                  /* 13 */
	           "      support: 0\n"                                                   /* 14 */
	           "      billing: 2\n"                                                   /* 15 */
	           "  - name: q2\n"                                                       /* 16 */
	           "    channel: chat\n"                                                  /* 17 */
	           "    skills: [billing]\n"                                              /* 18 */
	           "agents:\n"                                                            /* 19 */
	           "  - id: alice\n"                                                      /* 20 */
	           "    skills: {a23456789012345678901234567890123: 1, ok: [1], x: }\n"); /* 21 */
	expect_exact(f, 10, "queues[0].skills.billing: 6 is out of range (1..5)");
	expect_exact(f, 11, "queues[0].skills: skill 'Billing' must be 1 to 32 of [a-z0-9_]");
	expect_exact(f, 12, "queues[0].skills: skill 'lang-en' must be 1 to 32 of [a-z0-9_]");
	expect_exact(f, 13, "queues[0].skills.sales: 'high' is not an integer");
	expect_exact(f, 14, "queues[0].skills.support: 0 is out of range (1..5)");
	expect_exact(f, 15, "queues[0].skills: duplicate skill 'billing' (first at line 10)");
	expect_exact(f, 18, "queues[1].skills: expected a mapping of skill: level, found a list");
	expect_exact(f, 21,
	             "agents[0].skills: skill 'a23456789012345678901234567890123' must be 1 to 32 "
	             "of [a-z0-9_]");
	expect_exact(f, 21, "agents[0].skills.ok: expected a level, found a list");
	expect_exact(f, 21, "agents[0].skills.x: expected a level, found nothing");
	expect_count(f, 10);
}

/* A customer tier that restricts agent tiers must say when that ends. */
static void test_widen_required(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH            /* 1-5 */
	           "customer_tiers:\n"                 /* 6 */
	           "  - name: vip\n"                   /* 7 */
	           "    first_agent_tiers: [senior]\n" /* 8 */
	           "  - name: gold\n"                  /* 9 */
	           "    first_agent_tiers: [senior]\n" /* 10 */
	           "    widen_after_ms: 0\n"           /* 11 */
	           "  - name: standard\n"              /* 12 */
	           "    widen_after_ms: 2d\n");        /* 13 */
	expect_exact(f, 8,
	             "customer_tiers[0]: first_agent_tiers needs widen_after_ms above 0, or its "
	             "contacts never reach the other tiers");
	expect_exact(f, 11,
	             "customer_tiers[1]: first_agent_tiers needs widen_after_ms above 0, or its "
	             "contacts never reach the other tiers");
	expect_exact(f, 13, "customer_tiers[2].widen_after_ms: 2d is out of range (0..86400000)");
	expect_count(f, 3);
}

/* Capacity is by channel name, each 1..50. */
static void test_capacity_errors(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH /* 1-5 */
	           "agents:\n"              /* 6 */
	           "  - id: alice\n"        /* 7 */
	           "    capacity:\n"        /* 8 */
	           "      fax: 1\n"         /* 9 */
	           "      chat: 0\n"        /* 10 */
	           "      email: 51\n"      /* 11 */
	           "      social: many\n"   /* 12 */
	           "      chat: 2\n"        /* 13 */
	           "  - id: bob\n"          /* 14 */
	           "    capacity: 3\n");    /* 15 */
	expect_exact(f, 9,
	             "agents[0].capacity: 'fax' is not a channel (voice, chat, email or social)");
	expect_exact(f, 10, "agents[0].capacity.chat: 0 is out of range (1..50)");
	expect_exact(f, 11, "agents[0].capacity.email: 51 is out of range (1..50)");
	expect_exact(f, 12, "agents[0].capacity.social: 'many' is not an integer");
	expect_exact(f, 13, "agents[0].capacity: duplicate key 'chat' (first at line 10)");
	expect_exact(f, 15,
	             "agents[1].capacity: expected a mapping of channel: capacity, found a single "
	             "value");
	expect_count(f, 6);
}

/* Tier lists and names: at least one, unique, well formed; a known strategy. */
static void test_tier_lists(void **state)
{
	struct fx *f = *state;
	char text[4096];

	load_fails(f, MIN_GATEWAYS MIN_AUTH               /* 1-5 */
	           "agent_tiers: [a, b, a, 'x y', [c]]\n" /* 6 */
	           "customer_tiers:\n"                    /* 7 */
	           "  - name: vip\n"                      /* 8 */
	           "  - name: vip\n"                      /* 9 */
	           "  - sla_factor: 2\n"                  /* 10 */
	           "queues:\n"                            /* 11 */
	           "  - name: q1\n"                       /* 12 */
	           "    channel: voice\n"                 /* 13 */
	           "    strategy: fastest\n"              /* 14 */
	           "    agent_tiers: a\n"                 /* 15 */
	           "agents:\n"                            /* 16 */
	           "  - id: alice\n"                      /* 17 */
	           "    queues: [q1, q1]\n");             /* 18 */
	expect_exact(f, 6, "agent_tiers[2]: 'a' is listed twice (first at line 6)");
	expect_exact(f, 6, "agent_tiers[3]: 'x y' must be 1 to 32 of [A-Za-z0-9_.-]");
	expect_exact(f, 6, "agent_tiers[4]: expected a name, found a list");
	expect_exact(f, 9, "customer_tiers[1].name 'vip' is a duplicate (first at line 8)");
	expect_exact(f, 10, "customer_tiers[2].name is required");
	expect_exact(f, 14,
	             "queues[0].strategy: 'fastest' must be longest-idle, most-skilled, "
	             "least-occupied, round-robin, fewest-contacts or random");
	expect_exact(f, 15,
	             "queues[0].agent_tiers: expected a list of names, found a single value");
	expect_exact(f, 18, "agents[0].queues[1]: 'q1' is listed twice (first at line 18)");
	expect_count(f, 8);

	/* empty lists where at least one is needed */
	load_fails(f, MIN_GATEWAYS MIN_AUTH /* 1-5 */
	           "agent_tiers: []\n"      /* 6 */
	           "customer_tiers:\n");    /* 7 */
	expect_exact(f, 6, "agent_tiers: at least 1 name is required");
	expect_exact(f, 7, "customer_tiers: at least 1 customer tier is required");
	expect_count(f, 2);

	/* at most 32 agent tiers */
	strcpy(text, MIN_GATEWAYS MIN_AUTH "agent_tiers: [t0");
	for (int i = 1; i <= 32; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text), ", t%d", i);
	strcat(text, "]\ncustomer_tiers: [{name: all}]\n");
	load_fails(f, text);
	expect_exact(f, 6, "agent_tiers: at most 32 names are allowed, found 33");
	expect_count(f, 1);
}

/* Every kind of value lands in its field: strings, integers, durations with
 * and without units, booleans, lists, and a relative secret_file. */
static void test_full_values(void **state)
{
	struct fx *f = *state;
	const struct sb_config *c;

	put_file(f, "agent.key", "agent-secret-from-a-file\n");
	load_ok(f, "site: east-1\n"
	           "log_level: debug\n"
	           "listen:\n"
	           "  gateway: '[::1]:9400'\n"
	           "  agent: unix:/run/switchboard/agent.sock\n"
	           "redis:\n"
	           "  address: unix:/run/redis/redis.sock\n"
	           "  connect_timeout_ms: 250\n"
	           "  command_timeout_ms: 3s\n"
	           "  reconnect_max_ms: 500ms\n"
	           "  events_maxlen: 5000\n"
	           "  idempotency_ttl_s: 2h\n"
	           "limits:\n"
	           "  max_frame_bytes: 1024\n"
	           "  handshake_timeout_ms: 100\n"
	           "  output_buffer_max_bytes: 8192\n"
	           "sessions:\n"
	           "  heartbeat_ms: 1000\n"
	           "  missed_heartbeats: 5\n"
	           "auth:\n"
	           "  agent_secret_file: agent.key\n"
	           "  agent_token_max_ttl_s: 3600\n"
	           "channels:\n"
	           "  voice: {sla_ms: 20000, exclusive: false}\n"
	           "  email:\n"
	           "    capacity: 10\n"
	           "    wrapup_ms: 1m\n"
	           "gateways:\n"
	           "  - id: pbx1\n"
	           "    secret: 0123456789abcdef\n"
	           "  - id: chat.backend_2\n"
	           "    secret: \"another-secret-16b\"\n"
	           "queues:\n"
	           "  - name: support-voice\n"
	           "    channel: voice\n"
	           "  - name: sales-voice\n"
	           "    channel: voice\n"
	           "  - name: web-chat\n"
	           "    channel: chat\n"
	           "agents:\n"
	           "  - id: alice\n"
	           "    name: Alice Smith\n"
	           "  - id: bob\n");
	c = f->cfg;
	assert_string_equal(c->site, "east-1");
	assert_string_equal(c->log_level, "debug");
	assert_string_equal(c->gateway_listen, "[::1]:9400");
	assert_string_equal(c->agent_listen, "unix:/run/switchboard/agent.sock");
	assert_string_equal(c->redis_address, "unix:/run/redis/redis.sock");
	assert_int_equal(c->redis_connect_timeout_ms, 250);
	assert_int_equal(c->redis_command_timeout_ms, 3000);
	assert_int_equal(c->redis_reconnect_max_ms, 500);
	assert_int_equal(c->events_maxlen, 5000);
	assert_int_equal(c->idempotency_ttl_s, 7200);
	assert_int_equal(c->max_frame_bytes, 1024);
	assert_int_equal(c->handshake_timeout_ms, 100);
	assert_int_equal(c->output_buffer_max_bytes, 8192);
	assert_int_equal(c->heartbeat_ms, 1000);
	assert_int_equal(c->missed_heartbeats, 5);
	/* trailing newline stripped, path relative to the config's directory */
	assert_string_equal(c->agent_secret, "agent-secret-from-a-file");
	assert_int_equal(c->agent_token_max_ttl_s, 3600);

	assert_int_equal(c->channels[SB_CH_VOICE].sla_ms, 20000);
	assert_false(c->channels[SB_CH_VOICE].exclusive);
	assert_int_equal(c->channels[SB_CH_VOICE].offer_timeout_ms, 15000); /* untouched */
	assert_int_equal(c->channels[SB_CH_EMAIL].capacity, 10);
	assert_int_equal(c->channels[SB_CH_EMAIL].wrapup_ms, 60000);
	assert_int_equal(c->channels[SB_CH_CHAT].capacity, 3);

	assert_int_equal(c->n_gateways, 2);
	assert_string_equal(c->gateways[1].id, "chat.backend_2");
	assert_string_equal(c->gateways[1].secret, "another-secret-16b");

	/* listed queues first, in order; email and social get defaults */
	assert_int_equal(c->n_queues, 5);
	assert_string_equal(c->queues[0].name, "support-voice");
	assert_string_equal(c->queues[1].name, "sales-voice");
	assert_string_equal(c->queues[2].name, "web-chat");
	assert_int_equal(c->queues[2].channel, SB_CH_CHAT);
	assert_string_equal(c->queues[3].name, "email");
	assert_int_equal(c->queues[3].channel, SB_CH_EMAIL);
	assert_string_equal(c->queues[4].name, "social");
	assert_int_equal(c->queues[4].channel, SB_CH_SOCIAL);

	assert_int_equal(c->n_agents, 2);
	assert_string_equal(c->agents[0].name, "Alice Smith");
	assert_string_equal(c->agents[1].id, "bob");
	assert_string_equal(c->agents[1].name, "bob"); /* defaults to the id */
}

/* The lookups find configured entries and only those. */
static void test_lookups(void **state)
{
	struct fx *f = *state;

	load_ok(f, MIN_GATEWAYS MIN_AUTH "queues:\n"
	                                 "  - name: q1\n"
	                                 "    channel: chat\n"
	                                 "agents:\n"
	                                 "  - id: alice\n");
	assert_non_null(config_gateway(f->cfg, "pbx1"));
	assert_null(config_gateway(f->cfg, "pbx2"));
	assert_string_equal(config_agent(f->cfg, "alice")->name, "alice");
	assert_null(config_agent(f->cfg, "bob"));
	assert_int_equal(config_queue(f->cfg, "q1")->channel, SB_CH_CHAT);
	assert_int_equal(config_queue(f->cfg, "voice")->channel, SB_CH_VOICE);
	assert_null(config_queue(f->cfg, "chat")); /* chat has q1, so no default */
}

/* A missing file names the file and the system's reason. */
static void test_missing_file(void **state)
{
	struct fx *f = *state;
	char want[PATH_MAX + 128];

	snprintf(f->path, sizeof f->path, "%s/nope.yaml", f->dir);
	assert_int_equal(config_load(f->path, &f->cfg, &f->errs), SB_ERR_CONFIG);
	assert_null(f->cfg);
	assert_int_equal(f->errs.n, 1);
	snprintf(want, sizeof want, "%s: cannot open: %s", f->path, strerror(ENOENT));
	assert_string_equal(f->errs.msgs[0], want);

	/* a directory is not a config file either */
	config_errors_clear(&f->errs);
	assert_int_equal(config_load(f->dir, &f->cfg, &f->errs), SB_ERR_CONFIG);
	assert_int_equal(f->errs.n, 1);
	assert_non_null(strstr(f->errs.msgs[0], strerror(EISDIR)));
}

/* From memory, the same parser: name stands for the file in messages, the
 * bytes need no NUL, and a reader error (found at a byte offset) still gets
 * its line. */
static void test_load_buffer(void **state)
{
	struct fx *f = *state;
	static const char valid[] = "site: mem\n"
	                            "auth: {agent_secret: mem-agent-secret-0123456789}\n"
	                            "gateways: [{id: g, secret: mem-gateway-secret-0123}]\n";
	static const char text[] = "site: mem\n"
	                           "auth: {agent_secret: mem-agent-secret-0123456789}\n"
	                           "gateways: [{id: g, secret: mem-gateway-secret-0123}]\n"
	                           "log_level: loud\n"
	                           "site2: x";
	static const char bad[] = "site: a\n\xff\n";

	/* the length stops before "site2": no unknown-key error */
	assert_int_equal(
	    config_load_buffer("mem.yaml", text, sizeof text - 1 - 9, &f->cfg, &f->errs),
	    SB_ERR_CONFIG);
	assert_null(f->cfg);
	assert_int_equal(f->errs.n, 1);
	assert_non_null(strstr(f->errs.msgs[0], "mem.yaml:4: log_level"));
	config_errors_clear(&f->errs);

	assert_int_equal(config_load_buffer("mem.yaml", bad, sizeof bad - 1, &f->cfg, &f->errs),
	                 SB_ERR_CONFIG);
	assert_int_equal(f->errs.n, 1);
	assert_non_null(strstr(f->errs.msgs[0], "mem.yaml:2: cannot read"));
	config_errors_clear(&f->errs);

	assert_int_equal(config_load_buffer("mem.yaml", valid, sizeof valid - 1, &f->cfg, &f->errs),
	                 0);
	assert_string_equal(f->cfg->site, "mem");
	assert_string_equal(f->cfg->path, "mem.yaml");
}

/* A YAML syntax error is reported at its line, and alone. */
static void test_syntax_error(void **state)
{
	struct fx *f = *state;

	load_fails(f, "site: main\n"               /* 1 */
	              "redis:\n"                   /* 2 */
	              "  address: 127.0.0.1:1\n"   /* 3 */
	              "  command_timeout_ms: [1\n" /* 4 */
	              "limits:\n");                /* 5 */
	expect_count(f, 1);
	expect_error(f, 5, "YAML syntax error");

	load_fails(f, "site: main\n" /* 1 */
	              "redis:\n"     /* 2 */
	              "  a: 1\n"     /* 3 */
	              " b: 2\n");    /* 4 */
	expect_count(f, 1);
	expect_error(f, 4, "YAML syntax error");

	/* bytes that are not UTF-8 are reported at their line too */
	load_fails(f, "site: main\n"
	              "redis:\n"
	              "  address: \xff\xfe\n");
	expect_count(f, 1);
	expect_error(f, 3, "invalid leading UTF-8 octet");

	/* a tab for indentation is a classic */
	load_fails(f, "site: main\n"
	              "redis:\n"
	              "\taddress: 127.0.0.1:1\n");
	expect_count(f, 1);
	expect_error(f, 3, "YAML syntax error");
}

/* Typos are errors, at their line, with a suggestion when one is close. */
static void test_unknown_key(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_AUTH                      /* 1-2 */
	           "redsi:\n"                       /* 3 */
	           "  address: 127.0.0.1:6379\n"    /* 4 */
	           "redis:\n"                       /* 5 */
	           "  adress: 127.0.0.1:6379\n"     /* 6 */
	           "gateways:\n"                    /* 7 */
	           "  - id: pbx1\n"                 /* 8 */
	           "    secert: 0123456789abcdef\n" /* 9 */
	           "    secret: 0123456789abcdef\n" /* 10 */
	           "frobnicate: 1\n");              /* 11 */
	expect_exact(f, 3, "unknown key 'redsi' (did you mean 'redis'?)");
	expect_exact(f, 6, "unknown key 'redis.adress' (did you mean 'address'?)");
	expect_exact(f, 9, "unknown key 'gateways[0].secert' (did you mean 'secret'?)");
	expect_exact(f, 11, "unknown key 'frobnicate'");
	expect_count(f, 4);

	/* the _file form of a secret is suggested too */
	load_fails(f, MIN_GATEWAYS "auth:\n"
	                           "  agent_secret_fil: x\n");
	expect_error(f, 5,
	             "unknown key 'auth.agent_secret_fil' (did you mean 'agent_secret_file'?)");
}

/* A value of the wrong kind names what was expected. */
static void test_wrong_type(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH       /* 1-5 */
	           "redis:\n"                     /* 6 */
	           "  command_timeout_ms: fast\n" /* 7 */
	           "limits:\n"                    /* 8 */
	           "  max_frame_bytes: 1.5\n"     /* 9 */
	           "channels:\n"                  /* 10 */
	           "  voice:\n"                   /* 11 */
	           "    exclusive: maybe\n"       /* 12 */
	           "    capacity: [1]\n"          /* 13 */
	           "site: [a, b]\n"               /* 14 */
	           "sessions: 5\n"                /* 15 */
	           "log_level:\n");               /* 16 */
	expect_exact(f, 7,
	             "redis.command_timeout_ms: 'fast' is not a duration (an integer, or "
	             "one with a unit: ms, s, m, h, d)");
	expect_exact(f, 9, "limits.max_frame_bytes: '1.5' is not an integer");
	expect_exact(f, 12, "channels.voice.exclusive: 'maybe' is not true or false");
	expect_exact(f, 13, "channels.voice.capacity: expected an integer, found a list");
	expect_exact(f, 14, "site: expected a string, found a list");
	expect_exact(f, 15, "sessions: expected a mapping, found a single value");
	expect_exact(f, 16, "log_level: expected a string, found nothing");
	expect_count(f, 7);

	load_fails(f, MIN_AUTH "gateways: pbx1\n");
	expect_exact(f, 3, "gateways: expected a list of gateways, found a single value");
	load_fails(f, MIN_AUTH "gateways:\n"
	                       "  - pbx1\n");
	expect_exact(f, 4, "gateways[0]: expected a mapping, found a single value");
}

/* Values outside their range are refused with the range, in the key's unit. */
static void test_out_of_range(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH                  /* 1-5 */
	           "redis:\n"                                /* 6 */
	           "  command_timeout_ms: 5\n"               /* 7 */
	           "  idempotency_ttl_s: 40d\n"              /* 8 */
	           "  events_maxlen: 99999999999999999999\n" /* 9 */
	           "channels:\n"                             /* 10 */
	           "  chat:\n"                               /* 11 */
	           "    capacity: 51\n"                      /* 12 */
	           "    wrapup_ms: -1\n"                     /* 13 */
	           "sessions:\n"                             /* 14 */
	           "  missed_heartbeats: 0\n");              /* 15 */
	expect_exact(f, 7, "redis.command_timeout_ms: 5 is out of range (10..60000)");
	expect_exact(f, 8, "redis.idempotency_ttl_s: 40d is out of range (60..2592000)");
	expect_exact(f, 9, "redis.events_maxlen: '99999999999999999999' is too large");
	expect_exact(f, 12, "channels.chat.capacity: 51 is out of range (1..50)");
	expect_exact(f, 13, "channels.chat.wrapup_ms: -1 is out of range (0..3600000)");
	expect_exact(f, 15, "sessions.missed_heartbeats: 0 is out of range (1..100)");
	expect_count(f, 6);

	/* a _s key takes whole seconds only */
	load_fails(f, MIN_GATEWAYS MIN_AUTH "redis:\n"
	                                    "  idempotency_ttl_s: 1500ms\n");
	expect_exact(f, 7, "redis.idempotency_ttl_s: '1500ms' is not a whole number of seconds");
}

/* String keys with a format are checked at load, not at bind time. */
static void test_bad_strings(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH       /* 1-5 */
	           "site: my site\n"              /* 6 */
	           "log_level: verbose\n"         /* 7 */
	           "listen:\n"                    /* 8 */
	           "  gateway: localhost\n"       /* 9 */
	           "  agent: 127.0.0.1:99999\n"   /* 10 */
	           "redis:\n"                     /* 11 */
	           "  address: unix:redis.sock\n" /* 12 */
	           "agents:\n"                    /* 13 */
	           "  - id: al ice\n");           /* 14 */
	expect_exact(f, 6, "site: 'my site' must be 1 to 32 of [A-Za-z0-9_-]");
	expect_exact(f, 7, "log_level: 'verbose' must be error, warn, info or debug");
	expect_error(f, 9, "listen.gateway: 'localhost' is not \"host:port\"");
	expect_exact(f, 10, "listen.agent: '127.0.0.1:99999' has a port outside 1..65535");
	expect_error(f, 12,
	             "redis.address: 'unix:redis.sock' must be unix: followed by an "
	             "absolute path");
	expect_exact(f, 14, "agents[0].id: 'al ice' must be 1 to 64 of [A-Za-z0-9_.-]");
	/* the bad id is not also reported as missing */
	expect_count(f, 6);
}

/* websocket.allowed_origins holds origins as browsers send them: anything
 * else (a path, a trailing slash, another scheme) could never match an
 * Origin header, so it is refused rather than silently useless. */
static void test_websocket_origins_are_checked(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH                    /* 1-5 */
	           "websocket:\n"                              /* 6 */
	           "  allowed_origins:\n"                      /* 7 */
	           "    - https://desk.example.com\n"          /* 8 */
	           "    - https://desk.example.com/\n"         /* 9 */
	           "    - desk.example.com\n"                  /* 10 */
	           "    - ws://desk.example.com\n");           /* 11 */
	expect_error(f, 9, "must be http://host[:port] or https://host[:port], with no path");
	expect_error(f, 10, "must be http://host[:port] or https://host[:port], with no path");
	expect_error(f, 11, "must be http://host[:port] or https://host[:port], with no path");
	expect_count(f, 3);
	load_ok(f, MIN_GATEWAYS MIN_AUTH
	        "websocket:\n"
	        "  allowed_origins: [\"http://127.0.0.1:7402\", \"https://[::1]:8443\"]\n");
	assert_int_equal(f->cfg->n_websocket_allowed_origins, 2);
	assert_string_equal(f->cfg->websocket_allowed_origins[1], "https://[::1]:8443");
}

/* The listeners bind without resolving: a host name there is refused at
 * load (and so by --check-config), not when the daemon starts. Redis may be
 * named: hiredis resolves it. */
static void test_listen_addresses_are_numeric(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH           /* 1-5 */
	           "listen:\n"                        /* 6 */
	           "  gateway: localhost:7400\n"      /* 7 */
	           "  agent: \"[::1]:7401\"\n"        /* 8 */
	           "admin:\n"                         /* 9 */
	           "  listen: db.example.com:7402\n"  /* 10 */
	           "redis:\n"                         /* 11 */
	           "  address: redis.example.com:6379\n"); /* 12 */
	expect_error(f, 7, "listen.gateway: 'localhost:7400' must listen on a numeric address");
	expect_error(f, 10, "admin.listen: 'db.example.com:7402' must listen on a numeric address");
	expect_count(f, 2);
	load_ok(f, MIN_GATEWAYS MIN_AUTH "listen:\n  gateway: 0.0.0.0:7400\n  agent: \"[::1]:7401\"\n"
	           "admin:\n  listen: unix:/run/switchboard/admin.sock\n");
}

/* Required keys and lists: reported at the line of the section that should
 * hold them, or line 1 when that is absent too. */
static void test_missing_required(void **state)
{
	struct fx *f = *state;

	load_fails(f, "site: main\n");
	expect_exact(f, 1, "gateways: at least 1 gateway is required");
	expect_exact(f, 1, "auth.agent_secret is required: set agent_secret or agent_secret_file");
	expect_count(f, 2);

	load_fails(f, "site: main\n"                   /* 1 */
	              "auth:\n"                        /* 2 */
	              "  agent_token_max_ttl_s: 60\n"  /* 3 */
	              "gateways:\n"                    /* 4 */
	              "  - secret: 0123456789abcdef\n" /* 5 */
	              "queues:\n"                      /* 6 */
	              "  - name: q\n"                  /* 7 */
	              "agents:\n"                      /* 8 */
	              "  - name: Nobody\n");           /* 9 */
	expect_exact(f, 2, "auth.agent_secret is required: set agent_secret or agent_secret_file");
	expect_exact(f, 5, "gateways[0].id is required");
	expect_exact(f, 7, "queues[0].channel is required");
	expect_exact(f, 9, "agents[0].id is required");
	expect_count(f, 4);

	/* an empty list is as missing as no list */
	load_fails(f, MIN_AUTH "gateways: []\n");
	expect_exact(f, 3, "gateways: at least 1 gateway is required");

	/* an empty file is a valid empty document: the same errors, no crash */
	load_fails(f, "");
	expect_count(f, 2);
	load_fails(f, "# only a comment\n");
	expect_count(f, 2);
}

/* Duplicate ids, names and mapping keys point at the first occurrence. */
static void test_duplicates(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_AUTH                        /* 1-2 */
	           "gateways:\n"                      /* 3 */
	           "  - id: pbx1\n"                   /* 4 */
	           "    secret: 0123456789abcdef\n"   /* 5 */
	           "  - id: pbx2\n"                   /* 6 */
	           "    secret: 0123456789abcdef\n"   /* 7 */
	           "  - id: pbx1\n"                   /* 8 */
	           "    secret: 0123456789abcdef\n"   /* 9 */
	           "queues:\n"                        /* 10 */
	           "  - {name: q1, channel: voice}\n" /* 11 */
	           "  - {name: q1, channel: chat}\n"  /* 12 */
	           "agents:\n"                        /* 13 */
	           "  - id: bob\n"                    /* 14 */
	           "  - id: alice\n"                  /* 15 */
	           "  - id: bob\n"                    /* 16 */
	           "  - id: bob\n"                    /* 17 */
	           "site: a\n"                        /* 18 */
	           "site: b\n");                      /* 19 */
	expect_exact(f, 8, "gateways[2].id 'pbx1' is a duplicate (first at line 4)");
	expect_exact(f, 12, "queues[1].name 'q1' is a duplicate (first at line 11)");
	expect_exact(f, 16, "agents[2].id 'bob' is a duplicate (first at line 14)");
	expect_exact(f, 17, "agents[3].id 'bob' is a duplicate (first at line 14)");
	expect_exact(f, 19, "duplicate key 'site' (first at line 18)");
	expect_count(f, 5);
}

/* Only the four channels exist, as channels: keys and as queue channels. */
static void test_unknown_channel(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH /* 1-5 */
	           "channels:\n"            /* 6 */
	           "  fax:\n"               /* 7 */
	           "    sla_ms: 1000\n"     /* 8 */
	           "  vioce: {}\n");        /* 9 */
	expect_exact(f, 7, "unknown key 'channels.fax'");
	expect_exact(f, 9, "unknown key 'channels.vioce' (did you mean 'voice'?)");
	expect_count(f, 2);
}

/* A queue's channel must be one of the four. */
static void test_queue_channel_invalid(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH  /* 1-5 */
	           "queues:\n"               /* 6 */
	           "  - name: fax-queue\n"   /* 7 */
	           "    channel: fax\n"      /* 8 */
	           "  - name: voice-queue\n" /* 9 */
	           "    channel: Voice\n");  /* 10 */
	expect_exact(f, 8,
	             "queues[0].channel: 'fax' is not a channel (voice, chat, email or "
	             "social)");
	expect_exact(f, 10,
	             "queues[1].channel: 'Voice' is not a channel (voice, chat, email or "
	             "social)");
	expect_count(f, 2);
}

/* A channel without a queue gets one named after it, unless that name is taken. */
static void test_default_queue_name_taken(void **state)
{
	struct fx *f = *state;

	load_fails(f, MIN_GATEWAYS MIN_AUTH /* 1-5 */
	           "queues:\n"              /* 6 */
	           "  - name: chat\n"       /* 7 */
	           "    channel: voice\n");
	expect_exact(f, 6,
	             "queues: channel chat has no queue, and its default queue's name "
	             "'chat' is taken by a voice queue");
	expect_count(f, 1);
}

/* A secret is set exactly one way. */
static void test_secret_both_or_neither(void **state)
{
	struct fx *f = *state;

	put_file(f, "gw.key", "0123456789abcdef0123\n");
	load_fails(f, "auth:\n"                            /* 1 */
	              "  agent_secret: fedcba9876543210\n" /* 2 */
	              "  agent_secret_file: gw.key\n"      /* 3 */
	              "gateways:\n"                        /* 4 */
	              "  - id: both\n"                     /* 5 */
	              "    secret_file: gw.key\n"          /* 6 */
	              "    secret: 0123456789abcdef\n"     /* 7 */
	              "  - id: neither\n");                /* 8 */
	expect_exact(f, 3,
	             "auth.agent_secret_file: set either agent_secret or agent_secret_file, "
	             "not both");
	expect_exact(f, 7, "gateways[0].secret: set either secret or secret_file, not both");
	expect_exact(f, 8, "gateways[1].secret is required: set secret or secret_file");
	expect_count(f, 3);
}

/* Secret files that cannot be used, and secrets too short to be keys; the
 * secret itself never appears in a message. */
static void test_secret_file_problems(void **state)
{
	struct fx *f = *state;
	char want[PATH_MAX * 2];

	put_file(f, "short.key", "tiny\n");
	assert_int_equal(mkdir(strcat(strcpy(want, f->dir), "/sub"), 0700), 0);
	load_fails(f, "auth:\n"                         /* 1 */
	              "  agent_secret_file: nope.key\n" /* 2 */
	              "gateways:\n"                     /* 3 */
	              "  - id: a\n"                     /* 4 */
	              "    secret_file: short.key\n"    /* 5 */
	              "  - id: b\n"                     /* 6 */
	              "    secret: hunter2\n"           /* 7 */
	              "  - id: c\n"                     /* 8 */
	              "    secret_file: sub\n");        /* 9 */
	snprintf(want, sizeof want, "auth.agent_secret_file: cannot read '%s/nope.key': %s", f->dir,
	         strerror(ENOENT));
	expect_exact(f, 2, want);
	expect_exact(f, 5, "gateways[0].secret_file: is 4 bytes; a secret needs at least 16");
	expect_exact(f, 7, "gateways[1].secret: is 7 bytes; a secret needs at least 16");
	snprintf(want, sizeof want, "gateways[2].secret_file: '%s/sub' is not a regular file",
	         f->dir);
	expect_exact(f, 9, want);
	expect_count(f, 4);
	for (size_t i = 0; i < f->errs.n; i++) {
		assert_null(strstr(f->errs.msgs[i], "tiny"));
		assert_null(strstr(f->errs.msgs[i], "hunter2"));
	}
}

/* A secret file other users can read is refused; group access is not. */
static void test_secret_file_permissions(void **state)
{
	struct fx *f = *state;
	char p[PATH_MAX * 2], want[PATH_MAX * 2];

	put_file(f, "open.key", "0123456789abcdef0123\n");
	put_file(f, "group.key", "0123456789abcdef0123\n");
	snprintf(p, sizeof p, "%s/open.key", f->dir);
	assert_int_equal(chmod(p, 0644), 0);
	snprintf(p, sizeof p, "%s/group.key", f->dir);
	assert_int_equal(chmod(p, 0640), 0);
	load_fails(f, "auth:\n"                          /* 1 */
	              "  agent_secret_file: open.key\n"  /* 2 */
	              "gateways:\n"                      /* 3 */
	              "  - id: a\n"                      /* 4 */
	              "    secret_file: group.key\n");   /* 5 */
	snprintf(want, sizeof want,
	         "auth.agent_secret_file: '%s/open.key' is accessible to other users (chmod o-rw)",
	         f->dir);
	expect_exact(f, 2, want);
	expect_count(f, 1);
}

/* One load reports every problem, sorted by line, not only the first. */
static void test_all_errors_collected(void **state)
{
	struct fx *f = *state;
	size_t prev = 0;

	load_fails(f, "site: bad site!\n"              /* 1 */
	              "redsi: {}\n"                    /* 2 */
	              "redis:\n"                       /* 3 */
	              "  command_timeout_ms: 5\n"      /* 4 */
	              "auth:\n"                        /* 5 */
	              "  agent_secret: short\n"        /* 6 */
	              "gateways:\n"                    /* 7 */
	              "  - id: pbx1\n"                 /* 8 */
	              "    secret: 0123456789abcdef\n" /* 9 */
	              "  - id: pbx1\n"                 /* 10 */
	              "queues:\n"                      /* 11 */
	              "  - name: q\n"                  /* 12 */
	              "    channel: fax\n"             /* 13 */
	              "channels:\n"                    /* 14 */
	              "  fax: {}\n");                  /* 15 */
	expect_error(f, 1, "site:");
	expect_error(f, 2, "unknown key 'redsi'");
	expect_error(f, 4, "out of range");
	expect_error(f, 6, "a secret needs at least 16");
	expect_error(f, 10, "gateways[1].secret is required");
	expect_error(f, 10, "is a duplicate (first at line 8)");
	expect_error(f, 13, "is not a channel");
	expect_error(f, 15, "unknown key 'channels.fax'");
	expect_count(f, 8);
	for (size_t i = 0; i < f->errs.n; i++) {
		const char *p = f->errs.msgs[i] + strlen(f->path) + 1;
		size_t line = strtoul(p, NULL, 10);
		assert_true(line >= prev);
		prev = line;
	}
}

/* Misc. document shapes: not a mapping, several documents, errs NULL. */
static void test_document_shape(void **state)
{
	struct fx *f = *state;
	struct sb_config *cfg = NULL;

	load_fails(f, "- just\n- a list\n");
	expect_exact(f, 1, "expected a mapping of keys at the top, found a list");
	expect_count(f, 1);

	load_fails(f, MIN_GATEWAYS MIN_AUTH "---\n"
	                                    "site: other\n");
	expect_exact(f, 7, "only one YAML document is allowed");
	expect_count(f, 1);

	/* anchors and aliases are plain YAML and work */
	load_ok(f, "auth:\n"
	           "  agent_secret: &s 0123456789abcdef\n"
	           "gateways:\n"
	           "  - id: pbx1\n"
	           "    secret: *s\n");
	assert_string_equal(f->cfg->gateways[0].secret, "0123456789abcdef");

	/* errs may be NULL when only the verdict matters */
	put_file(f, "switchboard.yaml", "bogus: 1\n");
	assert_int_equal(config_load(f->path, &cfg, NULL), SB_ERR_CONFIG);
	assert_null(cfg);
	/* clearing twice is harmless */
	config_errors_clear(&f->errs);
	config_errors_clear(&f->errs);
	config_errors_clear(NULL);
	config_free(NULL);
}

/* Whether names[0..n) holds name. */
static int has_name(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

/* Whether agent a serves queue name directly (no queues = every queue). */
static int agent_serves(const struct sb_agent_conf *a, const char *name)
{
	return a->n_queues == 0 || has_name(a->queues, a->n_queues, name);
}

/* Whether a meets q's skill minimums lowered by relax. */
static int agent_skilled(const struct sb_agent_conf *a, const struct sb_queue_conf *q, int relax)
{
	for (size_t i = 0; i < q->n_skills; i++) {
		int need = q->skills[i].level - relax, have = 0;

		for (size_t j = 0; j < a->n_skills; j++)
			if (strcmp(a->skills[j].name, q->skills[i].name) == 0)
				have = a->skills[j].level;
		if (need > 0 && have < need)
			return 0;
	}
	return 1;
}

/* Whether agent a could take a contact of queue q at its start or after
 * one of its steps: queues served (or added by a step), tiers allowed,
 * skills with the relax reached. A simple model of DESIGN 3.2 and 3.4, to
 * keep the demo file sensible; the engine is the real judge. */
static int agent_can_serve(const struct sb_agent_conf *a, const struct sb_queue_conf *q)
{
	char *const *tiers = q->agent_tiers;
	size_t n_tiers = q->n_agent_tiers;
	int relax = 0, added = 0;

	for (size_t s = 0; s <= q->n_steps; s++) {
		if (s > 0) {
			const struct sb_step_conf *st = &q->steps[s - 1];

			if (st->overflow != NULL)
				break;
			if (st->skill_relax > relax)
				relax = st->skill_relax;
			if (st->n_agent_tiers > 0)
				tiers = st->agent_tiers, n_tiers = st->n_agent_tiers;
			if (st->add_queue != NULL && agent_serves(a, st->add_queue))
				added = 1;
		}
		if ((agent_serves(a, q->name) || added) &&
		    (n_tiers == 0 || has_name(tiers, n_tiers, a->tier)) &&
		    agent_skilled(a, q, relax))
			return 1;
	}
	return 0;
}

/* Requires that in an example file every agent has work and every queue
 * someone to do it. */
static void expect_staffed(const char *what, const struct sb_config *c)
{
	for (size_t i = 0; i < c->n_agents; i++) {
		int any = 0;

		for (size_t j = 0; j < c->n_queues; j++)
			any |= agent_can_serve(&c->agents[i], &c->queues[j]);
		if (!any)
			fail_msg("%s: agent %s can serve no queue", what, c->agents[i].id);
	}
	for (size_t j = 0; j < c->n_queues; j++) {
		int any = 0;

		for (size_t i = 0; i < c->n_agents; i++)
			any |= agent_can_serve(&c->agents[i], &c->queues[j]);
		if (!any)
			fail_msg("%s: queue %s has no agent who can serve it", what,
			         c->queues[j].name);
	}
}

/* config/demo.yaml loads as it is and says what the demo needs. */
static void test_repo_demo_loads(void **state)
{
	struct fx *f = *state;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	const struct sb_config *c;

	source_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/config/demo.yaml", dir);
	if (config_load(path, &f->cfg, &f->errs) != 0)
		print_errors(f);
	assert_non_null(f->cfg);
	c = f->cfg;
	assert_string_equal(c->site, "demo");
	assert_string_equal(c->gateway_listen, "127.0.0.1:7400");
	assert_string_equal(c->agent_listen, "127.0.0.1:7401");
	assert_string_equal(c->redis_address, "127.0.0.1:6390");
	assert_non_null(config_gateway(c, "demo-gw"));
	assert_non_null(config_gateway(c, "demo-chat"));
	assert_int_equal(config_queue(c, "support-voice")->channel, SB_CH_VOICE);
	assert_int_equal(config_queue(c, "sales-voice")->channel, SB_CH_VOICE);
	assert_int_equal(config_queue(c, "support-chat")->channel, SB_CH_CHAT);
	assert_int_equal(config_queue(c, "support-email")->channel, SB_CH_EMAIL);
	assert_int_equal(config_queue(c, "support-social")->channel, SB_CH_SOCIAL);
	assert_int_equal(c->n_queues, 5);
	/* support-voice stays the voice channel's default queue */
	assert_string_equal(c->queues[0].name, "support-voice");
	assert_int_equal(c->n_agents, 6);
	assert_non_null(config_agent(c, "alice"));
	assert_non_null(config_agent(c, "bob"));
	assert_non_null(config_agent(c, "carol"));
	assert_non_null(config_agent(c, "dave"));
	assert_non_null(config_agent(c, "erin"));
	assert_non_null(config_agent(c, "frank"));
	assert_int_equal(c->channels[SB_CH_VOICE].offer_timeout_ms, 8000);

	/* the routing rules it shows */
	assert_int_equal(c->n_agent_tiers, 3);
	assert_int_equal(c->n_customer_tiers, 3);
	assert_string_equal(c->customer_tiers[0].name, "vip");
	assert_string_equal(c->customer_tiers[0].first_agent_tiers[0], "senior");
	assert_int_equal(c->customer_tiers[0].widen_after_ms, 5000);
	assert_string_equal(c->customer_tiers[1].name, "gold");
	assert_string_equal(c->customer_tiers[2].name, "standard");
	assert_true(c->channels[SB_CH_EMAIL].auto_accept);
	assert_string_equal(config_queue(c, "support-chat")->strategy, "least-occupied");
	assert_string_equal(config_queue(c, "sales-voice")->skills[0].name, "sales");
	assert_int_equal(config_queue(c, "support-voice")->n_steps, 2);
	assert_int_equal(config_queue(c, "support-voice")->steps[0].after_ms, 8000);
	assert_int_equal(config_queue(c, "support-voice")->steps[0].skill_relax, 1);
	assert_int_equal(config_queue(c, "support-voice")->steps[1].after_ms, 15000);
	assert_string_equal(config_queue(c, "support-voice")->steps[1].add_queue, "sales-voice");
	/* vip contacts have a senior agent to go to first */
	assert_string_equal(config_agent(c, "alice")->tier, "senior");

	expect_staffed("config/demo.yaml", c);
}

/* config/switchboard.yaml loads (its secret files pointed at temp files)
 * and sets every key the table has. */
static void test_repo_production_loads(void **state)
{
	struct fx *f = *state;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	char *text, *local;

	source_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/config/switchboard.yaml", dir);
	text = read_all(path);
	expect_every_key("config/switchboard.yaml", text, 1);
	local = rewrite_secrets(f, text);
	load_ok(f, local);
	assert_string_equal(f->cfg->site, "main");
	assert_string_equal(f->cfg->redis_address, "127.0.0.1:6379");
	assert_true(f->cfg->n_gateways >= 1);
	assert_true(f->cfg->n_agents >= 1);
	assert_string_equal(f->cfg->agent_secret, "test-secret-0123456789abcdef");
	expect_staffed("config/switchboard.yaml", f->cfg);
	free(local);
	free(text);
}

/* The reference dump is YAML, names every key, and loads as it is. */
static void test_reference_dump(void **state)
{
	struct fx *f = *state;
	char *text = dump_reference(), *local;

	expect_every_key("config_dump_reference", text, 0);
	local = rewrite_secrets(f, text);
	load_ok(f, local);
	/* its values are the defaults */
	assert_string_equal(f->cfg->site, "main");
	assert_int_equal(f->cfg->redis_command_timeout_ms, 2000);
	assert_int_equal(f->cfg->channels[SB_CH_EMAIL].sla_ms, 14400000);
	free(local);
	free(text);
}

/* A table of list item keys is well formed: the identity first, defaults
 * in range, documented; nested lists likewise. */
static void check_item_table(const struct config_list *l)
{
	for (size_t j = 0; j < l->n_items; j++) {
		const struct config_key *k = &l->items[j];

		assert_non_null(k->doc);
		assert_null(strchr(k->path, '.'));
		assert_int_equal(config_table_find(l->items, l->n_items, k->path), (int)j);
		if (k->flags & CONFIG_IDENTITY)
			assert_int_equal(j, 0);
		/* ONE_OF keys have no default: their absence is meaningful */
		if ((k->type == CONFIG_INT || k->type == CONFIG_DURATION) &&
		    !(k->flags & CONFIG_ONE_OF))
			assert_true(k->min <= k->def && k->def <= k->max);
		if (k->type == CONFIG_NUMBER)
			assert_true(k->num_min <= k->num_def && k->num_def <= k->num_max);
		if (k->type == CONFIG_STRLIST || k->type == CONFIG_SKILLS)
			assert_true(k->count_offset > 0 && k->check != NULL);
		if (k->type == CONFIG_STRING && k->def_str == NULL && k->example == NULL)
			assert_true(k->flags & CONFIG_NULLABLE); /* the dump writes null */
		if (k->type == CONFIG_LIST)
			check_item_table(k->list);
	}
}

/* The table is well formed: sections before their keys, defaults in range
 * and passing their own checks, list items likewise. */
static void test_table_consistent(void **state)
{
	(void)state;
	for (size_t i = 0; i < config_table_len; i++) {
		const struct config_key *k = &config_table[i];
		const char *dot = strrchr(k->path, '.');

		assert_non_null(k->doc);
		assert_int_equal(config_table_find(config_table, config_table_len, k->path),
		                 (int)i);
		if (dot != NULL) {
			char parent[128];
			int p;

			snprintf(parent, sizeof parent, "%.*s", (int)(dot - k->path), k->path);
			p = config_table_find(config_table, config_table_len, parent);
			assert_true(p >= 0 && (size_t)p < i);
			assert_int_equal(config_table[p].type, CONFIG_SECTION);
		}
		if (k->type == CONFIG_INT || k->type == CONFIG_DURATION) {
			assert_true(k->min <= k->def && k->def <= k->max);
			if (k->type == CONFIG_DURATION)
				assert_true(k->unit_ms == 1 || k->unit_ms == 1000);
		}
		if (k->type == CONFIG_STRLIST) {
			size_t n = 0;

			for (; k->def_items != NULL && k->def_items[n] != NULL; n++)
				assert_null(k->check(k->def_items[n]));
			assert_true((int64_t)n >= k->min && (k->max == 0 || (int64_t)n <= k->max));
		}
		if (k->type == CONFIG_LIST)
			check_item_table(k->list);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_minimal_defaults, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_full_values, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_routing_defaults, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_routing_values, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_tier, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_queue, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_overflow_rules, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_steps_order, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_step_time_keys, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_sla_factor, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_skills_errors, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_widen_required, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_capacity_errors, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_tier_lists, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_lookups, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_missing_file, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_syntax_error, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_key, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_type, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_range, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_strings, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_listen_addresses_are_numeric, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_websocket_origins_are_checked, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_missing_required, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_duplicates, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_channel, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_queue_channel_invalid, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_default_queue_name_taken, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_secret_both_or_neither, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_secret_file_problems, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_secret_file_permissions, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_all_errors_collected, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_document_shape, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_load_buffer, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_repo_demo_loads, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_repo_production_loads, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_reference_dump, fx_setup, fx_teardown),
	    cmocka_unit_test(test_table_consistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
