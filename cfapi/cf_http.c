/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfapi's HTTP exchanges with Cloudflare: one reused libcurl handle (the
 * connection stays open), the per-token budget (token bucket adjusted down
 * from the Ratelimit headers, paused on 429), jittered exponential
 * backoff for 5xx, 429, timeouts and connection errors, and counters by
 * endpoint and status.  A request marked CF_F_UNSAFE (a POST that
 * creates) is never retried blindly: when it may have reached Cloudflare
 * the caller is told (maybe_sent) and looks before trying again.
 */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

#include "cfapi.h"
#include "http.h"
#include "log.h"

struct cf_hdrcap {
	struct http_hdrs	 h;
	char			 rl[128];	/* Ratelimit */
	char			 rlp[128];	/* Ratelimit-Policy */
};

static size_t	cf_hdr_cb(char *, size_t, size_t, void *);
static int	cf_xfer_cb(void *, curl_off_t, curl_off_t, curl_off_t,
		    curl_off_t);
static void	cf_zone_gone(struct cfapi_state *, const char *,
		    const struct cf_http *);
static int	cf_budget_take(struct cfapi_state *, struct cf_cred *,
		    struct cf_err *);
static void	cf_budget_adjust(struct cfapi_state *, struct cf_bucket *,
		    const struct cf_hdrcap *);
static CURLcode	cf_perform(struct cfapi_state *, const struct cf_cred *,
		    const char *, const char *, const char *, struct http_buf *,
		    struct cf_hdrcap *, long *);

int
cf_http_init(struct cfapi_state *st)
{
	if ((st->curl = curl_easy_init()) == NULL) {
		log_warnx("curl_easy_init failed");
		return -1;
	}
	return 0;
}

void
cf_http_cleanup(struct cfapi_state *st)
{
	if (st->curl != NULL)
		curl_easy_cleanup(st->curl);
	st->curl = NULL;
}

const char *
cf_errkind_name(enum cf_errkind k)
{
	switch (k) {
	case CF_E_NOT_FOUND:	return "not_found";
	case CF_E_CONFLICT:	return "conflict";
	case CF_E_RATE:		return "rate_limited";
	case CF_E_AUTH:		return "auth";
	case CF_E_VALIDATION:	return "validation";
	case CF_E_TRANSPORT:	return "transport";
	case CF_E_CREDENTIALS:	return "credentials";
	default:		return "internal";
	}
}

void
cf_err_set(struct cf_err *e, enum cf_errkind k, const char *fmt, ...)
{
	va_list	 ap;

	e->kind = k;
	e->ncodes = 0;
	e->retry_after = -1;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

void
cf_err_from(struct cf_err *e, const struct cf_http *h)
{
	const struct cfresp	*r = &h->resp;
	enum cf_errkind		 k;
	size_t			 i;

	/* 7003 "Could not route to ...": our ids are well formed, so the
	 * object (a zone) does not exist (any more). */
	if (h->status == 404 || (h->parsed && (cfparse_has_code(r, 81044) ||
	    cfparse_has_code(r, 1003) || cfparse_has_code(r, 7003))))
		k = CF_E_NOT_FOUND;
	else if (h->status == 409 || (h->parsed && (cfparse_has_code(r,
	    1013) || cfparse_has_code(r, 81053) || cfparse_has_code(r,
	    81058))))
		k = CF_E_CONFLICT;
	else if (h->status == 429)
		k = CF_E_RATE;
	else if (h->status == 401 || h->status == 403)
		k = CF_E_AUTH;
	else if (h->status == 0 || h->status >= 500)
		k = CF_E_TRANSPORT;
	else
		k = CF_E_VALIDATION;
	cf_err_set(e, k, "HTTP %ld", h->status);
	if (!h->parsed)
		return;
	if (r->nerrors > 0)
		cfparse_errors_text(r, e->message, sizeof(e->message));
	for (i = 0; i < r->nerrors && i < CFPARSE_MAX_ERRORS; i++)
		e->codes[e->ncodes++] = r->errors[i].code;
}

void
cf_err_write(struct jw *j, const struct cf_err *e)
{
	size_t	 i;

	jw_obj(j);
	jw_kstr(j, "kind", cf_errkind_name(e->kind));
	jw_kstr(j, "message", e->message);
	jw_key(j, "codes");
	jw_arr(j);
	for (i = 0; i < e->ncodes; i++)
		jw_int(j, e->codes[i]);
	jw_arr_end(j);
	if (e->retry_after >= 0)
		jw_kint(j, "retry_after", e->retry_after);
	jw_obj_end(j);
}

int
cf_query_add(char *q, size_t sz, const char *key, const char *val)
{
	char	*ek, *ev;
	size_t	 len = strlen(q);
	int	 n;

	if (val == NULL)
		return 0;
	ek = curl_easy_escape(NULL, key, 0);
	ev = curl_easy_escape(NULL, val, 0);
	if (ek == NULL || ev == NULL) {
		curl_free(ek);
		curl_free(ev);
		return -1;
	}
	n = snprintf(q + len, sz - len, "%s%s=%s", len ? "&" : "", ek, ev);
	curl_free(ek);
	curl_free(ev);
	return (n < 0 || (size_t)n >= sz - len) ? -1 : 0;
}

int
cf_id_ok(const char *s)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 63)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

