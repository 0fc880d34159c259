/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_LOG_H
#define CFGW_LOG_H

#include <stdarg.h>

/*
 * One logging interface for every process.  Each line carries the process
 * name and pid.  With a log directory, lines go to DIR/<name>.log and to
 * stderr prefixed "<name>[pid]: ".  Never log a token, a Secret's data or a
 * whole Kubernetes object.
 */

enum log_format {
	LOG_FORMAT_TEXT,
	LOG_FORMAT_JSON,
};

int	 log_init(const char *name, const char *dir, enum log_format fmt,
	    int verbose);
void	 log_set_name(const char *name);
void	 log_reopen(void);
int	 log_format_parse(const char *s, enum log_format *fmt);

void	 log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
