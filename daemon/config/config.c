/* YAML -> struct sb_config, driven by config_table.c.
 *
 * The file is loaded whole with libyaml's document API (a config file is
 * small, and the node tree keeps every value's line for messages), then
 * walked against the table. Every problem is collected as "file:line:
 * message" and the walk goes on, so one run of --check-config shows them
 * all; the messages are sorted by line before they are handed back. */
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "channel.h"
#include "config/config_table.h"
#include "util/err.h"
#include "util/xalloc.h"

/* Past this many errors the file is probably not a config file at all. */
#define CONFIG_MAX_ERRORS 100
/* A secret file larger than this is a wrong path, not a key. */
#define CONFIG_SECRET_FILE_MAX 65536
/* Longest user value echoed back in a message. */
#define CONFIG_SHOW_MAX 200
/* Longest dotted key name we build; no table path comes close. */
#define CONFIG_NAME_MAX 160
/* Width the reference's comments are wrapped to. */
#define CONFIG_DUMP_WIDTH 100

/* One collected error; seq keeps the sort stable. */
struct config_msg {
	size_t line;
	size_t seq;
	char *text;
};

/* Where a parsed value came from: the checks that run after parsing
 * (references between tiers, queues and steps) report at the value's line.
 * addr is a field's or an item's address, or a stored string (what a
 * reference check holds). Lookups never use an address inside the queues
 * array, which config_default_queues may move; the records left there are
 * harmless, as nothing allocated after the move is looked up. */
struct config_lineref {
	uintptr_t addr;
	int item; /* 0: a stored value's line, 1: a list item's, 2: a key's, even if its
	             value was refused */
	size_t seq;
	size_t line;
};

/* State of one config_load call. Owner: config_load. */
struct config_ctx {
	const char *file;     /* as given, for messages */
	char *dir;            /* base of relative secret_file paths */
	yaml_document_t *doc; /* the loaded document, while walking */
	struct config_msg *msgs;
	size_t n_msgs;
	size_t n_dropped;
	struct config_lineref *refs;
	size_t n_refs, cap_refs;
	int refs_sorted;
	int defaults; /* filling a default: its values have no line in the file */
};

/* One mapping level being filled from a table: the top level (with its
 * sections) or one list item. */
struct config_walk {
	const struct config_key *keys;
	size_t n;
	void *base;        /* struct sb_config or the item struct */
	const char *where; /* "" at the top, "gateways[2]" for an item */
	size_t line;       /* where missing keys are reported when no section holds them */
	size_t *seen;      /* per key: line it was set on, 0 if absent */
	size_t *seen_file; /* SECRET keys: line of the key_file form */
};

static void config_walk_mapping(struct config_ctx *ctx, struct config_walk *w, yaml_node_t *map,
                                const char *prefix);
static void config_fill_list(struct config_ctx *ctx, struct config_walk *w, size_t idx,
                             yaml_node_t *v);

/* Appends "file:line: message" (or "file: message" for line 0). */
__attribute__((format(printf, 3, 4))) static void config_error(struct config_ctx *ctx, size_t line,
                                                               const char *fmt, ...)
{
	va_list ap;
	char *msg, *text;
	int n;

	if (ctx->n_msgs >= CONFIG_MAX_ERRORS) {
		ctx->n_dropped++;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	msg = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if (line > 0)
		text = xasprintf("%s:%zu: %s", ctx->file, line, msg);
	else
		text = xasprintf("%s: %s", ctx->file, msg);
	free(msg);
	ctx->msgs = xreallocarray(ctx->msgs, ctx->n_msgs + 1, sizeof *ctx->msgs);
	ctx->msgs[ctx->n_msgs] = (struct config_msg){line, ctx->n_msgs, text};
	ctx->n_msgs++;
}

/* Orders messages by line, then by the order they were found. */
static int config_msg_cmp(const void *a, const void *b)
{
	const struct config_msg *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hands the collected messages to the caller, sorted, or drops them. */
static void config_flush_errors(struct config_ctx *ctx, struct config_errors *errs)
{
	size_t extra = ctx->n_dropped > 0;

	if (ctx->n_msgs > 1)
		qsort(ctx->msgs, ctx->n_msgs, sizeof *ctx->msgs, config_msg_cmp);
	if (errs != NULL && ctx->n_msgs + extra > 0) {
		errs->msgs =
		    xreallocarray(errs->msgs, errs->n + ctx->n_msgs + extra, sizeof *errs->msgs);
		for (size_t i = 0; i < ctx->n_msgs; i++)
			errs->msgs[errs->n++] = ctx->msgs[i].text;
		if (extra)
			errs->msgs[errs->n++] =
			    xasprintf("%s: %zu more errors not shown", ctx->file, ctx->n_dropped);
	} else {
		for (size_t i = 0; i < ctx->n_msgs; i++)
			free(ctx->msgs[i].text);
	}
	free(ctx->msgs);
	ctx->msgs = NULL;
	ctx->n_msgs = 0;
}

/* Remembers the line a value (or an item) was read from. */
static void config_note(struct config_ctx *ctx, const void *addr, int item, size_t line)
{
	if (ctx->defaults || addr == NULL)
		return;
	if (ctx->n_refs == ctx->cap_refs) {
		/* one per value: grow geometrically, a roster can have 100 000 */
		ctx->cap_refs = ctx->cap_refs * 2 + 64;
		ctx->refs = xreallocarray(ctx->refs, ctx->cap_refs, sizeof *ctx->refs);
	}
	ctx->refs[ctx->n_refs] = (struct config_lineref){(uintptr_t)addr, item, ctx->n_refs, line};
	ctx->n_refs++;
	ctx->refs_sorted = 0;
}

/* Orders line references by address, kind, then age. */
static int config_ref_cmp(const void *a, const void *b)
{
	const struct config_lineref *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The line addr's value (or item) was read from, or fallback if it was
 * not read from the file. Sorted once, searched per lookup: rosters of
 * thousands of agents make a linear scan per reference quadratic. */
static size_t config_line_of(struct config_ctx *ctx, const void *addr, int item, size_t fallback)
{
	struct config_lineref key = {(uintptr_t)addr, item, SIZE_MAX, 0};
	size_t lo = 0, hi = ctx->n_refs;

	if (!ctx->refs_sorted && ctx->n_refs > 1)
		qsort(ctx->refs, ctx->n_refs, sizeof *ctx->refs, config_ref_cmp);
	ctx->refs_sorted = 1;
	/* the last entry not after key: the newest record of that address */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (config_ref_cmp(&ctx->refs[mid], &key) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && ctx->refs[lo - 1].addr == key.addr && ctx->refs[lo - 1].item == item)
		return ctx->refs[lo - 1].line;
	return fallback;
}

/* Whether the file set the key at field but its value was refused (and
 * reported), so the field holds its default. */
static int config_refused(struct config_ctx *ctx, const void *field)
{
	return config_line_of(ctx, field, 2, 0) > 0 && config_line_of(ctx, field, 0, 0) == 0;
}

/* Copies s for a message: bounded, and with control bytes replaced so a
 * hostile or binary file cannot drive the terminal. */
static void config_show(const char *s, char *buf, size_t size)
{
	size_t i = 0;

	for (; s[i] != '\0' && i + 4 < size; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	if (s[i] != '\0')
		memcpy(buf + i, "...", 3), i += 3;
	buf[i] = '\0';
}

/* 1-based line of a node. */
static size_t config_line(const yaml_node_t *node)
{
	return node->start_mark.line + 1;
}

/* A plain empty, "~" or "null" scalar: YAML's null, e.g. "gateways:" with
 * nothing after it. */
static int config_is_null(const yaml_node_t *node)
{
	const char *v;

	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)node->data.scalar.value;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* "a mapping", "a list", ... for "expected X, found Y". */
static const char *config_node_kind(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		return config_is_null(node) ? "nothing" : "a single value";
	default:
		return "nothing";
	}
}

/* What a key's type expects, for "expected X, found Y". */
static const char *config_type_want(const struct config_key *k)
{
	switch (k->type) {
	case CONFIG_SECTION:
		return "a mapping";
	case CONFIG_LIST:
		return "a list";
	case CONFIG_INT:
		return "an integer";
	case CONFIG_DURATION:
		return "a duration";
	case CONFIG_BOOL:
		return "true or false";
	case CONFIG_CHANNEL:
		return "a channel name";
	case CONFIG_NUMBER:
		return "a number";
	case CONFIG_STRLIST:
		return "a list of names";
	case CONFIG_SKILLS:
		return "a mapping of skill: level";
	case CONFIG_CAPACITY:
		return "a mapping of channel: capacity";
	case CONFIG_STRING:
	case CONFIG_SECRET:
	default:
		return "a string";
	}
}

/* The name a key is reported under: "redis.address", "gateways[1].id". */
static void config_name(const struct config_walk *w, const char *path, const char *suffix,
                        char *buf, size_t size)
{
	if (w->where[0] != '\0')
		snprintf(buf, size, "%s.%s%s", w->where, path, suffix);
	else
		snprintf(buf, size, "%s%s", path, suffix);
}

/* Address of a key's field in the struct being filled. */
static void *config_field(void *base, const struct config_key *k)
{
	return (char *)base + k->offset;
}

/* Stores n into an integer field of the key's width. */
static void config_store_int(void *field, size_t size, int64_t n)
{
	if (size == sizeof(int64_t)) {
		memcpy(field, &n, sizeof n);
	} else if (size == sizeof(int)) {
		int v = (int)n;
		memcpy(field, &v, sizeof v);
	} else if (size == sizeof(bool)) {
		bool v = n != 0;
		memcpy(field, &v, sizeof v);
	}
}

/* Wipes a secret before freeing it, so it does not linger in freed heap. */
static void config_free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* The length field of a STRLIST or SKILLS key, beside its array. */
static size_t *config_count(void *base, const struct config_key *k)
{
	return (size_t *)(void *)((char *)base + k->count_offset);
}

/* Frees a STRLIST's names and array, leaving it empty. */
static void config_free_strlist(void *base, const struct config_key *k)
{
	char **v = *(char ***)config_field(base, k);
	size_t *n = config_count(base, k);

	for (size_t i = 0; i < *n; i++)
		free(v[i]);
	free(v);
	*(char ***)config_field(base, k) = NULL;
	*n = 0;
}

/* Gives every key of a table its default. LIST defaults are filled only
 * once the key is known to be absent (config_default_list). */
static void config_apply_defaults(const struct config_key *keys, size_t n, void *base)
{
	for (size_t i = 0; i < n; i++) {
		const struct config_key *k = &keys[i];
		void *field = config_field(base, k);

		switch (k->type) {
		case CONFIG_STRING:
			if (k->def_str != NULL)
				*(char **)field = xstrdup(k->def_str);
			break;
		case CONFIG_INT:
		case CONFIG_DURATION:
		case CONFIG_BOOL:
		case CONFIG_CHANNEL:
			config_store_int(field, k->size, k->def);
			break;
		case CONFIG_NUMBER:
			memcpy(field, &k->num_def, sizeof k->num_def);
			break;
		case CONFIG_STRLIST: {
			size_t m = 0;
			char **v;

			while (k->def_items != NULL && k->def_items[m] != NULL)
				m++;
			if (m == 0)
				break;
			v = xcalloc(m, sizeof *v);
			for (size_t j = 0; j < m; j++)
				v[j] = xstrdup(k->def_items[j]);
			*(char ***)field = v;
			*config_count(base, k) = m;
			break;
		}
		default:
			break;
		}
	}
}

/* Frees every string, secret and list a table's keys point to. */
static void config_free_fields(const struct config_key *keys, size_t n, void *base)
{
	for (size_t i = 0; i < n; i++) {
		const struct config_key *k = &keys[i];
		void *field = config_field(base, k);

		if (k->type == CONFIG_STRING) {
			free(*(char **)field);
		} else if (k->type == CONFIG_STRLIST) {
			config_free_strlist(base, k);
		} else if (k->type == CONFIG_SKILLS) {
			struct sb_skill_level *v = *(struct sb_skill_level **)field;
			size_t count = *config_count(base, k);

			for (size_t j = 0; j < count; j++)
				free(v[j].name);
			free(v);
		} else if (k->type == CONFIG_SECRET) {
			config_free_secret(*(char **)field);
		} else if (k->type == CONFIG_LIST) {
			const struct config_list *l = k->list;
			char *items = *(char **)field;
			size_t count = *(size_t *)(void *)((char *)base + l->count_offset);

			for (size_t j = 0; j < count; j++)
				config_free_fields(l->items, l->n_items, items + j * l->item_size);
			free(items);
		}
	}
}

/* Parses an integer, or with unit_ms > 0 a duration into that unit.
 * Returns NULL or why the text is not a number of the right kind. */
static const char *config_parse_int(const char *s, int64_t unit_ms, int64_t *out)
{
	const char *p = s;
	int neg = 0;
	int64_t n = 0;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (*p < '0' || *p > '9')
		return unit_ms == 0 ? "is not an integer"
		                    : "is not a duration (an integer, or one with a unit: "
		                      "ms, s, m, h, d)";
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (INT64_MAX - (*p - '0')) / 10)
			return "is too large";
		n = n * 10 + (*p - '0');
	}
	if (unit_ms == 0) {
		if (*p != '\0')
			return "is not an integer";
	} else {
		int64_t mult;

		if (*p == '\0')
			mult = unit_ms;
		else if (strcmp(p, "ms") == 0)
			mult = 1;
		else if (strcmp(p, "s") == 0)
			mult = 1000;
		else if (strcmp(p, "m") == 0)
			mult = 60 * 1000;
		else if (strcmp(p, "h") == 0)
			mult = 3600 * 1000;
		else if (strcmp(p, "d") == 0)
			mult = 86400 * 1000;
		else
			return "is not a duration (an integer, or one with a unit: ms, s, m, h, d)";
		if (n > INT64_MAX / mult)
			return "is too large";
		n *= mult;
		if (n % unit_ms != 0)
			return "is not a whole number of seconds";
		n /= unit_ms;
	}
	*out = neg ? -n : n;
	return NULL;
}

/* Parses a plain decimal ("0.5", "1", "1.25") by hand: strtod would also
 * take "inf", "0x1p3" and "1e3", and reads the decimal point from the
 * locale. Up to 15 digits, so the result is the correctly rounded double. */
static const char *config_parse_decimal(const char *s, double *out)
{
	static const char *const bad = "is not a number (like 0.5, 1 or 1.25)";
	const char *p = s;
	int neg = 0, digits = 0, frac = 0;
	int64_t mant = 0;
	double scale = 1;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	for (; *p >= '0' && *p <= '9'; p++, digits++)
		if (digits < 16)
			mant = mant * 10 + (*p - '0');
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, digits++, frac++)
			if (digits < 16)
				mant = mant * 10 + (*p - '0');
	if (digits == 0 || *p != '\0')
		return bad;
	if (digits > 15)
		return "has more than 15 digits";
	while (frac-- > 0)
		scale *= 10;
	*out = (neg ? -(double)mant : (double)mant) / scale;
	return NULL;
}

