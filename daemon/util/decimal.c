#include "util/decimal.h"

size_t decimal_u64(char *buf, uint64_t v)
{
	char tmp[DECIMAL_MAX];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

size_t decimal_i64(char *buf, int64_t v)
{
	if (v >= 0)
		return decimal_u64(buf, (uint64_t)v);
	buf[0] = '-';
	/* -(v + 1) + 1 reaches INT64_MIN's magnitude without overflow. */
	return 1 + decimal_u64(buf + 1, (uint64_t)(-(v + 1)) + 1);
}
