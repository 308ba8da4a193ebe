/* A latency histogram with bounded relative error, for the load generator:
 * recording is O(1) and memory is fixed whatever the number of samples, so
 * millions of samples are never stored or sorted.
 *
 * Values (microseconds) fall in log-linear buckets: below 2^LOAD_HIST_SUB_BITS
 * one bucket per value, above that each power of two is split into
 * 2^LOAD_HIST_SUB_BITS equal buckets, so a percentile is off by at most
 * 1/2^LOAD_HIST_SUB_BITS (under 1 %) of its value. The maximum is exact.
 *
 * Owner: embedded by value in its user; no allocation. */
#ifndef SB_BENCH_LOAD_HIST_H
#define SB_BENCH_LOAD_HIST_H

#include <stdint.h>

#define LOAD_HIST_SUB_BITS 7
#define LOAD_HIST_SUB (1u << LOAD_HIST_SUB_BITS)
/* Powers of two up to 2^40 us (12 days) above the linear range. */
#define LOAD_HIST_BUCKETS (LOAD_HIST_SUB * (40 - LOAD_HIST_SUB_BITS + 2))

struct load_hist {
	uint64_t counts[LOAD_HIST_BUCKETS];
	uint64_t n;
	uint64_t max;
	double sum;
};

void load_hist_init(struct load_hist *h);
void load_hist_add(struct load_hist *h, uint64_t value_us);
/* The value at quantile q in [0, 1] (the upper edge of its bucket, never
 * above the maximum); 0 when empty. */
uint64_t load_hist_quantile(const struct load_hist *h, double q);
double load_hist_mean(const struct load_hist *h);

#endif
