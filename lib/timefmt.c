/* SPDX-License-Identifier: Apache-2.0 */
/* timefmt: parsing and comparing RFC 3339 timestamps. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

static int
timefmt_digits(const char **p, int n, int *out)
{
	int	 v = 0;

	while (n-- > 0) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return 0;
}

static int
timefmt_expect(const char **p, const char *set)
{
	if (**p == '\0' || strchr(set, **p) == NULL)
		return -1;
	(*p)++;
	return 0;
}

int
time_parse_rfc3339(const char *s, struct timespec *out)
{
	struct tm	 tm;
	const char	*p = s;
	int		 y, mo, d, h, mi, se, oh, om, sign;
	long		 ns = 0, scale = 100000000;
	time_t		 t;

	if (s == NULL || timefmt_digits(&p, 4, &y) == -1 ||
	    timefmt_expect(&p, "-") == -1 || timefmt_digits(&p, 2, &mo) ||
	    timefmt_expect(&p, "-") == -1 || timefmt_digits(&p, 2, &d) ||
	    timefmt_expect(&p, "Tt ") == -1 || timefmt_digits(&p, 2, &h) ||
	    timefmt_expect(&p, ":") == -1 || timefmt_digits(&p, 2, &mi) ||
	    timefmt_expect(&p, ":") == -1 || timefmt_digits(&p, 2, &se))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60)
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			ns += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		sign = 0, oh = om = 0;
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (timefmt_digits(&p, 2, &oh) == -1 ||
		    timefmt_expect(&p, ":") == -1 ||
		    timefmt_digits(&p, 2, &om) == -1 || oh > 23 || om > 59)
			return -1;
	} else
		return -1;
	if (*p != '\0')
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	out->tv_sec = t - (time_t)sign * (oh * 3600 + om * 60);
	out->tv_nsec = ns;
	return 0;
}

int
time_cmp_rfc3339(const char *a, const char *b)
{
	struct timespec	 ta, tb;

	if (time_parse_rfc3339(a, &ta) == -1 ||
	    time_parse_rfc3339(b, &tb) == -1)
		return -2;
	if (ta.tv_sec != tb.tv_sec)
		return ta.tv_sec < tb.tv_sec ? -1 : 1;
	if (ta.tv_nsec != tb.tv_nsec)
		return ta.tv_nsec < tb.tv_nsec ? -1 : 1;
	return 0;
}
