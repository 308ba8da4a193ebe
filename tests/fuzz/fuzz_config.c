/* libFuzzer target for the config parser: the input is a YAML file, loaded
 * through config_load_buffer (the parser config_load uses). A config that
 * loads must satisfy what the daemon relies on without checking; one that
 * does not must say why. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/config.h"
#include "util/err.h"
#include "fuzz.h"

/* A directory that does not exist: relative secret_file paths resolve to
 * nothing, so only absolute ones reach the file system (read only, and
 * never a device: config_read_secret looks before it opens). */
#define FUZZ_NAME "/nonexistent-fuzz/switchboard.yaml"



/* Checks the guarantees server_new and the engine take for granted. */
static void fuzz_check_config(const struct sb_config *cfg)
{
	FUZZ_CHECK(cfg->site != NULL && cfg->gateway_listen != NULL && cfg->agent_listen != NULL);
	FUZZ_CHECK(cfg->redis_address != NULL);
	FUZZ_CHECK(cfg->n_agent_tiers > 0 && cfg->n_customer_tiers > 0);
	for (size_t i = 0; i < cfg->n_gateways; i++) {
		FUZZ_CHECK(cfg->gateways[i].id != NULL && cfg->gateways[i].secret != NULL);
		FUZZ_CHECK(config_gateway(cfg, cfg->gateways[i].id) == &cfg->gateways[i]);
	}
	for (size_t i = 0; i < cfg->n_agents; i++) {
		FUZZ_CHECK(cfg->agents[i].id != NULL && cfg->agents[i].tier != NULL);
		FUZZ_CHECK(config_agent(cfg, cfg->agents[i].id) == &cfg->agents[i]);
	}
	for (size_t i = 0; i < cfg->n_queues; i++) {
		FUZZ_CHECK(cfg->queues[i].name != NULL);
		FUZZ_CHECK(config_queue(cfg, cfg->queues[i].name) == &cfg->queues[i]);
		FUZZ_CHECK((unsigned)cfg->queues[i].channel < SB_CH_COUNT);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_config *cfg = NULL;
	struct config_errors errs = {0};
	int rc;

	rc = config_load_buffer(FUZZ_NAME, (const char *)data, size, &cfg, &errs);
	if (rc == 0) {
		FUZZ_CHECK(cfg != NULL && errs.n == 0);
		fuzz_check_config(cfg);
		config_free(cfg);
	} else {
		FUZZ_CHECK(rc == SB_ERR_CONFIG && cfg == NULL && errs.n > 0);
		for (size_t i = 0; i < errs.n; i++)
			FUZZ_CHECK(strncmp(errs.msgs[i], FUZZ_NAME, sizeof FUZZ_NAME - 1) == 0);
	}
	config_errors_clear(&errs);
	return 0;
}