/* The directory relative secret_file paths are resolved against. */
static char *config_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* Reads a secret file: whole, trailing newlines stripped. Reports and
 * returns NULL if it cannot be used. */
static char *config_read_secret(struct config_ctx *ctx, const char *name, const char *path,
                                size_t line)
{
	char show[CONFIG_SHOW_MAX];
	char *full = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", ctx->dir, path);
	char *buf = NULL, *secret = NULL;
	size_t len = 0;
	struct stat st;
	int fd;

	config_show(full, show, sizeof show);
	/* Look before opening: opening a device node can have effects of its
	 * own (a watchdog starts ticking), and the config fuzzer names any path. */
	if (stat(full, &st) == 0 && !S_ISREG(st.st_mode)) {
		fd = -1;
		config_error(ctx, line, "%s: '%s' is not a regular file", name, show);
		goto out;
	}
	/* O_NONBLOCK: a FIFO put there by mistake must not hang the load */
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		config_error(ctx, line, "%s: cannot read '%s': %s", name, show, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		config_error(ctx, line, "%s: '%s' is not a regular file", name, show);
		goto out;
	}
	/* A secret anyone on the machine can read is not a secret. Group
	 * access is allowed: the daemon's group may be how it reads it. */
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		config_error(ctx, line, "%s: '%s' is accessible to other users (chmod o-rw)", name,
		             show);
		goto out;
	}
	buf = xmalloc(CONFIG_SECRET_FILE_MAX + 1);
	for (;;) {
		ssize_t r = read(fd, buf + len, CONFIG_SECRET_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			config_error(ctx, line, "%s: cannot read '%s': %s", name, show,
			             strerror(errno));
			goto out;
		}
		if (r == 0 || (len += (size_t)r) > CONFIG_SECRET_FILE_MAX)
			break;
	}
	if (len > CONFIG_SECRET_FILE_MAX) {
		config_error(ctx, line, "%s: '%s' is larger than %d bytes", name, show,
		             CONFIG_SECRET_FILE_MAX);
		goto out;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (memchr(buf, '\0', len) != NULL) {
		config_error(ctx, line, "%s: '%s' contains a NUL byte", name, show);
		goto out;
	}
	secret = xstrndup(buf, len);
out:
	if (buf != NULL) {
		explicit_bzero(buf, CONFIG_SECRET_FILE_MAX + 1);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	free(full);
	return secret;
}

/* Sets a SECRET key from its inline value or from the file it names. */
static void config_parse_secret(struct config_ctx *ctx, void *field, const char *name,
                                const char *value, size_t line, int file_form)
{
	char *secret;
	size_t len;

	secret = file_form ? config_read_secret(ctx, name, value, line) : xstrdup(value);
	if (secret == NULL)
		return;
	len = strlen(secret);
	if (len < CONFIG_SECRET_MIN) {
		/* never echo the secret, not even a short wrong one */
		config_error(ctx, line, "%s: is %zu bytes; a secret needs at least %d", name, len,
		             CONFIG_SECRET_MIN);
		config_free_secret(secret);
		return;
	}
	config_free_secret(*(char **)field);
	*(char **)field = secret;
}

/* Sets one scalar key from node v. */
static void config_parse_value(struct config_ctx *ctx, struct config_walk *w, size_t idx,
                               const yaml_node_t *v, int file_form)
{
	const struct config_key *k = &w->keys[idx];
	void *field = config_field(w->base, k);
	size_t line = config_line(v);
	char name[CONFIG_NAME_MAX], show[CONFIG_SHOW_MAX];
	const char *s, *why;
	int64_t n;

	config_name(w, k->path, file_form ? "_file" : "", name, sizeof name);
	if (k->type == CONFIG_SECRET && (file_form ? w->seen[idx] : w->seen_file[idx])) {
		const char *leaf = strrchr(k->path, '.');
		leaf = leaf != NULL ? leaf + 1 : k->path;
		config_error(ctx, line, "%s: set either %s or %s_file, not both", name, leaf, leaf);
		return;
	}
	/* marked even if the value is bad: it is wrong, not missing */
	if (file_form)
		w->seen_file[idx] = line;
	else
		w->seen[idx] = line;
	config_note(ctx, field, 2, line);
	if ((k->flags & CONFIG_NULLABLE) && config_is_null(v)) {
		free(*(char **)field);
		*(char **)field = NULL;
		config_note(ctx, field, 0, line);
		return;
	}
	if (v->type != YAML_SCALAR_NODE || config_is_null(v)) {
		config_error(ctx, line, "%s: expected %s, found %s", name, config_type_want(k),
		             config_node_kind(v));
		return;
	}
	s = (const char *)v->data.scalar.value;
	if (strlen(s) != v->data.scalar.length) {
		config_error(ctx, line, "%s: contains a NUL byte", name);
		return;
	}
	config_show(s, show, sizeof show);
	switch (k->type) {
	case CONFIG_STRING:
		if (k->check != NULL && (why = k->check(s)) != NULL) {
			config_error(ctx, line, "%s: '%s' %s", name, show, why);
			return;
		}
		free(*(char **)field);
		*(char **)field = xstrdup(s);
		config_note(ctx, *(char **)field, 0, line);
		break;
	case CONFIG_INT:
	case CONFIG_DURATION:
		why = config_parse_int(s, k->type == CONFIG_DURATION ? k->unit_ms : 0, &n);
		if (why != NULL) {
			config_error(ctx, line, "%s: '%s' %s", name, show, why);
			return;
		}
		if (n < k->min || n > k->max) {
			config_error(ctx, line, "%s: %s is out of range (%" PRId64 "..%" PRId64 ")",
			             name, show, k->min, k->max);
			return;
		}
		config_store_int(field, k->size, n);
		break;
	case CONFIG_NUMBER: {
		double d;

		if ((why = config_parse_decimal(s, &d)) != NULL) {
			config_error(ctx, line, "%s: '%s' %s", name, show, why);
			return;
		}
		if (d < k->num_min || d > k->num_max) {
			config_error(ctx, line, "%s: %s is out of range (%g..%g)", name, show,
			             k->num_min, k->num_max);
			return;
		}
		memcpy(field, &d, sizeof d);
		break;
	}
	case CONFIG_BOOL:
		if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0) {
			config_error(ctx, line, "%s: '%s' is not true or false", name, show);
			return;
		}
		config_store_int(field, k->size, strcmp(s, "true") == 0);
		break;
	case CONFIG_CHANNEL:
		if ((n = channel_parse(s)) < 0) {
			config_error(ctx, line,
			             "%s: '%s' is not a channel (voice, chat, email or social)",
			             name, show);
			return;
		}
		config_store_int(field, k->size, n);
		break;
	case CONFIG_SECRET:
		/* not noted: checks after parsing never look at secrets */
		config_parse_secret(ctx, field, name, s, line, file_form);
		return;
	default:
		break;
	}
	config_note(ctx, field, 0, line);
}

