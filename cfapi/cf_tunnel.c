/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tunnel operations: verify credentials, ensure (create remotely managed
 * or adopt by name), get, list, remote configuration (PUT only when it
 * changed), connections, delete, and the token: fetched and written into
 * its Secret here, rotated with 32 fresh random bytes.  Only the token's
 * SHA-256 ever leaves cfapi.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cfapi.h"
#include "log.h"

#define CF_TUNNEL_PER_PAGE	1000
#define CF_MAX_PAGES		100

static int
cf_tunnel_path(char *buf, size_t sz, const struct cf_cred *c, const char *id,
    const char *suffix)
{
	int	 n;

	if (id != NULL)
		n = snprintf(buf, sz, "/accounts/%s/cfd_tunnel/%s%s",
		    c->account_id, id, suffix != NULL ? suffix : "");
	else
		n = snprintf(buf, sz, "/accounts/%s/cfd_tunnel",
		    c->account_id);
	return n < 0 || (size_t)n >= sz ? -1 : 0;
}

static const char *
cf_req_id(yajl_val req, const char *key, struct cf_err *err)
{
	const char	*id = json_str(req, key);

	if (!cf_id_ok(id)) {
		cf_err_set(err, CF_E_VALIDATION, "request lacks a valid \"%s\"",
		    key);
		return NULL;
	}
	return id;
}

int
cf_op_cred_verify(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    struct jw *out, struct cf_err *err)
{
	struct cf_http	 h;
	char		 path[256];
	const char	*status;

	(void)req;
	snprintf(path, sizeof(path), "/accounts/%s/tokens/verify",
	    c->account_id);
	if (cf_call(st, c, "GET", path, NULL, NULL, 0, "tokens.verify", &h,
	    err) == -1 && (err->kind == CF_E_AUTH ||
	    err->kind == CF_E_NOT_FOUND)) {
		/* Not an account token: maybe a user token. */
		cf_http_free(&h);
		c->stale = 0;
		if (cf_call(st, c, "GET", "/user/tokens/verify", NULL, NULL, 0,
		    "tokens.verify", &h, err) == -1) {
			cf_http_free(&h);
			return -1;
		}
	} else if (err->kind != CF_E_NONE) {
		cf_http_free(&h);
		return -1;
	}
	status = json_str(h.resp.result, "status");
	if (status == NULL || strcmp(status, "active") != 0) {
		cf_err_set(err, CF_E_AUTH, "API token status is %s",
		    status != NULL ? status : "unknown");
		cf_http_free(&h);
		return -1;
	}
	jw_obj(out);
	jw_kstr(out, "account_id", c->account_id);
	jw_kstr(out, "status", status);
	jw_obj_end(out);
	cf_http_free(&h);
	return 0;
}

/*
 * Look a live tunnel up by exact name: 1 found (id and, if src != NULL,
 * its config_src filled), 0 not, -1 error.
 */
static int
cf_tunnel_find(struct cfapi_state *st, struct cf_cred *c, const char *name,
    char *id, size_t idsz, char *src, size_t srcsz, struct cf_err *err)
{
	struct cf_http	 h;
	char		 path[256], q[1024] = "";
	yajl_val	 t;
	size_t		 i;
	int		 found = 0;

	if (cf_tunnel_path(path, sizeof(path), c, NULL, NULL) == -1 ||
	    cf_query_add(q, sizeof(q), "name", name) == -1 ||
	    cf_query_add(q, sizeof(q), "is_deleted", "false") == -1) {
		cf_err_set(err, CF_E_VALIDATION, "tunnel name too long");
		return -1;
	}
	if (cf_call(st, c, "GET", path, q, NULL, 0, "cfd_tunnel.list", &h,
	    err) == -1) {
		cf_http_free(&h);
		return -1;
	}
	for (i = 0; i < json_len(h.resp.result) && !found; i++) {
		t = json_at(h.resp.result, i);
		if (json_str(t, "name") != NULL &&
		    strcmp(json_str(t, "name"), name) == 0 &&
		    cf_id_ok(json_str(t, "id")) &&
		    json_str(t, "deleted_at") == NULL) {
			snprintf(id, idsz, "%s", json_str(t, "id"));
			if (src != NULL)
				snprintf(src, srcsz, "%s",
				    json_str(t, "config_src") != NULL ?
				    json_str(t, "config_src") : "");
			found = 1;
		}
	}
	cf_http_free(&h);
	return found;
}

