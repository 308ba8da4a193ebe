/* switchboard: the contact-routing daemon's command line. Everything else is
 * in the library this links. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "util/err.h"
#include "util/log.h"
#include "security/tls.h"
#include "security/token.h"
#include "server.h"
#include "util/xalloc.h"

#define DEFAULT_CONFIG "/etc/switchboard/switchboard.yaml"
#define DEFAULT_TOKEN_TTL_S (8 * 3600)

static void main_usage(FILE *out)
{
	fprintf(out,
		"usage: switchboard [-c FILE] [--gateway-listen ADDR] [--agent-listen ADDR]\n"
		"                   [--admin-listen ADDR] [--redis ADDR] [--log-level LEVEL]\n"
		"       switchboard --check-config FILE\n"
		"       switchboard --dump-config\n"
		"       switchboard -c FILE --mint-token AGENT [--ttl SECONDS] [--api-agent]\n"
		"\n"
		"Routes contacts from gateways to agents; state is kept in Redis.\n"
		"\n"
		"  -c, --config FILE        configuration (default " DEFAULT_CONFIG ")\n"
		"      --check-config FILE  validate FILE and load its TLS files as a start\n"
		"                           would: prints 'configuration OK' or each error\n"
		"                           as file:line: message, exits 0 or 1\n"
		"      --dump-config        print every key with its default and meaning\n"
		"      --gateway-listen ADDR  override listen.gateway (host:port, [v6]:port,\n"
		"                           unix:/path)\n"
		"      --agent-listen ADDR  override listen.agent\n"
		"      --admin-listen ADDR  override admin.listen (\"\" = no admin API)\n"
		"      --redis ADDR         override redis.address (host:port or unix:/path)\n"
		"      --log-level LEVEL    override log_level (error, warn, info, debug)\n"
		"      --mint-token AGENT   print a login token for AGENT (signed with\n"
		"                           auth.agent_secret) and exit\n"
		"      --ttl SECONDS        token lifetime for --mint-token (default %d)\n"
		"      --api-agent          mint for an agent the file does not list (one added\n"
		"                           over the admin API)\n"
		"  -h, --help               this help\n"
		"  -V, --version            print the version\n",
		DEFAULT_TOKEN_TTL_S);
}

/* Loads a config, printing each error on stderr as "file:line: message". */
static struct sb_config *main_load(const char *path)
{
	struct sb_config *cfg = NULL;
	struct config_errors errs = { 0 };

