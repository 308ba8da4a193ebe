/* The configuration table: every key described once. config.c walks it to
 * parse, apply defaults, validate ranges, report missing keys, free, and to
 * write the annotated reference; nothing about a key lives anywhere else.
 *
 * Private to the config module (and its unit test). */
#ifndef SB_CONFIG_TABLE_H
#define SB_CONFIG_TABLE_H

#include <stddef.h>
#include <stdint.h>

enum config_type {
	CONFIG_SECTION,  /* a mapping of further keys ("redis") */
	CONFIG_STRING,   /* char *, optionally checked by check() */
	CONFIG_INT,      /* integer in [min, max] */
	CONFIG_BOOL,     /* true or false */
	CONFIG_DURATION, /* integer in unit_ms; a suffix (ms, s, m, h, d) is also accepted */
	CONFIG_CHANNEL,  /* enum sb_channel, by name */
	CONFIG_SECRET,   /* char *, given inline as "key" or read from "key_file" */
	CONFIG_LIST,     /* a sequence of mappings described by list; may nest in an item */
	CONFIG_NUMBER,   /* double in [num_min, num_max], written 0.5, 1 or 1.25 */
	CONFIG_STRLIST,  /* char **, its length at count_offset: a list of names, each
	                    passing check(), none twice, min..max of them */
	CONFIG_SKILLS,   /* struct sb_skill_level *, its length at count_offset: a mapping
	                    of skill name to level in [min, max] */
	CONFIG_CAPACITY, /* int[SB_CH_COUNT]: a mapping of channel name to [min, max];
	                    unset channels stay 0 */
};

/* Flags. */
#define CONFIG_REQUIRED 0x1   /* no default: the file must set it */
#define CONFIG_IDENTITY 0x2   /* list items: unique within the list */
#define CONFIG_DEFAULT_ID 0x4 /* list items: defaults to the item's identity */
#define CONFIG_ONE_OF 0x8     /* list items: exactly one of the keys so flagged is set */
#define CONFIG_NULLABLE 0x10  /* STRING without default: null means unset, like absent */

struct config_key;

/* A list of mappings (gateways, queues, agents, a queue's steps): the array
 * pointer lives at the key's offset, its length at count_offset, both in
 * the struct that holds the key (struct sb_config, or the outer item). */
struct config_list {
	const struct config_key *items; /* keys of one item, identity first */
	size_t n_items;
	size_t item_size;
	size_t count_offset;
	const char *noun; /* "gateway", for messages */
};

struct config_key {
	const char *path; /* dotted from the top ("redis.address"), or the field name in an item */
	enum config_type type;
	int flags;
	size_t offset; /* into struct sb_config, or into the item struct */
	size_t size;   /* sizeof the field, for integers stored as int or int64_t */
	/* INT, DURATION, SKILLS (levels), CAPACITY: inclusive range;
	 * LIST, STRLIST: fewest and most items (max 0: no limit) */
	int64_t min, max;
	int64_t unit_ms;                  /* DURATION: 1 for _ms keys, 1000 for _s keys */
	int64_t def;                      /* INT, DURATION, BOOL, CHANNEL default */
	double num_min, num_max, num_def; /* NUMBER: range and default */
	const char *def_str;              /* STRING default; NULL with no flag means "unset" */
	/* STRLIST: the default names; LIST: the default items, each a YAML flow
	 * mapping. NULL-terminated; NULL means empty. Used when the key is absent. */
	const char *const *def_items;
	size_t count_offset; /* STRLIST, SKILLS: where the length lives, beside the array */
	const char *example; /* shown in the reference where there is no default */
	const char *doc;     /* one line */
	/* STRING, STRLIST items, SKILLS names: NULL if value is acceptable,
	 * else why not ("must be ...") */
	const char *(*check)(const char *value);
	const struct config_list *list; /* LIST */
};

/* The top-level table, in reference order: a section precedes its keys. */
extern const struct config_key config_table[];
extern const size_t config_table_len;

/* Index of the key whose path is exactly path, or -1. */
int config_table_find(const struct config_key *keys, size_t n, const char *path);

/* Agent-selection strategies a queue may name (NULL-terminated); the first
 * is the default. */
extern const char *const config_table_strategies[];

/* The secret length every SECRET key requires, in bytes. */
#define CONFIG_SECRET_MIN 16

#endif
