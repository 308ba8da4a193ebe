/* The wallboard's figures in Redis: see figures.h for the format. */
#include "record/figures.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/xalloc.h"

/* Samples the history field can carry (an hour at 15 s is 240). */
#define FIGURES_MAX_SAMPLES 1024

struct store_field *record_figures_encode(int64_t day_ms, const struct record_figures_queue *q,
                                          size_t nq, size_t *n_fields)
{
	struct store_field *f = xcalloc(1 + 2 * nq, sizeof *f);
	size_t n = 0;

	f[n].name = xstrdup("day");
	f[n++].value = xasprintf("%" PRId64, day_ms);
	for (size_t i = 0; i < nq; i++) {
		const struct engine_period_stats *t = &q[i].today;
		f[n].name = xasprintf("q:%s", q[i].name);
		f[n++].value = xasprintf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
		                              " %" PRIu64 " %" PRIu64 " %.0f",
		                              t->offered, t->answered, t->answered_in_sla,
		                              t->abandoned_in_sla, t->abandoned_after_sla, t->expired,
		                              t->overflowed, q[i].asa_sum_ms);
		/* 30 bytes a sample at most */
		size_t cap = q[i].n * 48 + 1, len = 0;
		char *h = xmalloc(cap);
		h[0] = '\0';
		for (size_t k = 0; k < q[i].n; k++)
			len += (size_t)snprintf(h + len, cap - len, "%s%" PRId64 ":%d:%" PRIu32,
			                        k ? "," : "", q[i].t_ms[k],
			                        q[i].sl[k] < 0 ? -1 : (int)(q[i].sl[k] * 1000.0 + 0.5),
			                        q[i].waiting[k]);
		f[n].name = xasprintf("h:%s", q[i].name);
		f[n++].value = h;
	}
	*n_fields = n;
	return f;
}

void record_figures_free(struct store_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)f[i].name);
		free((char *)f[i].value);
	}
	free(f);
}

/* "t:sl:w,..." into the arrays; -1 when it is not that. */
static int figures_history(const char *s, size_t len, int64_t *t, double *sl, uint32_t *w)
{
	char *copy = xmalloc(len + 1), *save = NULL;
	int n = 0;

	memcpy(copy, s, len);
	copy[len] = '\0';
	for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		long long tt;
		int slm;
		unsigned ww;
		int used = 0;
		if (n == FIGURES_MAX_SAMPLES || sscanf(tok, "%lld:%d:%u%n", &tt, &slm, &ww, &used) != 3 ||
		    tok[used] != '\0' || slm < -1 || slm > 1000) {
			n = -1;
			break;
		}
		t[n] = tt;
		sl[n] = slm < 0 ? -1 : slm / 1000.0;
		w[n++] = ww;
	}
	free(copy);
	return n;
}

int record_figures_decode(const struct store_field *f, size_t n, int64_t *day_ms,
                          const struct record_figures_sink *sink)
{
	int bad = 0;
	int64_t *t = xcalloc(FIGURES_MAX_SAMPLES, sizeof *t);
	double *sl = xcalloc(FIGURES_MAX_SAMPLES, sizeof *sl);
	uint32_t *w = xcalloc(FIGURES_MAX_SAMPLES, sizeof *w);

	*day_ms = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = f[i].len ? f[i].len : strlen(f[i].value);
		char v[256];
		if (strcmp(f[i].name, "day") == 0) {
			long long d;
			snprintf(v, sizeof v, "%.*s", (int)(len < sizeof v ? len : sizeof v - 1), f[i].value);
			if (sscanf(v, "%lld", &d) == 1)
				*day_ms = d;
			else
				bad++;
		} else if (strncmp(f[i].name, "q:", 2) == 0) {
			struct engine_period_stats s = {0};
			double asa;
			int used = 0;
			snprintf(v, sizeof v, "%.*s", (int)(len < sizeof v ? len : sizeof v - 1), f[i].value);
			if (sscanf(v, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
			           " %" SCNu64 " %lf%n",
			           &s.offered, &s.answered, &s.answered_in_sla, &s.abandoned_in_sla,
			           &s.abandoned_after_sla, &s.expired, &s.overflowed, &asa, &used) != 8 ||
			    v[used] != '\0') {
				bad++;
				continue;
			}
			if (sink->today != NULL)
				sink->today(sink->arg, f[i].name + 2, &s, asa);
		} else if (strncmp(f[i].name, "h:", 2) == 0) {
			int k = figures_history(f[i].value, len, t, sl, w);
			if (k < 0)
				bad++;
			else if (sink->history != NULL)
				sink->history(sink->arg, f[i].name + 2, (size_t)k, t, sl, w);
		}
	}
	free(t);
	free(sl);
	free(w);
	return bad;
}
