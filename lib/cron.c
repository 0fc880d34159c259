/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cron schedules: parser and next/previous trigger search in an IANA zone.
 * The search walks the calendar field by field (month, day, hour, minute)
 * on local broken-down time, converting with mktime(3) under the schedule's
 * TZ, so daylight-saving transitions are the TZ database's, not ours.
 */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cron.h"

#define CRON_SEARCH_YEARS	8
#define CRON_SEARCH_STEPS	(CRON_SEARCH_YEARS * 366 * 26)
#define CRON_ALL_HOURS		0xffffffu

struct cron_field {
	const char	*name;
	int		 min, max;
	const char *const *names;	/* index 0 = min */
};

static const char *const cron_months[] = { "jan", "feb", "mar", "apr",
	"may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const cron_days[] = { "sun", "mon", "tue", "wed",
	"thu", "fri", "sat", NULL };

static const struct cron_field cron_fields[5] = {
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day-of-month", 1, 31, NULL },
	{ "month", 1, 12, cron_months },
	{ "day-of-week", 0, 7, cron_days },
};

static const struct {
	const char	*name;
	const char	*expr;
} cron_descriptors[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

struct cron_tzsave {
	char	*old;
	int	 had;
};

static int
cron_parse_num(const struct cron_field *f, const char *s, size_t n, int *out)
{
	char	 buf[16];
	char	*end;
	long	 v;
	int	 i;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (f->names != NULL && isalpha((unsigned char)buf[0])) {
		for (i = 0; f->names[i] != NULL; i++)
			if (strcasecmp(buf, f->names[i]) == 0) {
				*out = f->min + i;
				return 0;
			}
		return -1;
	}
	if (!isdigit((unsigned char)buf[0]))
		return -1;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || *end != '\0' || v < f->min || v > f->max)
		return -1;
	*out = (int)v;
	return 0;
}

/* One list element: "*", "*\/n", "a", "a-b", "a-b/n", "a/n". */
static int
cron_parse_elem(const struct cron_field *f, const char *s, size_t n,
    uint64_t *bits)
{
	const char	*slash, *dash;
	int		 lo, hi, step = 1, v;
	size_t		 rn;

	slash = memchr(s, '/', n);
	rn = slash != NULL ? (size_t)(slash - s) : n;
	if (slash != NULL && (cron_parse_num(&(struct cron_field){ "step",
	    1, f->max + 1, NULL }, slash + 1, n - rn - 1, &step) == -1))
		return -1;
	if (rn == 1 && (s[0] == '*' || s[0] == '?')) {
		lo = f->min;
		hi = f->max == 7 ? 6 : f->max;
	} else if ((dash = memchr(s, '-', rn)) != NULL) {
		if (cron_parse_num(f, s, (size_t)(dash - s), &lo) == -1 ||
		    cron_parse_num(f, dash + 1, rn - (size_t)(dash - s) - 1,
		    &hi) == -1 || hi < lo)
			return -1;
	} else {
		if (cron_parse_num(f, s, rn, &lo) == -1)
			return -1;
		hi = slash != NULL ? (f->max == 7 ? 6 : f->max) : lo;
	}
	for (v = lo; v <= hi; v += step)
		*bits |= 1ULL << (f->max == 7 && v == 7 ? 0 : v);
	return 0;
}

static int
cron_parse_field(const struct cron_field *f, const char *s, uint64_t *bits,
    int *star, char *err, size_t errsz)
{
	const char	*p = s, *comma;
	size_t		 n;

	*bits = 0;
	*star = (s[0] == '*' || s[0] == '?');
	for (;;) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (cron_parse_elem(f, p, n, bits) == -1) {
			snprintf(err, errsz, "invalid %s field \"%s\"",
			    f->name, s);
			return -1;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return 0;
}

int
cron_tz_valid(const char *tz)
{
	const char	*dir, *p;
	char		 path[PATH_MAX];

	if (tz == NULL || *tz == '\0' || strcmp(tz, "UTC") == 0 ||
	    strcmp(tz, "Etc/UTC") == 0)
		return 1;
	if (strlen(tz) >= CRON_TZ_MAX || tz[0] == '/' || strstr(tz, ".."))
		return 0;
	for (p = tz; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("/_+-", *p) == NULL)
			return 0;
	if ((dir = getenv("TZDIR")) == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, tz) >=
	    sizeof(path))
		return 0;
	return access(path, R_OK) == 0;
}