/* Edit distance of two short strings, for "did you mean". */
static size_t config_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The key name under prefix that key is most likely a typo of, or NULL.
 * buf holds the "_file" variant of a secret when that is the best match. */
static const char *config_suggest(const struct config_walk *w, const char *prefix, const char *key,
                                  char *buf, size_t size)
{
	size_t plen = prefix != NULL ? strlen(prefix) : 0;
	size_t best_d = strlen(key) > 3 ? 3 : 2;
	const char *best = NULL;

	for (size_t i = 0; i < w->n; i++) {
		const char *leaf = w->keys[i].path;
		char file[CONFIG_NAME_MAX];
		size_t d;

		if (plen > 0) {
			if (strncmp(leaf, prefix, plen) != 0 || leaf[plen] != '.')
				continue;
			leaf += plen + 1;
		}
		if (strchr(leaf, '.') != NULL)
			continue;
		if ((d = config_distance(key, leaf)) < best_d)
			best_d = d, best = leaf;
		if (w->keys[i].type != CONFIG_SECRET)
			continue;
		snprintf(file, sizeof file, "%s_file", leaf);
		if ((d = config_distance(key, file)) < best_d) {
			best_d = d;
			snprintf(buf, size, "%s", file);
			best = buf;
		}
	}
	return best;
}

/* Reports a key the table does not know, with a suggestion if one is close. */
static void config_unknown_key(struct config_ctx *ctx, const struct config_walk *w,
                               const char *prefix, const char *key, size_t line)
{
	char show[CONFIG_SHOW_MAX], buf[CONFIG_NAME_MAX];
	const char *hint = config_suggest(w, prefix, key, buf, sizeof buf);
	char *full;

	config_show(key, show, sizeof show);
	if (w->where[0] != '\0')
		full = xasprintf("%s.%s", w->where, show);
	else if (prefix != NULL)
		full = xasprintf("%s.%s", prefix, show);
	else
		full = xstrdup(show);
	if (hint != NULL)
		config_error(ctx, line, "unknown key '%s' (did you mean '%s'?)", full, hint);
	else
		config_error(ctx, line, "unknown key '%s'", full);
	free(full);
}

/* Orders identities by value, then by position, so duplicates sit together
 * with the first occurrence leading. */
struct config_ident {
	const char *id;
	size_t index;
};

