/* SPDX-License-Identifier: Apache-2.0 */
/* http: libcurl helpers shared by the Kubernetes and Cloudflare clients. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"
#include "log.h"

#ifndef CFGW_VERSION
#define CFGW_VERSION "0"
#endif

static int	http_inited;

int
http_global_init(void)
{
	CURLcode	 rc;

	if (http_inited)
		return 0;
	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		log_warnx("curl_global_init: %s", curl_easy_strerror(rc));
		return -1;
	}
	http_inited = 1;
	return 0;
}

void
http_user_agent(char *buf, size_t sz, const char *process)
{
	snprintf(buf, sz, "cfgw/%s (%s)", CFGW_VERSION,
	    process != NULL ? process : "cfgw");
}

void
http_buf_init(struct http_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
http_buf_reset(struct http_buf *b)
{
	b->len = 0;
	b->overflow = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
http_buf_free(struct http_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->overflow = 0;
}

char *
http_buf_take(struct http_buf *b, size_t *len)
{
	char	*p = b->data;

	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

size_t
http_buf_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_buf	*b = arg;
	size_t		 n = size * nmemb, ncap;
	char		*p;

	if (nmemb != 0 && n / nmemb != size)
		return 0;
	if (b->max != 0 && (n > b->max || b->len > b->max - n)) {
		b->overflow = 1;
		return 0;	/* curl aborts with CURLE_WRITE_ERROR */
	}
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 4096;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((p = realloc(b->data, ncap)) == NULL)
			return 0;
		b->data = p;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

void
http_hdrs_init(struct http_hdrs *h)
{
	memset(h, 0, sizeof(*h));
	h->retry_after = -1;
}

static int
http_hdr_match(const char *line, size_t n, const char *name, char *val,
    size_t valsz)
{
	size_t	 nl = strlen(name), i, j;

	if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return 0;
	for (i = nl + 1; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	for (j = n; j > i && isspace((unsigned char)line[j - 1]); j--)
		;
	if (j - i >= valsz)
		j = i + valsz - 1;
	memcpy(val, line + i, j - i);
	val[j - i] = '\0';
	return 1;
}

size_t
http_hdrs_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_hdrs	*h = arg;
	size_t			 n = size * nmemb;
	char			 val[128];

	/* A new response (redirect, 100-continue) starts over. */
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
		http_hdrs_init(h);
	else if (http_hdr_match(ptr, n, "Retry-After", val, sizeof(val)))
		h->retry_after = http_retry_after_parse(val, time(NULL));
	else
		http_hdr_match(ptr, n, "Content-Type", h->content_type,
		    sizeof(h->content_type));
	return n;
}

long
http_retry_after_parse(const char *v, time_t now)
{
	struct tm	 tm;
	const char	*end;
	char		*ep;
	long		 s;
	time_t		 t;

	if (v == NULL || *v == '\0')
		return -1;
	if (isdigit((unsigned char)*v)) {
		errno = 0;
		s = strtol(v, &ep, 10);
		if (errno != 0 || *ep != '\0' || s < 0)
			return -1;
		return s > 86400 ? 86400 : s;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	if (t <= now)
		return 0;
	return t - now > 86400 ? 86400 : (long)(t - now);
}

int
http_status_retryable(long status)
{
	switch (status) {
	case 408: case 429: case 500: case 502: case 503: case 504:
		return 1;
	default:
		return 0;
	}
}

int
http_curl_retryable(CURLcode rc, int *unsent)
{
	int	 u = 0, r = 0;

	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		u = r = 1;
		break;
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		r = 1;
		break;
	default:
		break;
	}
	if (unsent != NULL)
		*unsent = u;
	return r;
}

long
http_backoff_ms(int attempt, long base_ms, long max_ms, long retry_after)
{
	long	 d = base_ms, half;
	int	 i;

	for (i = 0; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	half = d / 2;
	/* Jitter need not be cryptographic; it spreads clients apart. */
	d = half + (half > 0 ? random() % (half + 1) : 0);
	if (retry_after >= 0 && retry_after * 1000 > d)
		d = retry_after * 1000;
	return d;
}

void
http_sleep_ms(long ms)
{
	struct timespec	 ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