void
cf_http_free(struct cf_http *h)
{
	cfparse_free(&h->resp);
	h->parsed = 0;
}

static int
cf_hdr_value(const char *p, size_t n, const char *name, char *out,
    size_t outsz)
{
	size_t	 nl = strlen(name), i = 0;

	if (n <= nl || strncasecmp(p, name, nl) != 0 || p[nl] != ':')
		return 0;
	p += nl + 1;
	n -= nl + 1;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (i < n && i + 1 < outsz && p[i] != '\r' && p[i] != '\n') {
		out[i] = p[i];
		i++;
	}
	out[i] = '\0';
	return 1;
}

static size_t
cf_hdr_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct cf_hdrcap	*c = arg;
	size_t			 n = size * nmemb;

	http_hdrs_write(ptr, size, nmemb, &c->h);
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
		c->rl[0] = c->rlp[0] = '\0';
	else if (!cf_hdr_value(ptr, n, "Ratelimit-Policy", c->rlp,
	    sizeof(c->rlp)))
		cf_hdr_value(ptr, n, "Ratelimit", c->rl, sizeof(c->rl));
	return n;
}

/* Answer the supervisor's pings during long transfers; abort on stop. */
static int
cf_xfer_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct cfapi_state	*st = arg;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	if (ratelimit_now() - st->ctl_checked > 0.25)
		cfapi_poll_ctl(st, 0);
	return st->stop ? 1 : 0;
}

static int
cf_budget_wait(struct cfapi_state *st, double wait, struct cf_err *err)
{
	if (wait <= 0)
		return 0;
	if (wait > CF_MAX_WAIT_S) {
		cf_err_set(err, CF_E_RATE, "Cloudflare API budget of this "
		    "token exhausted; retry in %.0f s", ceil(wait));
		err->retry_after = (long)ceil(wait);
		return -1;
	}
	if (cfapi_wait_ms(st, (long)ceil(wait * 1000)) == -1) {
		cf_err_set(err, CF_E_INTERNAL, "shutting down");
		return -1;
	}
	return 0;
}

static int
cf_budget_take(struct cfapi_state *st, struct cf_cred *c,
    struct cf_err *err)
{
	struct cf_bucket	*b = cf_cred_bucket(st, c);
	double			 now = ratelimit_now(), need = 1, tokens;

	if (b->paused_until > now &&
	    cf_budget_wait(st, b->paused_until - now, err) == -1)
		return -1;
	/* Low priority work leaves a reserve for the rest. */
	if (st->prio == CF_PRIO_LOW)
		need += b->rl.burst * CF_LOW_RESERVE;
	if (need > b->rl.burst)
		need = b->rl.burst;
	now = ratelimit_now();
	tokens = ratelimit_tokens_at(&b->rl, now);
	if (tokens < need &&
	    cf_budget_wait(st, (need - tokens) / b->rl.rate, err) == -1)
		return -1;
	now = ratelimit_now();
	return cf_budget_wait(st, ratelimit_reserve_at(&b->rl, now), err);
}

