/* SPDX-License-Identifier: Apache-2.0 */
/* route_compile: STUB while the compiler is written (helper h6). */
#include <stdio.h>
#include <stdlib.h>

#include "route.h"

struct route_result *
route_compile(const struct route_input *in, char *err, size_t errsz)
{
	(void)in;
	if (err != NULL && errsz > 0)
		snprintf(err, errsz, "route compiler not implemented yet");
	return NULL;
}

void
route_result_free(struct route_result **pr)
{
	free(*pr);
	*pr = NULL;
}

char *
route_result_status_json(const struct route_result *r, const char *cn,
    size_t *len)
{
	(void)r;
	(void)cn;
	if (len != NULL)
		*len = 0;
	return NULL;
}

const char *
route_cond_status_name(enum route_cond_status s)
{
	switch (s) {
	case ROUTE_COND_TRUE:
		return "True";
	case ROUTE_COND_FALSE:
		return "False";
	default:
		return "Unknown";
	}
}

int
route_hostname_match(const char *pattern, const char *host)
{
	(void)pattern;
	(void)host;
	return 0;
}

int
route_hostname_intersect(const char *a, const char *b, char *out,
    size_t outsz)
{
	(void)a;
	(void)b;
	(void)out;
	(void)outsz;
	return 0;
}

long long
route_duration_ms(const char *s)
{
	(void)s;
	return -1;
}