/*
 * POST the tunnel.  A create is never repeated blindly: after a conflict
 * (1013) or a failure that may have reached Cloudflare we look the name
 * up, and only if it is not there do we try again.
 */
static int
cf_tunnel_create(struct cfapi_state *st, struct cf_cred *c, const char *name,
    char *id, size_t idsz, struct cf_err *err)
{
	struct cf_http	 h;
	struct cf_err	 e2;
	struct jw	*j;
	char		 path[256], *body;
	int		 rc = -1, attempt, f, ambiguous;

	if ((j = jw_new()) == NULL) {
		cf_err_set(err, CF_E_INTERNAL, "out of memory");
		return -1;
	}
	jw_obj(j);
	jw_kstr(j, "name", name);
	jw_kstr(j, "config_src", "cloudflare");
	jw_obj_end(j);
	body = jw_take(j, NULL);
	jw_free(&j);
	if (body == NULL) {
		cf_err_set(err, CF_E_INTERNAL, "out of memory");
		return -1;
	}
	cf_tunnel_path(path, sizeof(path), c, NULL, NULL);
	for (attempt = 0; attempt < CF_MAX_ATTEMPTS && rc == -1; attempt++) {
		rc = cf_call(st, c, "POST", path, NULL, body, CF_F_UNSAFE,
		    "cfd_tunnel.create", &h, err);
		if (rc == 0 && cf_id_ok(json_str(h.resp.result, "id")))
			snprintf(id, idsz, "%s", json_str(h.resp.result, "id"));
		else if (rc == 0) {
			cf_err_set(err, CF_E_TRANSPORT, "tunnel created "
			    "without an id");
			rc = -1;
		}
		ambiguous = rc == -1 && h.maybe_sent;
		cf_http_free(&h);
		if (rc == 0 || (err->kind != CF_E_CONFLICT && !ambiguous))
			break;
		if ((f = cf_tunnel_find(st, c, name, id, idsz, NULL, 0, &e2))
		    == 1)
			rc = 0;
		else if (f == -1 || err->kind == CF_E_CONFLICT) {
			if (f == -1)
				*err = e2;
			break;
		}
		/* Not there: the first POST did not take; try again. */
		if (rc == -1)
			cf_metric_retry(st, CF_RETRY_LOOKUP);
	}
	free(body);
	return rc;
}

int
cf_op_tunnel_ensure(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    struct jw *out, struct cf_err *err)
{
	const char	*name = json_str(req, "name");
	char		 id[64], src[32] = "cloudflare";
	int		 found, created = 0;

	if (name == NULL || name[0] == '\0' || strlen(name) > 255) {
		cf_err_set(err, CF_E_VALIDATION, "request lacks a tunnel "
		    "\"name\"");
		return -1;
	}
	if ((found = cf_tunnel_find(st, c, name, id, sizeof(id), src,
	    sizeof(src), err)) == -1)
		return -1;
	if (!found) {
		if (cf_tunnel_create(st, c, name, id, sizeof(id), err) == -1)
			return -1;
		created = 1;
		log_info("tunnel %s created: %s", id, name);
	}
	jw_obj(out);
	jw_kstr(out, "id", id);
	jw_kstr(out, "name", name);
	jw_kbool(out, "created", created);
	/* "local": adopted from a locally managed setup (the reference's). */
	jw_kstr(out, "config_src", src);
	jw_obj_end(out);
	return 0;
}