static void
cf_budget_adjust(struct cfapi_state *st, struct cf_bucket *b,
    const struct cf_hdrcap *hc)
{
	double	 now = ratelimit_now(), rate, burst, tokens;
	long	 r, t, q, w;

	(void)st;
	if (cfparse_ratelimit_policy(hc->rlp, &q, &w) == 0 && q > 0 &&
	    w > 0) {
		/*
		 * Stay below the quota with the default's margin (1,000 of
		 * 1,200: requests sent before the policy was known, clock
		 * differences), 90 % steady and 10 % burst, so that no
		 * window of w seconds holds more than CF_QUOTA_SHARE * q.
		 */
		rate = 0.9 * CF_QUOTA_SHARE * (double)q / (double)w;
		burst = 0.1 * CF_QUOTA_SHARE * (double)q;
		if (burst < 1)
			burst = 1;
		tokens = ratelimit_tokens_at(&b->rl, now);
		if (rate < b->rl.rate)
			b->rl.rate = rate;
		if (burst < b->rl.burst)
			b->rl.burst = burst;
		if (tokens > b->rl.burst)
			b->rl.tokens = b->rl.burst;
	}
	if (cfparse_ratelimit(hc->rl, &r, &t) == 0) {
		tokens = ratelimit_tokens_at(&b->rl, now);
		if ((double)r < tokens)
			b->rl.tokens = (double)r;
		if (r == 0 && now + (double)(t > 0 ? t : 1) > b->paused_until)
			b->paused_until = now + (double)(t > 0 ? t : 1);
	}
}

static CURLcode
cf_perform(struct cfapi_state *st, const struct cf_cred *c,
    const char *method, const char *url, const char *body,
    struct http_buf *buf, struct cf_hdrcap *hc, long *status)
{
	struct curl_slist	*hl = NULL, *t;
	CURL			*h = st->curl;
	CURLcode		 rc;

	if (cf_cred_auth_header(c, &hl) == -1)
		return CURLE_OUT_OF_MEMORY;
	t = curl_slist_append(hl, "Accept: application/json");
	if (t != NULL && body != NULL)
		t = curl_slist_append(t, "Content-Type: application/json");
	/* No "Expect: 100-continue" round trip before large bodies. */
	if (t != NULL && body != NULL)
		t = curl_slist_append(t, "Expect:");
	if (t == NULL) {
		cf_slist_wipe_free(&hl);
		return CURLE_OUT_OF_MEMORY;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, st->w.user_agent);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_buf_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, buf);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, cf_hdr_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, hc);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cf_xfer_cb);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, st);
	if (body != NULL) {
		/* No copy: curl sends straight from our buffer. */
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(body));
	}
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	rc = curl_easy_perform(h);
	*status = 0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	/* libcurl keeps no pointer to the list after this. */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	cf_slist_wipe_free(&hl);
	return rc;
}

/* Parse into h->resp; a secret-bearing body is parsed in place. */
static void
cf_parse(struct cf_http *h, struct http_buf *buf, int flags)
{
	char	 err[128];
	int	 rc;

	if (buf->data == NULL || buf->overflow) {
		h->parsed = 0;
		return;
	}
	if (flags & CF_F_SECRET)
		rc = cfparse_envelope_str(buf->data, &h->resp, err,
		    sizeof(err));
	else
		rc = cfparse_envelope(buf->data, buf->len, &h->resp, err,
		    sizeof(err));
	h->parsed = rc == 0;
	if (rc == -1)
		cfparse_free(&h->resp);
}

static void
cf_buf_drop(struct http_buf *buf, int flags)
{
	if ((flags & CF_F_SECRET) && buf->data != NULL)
		sodium_memzero(buf->data, buf->cap > buf->len ? buf->cap :
		    buf->len);
	http_buf_free(buf);
}

/*
 * One attempt's verdict: 0 done (success or final error in h/err), 1 try
 * again after *delay_ms.
 */
static int
cf_verdict(struct cfapi_state *st, struct cf_bucket *b, CURLcode rc,
    const struct cf_hdrcap *hc, int flags, int attempt, struct cf_http *h,
    struct cf_err *err, long *delay_ms)
{
	int	 unsent = 0, retry;
	long	 ra;

