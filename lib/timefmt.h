/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_TIMEFMT_H
#define CFGW_TIMEFMT_H

#include <time.h>

/*
 * RFC 3339 timestamps as Kubernetes and Go write them: seconds, an
 * optional fraction (up to nanoseconds) and "Z" or a numeric offset.
 * Annotations written by other tools (the reference CLI writes local
 * offsets) must be compared as times, never as strings.
 */
int	 time_parse_rfc3339(const char *, struct timespec *);
/* <0, 0, >0 like strcmp; -2 when either does not parse. */
int	 time_cmp_rfc3339(const char *, const char *);

#endif