static int
cron_split_prefix(const char **expr, char *tz, size_t tzsz)
{
	const char	*s = *expr, *sp;
	size_t		 n;

	if (strncmp(s, "CRON_TZ=", 8) == 0)
		s += 8;
	else if (strncmp(s, "TZ=", 3) == 0)
		s += 3;
	else
		return 0;
	if ((sp = strchr(s, ' ')) == NULL)
		return -1;
	n = (size_t)(sp - s);
	if (n == 0 || n >= tzsz)
		return -1;
	memcpy(tz, s, n);
	tz[n] = '\0';
	while (*sp == ' ')
		sp++;
	*expr = sp;
	return 1;
}

static int
cron_parse_fields(struct cron *c, const char *expr, char *err, size_t errsz)
{
	char		 buf[256], *fld[6], *save = NULL, *t;
	uint64_t	 bits[5];
	int		 n = 0, star[5], i;

	if (strlen(expr) >= sizeof(buf)) {
		snprintf(err, errsz, "cron expression too long");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", expr);
	for (t = strtok_r(buf, " \t", &save); t != NULL && n < 6;
	    t = strtok_r(NULL, " \t", &save))
		fld[n++] = t;
	if (n != 5) {
		snprintf(err, errsz, "cron expression needs 5 fields, "
		    "got %s", n > 5 ? "more" : "fewer");
		return -1;
	}
	for (i = 0; i < 5; i++)
		if (cron_parse_field(&cron_fields[i], fld[i], &bits[i],
		    &star[i], err, errsz) == -1)
			return -1;
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->dom = (uint32_t)bits[2];
	c->month = (uint16_t)bits[3];
	c->dow = (uint8_t)bits[4];
	c->dom_star = star[2];
	c->dow_star = star[4];
	return 0;
}

int
cron_parse(struct cron *c, const char *expr, const char *tz, char *err,
    size_t errsz)
{
	char	 ptz[CRON_TZ_MAX];
	size_t	 i;
	int	 r;

	memset(c, 0, sizeof(*c));
	if (expr == NULL) {
		snprintf(err, errsz, "no cron expression");
		return -1;
	}
	while (isspace((unsigned char)*expr))
		expr++;
	if ((r = cron_split_prefix(&expr, ptz, sizeof(ptz))) == -1) {
		snprintf(err, errsz, "invalid CRON_TZ= prefix");
		return -1;
	}
	if (r == 1)
		tz = ptz;
	if (tz == NULL)
		tz = "";
	if (!cron_tz_valid(tz)) {
		snprintf(err, errsz, "unknown time zone \"%.64s\"", tz);
		return -1;
	}
	snprintf(c->tz, sizeof(c->tz), "%s", tz);
	if (expr[0] == '@') {
		for (i = 0; i < sizeof(cron_descriptors) /
		    sizeof(cron_descriptors[0]); i++)
			if (strcmp(expr, cron_descriptors[i].name) == 0)
				return cron_parse_fields(c,
				    cron_descriptors[i].expr, err, errsz);
		snprintf(err, errsz, "unknown cron descriptor \"%.32s\"",
		    expr);
		return -1;
	}
	return cron_parse_fields(c, expr, err, errsz);
}

static void
cron_tz_enter(const struct cron *c, struct cron_tzsave *sv)
{
	const char	*old = getenv("TZ");

	sv->had = old != NULL;
	sv->old = old != NULL ? strdup(old) : NULL;
	setenv("TZ", c->tz[0] != '\0' ? c->tz : "UTC", 1);
	tzset();
}

static void
cron_tz_leave(struct cron_tzsave *sv)
{
	if (sv->had && sv->old != NULL)
		setenv("TZ", sv->old, 1);
	else
		unsetenv("TZ");
	free(sv->old);
	sv->old = NULL;
	tzset();
}

static int
cron_day_match(const struct cron *c, const struct tm *tm)
{
	int	 d = (c->dom >> tm->tm_mday) & 1;
	int	 w = (c->dow >> tm->tm_wday) & 1;

	if (c->dom_star || c->dow_star)
		return d && w;
	return d || w;
}

/* Local midnight of tm's day, shifted by `days`. */
static time_t
cron_day_start(const struct tm *tm, int days)
{
	struct tm	 t = *tm;

	t.tm_mday += days;
	t.tm_hour = t.tm_min = t.tm_sec = 0;
	t.tm_isdst = -1;
	return mktime(&t);
}

static time_t
cron_month_start(const struct tm *tm, int months)
{
	struct tm	 t = *tm;

	t.tm_mon += months;
	t.tm_mday = 1;
	t.tm_hour = t.tm_min = t.tm_sec = 0;
	t.tm_isdst = -1;
	return mktime(&t);
}

/*
 * 1 when t is the second pass of a repeated wall-clock minute (fall
 * back): an hour earlier the clock read the same hour and minute.  Like
 * Vixie cron, only schedules with fixed hours skip the repeat; one that
 * runs every hour keeps running every hour.
 */
static int
cron_repeated(time_t t, const struct tm *tm)
{
	struct tm	 e;
	time_t		 u = t - 3600;

	if (localtime_r(&u, &e) == NULL)
		return 0;
	return e.tm_hour == tm->tm_hour && e.tm_min == tm->tm_min &&
	    e.tm_mday == tm->tm_mday;
}

/* Returns the next candidate after stepping, or t itself on a match. */
static time_t
cron_step_fwd(const struct cron *c, time_t t, int *match)
{
	struct tm	 tm;
	time_t		 hour0;
	int		 m;

	*match = 0;
	if (localtime_r(&t, &tm) == NULL)
		return -1;
	if (!((c->month >> (tm.tm_mon + 1)) & 1))
		return cron_month_start(&tm, 1);
	if (!cron_day_match(c, &tm))
		return cron_day_start(&tm, 1);
	hour0 = t - tm.tm_min * 60 - tm.tm_sec;
	if (!((c->hour >> tm.tm_hour) & 1))
		return hour0 + 3600;
	for (m = tm.tm_min; m < 60; m++)
		if ((c->minute >> m) & 1)
			break;
	if (m == 60)
		return hour0 + 3600;
	if (m != tm.tm_min)
		return hour0 + m * 60;
	if (c->hour != CRON_ALL_HOURS && cron_repeated(t, &tm))
		return t + 60;
	*match = 1;
	return t;
}

static time_t
cron_step_back(const struct cron *c, time_t t, int *match)
{
	struct tm	 tm;
	time_t		 hour0;
	int		 m;

	*match = 0;
	if (localtime_r(&t, &tm) == NULL)
		return -1;
	if (!((c->month >> (tm.tm_mon + 1)) & 1))
		return cron_month_start(&tm, 0) - 60;
	if (!cron_day_match(c, &tm))
		return cron_day_start(&tm, 0) - 60;
	hour0 = t - tm.tm_min * 60 - tm.tm_sec;
	if (!((c->hour >> tm.tm_hour) & 1))
		return hour0 - 60;
	for (m = tm.tm_min; m >= 0; m--)
		if ((c->minute >> m) & 1)
			break;
	if (m < 0)
		return hour0 - 60;
	if (m != tm.tm_min)
		return hour0 + m * 60;
	if (c->hour != CRON_ALL_HOURS && cron_repeated(t, &tm))
		return t - 60;
	*match = 1;
	return t;
}

static int
cron_search(const struct cron *c, time_t t, int fwd, time_t *out)
{
	struct cron_tzsave	 sv;
	int			 i, match = 0, rc = -1;

	if (c->minute == 0 || c->hour == 0 || c->dom == 0 || c->month == 0 ||
	    c->dow == 0)
		return -1;
	cron_tz_enter(c, &sv);
	for (i = 0; i < CRON_SEARCH_STEPS && t != -1; i++) {
		t = fwd ? cron_step_fwd(c, t, &match) :
		    cron_step_back(c, t, &match);
		if (match) {
			*out = t;
			rc = 0;
			break;
		}
	}
	cron_tz_leave(&sv);
	return rc;
}

int
cron_next(const struct cron *c, time_t after, time_t *out)
{
	time_t	 t = after - (after % 60 + 60) % 60 + 60;

	return cron_search(c, t, 1, out);
}

int
cron_prev(const struct cron *c, time_t at, time_t *out)
{
	time_t	 t = at - (at % 60 + 60) % 60;

	return cron_search(c, t, 0, out);
}

int
cron_time_parse(const char *s, time_t *out)
{
	struct tm	 tm;
	const char	*p;
	char		*end;
	int		 oh, om, n = 0;
	time_t		 t;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n",
	    &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec, &n) != 6 || n != 19)
		return -1;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	p = s + n;
	if (*p == '.') {
		strtoul(p + 1, &end, 10);
		if (end == p + 1)
			return -1;
		p = end;
	}
	if ((t = timegm(&tm)) == -1)
		return -1;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		*out = t;
		return 0;
	}
	if ((*p != '+' && *p != '-') || sscanf(p + 1, "%2d:%2d%n", &oh, &om,
	    &n) != 2 || n != 5 || p[6] != '\0' || oh > 23 || om > 59)
		return -1;
	*out = t - (*p == '+' ? 1 : -1) * (oh * 3600 + om * 60);
	return 0;
}

void
cron_time_format(time_t t, char *buf, size_t sz)
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		if (sz > 0)
			buf[0] = '\0';
	}
}
