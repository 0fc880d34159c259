/* SPDX-License-Identifier: Apache-2.0 */
/*
 * accesslog: --access-log PATH|-, one JSON object per answered request:
 *
 *	{"time":"2026-11-27T08:00:00.123Z","client":"127.0.0.1",
 *	 "method":"GET","host":"app.example.com","path":"/x?y=1",
 *	 "status":200,"duration_s":0.000412,"route":"HTTPRoute/default/web#0",
 *	 "backend":"default/web:80","attempts":1}
 *
 * One write(2) per line with O_APPEND, so lines from one process are never
 * interleaved.  Nothing is formatted when the log is off (the caller tests
 * accesslog_on).  Mirror copies are not logged.
 */
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proxy.h"

int		 accesslog_on;
static int	 alog_fd = -1;

int
accesslog_open(const char *path)
{
	if (path == NULL || path[0] == '\0')
		return 0;
	if (strcmp(path, "-") == 0)
		alog_fd = STDOUT_FILENO;
	else if ((alog_fd = open(path, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0640)) == -1) {
		log_warn("access log %s", path);
		return -1;
	}
	accesslog_on = 1;
	return 0;
}

struct abuf {
	char	 b[16384];	/* holds the worst case: all escaped */
	size_t	 n;
};

static void
ab_raw(struct abuf *a, const char *s, size_t l)
{
	if (a->n + l < sizeof(a->b)) {
		memcpy(a->b + a->n, s, l);
		a->n += l;
	}
}

/* s as a JSON string (quoted, escaped, at most max bytes of s). */
static void
ab_str(struct abuf *a, const char *key, const char *s, size_t max)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 e[6] = "\\u00";
	size_t			 i;
	unsigned char		 c;

	ab_raw(a, key, strlen(key));
	ab_raw(a, "\"", 1);
	for (i = 0; s != NULL && s[i] != '\0' && i < max; i++) {
		c = s[i];
		if (c == '"' || c == '\\') {
			ab_raw(a, "\\", 1);
			ab_raw(a, (const char *)&c, 1);
		} else if (c < 0x20 || c == 0x7f) {
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			ab_raw(a, e, 6);
		} else
			ab_raw(a, (const char *)&c, 1);
	}
	ab_raw(a, "\"", 1);
}

void
accesslog_write(const struct xch *x, double secs)
{
	struct abuf	 a;
	char		 ts[96];
	struct timeval	 now;
	struct tm	 tm;
	size_t		 n;

	if (alog_fd == -1 || x->is_mirror)
		return;
	a.n = 0;
	gettimeofday(&now, NULL);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(ts, sizeof(ts), "{\"time\":\"%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(ts + n, sizeof(ts) - n, ".%03dZ\"",
	    (int)(now.tv_usec / 1000));
	ab_raw(&a, ts, n);
	ab_str(&a, ",\"client\":", x->client_ip, 64);
	ab_str(&a, ",\"method\":", x->method, 32);
	ab_str(&a, ",\"host\":", x->authority, 256);
	ab_str(&a, ",\"path\":", x->path, 1024);
	n = snprintf(ts, sizeof(ts), ",\"status\":%d,\"duration_s\":%.6f",
	    x->status, secs);
	ab_raw(&a, ts, n);
	ab_str(&a, ",\"route\":", x->rule ? x->rule->route : NULL, 300);
	ab_str(&a, ",\"backend\":", x->be ? x->be->name : NULL, 300);
	n = snprintf(ts, sizeof(ts), ",\"attempts\":%d}\n", x->attempt + 1);
	ab_raw(&a, ts, n);
	while (write(alog_fd, a.b, a.n) == -1 && errno == EINTR)
		;
}
