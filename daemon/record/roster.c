/* Roster definitions: see roster.h. */
#include "record/roster.h"

#include <event2/buffer.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json_out.h"
#include "util/json_parse.h"
#include "config/config.h"
#include "engine/engine.h"
#include "util/xalloc.h"

void roster_agent_free(struct roster_agent *a)
{
	if (a == NULL)
		return;
	free(a->id);
	free(a->name);
	free(a->tier);
	for (size_t i = 0; i < a->n_skills; i++)
		free(a->skills[i].name);
	free(a->skills);
	for (size_t i = 0; i < a->n_queues; i++)
		free(a->queues[i]);
	free(a->queues);
	free(a);
}

static char *roster_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void roster_set_skills(struct roster_agent *a, const struct roster_skill *s, size_t n)
{
	a->skills = xcalloc(n + 1, sizeof *a->skills);
	for (size_t i = 0; i < n; i++)
		a->skills[i] = (struct roster_skill){xstrdup(s[i].name), s[i].level};
	a->n_skills = n;
}

static void roster_set_queues(struct roster_agent *a, char *const *q, size_t n)
{
	a->queues = xcalloc(n + 1, sizeof *a->queues);
	for (size_t i = 0; i < n; i++)
		a->queues[i] = xstrdup(q[i]);
	a->n_queues = n;
}

struct roster_agent *roster_agent_copy(const struct roster_agent *b)
{
	struct roster_agent *a = xcalloc(1, sizeof *a);

	a->id = xstrdup(b->id);
	a->name = roster_dup(b->name);
	a->tier = roster_dup(b->tier);
	roster_set_skills(a, b->skills, b->n_skills);
	memcpy(a->capacity, b->capacity, sizeof a->capacity);
	roster_set_queues(a, b->queues, b->n_queues);
	return a;
}

struct roster_agent *roster_agent_from_conf(const struct sb_agent_conf *c)
{
	struct roster_agent *a = xcalloc(1, sizeof *a);

	a->id = xstrdup(c->id);
	a->name = roster_dup(c->name);
	a->tier = roster_dup(c->tier);
	a->skills = xcalloc(c->n_skills + 1, sizeof *a->skills);
	for (size_t i = 0; i < c->n_skills; i++)
		a->skills[i] =
		    (struct roster_skill){xstrdup(c->skills[i].name), c->skills[i].level};
	a->n_skills = c->n_skills;
	memcpy(a->capacity, c->capacity, sizeof a->capacity);
	roster_set_queues(a, c->queues, c->n_queues);
	return a;
}

/* The same alphabets as the configuration's (config_table.c): ids and
 * tiers [A-Za-z0-9_.-], skills [a-z0-9_]. */
static int roster_name_ok(const char *s, size_t max, int skill)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
		         (!skill && ((c >= 'A' && c <= 'Z') || c == '-' || c == '.'));
		if (!ok)
			return 0;
	}
	return 1;
}

