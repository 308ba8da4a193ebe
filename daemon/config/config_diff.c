/* What changed between two configurations: see config_diff.h. */
#include "config/config_diff.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_table.h"
#include "util/xalloc.h"

/* A growing string. Owner: whoever made it; text is NUL-terminated. */
struct diff_text {
	char *text;
	size_t len, cap;
};

static void diff_append(struct diff_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void diff_append(struct diff_text *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (t->len + (size_t)n + 1 > t->cap) {
		t->cap = (t->len + (size_t)n + 1) * 2;
		t->text = xrealloc(t->text, t->cap);
	}
	va_start(ap, fmt);
	vsnprintf(t->text + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* Names of one kind of change, cut after max. */
struct diff_names {
	struct diff_text *out;
	const char *kind; /* "added", "removed", "changed", written before the first */
	const char *lead; /* written before the kind: the list's name, or ", " */
	size_t shown, more, max;
};

static void diff_name(struct diff_names *n, const char *name)
{
	if (n->shown == n->max) {
		n->more++;
		return;
	}
	if (n->shown == 0)
		diff_append(n->out, "%s%s %s", n->lead, n->kind, name);
	else
		diff_append(n->out, ", %s", name);
	n->shown++;
}

/* Ends a kind; returns whether it wrote anything. */
static bool diff_names_end(struct diff_names *n)
{
	if (n->more > 0)
		diff_append(n->out, " and %zu more", n->more);
	return n->shown > 0;
}

static const void *diff_at(const void *base, size_t offset)
{
	return (const char *)base + offset;
}

static size_t diff_count(const void *base, size_t count_offset)
{
	return *(const size_t *)diff_at(base, count_offset);
}

static bool diff_str_equal(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static bool diff_item_equal(const struct config_key *keys, size_t n, const void *a, const void *b);

/* Whether key k holds the same value in the structs a and b. */
static bool diff_key_equal(const struct config_key *k, const void *a, const void *b)
{
	const void *fa = diff_at(a, k->offset), *fb = diff_at(b, k->offset);

	switch (k->type) {
	case CONFIG_SECTION:
		return true;
	case CONFIG_STRING:
	case CONFIG_SECRET:
		return diff_str_equal(*(char *const *)fa, *(char *const *)fb);
	case CONFIG_INT:
	case CONFIG_BOOL:
	case CONFIG_DURATION:
	case CONFIG_CHANNEL:
	case CONFIG_CAPACITY:
		/* plain scalars or an int array: their bytes are their value */
		return memcmp(fa, fb, k->size) == 0;
	case CONFIG_NUMBER:
		return memcmp(fa, fb, sizeof(double)) == 0;
	case CONFIG_STRLIST: {
		size_t n = diff_count(a, k->count_offset);
		char *const *va = *(char **const *)fa, *const *vb = *(char **const *)fb;
		if (n != diff_count(b, k->count_offset))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!diff_str_equal(va[i], vb[i]))
				return false;
		return true;
	}
	case CONFIG_SKILLS: {
		size_t n = diff_count(a, k->count_offset);
		const struct sb_skill_level *sa = *(struct sb_skill_level *const *)fa;
		const struct sb_skill_level *sb = *(struct sb_skill_level *const *)fb;
		if (n != diff_count(b, k->count_offset))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!diff_str_equal(sa[i].name, sb[i].name) || sa[i].level != sb[i].level)
				return false;
		return true;
	}
	case CONFIG_LIST: {
		/* Nested lists (a queue's steps) are ordered: compared in place. */
		const struct config_list *l = k->list;
		size_t n = diff_count(a, l->count_offset);
		const char *ia = *(const char *const *)fa, *ib = *(const char *const *)fb;
		if (n != diff_count(b, l->count_offset))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!diff_item_equal(l->items, l->n_items, ia + i * l->item_size,
			                     ib + i * l->item_size))
				return false;
		return true;
	}
	}
	return false;
}

static bool diff_item_equal(const struct config_key *keys, size_t n, const void *a, const void *b)
{
	for (size_t i = 0; i < n; i++)
		if (!diff_key_equal(&keys[i], a, b))
			return false;
	return true;
}

/* A list item's identity (its first key, flagged CONFIG_IDENTITY). */
static const char *diff_identity(const struct config_list *l, const void *item)
{
	return *(char *const *)diff_at(item, l->items[0].offset);
}

/* The item of items[0..n) whose identity is id, or NULL. */
static const void *diff_find(const struct config_list *l, const char *items, size_t n,
                             const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (diff_str_equal(diff_identity(l, items + i * l->item_size), id))
			return items + i * l->item_size;
	return NULL;
}

/* "queues added a, removed b, changed c" for the top-level list k, after
 * sep; nothing when the list is the same. Returns whether it wrote. */
static bool diff_list(struct diff_text *out, const char *sep, const struct config_key *k,
                      const struct sb_config *from, const struct sb_config *to, size_t max)
{
	static const char *const kinds[] = {"added", "removed", "changed"};
	const struct config_list *l = k->list;
	const char *old = *(const char *const *)diff_at(from, k->offset);
	const char *new = *(const char *const *)diff_at(to, k->offset);
	size_t n_old = diff_count(from, l->count_offset), n_new = diff_count(to, l->count_offset);
	bool wrote = false;

	for (size_t kind = 0; kind < 3; kind++) {
		/* added and changed walk the new list (its order), removed the old */
		const char *walk = kind == 1 ? old : new, *other = kind == 1 ? new : old;
		size_t n_walk = kind == 1 ? n_old : n_new, n_other = kind == 1 ? n_new : n_old;
		char lead[64];
		snprintf(lead, sizeof lead, "%s%s ", wrote ? "" : sep, wrote ? "," : k->path);
		struct diff_names names = {out, kinds[kind], lead, 0, 0, max};
		for (size_t i = 0; i < n_walk; i++) {
			const char *item = walk + i * l->item_size;
			const char *id = diff_identity(l, item);
			const void *match = diff_find(l, other, n_other, id);
			if (kind == 2 ? match != NULL &&
			                    !diff_item_equal(l->items, l->n_items, match, item)
			              : match == NULL)
				diff_name(&names, id);
		}
		wrote = diff_names_end(&names) || wrote;
	}
	return wrote;
}

char *config_diff(const struct sb_config *from, const struct sb_config *to, size_t max_names)
{
	struct diff_text out = {xstrdup(""), 0, 1};
	struct diff_names settings = {&out, "changed", NULL, 0, 0, max_names};
	const char *sep = "";

	for (size_t i = 0; i < config_table_len; i++) {
		const struct config_key *k = &config_table[i];
		if (k->type == CONFIG_LIST && (k->list->items[0].flags & CONFIG_IDENTITY)) {
			if (diff_list(&out, sep, k, from, to, max_names))
				sep = "; ";
		}
	}
	/* Every other key, by path, after the lists. */
	char lead[16];
	snprintf(lead, sizeof lead, "%ssettings ", sep);
	settings.lead = lead;
	for (size_t i = 0; i < config_table_len; i++) {
		const struct config_key *k = &config_table[i];
		if (k->type == CONFIG_LIST && (k->list->items[0].flags & CONFIG_IDENTITY))
			continue;
		if (!diff_key_equal(k, from, to))
			diff_name(&settings, k->path);
	}
	diff_names_end(&settings);
	return out.text;
}
