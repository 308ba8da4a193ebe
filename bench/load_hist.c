/* Log-linear latency histogram (see load_hist.h). */
#include "load_hist.h"

#include <string.h>

void load_hist_init(struct load_hist *h)
{
	memset(h, 0, sizeof(*h));
}

/* Bucket of v: linear below LOAD_HIST_SUB, then LOAD_HIST_SUB buckets for
 * each power of two, indexed by v's top LOAD_HIST_SUB_BITS + 1 bits. */
static unsigned load_hist_bucket(uint64_t v)
{
	unsigned msb, shift, idx;

	if (v < LOAD_HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - LOAD_HIST_SUB_BITS;
	idx = LOAD_HIST_SUB * (shift + 1) + (unsigned)((v >> shift) - LOAD_HIST_SUB);
	return idx < LOAD_HIST_BUCKETS ? idx : LOAD_HIST_BUCKETS - 1;
}

/* The largest value that falls in bucket idx. */
static uint64_t load_hist_upper(unsigned idx)
{
	unsigned shift;
	uint64_t base;

	if (idx < LOAD_HIST_SUB)
		return idx;
	shift = idx / LOAD_HIST_SUB - 1;
	base = (uint64_t)(LOAD_HIST_SUB + idx % LOAD_HIST_SUB) << shift;
	return base + ((uint64_t)1 << shift) - 1;
}

void load_hist_add(struct load_hist *h, uint64_t v)
{
	h->counts[load_hist_bucket(v)]++;
	h->n++;
	h->sum += (double)v;
	if (v > h->max)
		h->max = v;
}

uint64_t load_hist_quantile(const struct load_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->n == 0)
		return 0;
	if (q <= 0.0)
		q = 0.0;
	if (q >= 1.0)
		return h->max;
	/* The smallest value with at least ceil(q * n) samples at or below it. */
	rank = (uint64_t)(q * (double)h->n);
	if ((double)rank < q * (double)h->n)
		rank++;
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < LOAD_HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t up = load_hist_upper(i);
			return up < h->max ? up : h->max;
		}
	}
	return h->max;
}

double load_hist_mean(const struct load_hist *h)
{
	return h->n > 0 ? h->sum / (double)h->n : 0.0;
}