/* qsort comparator for struct config_ident. */
static int config_ident_cmp(const void *a, const void *b)
{
	const struct config_ident *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Reports every item whose identity repeats an earlier one. Sorting keeps
 * this O(n log n) for rosters of thousands of agents. */
static void config_check_unique(struct config_ctx *ctx, const struct config_key *k,
                                const char *name, char *items, size_t n, const size_t *lines)
{
	const struct config_list *l = k->list;
	struct config_ident *ids = xcalloc(n, sizeof *ids);
	size_t m = 0, run = 0;

	for (size_t i = 0; i < n; i++) {
		const char *id = *(char **)config_field(items + i * l->item_size, &l->items[0]);
		if (id != NULL)
			ids[m++] = (struct config_ident){id, i};
	}
	if (m > 1)
		qsort(ids, m, sizeof *ids, config_ident_cmp);
	for (size_t j = 1; j < m; j++) {
		char show[CONFIG_SHOW_MAX];

		if (strcmp(ids[j].id, ids[run].id) != 0) {
			run = j;
			continue;
		}
		config_show(ids[j].id, show, sizeof show);
		config_error(ctx, lines[ids[j].index],
		             "%s[%zu].%s '%s' is a duplicate (first at line %zu)", name,
		             ids[j].index, l->items[0].path, show, lines[ids[run].index]);
	}
	free(ids);
}

/* Line a missing key is reported at: its innermost present section, else
 * the mapping the walk covers. */
static size_t config_missing_line(const struct config_walk *w, const char *path)
{
	char buf[CONFIG_NAME_MAX];
	char *dot;

	snprintf(buf, sizeof buf, "%s", path);
	while ((dot = strrchr(buf, '.')) != NULL) {
		int i;

		*dot = '\0';
		i = config_table_find(w->keys, w->n, buf);
		if (i >= 0 && w->seen[i] > 0)
			return w->seen[i];
	}
	return w->line;
}

/* Fills an absent LIST key from its def_items, each a YAML flow mapping,
 * through the same walk as the file's items: the defaults are written the
 * way a reader would write them, and the reference prints them as they are. */
static void config_default_list(struct config_ctx *ctx, struct config_walk *w, size_t idx)
{
	const struct config_key *k = &w->keys[idx];
	yaml_document_t *saved = ctx->doc, doc;
	yaml_parser_t parser;
	size_t len = 3;
	char *text;

	for (size_t i = 0; k->def_items[i] != NULL; i++)
		len += strlen(k->def_items[i]) + 2;
	text = xmalloc(len);
	strcpy(text, "[");
	for (size_t i = 0; k->def_items[i] != NULL; i++) {
		strcat(text, i > 0 ? ", " : "");
		strcat(text, k->def_items[i]);
	}
	strcat(text, "]");
	if (!yaml_parser_initialize(&parser)) {
		config_error(ctx, 0, "out of memory while parsing");
		free(text);
		return;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	if (yaml_parser_load(&parser, &doc)) {
		yaml_node_t *root = yaml_document_get_root_node(&doc);

		ctx->doc = &doc;
		ctx->defaults = 1;
		if (root != NULL)
			config_fill_list(ctx, w, idx, root);
		ctx->defaults = 0;
		ctx->doc = saved;
		yaml_document_delete(&doc);
	} else {
		/* a bug in config_table.c, which test_routing_defaults catches */
		config_error(ctx, 0, "the default of %s is not YAML", k->path);
	}
	yaml_parser_delete(&parser);
	free(text);
}

/* Reports a group of CONFIG_ONE_OF keys of which not exactly one is set;
 * a second one is reported at the later line, where it was added. */
static void config_check_one_of(struct config_ctx *ctx, struct config_walk *w)
{
	char names[CONFIG_NAME_MAX] = "", name[CONFIG_NAME_MAX];
	size_t n = 0, set = 0, last = SIZE_MAX;

	for (size_t i = 0; i < w->n; i++) {
		if (!(w->keys[i].flags & CONFIG_ONE_OF))
			continue;
		n++;
		snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
		         names[0] ? " or " : "", w->keys[i].path);
		if (w->seen[i] > 0) {
			set++;
			if (last == SIZE_MAX || w->seen[i] >= w->seen[last])
				last = i;
		}
	}
	if (n == 0 || set == 1)
		return;
	if (last == SIZE_MAX) {
		config_error(ctx, w->line, "%s: set %s", w->where, names);
		return;
	}
	config_name(w, w->keys[last].path, "", name, sizeof name);
	config_error(ctx, w->seen[last], "%s: set either %s, not both", name, names);
}

/* After a walk: reports required keys that were absent and lists that are
 * too short, fills keys that default to the item's identity and absent
 * lists that have default items. */
static void config_check_missing(struct config_ctx *ctx, struct config_walk *w)
{
	config_check_one_of(ctx, w);
	for (size_t i = 0; i < w->n; i++) {
		const struct config_key *k = &w->keys[i];
		void *field = config_field(w->base, k);
		char name[CONFIG_NAME_MAX];
		const char *leaf;

		config_name(w, k->path, "", name, sizeof name);
		if (k->type == CONFIG_LIST || k->type == CONFIG_STRLIST) {
			size_t count;

			if (k->type == CONFIG_LIST && w->seen[i] == 0 && k->def_items != NULL)
				config_default_list(ctx, w, i);
			count = k->type == CONFIG_LIST
			            ? *(size_t *)(void *)((char *)w->base + k->list->count_offset)
			            : *config_count(w->base, k);
			if ((int64_t)count < k->min)
				config_error(ctx, w->seen[i] ? w->seen[i] : w->line,
				             "%s: at least %" PRId64 " %s%s required", name, k->min,
				             k->type == CONFIG_LIST ? k->list->noun : "name",
				             k->min == 1 ? " is" : "s are");
			continue;
		}
		if ((k->flags & CONFIG_DEFAULT_ID) && w->seen[i] == 0) {
			const char *id = *(char **)config_field(w->base, &w->keys[0]);
			if (id != NULL && *(char **)field == NULL)
				*(char **)field = xstrdup(id);
		}
		if (!(k->flags & CONFIG_REQUIRED) || w->seen[i] > 0 ||
		    (w->seen_file != NULL && w->seen_file[i] > 0))
			continue;
		leaf = strrchr(k->path, '.');
		leaf = leaf != NULL ? leaf + 1 : k->path;
		if (k->type == CONFIG_SECRET)
			config_error(ctx, config_missing_line(w, k->path),
			             "%s is required: set %s or %s_file", name, leaf, leaf);
		else
			config_error(ctx, config_missing_line(w, k->path), "%s is required", name);
	}
}

/* Fills a LIST key from a sequence of mappings. */
static void config_parse_list(struct config_ctx *ctx, struct config_walk *w, size_t idx,
                              const yaml_node_t *key, yaml_node_t *v)
{
	const struct config_key *k = &w->keys[idx];
	char name[CONFIG_NAME_MAX];

	config_name(w, k->path, "", name, sizeof name);
	w->seen[idx] = config_line(key);
	if (config_is_null(v))
		return;
	if (v->type != YAML_SEQUENCE_NODE) {
		config_error(ctx, config_line(v), "%s: expected a list of %ss, found %s", name,
		             k->list->noun, config_node_kind(v));
		return;
	}
	config_fill_list(ctx, w, idx, v);
}

/* Fills a LIST key from the items of sequence v; an item may hold a list
 * of its own (a queue's steps), walked the same way. */
static void config_fill_list(struct config_ctx *ctx, struct config_walk *w, size_t idx,
                             yaml_node_t *v)
{
	const struct config_key *k = &w->keys[idx];
	const struct config_list *l = k->list;
	char **arrp = config_field(w->base, k);
	size_t *countp = (size_t *)(void *)((char *)w->base + l->count_offset);
	char name[CONFIG_NAME_MAX];
	size_t *lines;
	char *items;
	size_t n;

	config_name(w, k->path, "", name, sizeof name);
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (k->max > 0 && (int64_t)n > k->max)
		config_error(ctx, config_line(v),
		             "%s: at most %" PRId64 " %ss are allowed, found %zu", name, k->max,
		             l->noun, n);
	if (n == 0)
		return;
	/* owned by the config from here on, so config_free covers every exit */
	items = xcalloc(n, l->item_size);
	*arrp = items;
	*countp = n;
	lines = xcalloc(n, sizeof *lines);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *in = yaml_document_get_node(ctx->doc, v->data.sequence.items.start[i]);
		void *item = items + i * l->item_size;
		char where[CONFIG_NAME_MAX + 24];
		struct config_walk iw = {
		    .keys = l->items,
		    .n = l->n_items,
		    .base = item,
		    .where = where,
		    .line = config_line(in),
		};

		snprintf(where, sizeof where, "%s[%zu]", name, i);
		config_apply_defaults(l->items, l->n_items, item);
		config_note(ctx, item, 1, config_line(in));
		if (in->type != YAML_MAPPING_NODE) {
			config_error(ctx, config_line(in), "%s: expected a mapping, found %s",
			             where, config_node_kind(in));
			continue;
		}
		iw.seen = xcalloc(l->n_items, sizeof *iw.seen);
		iw.seen_file = xcalloc(l->n_items, sizeof *iw.seen_file);
		config_walk_mapping(ctx, &iw, in, NULL);
		config_check_missing(ctx, &iw);
		lines[i] = iw.seen[0];
		free(iw.seen);
		free(iw.seen_file);
	}
	if (l->items[0].flags & CONFIG_IDENTITY)
		config_check_unique(ctx, k, name, items, n, lines);
	free(lines);
}

/* Whether the mapping already had a key equal to p's before p. */
static const yaml_node_pair_t *config_find_dup(yaml_document_t *doc, const yaml_node_t *map,
                                               const yaml_node_pair_t *p, const yaml_node_t *key)
{
	for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
		const yaml_node_t *qk = yaml_document_get_node(doc, q->key);
		if (qk->type == YAML_SCALAR_NODE &&
		    qk->data.scalar.length == key->data.scalar.length &&
		    memcmp(qk->data.scalar.value, key->data.scalar.value,
		           key->data.scalar.length) == 0)
			return q;
	}
	return NULL;
}

/* A scalar that is not null, as a string; else reports what was found
 * instead of want and returns NULL. */
static const char *config_scalar(struct config_ctx *ctx, const yaml_node_t *n, const char *name,
                                 const char *want)
{
	if (n->type != YAML_SCALAR_NODE || config_is_null(n)) {
		config_error(ctx, config_line(n), "%s: expected %s, found %s", name, want,
		             config_node_kind(n));
		return NULL;
	}
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
		config_error(ctx, config_line(n), "%s: contains a NUL byte", name);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

/* Fills a STRLIST key from a sequence of names; null is the empty list.
 * A name listed twice is an error: in a tier order it is ambiguous, and
 * elsewhere a slip worth pointing out. */
static void config_parse_strlist(struct config_ctx *ctx, struct config_walk *w, size_t idx,
                                 const yaml_node_t *key, const yaml_node_t *v)
{
	const struct config_key *k = &w->keys[idx];
	char name[CONFIG_NAME_MAX], show[CONFIG_SHOW_MAX];
	size_t *lines, n, m = 0;
	char **names;

	config_name(w, k->path, "", name, sizeof name);
	w->seen[idx] = config_line(key);
	config_note(ctx, config_field(w->base, k), 2, config_line(key));
	config_free_strlist(w->base, k);
	if (config_is_null(v)) {
		config_note(ctx, config_field(w->base, k), 0, config_line(v));
		return;
	}
	if (v->type != YAML_SEQUENCE_NODE) {
		config_error(ctx, config_line(v), "%s: expected a list of names, found %s", name,
		             config_node_kind(v));
		return;
	}
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (k->max > 0 && (int64_t)n > k->max)
		config_error(ctx, config_line(v),
		             "%s: at most %" PRId64 " names are allowed, found %zu", name, k->max,
		             n);
	if (n == 0) {
		config_note(ctx, config_field(w->base, k), 0, config_line(v));
		return;
	}
	names = xcalloc(n, sizeof *names);
	lines = xcalloc(n, sizeof *lines);
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *in =
		    yaml_document_get_node(ctx->doc, v->data.sequence.items.start[i]);
		char iname[CONFIG_NAME_MAX + 24];
		const char *str, *why;
		size_t first = 0;

		snprintf(iname, sizeof iname, "%s[%zu]", name, i);
		if ((str = config_scalar(ctx, in, iname, "a name")) == NULL)
			continue;
		config_show(str, show, sizeof show);
		if (k->check != NULL && (why = k->check(str)) != NULL) {
			config_error(ctx, config_line(in), "%s: '%s' %s", iname, show, why);
			continue;
		}
		for (size_t j = 0; j < m && first == 0; j++)
			if (strcmp(names[j], str) == 0)
				first = lines[j];
		if (first > 0) {
			config_error(ctx, config_line(in),
			             "%s: '%s' is listed twice (first at line %zu)", iname, show,
			             first);
			continue;
		}
		names[m] = xstrdup(str);
		lines[m] = config_line(in);
		config_note(ctx, names[m], 0, lines[m]);
		m++;
	}
	free(lines);
	*(char ***)config_field(w->base, k) = names;
	*config_count(w->base, k) = m;
	if (m == n)
		config_note(ctx, config_field(w->base, k), 0, config_line(v));
}

