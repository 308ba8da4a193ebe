/* What the tests that drive bench/sb-load share: where it is, and reading
 * its one-line JSON report (`--json`). */
#ifndef SB_TEST_LOAD_REPORT_H
#define SB_TEST_LOAD_REPORT_H

/* Path of sb-load ($SB_LOAD, set by CTest); fails the test when unset. */
const char *load_path(void);
/* The report line of sb-load's output (the one starting with '{'). */
const char *load_report(const char *output);
/* The number after "\"key\":" in the report; fails the test when absent. */
long load_num(const char *report, const char *key);

#endif
