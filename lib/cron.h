/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_CRON_H
#define CFGW_CRON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Five-field cron schedules (minute hour day-of-month month day-of-week)
 * with the usual syntax: "*", "a", "a-b", "*\/n", "a-b/n", "a/n", lists
 * with ",", month names jan..dec, weekday names sun..sat, 7 = Sunday, "?"
 * for "*" in the day fields.  Descriptors: @yearly @annually @monthly
 * @weekly @daily @midnight @hourly.  A "CRON_TZ=<zone> " or "TZ=<zone> "
 * prefix overrides the zone argument.
 *
 * Day matching is Vixie cron's: when both day-of-month and day-of-week are
 * restricted (neither starts with "*" or "?"), a day matches if either
 * does; otherwise both must.
 *
 * Times are evaluated in an IANA zone from the TZ database (TZDIR or
 * /usr/share/zoneinfo).  Daylight saving time: a wall-clock time that does
 * not exist (spring forward) is skipped that day; a wall-clock time that
 * happens twice (fall back) fires once, at its first occurrence, unless
 * the hour field is "*" (then every real hour fires).
 *
 * Zone handling sets TZ in the environment for the duration of a call and
 * restores it: not thread-safe (workers are single-threaded).
 */

#define CRON_TZ_MAX	64
#define CRON_DEFAULT	"0 18 * * 4"
#define CRON_DEFAULT_TZ	"America/Los_Angeles"

struct cron {
	uint64_t	 minute;	/* bits 0..59 */
	uint32_t	 hour;		/* bits 0..23 */
	uint32_t	 dom;		/* bits 1..31 */
	uint16_t	 month;		/* bits 1..12 */
	uint8_t		 dow;		/* bits 0..6, 0 = Sunday */
	int		 dom_star;
	int		 dow_star;
	char		 tz[CRON_TZ_MAX];	/* "" = UTC */
};

/*
 * Parse expr in zone tz (NULL or "" = UTC).  0, or -1 with a message in
 * err (an unknown zone is an error, never a silent UTC).
 */
int	 cron_parse(struct cron *, const char *expr, const char *tz,
	    char *err, size_t errsz);
/* 1 if tz names a zone in the TZ database (or is UTC/""), else 0. */
int	 cron_tz_valid(const char *tz);
/* First trigger strictly after `after`: 0, or -1 if none within 8 years. */
int	 cron_next(const struct cron *, time_t after, time_t *out);
/* Last trigger at or before `at`: 0, or -1 if none within 8 years. */
int	 cron_prev(const struct cron *, time_t at, time_t *out);

/* RFC 3339 UTC ("2026-11-26T02:00:00Z") <-> time_t.  0 or -1. */
int	 cron_time_parse(const char *, time_t *);
void	 cron_time_format(time_t, char *buf, size_t sz);

#endif
