/* SPDX-License-Identifier: Apache-2.0 */
/*
 * promtext: a strict checker for the Prometheus text lines workers hand
 * to cfgwd.  cfgwd pastes them into its own /metrics answer, so one bad
 * line from a compromised worker must not be able to break the whole
 * exposition, forge the supervisor's own families or smuggle bytes.
 */
#include <stdio.h>
#include <string.h>

#include "promtext.h"

static const char *const promtext_reserved[] = {
	"cfgw_build_", "cfgw_worker_", "cfgw_ipc_", NULL
};

static int
promtext_name_char(char c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return 1;
	return !first && ((c >= '0' && c <= '9') || c == ':');
}

/* Length of a metric name at p (0: not one we accept). */
static size_t
promtext_name(const char *p, const char *end)
{
	size_t	 n = 0, i;

	while (p + n < end && promtext_name_char(p[n], n == 0))
		n++;
	if (n <= 5 || strncmp(p, "cfgw_", 5) != 0 || n > 200)
		return 0;
	for (i = 0; promtext_reserved[i] != NULL; i++)
		if (n >= strlen(promtext_reserved[i]) && strncmp(p,
		    promtext_reserved[i], strlen(promtext_reserved[i])) == 0)
			return 0;
	return n;
}

static int
promtext_number(const char *p, const char *end)
{
	size_t	 n = (size_t)(end - p), i, digits = 0;

	if ((n == 4 && (strncmp(p, "+Inf", 4) == 0 ||
	    strncmp(p, "-Inf", 4) == 0)) || (n == 3 && strncmp(p, "NaN", 3)
	    == 0))
		return 0;
	for (i = 0; i < n; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			digits++;
		else if (strchr("+-.eE", p[i]) == NULL)
			return -1;
	}
	return digits > 0 && n <= 40 ? 0 : -1;
}

/* {a="x",b="y"}: returns the end of the label set, or NULL. */
static const char *
promtext_labels(const char *p, const char *end)
{
	size_t	 n;

	if (p >= end || *p != '{')
		return p;
	p++;
	while (p < end && *p != '}') {
		for (n = 0; p + n < end && promtext_name_char(p[n], n == 0);
		    n++)
			;
		if (n == 0 || n > 100 || p + n + 1 >= end || p[n] != '=' ||
		    p[n + 1] != '"')
			return NULL;
		for (p += n + 2; p < end && *p != '"'; p++)
			if (*p == '\\' && (p + 1 >= end ||
			    strchr("\\\"n", *++p) == NULL))
				return NULL;
		if (p >= end)
			return NULL;
		p++;
		if (p < end && *p == ',')
			p++;
	}
	return p < end ? p + 1 : NULL;
}

static int
promtext_line(const char *p, const char *end)
{
	const char	*q;
	size_t		 n;

	if (end - p >= 7 && (strncmp(p, "# HELP ", 7) == 0 ||
	    strncmp(p, "# TYPE ", 7) == 0)) {
		q = p + 7;
		if ((n = promtext_name(q, end)) == 0 || q + n == end ||
		    q[n] != ' ')
			return -1;
		if (p[2] == 'H')
			return 0;
		q += n + 1;
		n = (size_t)(end - q);
		return (n == 7 && strncmp(q, "counter", 7) == 0) ||
		    (n == 5 && strncmp(q, "gauge", 5) == 0) ||
		    (n == 7 && strncmp(q, "untyped", 7) == 0) ? 0 : -1;
	}
	if ((n = promtext_name(p, end)) == 0)
		return -1;
	if ((q = promtext_labels(p + n, end)) == NULL || q >= end ||
	    *q != ' ')
		return -1;
	return promtext_number(q + 1, end);
}

int
promtext_check(const char *text, size_t len, char *why, size_t whysz)
{
	const char	*p = text, *end = text + len, *nl;
	size_t		 i, line = 1;

	if (len > PROMTEXT_MAX || (len > 0 && text[len - 1] != '\n')) {
		snprintf(why, whysz, len > PROMTEXT_MAX ? "over %u bytes" :
		    "no final newline", PROMTEXT_MAX);
		return -1;
	}
	for (i = 0; i < len; i++)
		if ((text[i] < 0x20 || text[i] > 0x7e) && text[i] != '\n') {
			snprintf(why, whysz, "byte 0x%02x at offset %zu",
			    (unsigned char)text[i], i);
			return -1;
		}
	for (; p < end; p = nl + 1, line++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl - p > PROMTEXT_LINE_MAX || nl == p ||
		    promtext_line(p, nl) == -1) {
			snprintf(why, whysz, "line %zu is not an acceptable "
			    "metric line", line);
			return -1;
		}
	}
	return 0;
}
