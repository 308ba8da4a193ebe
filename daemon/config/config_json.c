/* The configuration in force as JSON: see config_json.h. Driven by the same
 * table as parsing, so a new key shows up here without an edit. */
#include "config/config_json.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/json_out.h"
#include "channel.h"
#include "config/config.h"
#include "config/config_table.h"

static const void *config_json_field(const void *base, const struct config_key *k)
{
	return (const char *)base + k->offset;
}

static size_t config_json_count(const void *base, size_t offset)
{
	size_t n;

	memcpy(&n, (const char *)base + offset, sizeof n);
	return n;
}

static int64_t config_json_int(const void *field, size_t size)
{
	if (size == sizeof(int64_t)) {
		int64_t v;
		memcpy(&v, field, sizeof v);
		return v;
	}
	if (size == sizeof(int)) {
		int v;
		memcpy(&v, field, sizeof v);
		return v;
	}
	bool b;
	memcpy(&b, field, sizeof b);
	return b;
}

static void config_json_keys(struct json_out *j, const struct config_key *keys, size_t n,
                             const void *base);

/* One key's value. */
static void config_json_value(struct json_out *j, const struct config_key *k, const void *base)
{
	const void *field = config_json_field(base, k);

	switch (k->type) {
	case CONFIG_STRING:
		json_str(j, *(char *const *)field);
		break;
	case CONFIG_SECRET:
		if (*(char *const *)field != NULL)
			json_str(j, "<redacted>");
		else
			json_null(j);
		break;
	case CONFIG_INT:
	case CONFIG_DURATION:
		json_int(j, config_json_int(field, k->size));
		break;
	case CONFIG_BOOL:
		json_bool(j, config_json_int(field, k->size) != 0);
		break;
	case CONFIG_CHANNEL:
		json_str(j, channel_name((enum sb_channel)config_json_int(field, k->size)));
		break;
	case CONFIG_NUMBER: {
		double d;
		memcpy(&d, field, sizeof d);
		json_num(j, d);
		break;
	}
	case CONFIG_STRLIST: {
		char *const *v = *(char *const *const *)field;
		size_t n = config_json_count(base, k->count_offset);
		json_arr_open(j);
		for (size_t i = 0; i < n; i++)
			json_str(j, v[i]);
		json_arr_close(j);
		break;
	}
	case CONFIG_SKILLS: {
		const struct sb_skill_level *v = *(const struct sb_skill_level *const *)field;
		size_t n = config_json_count(base, k->count_offset);
		json_obj_open(j);
		for (size_t i = 0; i < n; i++)
			json_kint(j, v[i].name, v[i].level);
		json_obj_close(j);
		break;
	}
	case CONFIG_CAPACITY: {
		const int *cap = field;
		json_obj_open(j);
		for (int ch = 0; ch < SB_CH_COUNT; ch++)
			if (cap[ch] > 0)
				json_kint(j, channel_name((enum sb_channel)ch), cap[ch]);
		json_obj_close(j);
		break;
	}
	case CONFIG_LIST: {
		const struct config_list *l = k->list;
		const char *items = *(const char *const *)field;
		size_t n = config_json_count(base, l->count_offset);
		json_arr_open(j);
		for (size_t i = 0; i < n; i++) {
			json_obj_open(j);
			config_json_keys(j, l->items, l->n_items, items + i * l->item_size);
			json_obj_close(j);
		}
		json_arr_close(j);
		break;
	}
	case CONFIG_SECTION:
	default:
		json_null(j);
		break;
	}
}

/* Length of the common dotted prefix: how many sections stay open. */
static size_t config_json_depth(const char *path)
{
	size_t d = 0;

	for (; *path != '\0'; path++)
		d += *path == '.';
	return d;
}

/* Writes keys (dotted paths, each section before its keys) as nested
 * objects. */
static void config_json_keys(struct json_out *j, const struct config_key *keys, size_t n,
                             const void *base)
{
	size_t open = 0; /* sections open below the caller's object */

	for (size_t i = 0; i < n; i++) {
		const struct config_key *k = &keys[i];
		size_t depth = config_json_depth(k->path);
		const char *leaf = strrchr(k->path, '.');

		leaf = leaf != NULL ? leaf + 1 : k->path;
		/* a key is nested in the last section opened at depth - 1 */
		while (open > depth) {
			json_obj_close(j);
			open--;
		}
		json_key(j, leaf);
		if (k->type == CONFIG_SECTION) {
			json_obj_open(j);
			open++;
		} else {
			config_json_value(j, k, base);
		}
	}
	while (open-- > 0)
		json_obj_close(j);
}

void config_write_json(struct json_out *j, const struct sb_config *cfg)
{
	json_obj_open(j);
	config_json_keys(j, config_table, config_table_len, cfg);
	json_obj_close(j);
}