	if (rc != CURLE_OK) {
		retry = rc != CURLE_ABORTED_BY_CALLBACK &&
		    http_curl_retryable(rc, &unsent);
		h->maybe_sent = !unsent;
		cf_err_set(err, st->stop ? CF_E_INTERNAL : CF_E_TRANSPORT,
		    "%s", st->stop ? "shutting down" :
		    curl_easy_strerror(rc));
		if (!retry || attempt + 1 >= CF_MAX_ATTEMPTS ||
		    ((flags & CF_F_UNSAFE) && !unsent))
			return 0;
		*delay_ms = http_backoff_ms(attempt, 500, 8000, -1);
		return 1;
	}
	if (h->status == 429) {
		ra = hc->h.retry_after > 0 ? hc->h.retry_after : 5;
		if (ratelimit_now() + (double)ra > b->paused_until)
			b->paused_until = ratelimit_now() + (double)ra;
		cf_err_from(err, h);
		err->retry_after = ra;
		*delay_ms = 0;	/* cf_budget_take waits out the pause */
		return (double)ra <= CF_MAX_WAIT_S &&
		    attempt + 1 < CF_MAX_ATTEMPTS;
	}
	if (http_status_retryable(h->status)) {
		cf_err_from(err, h);
		h->maybe_sent = 1;
		if ((flags & CF_F_UNSAFE) || attempt + 1 >= CF_MAX_ATTEMPTS)
			return 0;
		*delay_ms = http_backoff_ms(attempt, 500, 8000,
		    hc->h.retry_after);
		return 1;
	}
	if (h->status >= 200 && h->status < 300 && h->parsed &&
	    h->resp.success)
		return 0;
	cf_err_from(err, h);
	if (h->status >= 200 && h->status < 300 && !h->parsed)
		cf_err_set(err, CF_E_TRANSPORT, "HTTP %ld with a body that is "
		    "not a Cloudflare API response", h->status);
	return 0;
}

/* "/zones/<id>/..." answered 7003: that zone is gone from our caches. */
static void
cf_zone_gone(struct cfapi_state *st, const char *path,
    const struct cf_http *h)
{
	char		 zid[64];
	const char	*p;
	size_t		 n;

	if (!h->parsed || !cfparse_has_code(&h->resp, 7003) ||
	    strncmp(path, "/zones/", 7) != 0)
		return;
	p = path + 7;
	n = strcspn(p, "/");
	if (n == 0 || n >= sizeof(zid))
		return;
	memcpy(zid, p, n);
	zid[n] = '\0';
	log_info("zone %s: Cloudflare does not know it (7003); forgotten", zid);
	cf_zone_forget(st, zid);
}

int
cf_call(struct cfapi_state *st, struct cf_cred *c, const char *method,
    const char *path, const char *query, const char *body, int flags,
    const char *label, struct cf_http *h, struct cf_err *err)
{
	struct cf_bucket	*b = cf_cred_bucket(st, c);
	struct cf_hdrcap	 hc;
	struct http_buf		 buf;
	char			 url[4096];
	long			 delay = 0;
	int			 attempt, again, n;
	CURLcode		 rc;

	memset(h, 0, sizeof(*h));
	err->kind = CF_E_NONE;
	n = snprintf(url, sizeof(url), "%s%s%s%s", st->base_url, path,
	    query != NULL && *query != '\0' ? "?" : "",
	    query != NULL ? query : "");
	if (n < 0 || (size_t)n >= sizeof(url)) {
		cf_err_set(err, CF_E_VALIDATION, "request URL too long");
		return -1;
	}
	for (attempt = 0; attempt < CF_MAX_ATTEMPTS; attempt++) {
		cf_http_free(h);
		memset(h, 0, sizeof(*h));
		if (delay > 0 && cfapi_wait_ms(st, delay) == -1) {
			cf_err_set(err, CF_E_INTERNAL, "shutting down");
			return -1;
		}
		if (cf_budget_take(st, c, err) == -1)
			return -1;
		err->kind = CF_E_NONE;
		memset(&hc, 0, sizeof(hc));
		http_hdrs_init(&hc.h);
		http_buf_init(&buf, CF_RESP_MAX);
		rc = cf_perform(st, c, method, url, body, &buf, &hc,
		    &h->status);
		b->requests++;
		cf_metric_add(st, method, path, rc == CURLE_OK ? h->status : 0);
		if (rc == CURLE_OK) {
			cf_budget_adjust(st, b, &hc);
			cf_parse(h, &buf, flags);
		}
		cf_buf_drop(&buf, flags);
		delay = 0;
		again = cf_verdict(st, b, rc, &hc, flags, attempt, h, err,
		    &delay);
		if (!again)
			break;
		cf_metric_retry(st, rc != CURLE_OK ? CF_RETRY_TRANSPORT :
		    h->status == 429 ? CF_RETRY_429 : CF_RETRY_5XX);
		log_debug("%s %s: %s; retrying", method, label, err->message);
	}
	cf_metrics_log(st, 0);
	if (err->kind == CF_E_NONE)
		return 0;
	if (err->kind == CF_E_AUTH)
		c->stale = 1;	/* maybe the Secret changed: re-read it */
	cf_zone_gone(st, path, h);
	return -1;
}