/* Reads the key of one entry of mapping v (skills, capacities): NULL, after
 * reporting, when it is not a string or repeats an earlier key. */
static const char *config_map_key(struct config_ctx *ctx, const yaml_node_t *v,
				  const yaml_node_pair_t *p, const yaml_node_t *kn, const char *name,
				  const char *what, const char *noun, char *show, size_t show_len)
{
	const yaml_node_pair_t *dup;
	const char *key = config_scalar(ctx, kn, name, what);

	if (key == NULL)
		return NULL;
	config_show(key, show, show_len);
	if ((dup = config_find_dup(ctx->doc, v, p, kn)) != NULL) {
		config_error(ctx, config_line(kn), "%s: duplicate %s '%s' (first at line %zu)", name,
			     noun, show, config_line(yaml_document_get_node(ctx->doc, dup->key)));
		return NULL;
	}
	return key;
}

/* Reads an integer value of a mapping entry (a skill's level, a channel's
 * capacity) and checks it against k's range; reports at the value's line. */
static bool config_map_int(struct config_ctx *ctx, const yaml_node_t *vn, const char *label,
			   const char *what, const struct config_key *k, int64_t *out)
{
	char show[CONFIG_SHOW_MAX];
	const char *v, *why;

	if ((v = config_scalar(ctx, vn, label, what)) == NULL)
		return false;
	config_show(v, show, sizeof show);
	if ((why = config_parse_int(v, 0, out)) != NULL) {
		config_error(ctx, config_line(vn), "%s: '%s' %s", label, show, why);
		return false;
	}
	if (*out < k->min || *out > k->max) {
		config_error(ctx, config_line(vn), "%s: %s is out of range (%" PRId64 "..%" PRId64 ")",
			     label, show, k->min, k->max);
		return false;
	}
	return true;
}

/* Fills a SKILLS key from a mapping of skill name to level. */
static void config_parse_skills(struct config_ctx *ctx, struct config_walk *w, size_t idx,
                                const yaml_node_t *key, yaml_node_t *v)
{
	const struct config_key *k = &w->keys[idx];
	char name[CONFIG_NAME_MAX], show[CONFIG_SHOW_MAX];
	struct sb_skill_level *skills;
	size_t n, m = 0;

	config_name(w, k->path, "", name, sizeof name);
	w->seen[idx] = config_line(key);
	if (config_is_null(v))
		return;
	if (v->type != YAML_MAPPING_NODE) {
		config_error(ctx, config_line(v), "%s: expected %s, found %s", name,
		             config_type_want(k), config_node_kind(v));
		return;
	}
	n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
	if (n == 0)
		return;
	skills = xcalloc(n, sizeof *skills);
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
		char lname[CONFIG_NAME_MAX + CONFIG_SHOW_MAX];
		const char *skill, *why;
		int64_t level;

		if ((skill = config_map_key(ctx, v, p, kn, name, "a skill name", "skill", show,
					    sizeof show)) == NULL)
			continue;
		if (k->check != NULL && (why = k->check(skill)) != NULL) {
			config_error(ctx, config_line(kn), "%s: skill '%s' %s", name, show, why);
			continue;
		}
		snprintf(lname, sizeof lname, "%s.%s", name, show);
		if (!config_map_int(ctx, vn, lname, "a level", k, &level))
			continue;
		skills[m].name = xstrdup(skill);
		skills[m].level = (int)level;
		m++;
	}
	*(struct sb_skill_level **)config_field(w->base, k) = skills;
	*config_count(w->base, k) = m;
}

/* Fills a CAPACITY key from a mapping of channel name to capacity. */
static void config_parse_capacity(struct config_ctx *ctx, struct config_walk *w, size_t idx,
                                  const yaml_node_t *key, yaml_node_t *v)
{
	const struct config_key *k = &w->keys[idx];
	int *cap = config_field(w->base, k);
	char name[CONFIG_NAME_MAX], show[CONFIG_SHOW_MAX];

	config_name(w, k->path, "", name, sizeof name);
	w->seen[idx] = config_line(key);
	if (config_is_null(v))
		return;
	if (v->type != YAML_MAPPING_NODE) {
		config_error(ctx, config_line(v), "%s: expected %s, found %s", name,
		             config_type_want(k), config_node_kind(v));
		return;
	}
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
		char cname[CONFIG_NAME_MAX + 16];
		const char *chs;
		int64_t n;
		int ch;

		if ((chs = config_map_key(ctx, v, p, kn, name, "a channel name", "key", show,
					  sizeof show)) == NULL)
			continue;
		if ((ch = channel_parse(chs)) < 0) {
			config_error(ctx, config_line(kn),
			             "%s: '%s' is not a channel (voice, chat, email or social)",
			             name, show);
			continue;
		}
		snprintf(cname, sizeof cname, "%s.%s", name, channel_name((enum sb_channel)ch));
		if (!config_map_int(ctx, vn, cname, "an integer", k, &n))
			continue;
		cap[ch] = (int)n;
	}
}

/* Index of the table key a YAML key names under prefix, or -1; a SECRET's
 * "key_file" form sets *file_form. */
static int config_lookup(const struct config_walk *w, const char *prefix, const yaml_node_t *key,
                         int *file_form)
{
	const char *name = (const char *)key->data.scalar.value;
	char path[CONFIG_NAME_MAX];
	size_t len;
	int i, n;

	n = prefix != NULL ? snprintf(path, sizeof path, "%s.%s", prefix, name)
	                   : snprintf(path, sizeof path, "%s", name);
	/* too long or with a NUL inside: cannot be in the table */
	if (n < 0 || (size_t)n >= sizeof path || strlen(name) != key->data.scalar.length)
		return -1;
	if ((i = config_table_find(w->keys, w->n, path)) >= 0)
		return i;
	len = strlen(path);
	if (len <= 5 || strcmp(path + len - 5, "_file") != 0)
		return -1;
	path[len - 5] = '\0';
	i = config_table_find(w->keys, w->n, path);
	if (i < 0 || w->keys[i].type != CONFIG_SECRET)
		return -1;
	*file_form = 1;
	return i;
}

/* Walks one mapping: each key is looked up in the table under prefix and
 * dispatched by type; sections recurse with a longer prefix. */
static void config_walk_mapping(struct config_ctx *ctx, struct config_walk *w, yaml_node_t *map,
                                const char *prefix)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *key = yaml_document_get_node(ctx->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(ctx->doc, p->value);
		const yaml_node_pair_t *dup;
		const char *name;
		int i, file_form = 0;

		if (key->type != YAML_SCALAR_NODE) {
			config_error(ctx, config_line(key),
			             "%s%skeys must be plain names, found %s", w->where,
			             w->where[0] ? ": " : "", config_node_kind(key));
			continue;
		}
		name = (const char *)key->data.scalar.value;
		if ((dup = config_find_dup(ctx->doc, map, p, key)) != NULL) {
			char show[CONFIG_SHOW_MAX];
			config_show(name, show, sizeof show);
			config_error(ctx, config_line(key),
			             "duplicate key '%s' (first at line %zu)", show,
			             config_line(yaml_document_get_node(ctx->doc, dup->key)));
			continue;
		}
		if ((i = config_lookup(w, prefix, key, &file_form)) < 0) {
			config_unknown_key(ctx, w, prefix, name, config_line(key));
			continue;
		}
		switch (w->keys[i].type) {
		case CONFIG_SECTION:
			w->seen[i] = config_line(key);
			if (v->type == YAML_MAPPING_NODE)
				config_walk_mapping(ctx, w, v, w->keys[i].path);
			else if (!config_is_null(v))
				config_error(ctx, config_line(v),
				             "%s: expected a mapping, found %s", w->keys[i].path,
				             config_node_kind(v));
			break;
		case CONFIG_LIST:
			config_parse_list(ctx, w, (size_t)i, key, v);
			break;
		case CONFIG_STRLIST:
			config_parse_strlist(ctx, w, (size_t)i, key, v);
			break;
		case CONFIG_SKILLS:
			config_parse_skills(ctx, w, (size_t)i, key, v);
			break;
		case CONFIG_CAPACITY:
			config_parse_capacity(ctx, w, (size_t)i, key, v);
			break;
		default:
			config_parse_value(ctx, w, (size_t)i, v, file_form);
			break;
		}
	}
}

