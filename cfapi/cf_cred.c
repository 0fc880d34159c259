/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Credentials: cfapi reads each credential Secret (keys
 * CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID) through the Kubernetes
 * API itself, keeps the token in sodium_malloc'd memory (locked, guarded,
 * PROT_NONE while unused), wipes every copy it made on the way in, and
 * re-reads the Secret when a request names a newer resourceVersion, after
 * CF_CRED_TTL_S, or after Cloudflare refused the token.
 *
 * Copies we cannot wipe and why they are tolerable: libcurl copies the
 * Authorization header into its own (freed, unwiped) send buffer, and the
 * Kubernetes response passes through libcurl and yajl buffers.  The
 * process is undumpable (no core, no ptrace, /proc/<pid>/mem closed to
 * others), so freed heap is not readable from outside.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "cfapi.h"
#include "kube.h"
#include "log.h"

#define CF_TOKEN_MAX	1024
#define CF_AUTH_PREFIX	"Authorization: Bearer "

static int
cf_name_ok(const char *s, size_t max)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0' || strlen(s) >= max)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '.')
			return 0;
	return 1;
}

static void
cf_wipe_str(yajl_val v)
{
	if (v != NULL && YAJL_IS_STRING(v) && v->u.string != NULL)
		sodium_memzero(v->u.string, strlen(v->u.string));
}