int
cf_op_tunnel_get(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    struct jw *out, struct cf_err *err)
{
	static const char *const keys[] = { "id", "name", "status",
	    "config_src", "created_at", "deleted_at", "conns_active_at",
	    "conns_inactive_at" };
	struct cf_http	 h;
	const char	*id;
	char		 path[256];
	size_t		 i;

	if ((id = cf_req_id(req, "id", err)) == NULL)
		return -1;
	cf_tunnel_path(path, sizeof(path), c, id, NULL);
	if (cf_call(st, c, "GET", path, NULL, NULL, 0, "cfd_tunnel.get", &h,
	    err) == -1) {
		cf_http_free(&h);
		return -1;
	}
	jw_obj(out);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_str(h.resp.result, keys[i]) != NULL)
			jw_kstr(out, keys[i], json_str(h.resp.result,
			    keys[i]));
	jw_obj_end(out);
	cf_http_free(&h);
	return 0;
}

int
cf_op_tunnel_list(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    struct jw *out, struct cf_err *err)
{
	struct cf_http	 h;
	char		 path[256], q[1024], pg[16], pp[16];
	yajl_val	 t;
	size_t		 i, n;
	int		 page;

	cf_tunnel_path(path, sizeof(path), c, NULL, NULL);
	snprintf(pp, sizeof(pp), "%d", CF_TUNNEL_PER_PAGE);
	jw_arr(out);
	for (page = 1; page <= CF_MAX_PAGES; page++) {
		q[0] = '\0';
		snprintf(pg, sizeof(pg), "%d", page);
		if (cf_query_add(q, sizeof(q), "name", json_str(req, "name"))
		    == -1 || cf_query_add(q, sizeof(q), "is_deleted", "false")
		    == -1 || cf_query_add(q, sizeof(q), "page", pg) == -1 ||
		    cf_query_add(q, sizeof(q), "per_page", pp) == -1) {
			cf_err_set(err, CF_E_VALIDATION, "name too long");
			return -1;
		}
		if (cf_call(st, c, "GET", path, q, NULL, 0, "cfd_tunnel.list",
		    &h, err) == -1) {
			cf_http_free(&h);
			return -1;
		}
		n = json_len(h.resp.result);
		for (i = 0; i < n; i++) {
			t = json_at(h.resp.result, i);
			jw_obj(out);
			jw_kstr(out, "id", json_str(t, "id"));
			jw_kstr(out, "name", json_str(t, "name"));
			jw_obj_end(out);
		}
		i = (h.resp.total_pages > 0 && page >= h.resp.total_pages) ||
		    n < CF_TUNNEL_PER_PAGE;
		cf_http_free(&h);
		if (i)
			break;
	}
	jw_arr_end(out);
	return 0;
}

static struct cf_tunconf *
cf_tunconf_find(struct cfapi_state *st, const char *id, int create)
{
	size_t	 i;

	for (i = 0; i < st->ntunconf; i++)
		if (strcmp(st->tunconf[i].id, id) == 0)
			return &st->tunconf[i];
	if (!create)
		return NULL;
	if (st->ntunconf == CF_MAX_TUNCONF)
		st->ntunconf = 0;	/* forget everything: costs one GET */
	i = st->ntunconf++;
	memset(&st->tunconf[i], 0, sizeof(st->tunconf[i]));
	snprintf(st->tunconf[i].id, sizeof(st->tunconf[i].id), "%s", id);
	st->tunconf[i].version = -1;
	return &st->tunconf[i];
}

static void
cf_tunconf_forget(struct cfapi_state *st, const char *id)
{
	struct cf_tunconf	*t = cf_tunconf_find(st, id, 0);

	if (t != NULL) {
		*t = st->tunconf[st->ntunconf - 1];
		st->ntunconf--;
	}
}

/* SHA-256 of the configuration as we serialise it; -1 if unserialisable. */
static int
cf_config_hash(yajl_val config, unsigned char hash[32])
{
	struct jw	*j;
	const char	*buf;
	size_t		 len;
	int		 rc = -1;

	if ((j = jw_new()) == NULL)
		return -1;
	jw_val(j, config);
	if (jw_result(j, &buf, &len) == 0) {
		crypto_hash_sha256(hash, (const unsigned char *)buf, len);
		rc = 0;
	}
	jw_free(&j);
	return rc;
}