/* Gives each channel that no queue takes a queue named after it, so a
 * minimal file works; a name already used by another channel's queue is an
 * error rather than a silent clash. */
static void config_default_queues(struct config_ctx *ctx, struct sb_config *cfg, size_t line)
{
	const struct config_key *qk =
	    &config_table[config_table_find(config_table, config_table_len, "queues")];

	for (int ch = 0; ch < SB_CH_COUNT; ch++) {
		const struct sb_queue_conf *taken;
		const char *name = channel_name((enum sb_channel)ch);
		int has = 0;

		for (size_t i = 0; i < cfg->n_queues && !has; i++)
			has = cfg->queues[i].name != NULL && (int)cfg->queues[i].channel == ch;
		if (has)
			continue;
		if ((taken = config_queue(cfg, name)) != NULL) {
			config_error(
			    ctx, line,
			    "queues: channel %s has no queue, and its default queue's name "
			    "'%s' is taken by a %s queue",
			    name, name, channel_name(taken->channel));
			continue;
		}
		cfg->queues = xreallocarray(cfg->queues, cfg->n_queues + 1, sizeof *cfg->queues);
		memset(&cfg->queues[cfg->n_queues], 0, sizeof cfg->queues[cfg->n_queues]);
		config_apply_defaults(qk->list->items, qk->list->n_items,
		                      &cfg->queues[cfg->n_queues]);
		cfg->queues[cfg->n_queues].name = xstrdup(name);
		cfg->queues[cfg->n_queues].channel = (enum sb_channel)ch;
		cfg->n_queues++;
	}
}

/* Writes ms as a reader would type it ("30s", "1500ms"). */
static void config_dump_duration(char *buf, size_t size, int64_t ms);

/* Index of name in names[0..n), or -1. */
static int config_name_index(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

/* Reports each name of a list that is not a configured agent tier. A name
 * that did not come from the file came from a default, so the fix is in
 * agent_tiers or in the key left out: it is reported at agent_tiers. */
static void config_check_tier_refs(struct config_ctx *ctx, const struct sb_config *cfg,
                                   const char *name, char *const *tiers, size_t n)
{
	char known[CONFIG_SHOW_MAX * 2] = "", show[CONFIG_SHOW_MAX], list[CONFIG_SHOW_MAX];
	size_t tiers_line = config_line_of(ctx, &cfg->agent_tiers, 0, 1);

	for (size_t i = 0; i < cfg->n_agent_tiers; i++)
		snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
		         cfg->agent_tiers[i]);
	config_show(known, list, sizeof list);
	for (size_t i = 0; i < n; i++) {
		size_t line;

		if (config_name_index(cfg->agent_tiers, cfg->n_agent_tiers, tiers[i]) >= 0)
			continue;
		config_show(tiers[i], show, sizeof show);
		line = config_line_of(ctx, tiers[i], 0, 0);
		if (line > 0)
			config_error(ctx, line, "%s: '%s' is not an agent tier (%s)", name, show,
			             list);
		else
			config_error(ctx, tiers_line,
			             "%s: its default names '%s', which is not an agent tier (%s); "
			             "set %.*s in the file",
			             name, show, list, (int)strcspn(name, ".["), name);
	}
}

/* Checks a reference from queue self (NULL for an agent's) to a queue:
 * it exists, is not self, and takes channel ch unless ch is -1. */
static void config_check_queue_ref(struct config_ctx *ctx, const struct sb_config *cfg,
                                   const char *name, const char *ref,
                                   const struct sb_queue_conf *self, int ch)
{
	const struct sb_queue_conf *q = config_queue(cfg, ref);
	size_t line = config_line_of(ctx, ref, 0, 1);
	char show[CONFIG_SHOW_MAX];

	config_show(ref, show, sizeof show);
	if (q == NULL)
		config_error(ctx, line, "%s: '%s' is not a queue", name, show);
	else if (q == self)
		config_error(ctx, line, "%s: '%s' is this queue itself", name, show);
	else if (ch >= 0 && (int)q->channel != ch)
		config_error(ctx, line, "%s: '%s' takes %s contacts, this queue %s", name, show,
		             channel_name(q->channel), channel_name((enum sb_channel)ch));
}

/* Checks a queue's steps: each does something, each fires strictly later
 * than the one before (after_pct resolved against the queue's threshold),
 * and none follows an overflow, which moves the contact away for good. */
static void config_check_steps(struct config_ctx *ctx, const struct sb_config *cfg,
                               const struct sb_queue_conf *q, size_t qi)
{
	int64_t threshold = q->sla_ms > 0 ? q->sla_ms : cfg->channels[q->channel].sla_ms;
	size_t prev = SIZE_MAX, overflow = SIZE_MAX;
	int64_t prev_at = 0;

	for (size_t si = 0; si < q->n_steps; si++) {
		const struct sb_step_conf *st = &q->steps[si];
		size_t line = config_line_of(ctx, st, 1, 1);
		size_t at_line = st->after_pct > 0 ? config_line_of(ctx, &st->after_pct, 0, 0)
		                                   : config_line_of(ctx, &st->after_ms, 0, 0);
		int64_t at = st->after_pct > 0 ? threshold * st->after_pct / 100 : st->after_ms;
		char name[CONFIG_NAME_MAX], sub[CONFIG_NAME_MAX + 16];

		snprintf(name, sizeof name, "queues[%zu].steps[%zu]", qi, si);
		if (overflow != SIZE_MAX)
			config_error(ctx, line,
			             "%s: comes after an overflow step (steps[%zu]), so it would "
			             "never apply",
			             name, overflow);
		/* at_line 0: neither time key was set, already reported */
		if (at_line > 0 && prev != SIZE_MAX && at <= prev_at) {
			char t1[32], t2[32];

			config_dump_duration(t1, sizeof t1, at);
			config_dump_duration(t2, sizeof t2, prev_at);
			config_error(ctx, at_line,
			             "%s: applies at %s, not after steps[%zu] (at %s): steps must "
			             "be in strictly increasing time order",
			             name, at == 0 ? "0" : t1, prev, prev_at == 0 ? "0" : t2);
		}
		if (at_line > 0)
			prev = si, prev_at = at;
		/* a refused value leaves its field empty, but the step is not idle */
		if (st->skill_relax == 0 && st->n_agent_tiers == 0 && st->add_queue == NULL &&
		    st->overflow == NULL && !config_refused(ctx, &st->skill_relax) &&
		    !config_refused(ctx, &st->agent_tiers) &&
		    !config_refused(ctx, &st->add_queue) && !config_refused(ctx, &st->overflow))
			config_error(ctx, line,
			             "%s: does nothing: set skill_relax, agent_tiers, add_queue or "
			             "overflow",
			             name);
		snprintf(sub, sizeof sub, "%s.agent_tiers", name);
		config_check_tier_refs(ctx, cfg, sub, st->agent_tiers, st->n_agent_tiers);
		if (st->add_queue != NULL) {
			snprintf(sub, sizeof sub, "%s.add_queue", name);
			config_check_queue_ref(ctx, cfg, sub, st->add_queue, q, -1);
		}
		if (st->overflow != NULL) {
			snprintf(sub, sizeof sub, "%s.overflow", name);
			config_check_queue_ref(ctx, cfg, sub, st->overflow, q, (int)q->channel);
			if (overflow == SIZE_MAX)
				overflow = si;
		}
	}
}

/* The checks that need the whole file: names that refer to tiers and
 * queues, and rules between keys. Runs after parsing, so order in the file
 * does not matter, and after the default queues exist, so they can be
 * named. Fills each agent's default tier. */
