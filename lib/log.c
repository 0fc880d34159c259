/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log: text or JSON lines to stderr and, optionally, to DIR/<name>.log.
 * Library code logs once where a failure is known; fatal() only at start-up
 * or on a broken invariant.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	4096

static struct {
	char		 name[32];
	char		 dir[512];
	int		 fd;		/* the per-process file, or -1 */
	enum log_format	 fmt;
	int		 verbose;
} log_state = { "cfgw", "", -1, LOG_FORMAT_TEXT, 0 };

static void	log_emit(const char *level, const char *msg);
static void	log_vlog(const char *level, int with_errno, const char *fmt,
		    va_list ap);

int
log_init(const char *name, const char *dir, enum log_format fmt, int verbose)
{
	log_set_name(name);
	log_state.fmt = fmt;
	log_state.verbose = verbose;
	if (dir != NULL && *dir != '\0') {
		if (strlen(dir) >= sizeof(log_state.dir))
			return -1;
		strcpy(log_state.dir, dir);
	} else
		log_state.dir[0] = '\0';
	log_reopen();
	return (dir != NULL && *dir != '\0' && log_state.fd == -1) ? -1 : 0;
}

void
log_set_name(const char *name)
{
	snprintf(log_state.name, sizeof(log_state.name), "%s", name);
}

void
log_reopen(void)
{
	char	 path[600];
	int	 fd;

	if (log_state.dir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/%s.log", log_state.dir,
	    log_state.name);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd == -1)
		return;
	if (log_state.fd != -1)
		close(log_state.fd);
	log_state.fd = fd;
}

int
log_format_parse(const char *s, enum log_format *fmt)
{
	if (strcmp(s, "text") == 0)
		*fmt = LOG_FORMAT_TEXT;
	else if (strcmp(s, "json") == 0)
		*fmt = LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

/* Escape for a JSON string; control bytes become \u00XX. */
static size_t
log_json_escape(char *dst, size_t dsz, const char *src)
{
	size_t	 n = 0;

	for (; *src != '\0' && n + 7 < dsz; src++) {
		unsigned char c = (unsigned char)*src;

		if (c == '"' || c == '\\') {
			dst[n++] = '\\';
			dst[n++] = (char)c;
		} else if (c < 0x20) {
			n += (size_t)snprintf(dst + n, dsz - n, "\\u%04x", c);
		} else
			dst[n++] = (char)c;
	}
	dst[n] = '\0';
	return n;
}

static void
log_write_all(int fd, const char *buf, size_t len)
{
	ssize_t	 w;

	while (len > 0) {
		w = write(fd, buf, len);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += w;
		len -= (size_t)w;
	}
}

static void
log_emit(const char *level, const char *msg)
{
	char		 line[LOG_LINE_MAX + 256], esc[LOG_LINE_MAX + 64];
	char		 ts[40];
	struct timespec	 now;
	struct tm	 tm;
	int		 n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = (int)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - (size_t)n, ".%03ldZ",
	    now.tv_nsec / 1000000);

	if (log_state.fmt == LOG_FORMAT_JSON) {
		log_json_escape(esc, sizeof(esc), msg);
		n = snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":"
		    "\"%s\",\"proc\":\"%s\",\"pid\":%ld,\"msg\":\"%s\"}\n",
		    ts, level, log_state.name, (long)getpid(), esc);
	} else
		n = snprintf(line, sizeof(line), "%s[%ld]: %s %s: %s\n",
		    log_state.name, (long)getpid(), ts, level, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	log_write_all(STDERR_FILENO, line, (size_t)n);
	if (log_state.fd != -1)
		log_write_all(log_state.fd, line, (size_t)n);
}

static void
log_vlog(const char *level, int with_errno, const char *fmt, va_list ap)
{
	char	 msg[LOG_LINE_MAX];
	int	 saved = errno;
	int	 n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (with_errno && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s",
		    strerror(saved));
	log_emit(level, msg);
	errno = saved;
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vlog("info", 0, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vlog("warning", 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vlog("warning", 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (!log_state.verbose)
		return;
	va_start(ap, fmt);
	log_vlog("debug", 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vlog("fatal", 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vlog("fatal", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