/* After a restart: is the remote document already ours?  1, 0, -1. */
static int
cf_config_remote_same(struct cfapi_state *st, struct cf_cred *c,
    const char *path, const unsigned char hash[32], long long *version,
    struct cf_err *err)
{
	struct cf_http	 h;
	unsigned char	 rh[32];
	long long	 v;
	int		 same = 0;

	if (cf_call(st, c, "GET", path, NULL, NULL, 0, "cfd_tunnel.config.get",
	    &h, err) == -1) {
		cf_http_free(&h);
		return err->kind == CF_E_NOT_FOUND ? -1 : 0;
	}
	if (json_int(h.resp.result, "version", &v) == 0 &&
	    json_get(h.resp.result, "config") != NULL &&
	    cf_config_hash(json_get(h.resp.result, "config"), rh) == 0 &&
	    memcmp(rh, hash, 32) == 0) {
		*version = v;
		same = 1;
	}
	cf_http_free(&h);
	err->kind = CF_E_NONE;
	return same;
}

static int
cf_config_put(struct cfapi_state *st, struct cf_cred *c, const char *path,
    yajl_val config, long long *version, struct cf_err *err)
{
	struct cf_http	 h;
	struct jw	*j;
	char		*body;
	int		 rc;

	if ((j = jw_new()) == NULL) {
		cf_err_set(err, CF_E_INTERNAL, "out of memory");
		return -1;
	}
	jw_obj(j);
	jw_key(j, "config");
	jw_val(j, config);
	jw_obj_end(j);
	body = jw_take(j, NULL);
	jw_free(&j);
	rc = body == NULL ? -1 : cf_call(st, c, "PUT", path, NULL, body, 0,
	    "cfd_tunnel.config.put", &h, err);
	free(body);
	if (rc == 0 && json_int(h.resp.result, "version", version) == -1)
		*version = -1;
	cf_http_free(&h);
	return rc;
}

int
cf_op_tunnel_config(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    struct jw *out, struct cf_err *err)
{
	yajl_val		 config = json_get(req, "config");
	struct cf_tunconf	*t;
	unsigned char		 hash[32];
	char			 path[256];
	const char		*id;
	long long		 version = -1;
	int			 changed = 0, same = 0;

	if ((id = cf_req_id(req, "id", err)) == NULL)
		return -1;
	if (config == NULL || !YAJL_IS_OBJECT(config) ||
	    cf_config_hash(config, hash) == -1) {
		cf_err_set(err, CF_E_VALIDATION, "request lacks a \"config\" "
		    "object");
		return -1;
	}
	cf_tunnel_path(path, sizeof(path), c, id, "/configurations");
	t = cf_tunconf_find(st, id, 1);
	if (t->version >= 0 && memcmp(t->hash, hash, 32) == 0)
		version = t->version;	/* unchanged since we wrote it */
	else {
		if (t->version < 0 && (same = cf_config_remote_same(st, c,
		    path, hash, &version, err)) == -1) {
			cf_tunconf_forget(st, id);
			return -1;
		}
		if (!same) {
			if (cf_config_put(st, c, path, config, &version,
			    err) == -1) {
				cf_tunconf_forget(st, id);
				return -1;
			}
			changed = 1;
		}
	}
	memcpy(t->hash, hash, 32);
	t->version = version;
	jw_obj(out);
	jw_kint(out, "version", version);
	jw_kbool(out, "changed", changed);
	jw_obj_end(out);
	return 0;
}

int
cf_op_tunnel_connections(struct cfapi_state *st, struct cf_cred *c,
    yajl_val req, struct jw *out, struct cf_err *err)
{
	struct cf_http	 h;
	char		 path[256];
	const char	*id;
	yajl_val	 k;
	long long	 v;
	size_t		 i;

	if ((id = cf_req_id(req, "id", err)) == NULL)
		return -1;
	cf_tunnel_path(path, sizeof(path), c, id, "/connections");
	if (cf_call(st, c, "GET", path, NULL, NULL, 0, "cfd_tunnel.connections",
	    &h, err) == -1) {
		cf_http_free(&h);
		return -1;
	}
	jw_obj(out);
	jw_key(out, "connectors");
	jw_arr(out);
	for (i = 0; i < json_len(h.resp.result); i++) {
		k = json_at(h.resp.result, i);
		jw_obj(out);
		jw_kstr(out, "id", json_str(k, "id"));
		if (json_int(k, "config_version", &v) == 0)
			jw_kint(out, "config_version", v);
		jw_kint(out, "conns", (long long)json_len(json_get(k,
		    "conns")));
		jw_obj_end(out);
	}
	jw_arr_end(out);
	jw_obj_end(out);
	cf_http_free(&h);
	return 0;
}

