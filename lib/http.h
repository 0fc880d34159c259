/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_HTTP_H
#define CFGW_HTTP_H

#include <stddef.h>
#include <time.h>

#include <curl/curl.h>

/*
 * Small libcurl helpers shared by the Kubernetes and Cloudflare clients:
 * one global init, the User-Agent, a capped response buffer, Retry-After
 * and jittered backoff.
 */

/* curl_global_init once (call before the sandbox / threads); 0 or -1. */
int	 http_global_init(void);
/* "cfgw/<CFGW_VERSION> (<process>)". */
void	 http_user_agent(char *buf, size_t sz, const char *process);

/* A response body that refuses to grow past max. */
struct http_buf {
	char	*data;		/* NUL-terminated when non-NULL */
	size_t	 len;
	size_t	 cap;
	size_t	 max;
	int	 overflow;	/* set when the cap was hit */
};

void	 http_buf_init(struct http_buf *, size_t max);
void	 http_buf_reset(struct http_buf *);
void	 http_buf_free(struct http_buf *);
/* Detach the data (caller frees); the buffer is left empty. */
char	*http_buf_take(struct http_buf *, size_t *len);
/* CURLOPT_WRITEFUNCTION with CURLOPT_WRITEDATA = struct http_buf *. */
size_t	 http_buf_write(char *, size_t, size_t, void *);

/* Response headers we care about, via CURLOPT_HEADERFUNCTION/HEADERDATA. */
struct http_hdrs {
	long	 retry_after;	/* seconds, -1 when absent */
	char	 content_type[128];
};

void	 http_hdrs_init(struct http_hdrs *);
size_t	 http_hdrs_write(char *, size_t, size_t, void *);

/* Retry-After value: delta-seconds or an HTTP-date; -1 if unparsable. */
long	 http_retry_after_parse(const char *value, time_t now);
/* 1 for 408, 429, 500, 502, 503, 504. */
int	 http_status_retryable(long status);
/* 1 for transport errors worth a retry; *unsent = request never left. */
int	 http_curl_retryable(CURLcode, int *unsent);
/*
 * Backoff before attempt n (0-based): base*2^n capped at max, with "equal
 * jitter" (half fixed, half random), in ms.  retry_after (s, -1 none)
 * overrides when larger.
 */
long	 http_backoff_ms(int attempt, long base_ms, long max_ms,
	    long retry_after);
/* Sleep ms milliseconds (EINTR-safe). */
void	 http_sleep_ms(long ms);

#endif
