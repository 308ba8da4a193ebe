/* The store's request encoding (store/resp.c) and the decimal writer it and
 * the sink use (decimal.c): the bytes Redis parses must be exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/decimal.h"
#include "store/resp.h"

static void assert_decimal(int64_t v, const char *want)
{
	char buf[DECIMAL_MAX];
	size_t n = decimal_i64(buf, v);

	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

static void test_decimal_edges(void **state)
{
	(void)state;
	assert_decimal(0, "0");
	assert_decimal(7, "7");
	assert_decimal(10, "10");
	assert_decimal(-1, "-1");
	assert_decimal(1790000000123, "1790000000123");
	assert_decimal(INT64_MAX, "9223372036854775807");
	assert_decimal(INT64_MIN, "-9223372036854775808");

	char buf[DECIMAL_MAX];
	assert_int_equal(decimal_u64(buf, UINT64_MAX), 20);
	assert_string_equal(buf, "18446744073709551615");
}

static void test_arguments_are_bulk_strings(void **state)
{
	struct resp r = { 0 };
	(void)state;

	resp_add_str(&r, "HSET");
	resp_add(&r, "a\0b", 3); /* binary-safe */
	resp_add(&r, "", 0);
	resp_add_num(&r, -42);
	const char *key[] = { "sb:{s}:ext:", "gw1", ":", "x" };
	resp_add_parts(&r, key, 4);

	static const char want[] = "$4\r\nHSET\r\n$3\r\na\0b\r\n$0\r\n\r\n$3\r\n-42\r\n"
				   "$16\r\nsb:{s}:ext:gw1:x\r\n";
	assert_int_equal(r.n, 5);
	assert_int_equal(r.len, sizeof want - 1);
	assert_memory_equal(r.buf, want, sizeof want - 1);
	resp_free(&r);
	assert_null(r.buf);
	assert_int_equal(r.n, 0);
}

static void test_a_command_is_header_then_arguments(void **state)
{
	struct resp args = { 0 }, cmd = { 0 };
	(void)state;

	resp_add_str(&args, "k");
	resp_add_all(&cmd, &args); /* empty + something */
	struct resp all = { 0 };
	resp_add_header(&all, 1 + cmd.n);
	resp_add_str(&all, "GET");
	resp_add_all(&all, &cmd);
	assert_int_equal(all.n, 2);
	assert_int_equal(all.len, strlen("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"));
	assert_memory_equal(all.buf, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", all.len);

	/* Growth past the first block keeps every byte. */
	struct resp big = { 0 };
	char v[1000];
	memset(v, 'x', sizeof v);
	for (int i = 0; i < 100; i++)
		resp_add(&big, v, sizeof v);
	assert_int_equal(big.n, 100);
	assert_int_equal(big.len, 100 * (strlen("$1000\r\n") + 1000 + 2));
	assert_memory_equal(big.buf + big.len - 1002, v, 1000);
	resp_free(&big);
	resp_free(&all);
	resp_free(&cmd);
	resp_free(&args);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decimal_edges),
		cmocka_unit_test(test_arguments_are_bulk_strings),
		cmocka_unit_test(test_a_command_is_header_then_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
