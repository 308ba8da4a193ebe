/* libFuzzer target for the admin API's JSON reader (json_parse.c) and the
 * roster definitions read from it (roster.c): any input either parses or
 * says why; what parses as a roster definition writes back (util/json_out.c)
 * as JSON that parses to the same definition. */
#include <event2/buffer.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/json_out.h"
#include "util/json_parse.h"
#include "record/roster.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[200] = "";
	struct jv *v = jv_parse((const char *)data, size, err, sizeof err);

	if (v == NULL) {
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	struct roster_agent *a = roster_agent_from_json(v, NULL, err, sizeof err);
	jv_free(v);
	if (a == NULL) {
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	struct evbuffer *b = evbuffer_new();
	struct json_out j;
	json_init(&j, b);
	roster_agent_write(&j, a);
	size_t n = evbuffer_get_length(b);
	char *text = malloc(n + 1);
	FUZZ_CHECK(text != NULL);
	evbuffer_remove(b, text, n);
	struct roster_agent *again = roster_agent_parse(text, n, err, sizeof err);
	FUZZ_CHECK(again != NULL);
	FUZZ_CHECK(strcmp(again->id, a->id) == 0 && strcmp(again->name, a->name) == 0);
	FUZZ_CHECK(again->n_skills == a->n_skills && again->n_queues == a->n_queues);
	FUZZ_CHECK(memcmp(again->capacity, a->capacity, sizeof a->capacity) == 0);
	roster_agent_free(again);
	roster_agent_free(a);
	free(text);
	evbuffer_free(b);
	return 0;
}