int
cf_op_tunnel_delete(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    struct jw *out, struct cf_err *err)
{
	struct cf_http	 h;
	char		 path[256];
	const char	*id;
	int		 rc;

	if ((id = cf_req_id(req, "id", err)) == NULL)
		return -1;
	cf_tunnel_path(path, sizeof(path), c, id, "/connections");
	rc = cf_call(st, c, "DELETE", path, NULL, NULL, 0,
	    "cfd_tunnel.connections.delete", &h, err);
	cf_http_free(&h);
	if (rc == -1 && err->kind != CF_E_NOT_FOUND)
		return -1;
	cf_tunnel_path(path, sizeof(path), c, id, NULL);
	rc = cf_call(st, c, "DELETE", path, NULL, NULL, 0, "cfd_tunnel.delete",
	    &h, err);
	cf_http_free(&h);
	if (rc == -1 && err->kind != CF_E_NOT_FOUND)
		return -1;
	err->kind = CF_E_NONE;
	cf_tunconf_forget(st, id);
	log_info("tunnel %s deleted", id);
	jw_obj(out);
	jw_obj_end(out);
	return 0;
}

/* Fetch the token into locked memory; the response copies are wiped. */
static char *
cf_token_fetch(struct cfapi_state *st, struct cf_cred *c, const char *id,
    size_t *len, struct cf_err *err)
{
	struct cf_http	 h;
	char		 path[256], *tok = NULL;
	yajl_val	 r;

	cf_tunnel_path(path, sizeof(path), c, id, "/token");
	if (cf_call(st, c, "GET", path, NULL, NULL, CF_F_SECRET,
	    "cfd_tunnel.token", &h, err) == 0) {
		r = h.resp.result;
		if (r == NULL || !YAJL_IS_STRING(r) || r->u.string == NULL ||
		    (*len = strlen(r->u.string)) == 0)
			cf_err_set(err, CF_E_TRANSPORT, "token response "
			    "without a token");
		else if ((tok = sodium_malloc(*len + 1)) == NULL)
			cf_err_set(err, CF_E_INTERNAL, "sodium_malloc failed");
		else
			memcpy(tok, r->u.string, *len + 1);
		if (r != NULL && YAJL_IS_STRING(r) && r->u.string != NULL)
			sodium_memzero(r->u.string, strlen(r->u.string));
	}
	cf_http_free(&h);
	return tok;
}

static struct cf_tokcache *
cf_tokcache_find(struct cfapi_state *st, const char *tunnel, const char *ns,
    const char *name, int create)
{
	struct cf_tokcache	*t;
	size_t			 i;

	for (i = 0; i < st->ntokcache; i++) {
		t = &st->tokcache[i];
		if (strcmp(t->tunnel, tunnel) == 0 && strcmp(t->ns, ns) == 0 &&
		    strcmp(t->name, name) == 0)
			return t;
	}
	if (!create)
		return NULL;
	if (st->ntokcache == CF_MAX_TOKCACHE)
		st->ntokcache = 0;
	t = &st->tokcache[st->ntokcache++];
	memset(t, 0, sizeof(*t));
	snprintf(t->tunnel, sizeof(t->tunnel), "%s", tunnel);
	snprintf(t->ns, sizeof(t->ns), "%s", ns);
	snprintf(t->name, sizeof(t->name), "%s", name);
	return t;
}

/*
 * The caller may name the Secret's resourceVersion as it sees it: when
 * that is the version our last write produced for this tunnel, the
 * Secret still holds the token we wrote, and nothing needs doing.
 */