/* Base64 `data` value -> trimmed bytes in out (size sz); length or -1. */
static long
cf_b64_decode(yajl_val v, unsigned char *out, size_t sz)
{
	const char	*s;
	size_t		 n = 0;

	if (v == NULL || !YAJL_IS_STRING(v) || (s = v->u.string) == NULL)
		return -1;
	if (sodium_base642bin(out, sz, s, strlen(s), "\r\n ", &n, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	while (n > 0 && isspace(out[n - 1]))
		n--;
	return (long)n;
}

static int
cf_token_chars_ok(const unsigned char *t, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (t[i] < 0x21 || t[i] > 0x7e)
			return 0;
	return n > 0;
}

static int
cf_kube_error(const struct kube_resp *r, const char *ns, const char *name,
    struct cf_err *err)
{
	if (r->status == 404)
		cf_err_set(err, CF_E_CREDENTIALS, "Secret %s/%s not found",
		    ns, name);
	else if (r->status == 403)
		cf_err_set(err, CF_E_CREDENTIALS, "cfgw may not read Secret "
		    "%s/%s (forbidden)", ns, name);
	else
		cf_err_set(err, CF_E_TRANSPORT, "reading Secret %s/%s: "
		    "HTTP %ld %s", ns, name, r->status, r->message);
	return -1;
}

/* Decode both keys of the Secret into c (token into locked memory). */
static int
cf_cred_decode(struct cf_cred *c, yajl_val data, struct cf_err *err)
{
	unsigned char	 acct[128];
	unsigned char	*tok;
	long		 n;

	if ((tok = sodium_malloc(CF_TOKEN_MAX + 1)) == NULL) {
		cf_err_set(err, CF_E_INTERNAL, "sodium_malloc failed");
		return -1;
	}
	n = cf_b64_decode(json_get(data, "CLOUDFLARE_API_TOKEN"), tok,
	    CF_TOKEN_MAX);
	if (n <= 0 || !cf_token_chars_ok(tok, (size_t)n)) {
		sodium_free(tok);
		cf_err_set(err, CF_E_CREDENTIALS, "Secret %s/%s: key "
		    "CLOUDFLARE_API_TOKEN is %s", c->ns, c->name, n == -1 &&
		    json_get(data, "CLOUDFLARE_API_TOKEN") == NULL ?
		    "missing" : "empty or malformed");
		return -1;
	}
	tok[n] = '\0';
	c->toklen = (size_t)n;
	c->token = (char *)tok;
	n = cf_b64_decode(json_get(data, "CLOUDFLARE_ACCOUNT_ID"), acct,
	    sizeof(acct) - 1);
	if (n > 0)
		acct[n] = '\0';
	if (n <= 0 || !cf_id_ok((char *)acct)) {
		cf_err_set(err, CF_E_CREDENTIALS, "Secret %s/%s: key "
		    "CLOUDFLARE_ACCOUNT_ID is %s", c->ns, c->name,
		    json_get(data, "CLOUDFLARE_ACCOUNT_ID") == NULL ?
		    "missing" : "empty or malformed");
		return -1;
	}
	memcpy(c->account_id, acct, (size_t)n + 1);	/* cf_id_ok: <= 63 */
	sodium_mprotect_noaccess(c->token);
	return 0;
}

static int
cf_cred_load(struct cfapi_state *st, struct cf_cred *c, struct cf_err *err)
{
	const struct kube_res	*res = kube_res_lookup("Secret");
	struct kube_resp	 r;
	yajl_val		 data;
	const char		*rv;
	int			 rc;

	memset(&r, 0, sizeof(r));
	if (st->kube == NULL) {
		cf_err_set(err, CF_E_TRANSPORT, "no Kubernetes client");
		return -1;
	}
	cfapi_poll_ctl(st, 0);
	if (kube_get(st->kube, res, c->ns, c->name, 0, &r) == -1) {
		rc = cf_kube_error(&r, c->ns, c->name, err);
		kube_resp_free(&r);
		return rc;
	}
	data = json_get(r.json, "data");
	rc = cf_cred_decode(c, data, err);
	if ((rv = kube_obj_rv(r.json)) != NULL)
		snprintf(c->rv, sizeof(c->rv), "%s", rv);
	/* Wipe our copies of the Secret's data. */
	cf_wipe_str(json_get(data, "CLOUDFLARE_API_TOKEN"));
	if (r.body != NULL)
		sodium_memzero(r.body, r.len);
	kube_resp_free(&r);
	return rc;
}

void
cf_cred_drop(struct cf_cred *c)
{
	if (c->token != NULL)
		sodium_free(c->token);	/* wipes */
	memset(c, 0, sizeof(*c));
}

void
cf_cred_drop_all(struct cfapi_state *st)
{
	size_t	 i;

	for (i = 0; i < CF_MAX_CREDS; i++)
		if (st->creds[i].used)
			cf_cred_drop(&st->creds[i]);
}

static int
cf_bucket_for(struct cfapi_state *st, struct cf_cred *c)
{
	unsigned char	 id[32];
	int		 i, free_i = -1;

	sodium_mprotect_readonly(c->token);
	crypto_hash_sha256(id, (unsigned char *)c->token, c->toklen);
	sodium_mprotect_noaccess(c->token);
	for (i = 0; i < CF_MAX_BUCKETS; i++) {
		if (st->buckets[i].used &&
		    sodium_memcmp(st->buckets[i].id, id, sizeof(id)) == 0)
			return i;
		if (!st->buckets[i].used && free_i == -1)
			free_i = i;
	}
	if (free_i == -1)
		free_i = 0;	/* full: recycle (its budget restarts) */
	memset(&st->buckets[free_i], 0, sizeof(st->buckets[free_i]));
	memcpy(st->buckets[free_i].id, id, sizeof(id));
	st->buckets[free_i].used = 1;
	ratelimit_init(&st->buckets[free_i].rl, st->budget_rate,
	    st->budget_burst);
	return free_i;
}

struct cf_bucket *
cf_cred_bucket(struct cfapi_state *st, struct cf_cred *c)
{
	return &st->buckets[c->bucket];
}

static struct cf_cred *
cf_cred_slot(struct cfapi_state *st, const char *ns, const char *name)
{
	struct cf_cred	*lru = NULL;
	size_t		 i;

	for (i = 0; i < CF_MAX_CREDS; i++)
		if (st->creds[i].used && strcmp(st->creds[i].ns, ns) == 0 &&
		    strcmp(st->creds[i].name, name) == 0)
			return &st->creds[i];
	for (i = 0; i < CF_MAX_CREDS; i++) {
		if (!st->creds[i].used)
			return &st->creds[i];
		if (lru == NULL || st->creds[i].last_used < lru->last_used)
			lru = &st->creds[i];
	}
	cf_cred_drop(lru);
	return lru;
}

struct cf_cred *
cf_cred_get(struct cfapi_state *st, yajl_val req, struct cf_err *err)
{
	yajl_val	 cv = json_get(req, "cred");
	const char	*ns = json_str(cv, "namespace");
	const char	*name = json_str(cv, "name");
	const char	*rv = json_str(req, "resource_version");
	struct cf_cred	*c;
	double		 now = ratelimit_now();

	if (rv == NULL)
		rv = json_str(cv, "resource_version");
	if (rv != NULL && *rv == '\0')
		rv = NULL;	/* the caller does not know it */
	if (!cf_name_ok(ns, sizeof(c->ns)) ||
	    !cf_name_ok(name, sizeof(c->name))) {
		cf_err_set(err, CF_E_VALIDATION, "request lacks a valid "
		    "\"cred\" {namespace, name}");
		return NULL;
	}
	c = cf_cred_slot(st, ns, name);
	if (c->used && !c->stale && now - c->fetched < CF_CRED_TTL_S &&
	    (rv == NULL || strcmp(rv, c->rv) == 0)) {
		c->last_used = now;
		return c;
	}
	cf_cred_drop(c);
	snprintf(c->ns, sizeof(c->ns), "%s", ns);
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (cf_cred_load(st, c, err) == -1) {
		cf_cred_drop(c);
		return NULL;
	}
	c->used = 1;
	c->fetched = c->last_used = now;
	c->bucket = cf_bucket_for(st, c);
	log_debug("credentials %s/%s loaded (resourceVersion %s)", ns, name,
	    c->rv);
	return c;
}

int
cf_cred_auth_header(const struct cf_cred *c, struct curl_slist **out)
{
	size_t	 n = sizeof(CF_AUTH_PREFIX) + c->toklen;
	char	*h;

	*out = NULL;
	if ((h = sodium_malloc(n)) == NULL)
		return -1;
	sodium_mprotect_readonly(c->token);
	memcpy(h, CF_AUTH_PREFIX, sizeof(CF_AUTH_PREFIX) - 1);
	memcpy(h + sizeof(CF_AUTH_PREFIX) - 1, c->token, c->toklen);
	h[n - 1] = '\0';
	sodium_mprotect_noaccess(c->token);
	/* curl_slist_append copies; cf_slist_wipe_free wipes that copy. */
	*out = curl_slist_append(NULL, h);
	sodium_free(h);
	return *out == NULL ? -1 : 0;
}

void
cf_slist_wipe_free(struct curl_slist **l)
{
	struct curl_slist	*p;

	for (p = *l; p != NULL; p = p->next)
		if (p->data != NULL)
			sodium_memzero(p->data, strlen(p->data));
	curl_slist_free_all(*l);
	*l = NULL;
}