static void config_check_routing(struct config_ctx *ctx, struct sb_config *cfg)
{
	char name[CONFIG_NAME_MAX];

	for (size_t i = 0; i < cfg->n_customer_tiers; i++) {
		const struct sb_customer_tier_conf *t = &cfg->customer_tiers[i];

		snprintf(name, sizeof name, "customer_tiers[%zu].first_agent_tiers", i);
		config_check_tier_refs(ctx, cfg, name, t->first_agent_tiers,
		                       t->n_first_agent_tiers);
		if (t->n_first_agent_tiers > 0 && t->widen_after_ms == 0) {
			size_t line = config_line_of(ctx, &t->widen_after_ms, 0, 0);

			if (line == 0)
				line = config_line_of(ctx, &t->first_agent_tiers, 0, 1);
			config_error(ctx, line,
			             "customer_tiers[%zu]: first_agent_tiers needs widen_after_ms "
			             "above 0, or its contacts never reach the other tiers",
			             i);
		}
	}
	for (size_t i = 0; i < cfg->n_queues; i++) {
		const struct sb_queue_conf *q = &cfg->queues[i];

		if (q->name == NULL)
			continue;
		snprintf(name, sizeof name, "queues[%zu].agent_tiers", i);
		config_check_tier_refs(ctx, cfg, name, q->agent_tiers, q->n_agent_tiers);
		if (q->overflow != NULL) {
			snprintf(name, sizeof name, "queues[%zu].overflow", i);
			config_check_queue_ref(ctx, cfg, name, q->overflow, q, (int)q->channel);
			if (q->max_wait_ms == 0 && q->max_wait_no_agent_ms == 0)
				config_error(ctx, config_line_of(ctx, q->overflow, 0, 1),
				             "%s: is never used: set max_wait_ms or "
				             "max_wait_no_agent_ms",
				             name);
		}
		config_check_steps(ctx, cfg, q, i);
	}
	for (size_t i = 0; i < cfg->n_agents; i++) {
		struct sb_agent_conf *a = &cfg->agents[i];

		if (a->tier != NULL) {
			snprintf(name, sizeof name, "agents[%zu].tier", i);
			config_check_tier_refs(ctx, cfg, name, &a->tier, 1);
		} else if (cfg->n_agent_tiers > 0) {
			/* the daemon never sees NULL: the lowest tier, by name */
			a->tier = xstrdup(cfg->agent_tiers[cfg->n_agent_tiers - 1]);
		}
		for (size_t j = 0; j < a->n_queues; j++) {
			snprintf(name, sizeof name, "agents[%zu].queues[%zu]", i, j);
			config_check_queue_ref(ctx, cfg, name, a->queues[j], NULL, -1);
		}
	}
}

/* Walks the document's root against the top-level table. */
static void config_walk_document(struct config_ctx *ctx, struct sb_config *cfg)
{
	yaml_node_t *root = yaml_document_get_root_node(ctx->doc);
	struct config_walk w = {
	    .keys = config_table,
	    .n = config_table_len,
	    .base = cfg,
	    .where = "",
	    .line = 1,
	};
	int q;

	if (root != NULL && root->type != YAML_MAPPING_NODE && !config_is_null(root)) {
		config_error(ctx, config_line(root),
		             "expected a mapping of keys at the top, found %s",
		             config_node_kind(root));
		return;
	}
	w.seen = xcalloc(w.n, sizeof *w.seen);
	w.seen_file = xcalloc(w.n, sizeof *w.seen_file);
	if (root != NULL && root->type == YAML_MAPPING_NODE)
		config_walk_mapping(ctx, &w, root, NULL);
	config_check_missing(ctx, &w);
	q = config_table_find(config_table, config_table_len, "queues");
	config_default_queues(ctx, cfg, q >= 0 && w.seen[q] > 0 ? w.seen[q] : 1);
	config_check_routing(ctx, cfg);
	free(w.seen);
	free(w.seen_file);
}

/* Line of a byte offset in the text, for errors libyaml reports as offsets. */
static size_t config_offset_line(const char *data, size_t len, size_t offset)
{
	size_t line = 1;

	for (size_t i = 0; i < offset && i < len; i++)
		line += data[i] == '\n';
	return line;
}

/* Reports libyaml's parse error with its line. */
static void config_syntax_error(struct config_ctx *ctx, const yaml_parser_t *parser,
                                const char *data, size_t len)
{
	const char *problem = parser->problem != NULL ? parser->problem : "cannot parse";
	size_t line;

	switch (parser->error) {
	case YAML_MEMORY_ERROR:
		config_error(ctx, 0, "out of memory while parsing");
		break;
	case YAML_READER_ERROR:
		/* the reader works on bytes: it has an offset, not a line */
		line = config_offset_line(data, len, parser->problem_offset);
		if (parser->problem_value != -1)
			config_error(ctx, line, "cannot read: %s (byte #%02x at offset %zu)",
			             problem, (unsigned)parser->problem_value,
			             parser->problem_offset);
		else
			config_error(ctx, line, "cannot read: %s at offset %zu", problem,
			             parser->problem_offset);
		break;
	default:
		if (parser->context != NULL)
			config_error(ctx, parser->problem_mark.line + 1,
			             "YAML syntax error: %s (%s at line %zu)", problem,
			             parser->context, parser->context_mark.line + 1);
		else
			config_error(ctx, parser->problem_mark.line + 1, "YAML syntax error: %s",
			             problem);
		break;
	}
}

/* A second document after "---" would be silently ignored by a loader that
 * stops at the first, so it is an error. */
static void config_check_single_document(struct config_ctx *ctx, yaml_parser_t *parser,
                                         const char *data, size_t len)
{
	yaml_document_t next;
	yaml_node_t *root;

	if (!yaml_parser_load(parser, &next)) {
		config_syntax_error(ctx, parser, data, len);
		return;
	}
	root = yaml_document_get_root_node(&next);
	if (root != NULL)
		config_error(ctx, config_line(root), "only one YAML document is allowed");
	yaml_document_delete(&next);
}

/* Hands over the result of one load: cfg when nothing was reported, else
 * frees it; the messages go to errs either way. Releases ctx. */
static int config_finish(struct config_ctx *ctx, struct sb_config *cfg, struct sb_config **out,
                         struct config_errors *errs)
{
	int rc;

	if (ctx->n_msgs == 0 && ctx->n_dropped == 0) {
		*out = cfg;
		rc = 0;
	} else {
		config_free(cfg);
		rc = SB_ERR_CONFIG;
	}
	config_flush_errors(ctx, errs);
	free(ctx->refs);
	free(ctx->dir);
	return rc;
}

/* A new config with every default applied, named after name. */
static struct sb_config *config_begin(struct config_ctx *ctx, const char *name)
{
	struct sb_config *cfg = xcalloc(1, sizeof *cfg);

	*ctx = (struct config_ctx){.file = name};
	cfg->path = xstrdup(name);
	ctx->dir = config_dirname(name);
	config_apply_defaults(config_table, config_table_len, cfg);
	return cfg;
}

int config_load_buffer(const char *name, const char *data, size_t len, struct sb_config **out,
                       struct config_errors *errs)
{
	struct config_ctx ctx;
	struct sb_config *cfg = config_begin(&ctx, name);
	yaml_parser_t parser;
	yaml_document_t doc;

	*out = NULL;
	if (!yaml_parser_initialize(&parser)) {
		config_error(&ctx, 0, "out of memory while parsing");
		return config_finish(&ctx, cfg, out, errs);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &doc)) {
		config_syntax_error(&ctx, &parser, data, len);
	} else {
		ctx.doc = &doc;
		config_walk_document(&ctx, cfg);
		ctx.doc = NULL;
		yaml_document_delete(&doc);
		config_check_single_document(&ctx, &parser, data, len);
	}
	yaml_parser_delete(&parser);
	return config_finish(&ctx, cfg, out, errs);
}

/* Reads all of f into a NUL-terminated buffer; NULL (errno set) on error. */
static char *config_slurp(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0, r;
	char *buf = xmalloc(cap + 1);

	while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			buf = xrealloc(buf, (cap *= 2) + 1);
	}
	if (ferror(f)) {
		int e = errno;
		free(buf);
		errno = e != 0 ? e : EIO;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

int config_load(const char *path, struct sb_config **out, struct config_errors *errs)
{
	struct config_ctx ctx;
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	*out = NULL;
	f = fopen(path, "rbe");
	if (f != NULL && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))
		errno = EISDIR;
	else if (f != NULL)
		data = config_slurp(f, &len);
	if (data == NULL) {
		/* the same message whatever failed: open, a directory, read */
		int e = errno;

		ctx = (struct config_ctx){.file = path};
		config_error(&ctx, 0, "cannot open: %s", strerror(e));
		rc = config_finish(&ctx, NULL, out, errs);
	} else {
		rc = config_load_buffer(path, data, len, out, errs);
	}
	if (f != NULL)
		fclose(f);
	free(data);
	return rc;
}

void config_free(struct sb_config *cfg)
{
	if (cfg == NULL)
		return;
	config_free_fields(config_table, config_table_len, cfg);
	free(cfg->path);
	free(cfg);
}

void config_errors_clear(struct config_errors *errs)
{
	if (errs == NULL)
		return;
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

const struct sb_gateway_conf *config_gateway(const struct sb_config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->n_gateways; i++)
		if (cfg->gateways[i].id != NULL && strcmp(cfg->gateways[i].id, id) == 0)
			return &cfg->gateways[i];
	return NULL;
}

const struct sb_agent_conf *config_agent(const struct sb_config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->n_agents; i++)
		if (cfg->agents[i].id != NULL && strcmp(cfg->agents[i].id, id) == 0)
			return &cfg->agents[i];
	return NULL;
}

const struct sb_queue_conf *config_queue(const struct sb_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_queues; i++)
		if (cfg->queues[i].name != NULL && strcmp(cfg->queues[i].name, name) == 0)
			return &cfg->queues[i];
	return NULL;
}