static struct roster_agent *roster_refuse(struct roster_agent *a, char *err, size_t errlen,
                                          const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static struct roster_agent *roster_refuse(struct roster_agent *a, char *err, size_t errlen,
                                          const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	roster_agent_free(a);
	return NULL;
}

/* An integer in [lo, hi] from a JSON number. */
static int roster_int(const struct jv *v, int lo, int hi, int *out)
{
	if (v->type != JV_NUMBER || v->num != floor(v->num) || v->num < lo || v->num > hi)
		return -1;
	*out = (int)v->num;
	return 0;
}

struct roster_agent *roster_agent_from_json(const struct jv *obj, const struct roster_agent *base,
                                            char *err, size_t errlen)
{
	static const char *const known[] = {"id", "name", "tier", "skills", "capacity", "queues"};
	struct roster_agent *a;
	const struct jv *v;

	if (obj == NULL || obj->type != JV_OBJECT)
		return roster_refuse(NULL, err, errlen, "the body must be a JSON object");
	for (size_t i = 0; i < obj->n; i++) {
		size_t k = 0;
		while (k < sizeof known / sizeof known[0] && strcmp(obj->keys[i], known[k]) != 0)
			k++;
		if (k == sizeof known / sizeof known[0])
			return roster_refuse(NULL, err, errlen,
			                     "unknown member \"%.64s\" (known: id, name, tier, "
			                     "skills, capacity, queues)",
			                     obj->keys[i]);
	}
	a = base != NULL ? roster_agent_copy(base) : xcalloc(1, sizeof *a);
	if ((v = jv_get(obj, "id")) != NULL) {
		if (v->type != JV_STRING || !roster_name_ok(v->str, 64, 0))
			return roster_refuse(a, err, errlen,
			                     "id must be 1 to 64 of [A-Za-z0-9_.-]");
		if (base != NULL && strcmp(v->str, base->id) != 0)
			return roster_refuse(a, err, errlen, "id cannot be changed");
		free(a->id);
		a->id = xstrdup(v->str);
	} else if (base == NULL) {
		return roster_refuse(a, err, errlen, "id is required");
	}
	if ((v = jv_get(obj, "name")) != NULL) {
		if (v->type != JV_STRING || strlen(v->str) == 0 || strlen(v->str) > 128)
			return roster_refuse(a, err, errlen,
			                     "name must be a string of 1 to 128 bytes");
		free(a->name);
		a->name = xstrdup(v->str);
	}
	if (a->name == NULL)
		a->name = xstrdup(a->id);
	if ((v = jv_get(obj, "tier")) != NULL && v->type != JV_NULL) {
		if (v->type != JV_STRING || !roster_name_ok(v->str, 32, 0))
			return roster_refuse(a, err, errlen,
			                     "tier must be 1 to 32 of [A-Za-z0-9_.-]");
		free(a->tier);
		a->tier = xstrdup(v->str);
	}
	if ((v = jv_get(obj, "skills")) != NULL) {
		if (v->type != JV_OBJECT || v->n > ROSTER_MAX_SKILLS)
			return roster_refuse(a, err, errlen,
			                     "skills must be an object {name: level 1..5} of at "
			                     "most %d skills",
			                     ROSTER_MAX_SKILLS);
		for (size_t i = 0; i < a->n_skills; i++)
			free(a->skills[i].name);
		free(a->skills);
		a->skills = xcalloc(v->n + 1, sizeof *a->skills);
		a->n_skills = 0;
		for (size_t i = 0; i < v->n; i++) {
			int level;
			if (!roster_name_ok(v->keys[i], 32, 1))
				return roster_refuse(a, err, errlen,
				                     "skill names must be 1 to 32 of [a-z0-9_]");
			if (roster_int(&v->items[i], 1, 5, &level) != 0)
				return roster_refuse(a, err, errlen,
				                     "skill %s: the level must be an integer 1..5",
				                     v->keys[i]);
			a->skills[a->n_skills++] =
			    (struct roster_skill){xstrdup(v->keys[i]), level};
		}
	}
	if ((v = jv_get(obj, "capacity")) != NULL) {
		if (v->type != JV_OBJECT)
			return roster_refuse(a, err, errlen,
			                     "capacity must be an object {channel: 1..50}");
		memset(a->capacity, 0, sizeof a->capacity);
		for (size_t i = 0; i < v->n; i++) {
			int ch = channel_parse(v->keys[i]), cap;
			if (ch < 0)
				return roster_refuse(a, err, errlen,
				                     "capacity: unknown channel \"%.32s\" (voice, "
				                     "chat, email or social)",
				                     v->keys[i]);
			if (roster_int(&v->items[i], 1, 50, &cap) != 0)
				return roster_refuse(a, err, errlen,
				                     "capacity %s must be an integer 1..50",
				                     v->keys[i]);
			a->capacity[ch] = cap;
		}
	}
	if ((v = jv_get(obj, "queues")) != NULL) {
		if (v->type != JV_ARRAY || v->n > ROSTER_MAX_QUEUES)
			return roster_refuse(a, err, errlen,
			                     "queues must be an array of queue names");
		for (size_t i = 0; i < a->n_queues; i++)
			free(a->queues[i]);
		free(a->queues);
		a->queues = xcalloc(v->n + 1, sizeof *a->queues);
		a->n_queues = 0;
		for (size_t i = 0; i < v->n; i++) {
			if (v->items[i].type != JV_STRING ||
			    !roster_name_ok(v->items[i].str, 64, 0))
				return roster_refuse(a, err, errlen,
				                     "queues must be an array of queue names");
			a->queues[a->n_queues++] = xstrdup(v->items[i].str);
		}
	}
	return a;
}

struct roster_agent *roster_agent_parse(const char *json, size_t len, char *err, size_t errlen)
{
	struct jv *v = jv_parse(json, len, err, errlen);
	struct roster_agent *a;

	if (v == NULL)
		return NULL;
	a = roster_agent_from_json(v, NULL, err, errlen);
	jv_free(v);
	return a;
}

void roster_agent_write(struct json_out *j, const struct roster_agent *a)
{
	json_obj_open(j);
	json_kstr(j, "id", a->id);
	json_kstr(j, "name", a->name);
	json_kstr(j, "tier", a->tier);
	json_key(j, "skills");
	json_obj_open(j);
	for (size_t i = 0; i < a->n_skills; i++)
		json_kint(j, a->skills[i].name, a->skills[i].level);
	json_obj_close(j);
	json_key(j, "capacity");
	json_obj_open(j);
	for (int ch = 0; ch < SB_CH_COUNT; ch++)
		if (a->capacity[ch] > 0)
			json_kint(j, channel_name((enum sb_channel)ch), a->capacity[ch]);
	json_obj_close(j);
	json_key(j, "queues");
	json_arr_open(j);
	for (size_t i = 0; i < a->n_queues; i++)
		json_str(j, a->queues[i]);
	json_arr_close(j);
	json_obj_close(j);
}

char *roster_agent_json(const struct roster_agent *a)
{
	struct evbuffer *b = evbuffer_new();
	struct json_out j;

	json_init(&j, b);
	roster_agent_write(&j, a);
	size_t n = evbuffer_get_length(b);
	char *out = xmalloc(n + 1);
	evbuffer_remove(b, out, n);
	out[n] = '\0';
	evbuffer_free(b);
	return out;
}

void roster_agent_def(const struct roster_agent *a, struct engine_agent_def *d,
                      struct engine_skill_level *skills)
{
	for (size_t i = 0; i < a->n_skills; i++)
		skills[i] = (struct engine_skill_level){a->skills[i].name, a->skills[i].level};
	*d = (struct engine_agent_def){
	    .id = a->id,
	    .tier = a->tier,
	    .skills = skills,
	    .n_skills = a->n_skills,
	    .queues = (const char *const *)a->queues,
	    .n_queues = a->n_queues,
	};
	for (int ch = 0; ch < SB_CH_COUNT; ch++)
		d->capacity[ch] = a->capacity[ch];
}