	if (config_load(path, &cfg, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		config_errors_clear(&errs);
		return NULL;
	}
	return cfg;
}

/* Builds and drops the TLS context of each port that has a certificate,
 * with the function the daemon starts them with: a check that passes what
 * the start then refuses would make the unit's ExecStartPre useless and the
 * service a restart loop. Prints each failure as "file: tls.PORT: why". */
static int main_check_tls(const struct sb_config *cfg)
{
	const struct sb_tls_conf *confs[] = { &cfg->gateway_tls, &cfg->agent_tls };
	const char *names[] = { "tls.gateway", "tls.agent" };
	char err[512];
	int rc = 0;

	for (size_t i = 0; i < sizeof confs / sizeof confs[0]; i++) {
		if (confs[i]->cert_file == NULL)
			continue;
		struct tls_server *t =
			tls_server_new(confs[i], cfg->tls_ciphers, cfg->path, err, sizeof err);
		if (t == NULL) {
			fprintf(stderr, "%s: %s: %s\n", cfg->path, names[i], err);
			rc = -1;
		}
		tls_server_free(t);
	}
	return rc;
}

static void main_override(char **field, const char *value)
{
	if (value == NULL)
		return;
	free(*field);
	*field = xstrdup(value);
}

static int main_mint(const struct sb_config *cfg, const char *agent, long ttl, bool api_agent)
{
	/* The file's roster catches a typo; an agent added over the admin API
	 * is not in it, and the daemon checks the live roster at login. */
	if (!api_agent && config_agent(cfg, agent) == NULL) {
		fprintf(stderr,
			"switchboard: agent '%s' is not in the roster of %s (add --api-agent for "
			"an agent added over the admin API)\n",
			agent, cfg->path);
		return 1;
	}
	if (config_check_agent_id(agent) != NULL) {
		fprintf(stderr, "switchboard: '%s' is not a valid agent id\n", agent);
		return 1;
	}
	if (ttl <= 0 || ttl > cfg->agent_token_max_ttl_s) {
		fprintf(stderr, "switchboard: --ttl must be 1..%lld seconds\n",
			(long long)cfg->agent_token_max_ttl_s);
		return 1;
	}
	char *tok = token_mint(cfg->agent_secret, agent, (int64_t)time(NULL) + ttl);
	printf("%s\n", tok);
	free(tok);
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_DUMP, OPT_GW, OPT_AGENT, OPT_REDIS, OPT_LEVEL, OPT_MINT,
	       OPT_TTL, OPT_ADMIN, OPT_API_AGENT };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, OPT_CHECK },
		{ "dump-config", no_argument, NULL, OPT_DUMP },
		{ "gateway-listen", required_argument, NULL, OPT_GW },
		{ "agent-listen", required_argument, NULL, OPT_AGENT },
		{ "admin-listen", required_argument, NULL, OPT_ADMIN },
		{ "redis", required_argument, NULL, OPT_REDIS },
		{ "log-level", required_argument, NULL, OPT_LEVEL },
		{ "mint-token", required_argument, NULL, OPT_MINT },
		{ "ttl", required_argument, NULL, OPT_TTL },
		{ "api-agent", no_argument, NULL, OPT_API_AGENT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = DEFAULT_CONFIG, *check = NULL, *gw = NULL, *agent = NULL;
	const char *redis = NULL, *level = NULL, *mint = NULL, *admin = NULL;
	long ttl = DEFAULT_TOKEN_TTL_S;
	bool api_agent = false;
	int c;

	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case OPT_CHECK: check = optarg; break;
		case OPT_DUMP: config_dump_reference(stdout); return 0;
		case OPT_GW: gw = optarg; break;
		case OPT_AGENT: agent = optarg; break;
		case OPT_ADMIN: admin = optarg; break;
		case OPT_REDIS: redis = optarg; break;
		case OPT_LEVEL: level = optarg; break;
		case OPT_MINT: mint = optarg; break;
		case OPT_API_AGENT: api_agent = true; break;
		case OPT_TTL: {
			char *end;
			ttl = strtol(optarg, &end, 10);
			if (*end != '\0' || ttl <= 0) {
				fprintf(stderr, "switchboard: --ttl needs a positive number of seconds\n");
				return 2;
			}
			break;
		}
		case 'h': main_usage(stdout); return 0;
		case 'V': printf("switchboard %s\n", SB_VERSION); return 0;
		default: main_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "switchboard: unexpected argument '%s'\n", argv[optind]);
		main_usage(stderr);
		return 2;
	}
	if (check != NULL) {
		struct sb_config *cfg = main_load(check);
		if (cfg == NULL)
			return 1;
		int rc = main_check_tls(cfg);
		if (rc == 0)
			printf("configuration OK\n");
		config_free(cfg);
		return rc == 0 ? 0 : 1;
	}
	if (level != NULL && log_level_parse(level) < 0) {
		fprintf(stderr, "switchboard: unknown log level '%s'\n", level);
		return 2;
	}

	struct sb_config *cfg = main_load(config_path);
	if (cfg == NULL)
		return 1;
	if (mint != NULL) {
		int rc = main_mint(cfg, mint, ttl, api_agent);
		config_free(cfg);
		return rc;
	}
	main_override(&cfg->gateway_listen, gw);
	main_override(&cfg->agent_listen, agent);
	main_override(&cfg->admin_listen, admin);
	main_override(&cfg->redis_address, redis);
	main_override(&cfg->log_level, level);

	/* journald reads "<N>" priority prefixes and stamps the time; a terminal or
	 * a file needs the time and level on the line. */
	log_set_journal(log_stderr_is_journal());
	log_set_level((enum log_level)log_level_parse(cfg->log_level));

	struct server *srv = server_new(cfg);
	if (srv == NULL)
		return 1;
	int rc = server_run(srv);
	server_free(srv);
	return rc;
}