/* Writes text as "# " comment lines at indent, wrapped at the dump width;
 * continuation lines keep text's own leading spaces (nested item keys). */
static void config_dump_comment(FILE *out, int indent, const char *text)
{
	int hang = (int)strspn(text, " ");
	int width = CONFIG_DUMP_WIDTH - indent - 2;

	for (int first = 1; *text != '\0'; first = 0) {
		int pad = first ? 0 : hang;
		int len = (int)strlen(text);

		if (len > width - pad) {
			int cut = width - pad;
			while (cut > hang && text[cut] != ' ')
				cut--;
			len = cut > hang ? cut : width - pad;
		}
		fprintf(out, "%*s# %*s%.*s\n", indent, "", pad, "", len, text);
		text += len;
		while (*text == ' ')
			text++;
	}
}

/* Writes a string scalar, quoted when YAML would read it as something else. */
static void config_dump_string(FILE *out, const char *s)
{
	int quote = s[0] == '\0' || s[0] == ' ' || strpbrk(s, "[]{},#&*!|>'\"%@`\\") != NULL ||
	            strstr(s, ": ") != NULL || s[strlen(s) - 1] == ' ' || strcmp(s, "true") == 0 ||
	            strcmp(s, "false") == 0 || strcmp(s, "null") == 0;

	if (!quote) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/* Writes ms in the largest unit that divides it ("30s", "7d"), the form a
 * reader would type. */
static void config_dump_duration(char *buf, size_t size, int64_t ms)
{
	static const struct {
		int64_t ms;
		const char *unit;
	} units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};

	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(buf, size, "%" PRId64 "%s", ms / units[i].ms, units[i].unit);
			return;
		}
	}
	snprintf(buf, size, "%" PRId64 "%s", ms, ms != 0 ? "ms" : "");
}

/* The range a key's comment ends with, "" if it has none. */
static void config_dump_range(char *buf, size_t size, const struct config_key *k)
{
	char lo[32], hi[32];

	switch (k->type) {
	case CONFIG_INT:
		snprintf(buf, size, " (%" PRId64 "..%" PRId64 ")", k->min, k->max);
		break;
	case CONFIG_DURATION:
		config_dump_duration(lo, sizeof lo, k->min * k->unit_ms);
		config_dump_duration(hi, sizeof hi, k->max * k->unit_ms);
		snprintf(buf, size, " (%s..%s)", lo, hi);
		break;
	case CONFIG_NUMBER:
		snprintf(buf, size, " (%g..%g)", k->num_min, k->num_max);
		break;
	default:
		buf[0] = '\0';
		break;
	}
}

/* The comment a key gets: its doc, then its range or how to set it. */
static void config_dump_doc(FILE *out, int indent, const struct config_key *k, const char *leaf)
{
	char text[512], range[80];

	config_dump_range(range, sizeof range, k);
	switch (k->type) {
	case CONFIG_SECRET:
		snprintf(text, sizeof text,
		         "%s. %s: set exactly one of %s (inline; only for tests and demos) "
		         "or %s_file (a file holding it; a trailing newline is stripped; a "
		         "relative path is relative to this file's directory). At least %d bytes, "
		         "e.g. from `head -c 32 /dev/urandom | base64`.",
		         k->doc, (k->flags & CONFIG_REQUIRED) ? "Required" : "Optional", leaf, leaf,
		         CONFIG_SECRET_MIN);
		break;
	case CONFIG_LIST:
		snprintf(text, sizeof text, "%s. Each item:", k->doc);
		break;
	default:
		snprintf(text, sizeof text, "%s%s%s", k->doc, range,
		         (k->flags & CONFIG_REQUIRED) ? " (required)" : "");
		break;
	}
	config_dump_comment(out, indent, text);
}

/* Writes a STRLIST's default names as a flow list: "[a, b]". */
static void config_dump_names(FILE *out, const char *const *names)
{
	fputc('[', out);
	for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
		if (i > 0)
			fputs(", ", out);
		config_dump_string(out, names[i]);
	}
	fputc(']', out);
}

/* Writes "key: value" for one scalar key: its default, else its example. */
static void config_dump_value(FILE *out, const struct config_key *k, const char *leaf)
{
	switch (k->type) {
	case CONFIG_STRING:
		fprintf(out, "%s: ", leaf);
		if (k->def_str == NULL && k->example == NULL)
			fputs("null", out); /* CONFIG_NULLABLE: unset */
		else
			config_dump_string(out, k->def_str != NULL ? k->def_str : k->example);
		break;
	case CONFIG_INT:
	case CONFIG_DURATION:
		fprintf(out, "%s: %" PRId64, leaf, k->def);
		break;
	case CONFIG_NUMBER:
		fprintf(out, "%s: %g", leaf, k->num_def);
		break;
	case CONFIG_BOOL:
		fprintf(out, "%s: %s", leaf, k->def ? "true" : "false");
		break;
	case CONFIG_CHANNEL:
		fprintf(out, "%s: %s", leaf, k->example);
		break;
	case CONFIG_SECRET:
		fprintf(out, "%s_file: ", leaf);
		config_dump_string(out, k->example);
		break;
	case CONFIG_STRLIST:
		fprintf(out, "%s: ", leaf);
		if (k->def_items == NULL && k->example != NULL)
			fputs(k->example, out);
		else
			config_dump_names(out, k->def_items);
		break;
	case CONFIG_SKILLS:
	case CONFIG_CAPACITY:
		fprintf(out, "%s: %s", leaf, k->example != NULL ? k->example : "{}");
		break;
	case CONFIG_LIST:
		/* a list inside an item: its items are described in the comments */
		fprintf(out, "%s: []", leaf);
		break;
	default:
		break;
	}
	fputc('\n', out);
}

/* Writes the comment lines describing each key of a list's items; a
 * nested list's keys are indented inside the comment, under their key. */
static void config_dump_item_docs(FILE *out, int indent, const struct config_list *l, int depth)
{
	for (size_t j = 0; j < l->n_items; j++) {
		const struct config_key *ik = &l->items[j];
		char text[512], range[80];

		config_dump_range(range, sizeof range, ik);
		if (ik->type == CONFIG_SECRET)
			snprintf(text, sizeof text,
			         "%*s%s or %s_file: %s (at least %d bytes; exactly one of the two)",
			         depth * 2, "", ik->path, ik->path, ik->doc, CONFIG_SECRET_MIN);
		else if (ik->type == CONFIG_LIST)
			snprintf(text, sizeof text, "%*s%s: %s. Each item:", depth * 2, "",
			         ik->path, ik->doc);
		else
			snprintf(text, sizeof text, "%*s%s: %s%s%s", depth * 2, "", ik->path,
			         ik->doc, range,
			         (ik->flags & CONFIG_REQUIRED) ? " (required)" : "");
		config_dump_comment(out, indent, text);
		if (ik->type == CONFIG_LIST)
			config_dump_item_docs(out, indent, ik->list, depth + 1);
	}
}

/* Writes a list: the doc of each item key, then its default items or one
 * example item. */
static void config_dump_list(FILE *out, int indent, const struct config_key *k)
{
	const struct config_list *l = k->list;

	config_dump_item_docs(out, indent + 2, l, 0);
	if (k->def_items != NULL) {
		for (size_t j = 0; k->def_items[j] != NULL; j++)
			fprintf(out, "%*s- %s\n", indent + 2, "", k->def_items[j]);
		return;
	}
	for (size_t j = 0; j < l->n_items; j++) {
		fprintf(out, "%*s%s", indent + 2, "", j == 0 ? "- " : "  ");
		config_dump_value(out, &l->items[j], l->items[j].path);
	}
}

void config_dump_reference(FILE *out)
{
	fputs(
	    "# Switchboard configuration.\n"
	    "#\n"
	    "# Every key is listed with its default and what it does; a key left out takes its\n"
	    "# default, and an unknown key is an error. Durations are integers in the unit their\n"
	    "# name ends with (_ms, _s), or carry a unit: 500ms, 30s, 5m, 4h, 7d. Ranges are in\n"
	    "# parentheses. Check a file without starting the daemon: switchboard --check-config\n",
	    out);
	for (size_t i = 0; i < config_table_len; i++) {
		const struct config_key *k = &config_table[i];
		const char *leaf = strrchr(k->path, '.');
		int indent = 0;

		for (const char *p = k->path; *p != '\0'; p++)
			indent += (*p == '.') * 2;
		leaf = leaf != NULL ? leaf + 1 : k->path;
		/* a blank line between groups, but not right under a section's name */
		if (indent == 0 ||
		    (k->type == CONFIG_SECTION && config_table[i - 1].type != CONFIG_SECTION))
			fputc('\n', out);
		config_dump_doc(out, indent, k, leaf);
		fprintf(out, "%*s", indent, "");
		if (k->type == CONFIG_SECTION) {
			fprintf(out, "%s:\n", leaf);
		} else if (k->type == CONFIG_LIST) {
			fprintf(out, "%s:\n", leaf);
			config_dump_list(out, indent, k);
		} else {
			config_dump_value(out, k, leaf);
		}
	}
}