static const char *
cf_token_unchanged(struct cfapi_state *st, const char *id, yajl_val req)
{
	yajl_val		 sv = json_get(req, "secret");
	const char		*rv = json_str(sv, "resource_version");
	struct cf_tokcache	*t;

	if (rv == NULL || *rv == '\0' || json_str(sv, "namespace") == NULL ||
	    json_str(sv, "name") == NULL)
		return NULL;
	t = cf_tokcache_find(st, id, json_str(sv, "namespace"),
	    json_str(sv, "name"), 0);
	if (t == NULL || strcmp(t->rv, rv) != 0 || t->rv[0] == '\0' ||
	    ratelimit_now() - t->written > CF_TOKCACHE_TTL_S)
		return NULL;
	return t->hash;
}

static int
cf_token_secret(struct cfapi_state *st, struct cf_cred *c, const char *id,
    yajl_val req, int force, struct jw *out, struct cf_err *err)
{
	struct cf_tokcache	*t;
	unsigned char		 hash[32];
	char			 hex[65], rv[64], *tok;
	const char		*same;
	size_t			 len = 0;
	int			 rc;

	if (!force && (same = cf_token_unchanged(st, id, req)) != NULL) {
		jw_obj(out);
		jw_kstr(out, "token_hash", same);
		jw_obj_end(out);
		return 0;
	}
	if ((tok = cf_token_fetch(st, c, id, &len, err)) == NULL)
		return -1;
	crypto_hash_sha256(hash, (unsigned char *)tok, len);
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	rc = cf_secret_write(st, req, tok, len, rv, sizeof(rv), err);
	sodium_free(tok);
	if (rc == -1)
		return -1;
	t = cf_tokcache_find(st, id, json_str(json_get(req, "secret"),
	    "namespace"), json_str(json_get(req, "secret"), "name"), 1);
	snprintf(t->rv, sizeof(t->rv), "%s", rv);
	memcpy(t->hash, hex, sizeof(t->hash));
	t->written = ratelimit_now();
	jw_obj(out);
	jw_kstr(out, "token_hash", hex);
	jw_obj_end(out);
	return 0;
}

int
cf_op_tunnel_token_secret(struct cfapi_state *st, struct cf_cred *c,
    yajl_val req, struct jw *out, struct cf_err *err)
{
	const char	*id;

	if ((id = cf_req_id(req, "id", err)) == NULL)
		return -1;
	return cf_token_secret(st, c, id, req, 0, out, err);
}

int
cf_op_tunnel_rotate(struct cfapi_state *st, struct cf_cred *c, yajl_val req,
    struct jw *out, struct cf_err *err)
{
	static const char	 pre[] = "{\"tunnel_secret\":\"";
	unsigned char		 raw[32];
	struct cf_http		 h;
	char			 path[256], *body;
	const char		*id;
	size_t			 blen;
	int			 rc;

	if ((id = cf_req_id(req, "id", err)) == NULL)
		return -1;
	blen = sizeof(pre) + sodium_base64_ENCODED_LEN(sizeof(raw),
	    sodium_base64_VARIANT_ORIGINAL) + 2;
	if ((body = sodium_malloc(blen)) == NULL) {
		cf_err_set(err, CF_E_INTERNAL, "sodium_malloc failed");
		return -1;
	}
	randombytes_buf(raw, sizeof(raw));
	memcpy(body, pre, sizeof(pre) - 1);
	sodium_bin2base64(body + sizeof(pre) - 1, blen - sizeof(pre), raw,
	    sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(raw, sizeof(raw));
	strcat(body, "\"}");
	cf_tunnel_path(path, sizeof(path), c, id, NULL);
	rc = cf_call(st, c, "PATCH", path, NULL, body, CF_F_SECRET,
	    "cfd_tunnel.patch", &h, err);
	cf_http_free(&h);
	sodium_free(body);
	if (rc == -1)
		return -1;
	log_info("tunnel %s: secret rotated", id);
	return cf_token_secret(st, c, id, req, 1, out, err);
}
