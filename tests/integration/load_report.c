/* Reading sb-load's report: see load_report.h. */
#include "load_report.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

const char *load_path(void)
{
	const char *p = getenv("SB_LOAD");

	if (p == NULL || *p == '\0')
		fail_msg("SB_LOAD is not set (run through ctest)");
	return p;
}

const char *load_report(const char *output)
{
	const char *p = output;

	while (p != NULL && *p != '\0') {
		if (*p == '{')
			return p;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	fail_msg("no report from sb-load: %s", output ? output : "(no output)");
	return NULL;
}

long load_num(const char *report, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof pat, "\"%s\":", key);
	p = strstr(report, pat);
	if (p == NULL)
		fail_msg("no %s in the report: %s", key, report);
	return strtol(p + strlen(pat), NULL, 10);
}
