/* SPDX-License-Identifier: Apache-2.0 */
/* kube_verbs: get, list, create, update, patch, delete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "kube.h"
#include "kube_priv.h"
#include "log.h"

#define KUBE_PATH_MAX	1024
#define KUBE_QUERY_MAX	4096

int
kube_query_add(char *q, size_t sz, const char *key, const char *val)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 n = strlen(q);
	unsigned char		 c;

	if (val == NULL)
		return 0;
	if (n + strlen(key) + 2 >= sz)
		return -1;
	n += snprintf(q + n, sz - n, "%s%s=", n > 0 ? "&" : "", key);
	for (; *val != '\0'; val++) {
		c = (unsigned char)*val;
		if (n + 4 >= sz)
			return -1;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			q[n++] = c;
		else {
			q[n++] = '%';
			q[n++] = hex[c >> 4];
			q[n++] = hex[c & 15];
		}
	}
	q[n] = '\0';
	return 0;
}

/*
 * A metadata-only answer must really be PartialObjectMetadata: if a server
 * ignored the Accept header we could be holding Secret data.  Wipe it.
 */
static int
kube_not_meta(struct kube_resp *out, const char *want)
{
	out->status = 406;
	snprintf(out->reason, sizeof(out->reason), "NotAcceptable");
	snprintf(out->message, sizeof(out->message),
	    "server did not return %s", want);
	log_warnx("kube: %s", out->message);
	return -1;
}

static int
kube_check_meta(struct kube_resp *out, const char *want)
{
	const char	*kind = json_str(out->json, "kind");

	if (kind != NULL && strcmp(kind, want) == 0)
		return 0;
	if (out->body != NULL)
		explicit_bzero(out->body, out->len);
	kube_resp_free(out);
	return kube_not_meta(out, want);
}

static int
kube_fail_path(struct kube_resp *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->message, sizeof(out->message), "invalid request path");
	return -1;
}

int
kube_get(struct kube *k, const struct kube_res *r, const char *ns,
    const char *name, int meta, struct kube_resp *out)
{
	char	 path[KUBE_PATH_MAX];

	if (kube_path(path, sizeof(path), r, ns, name, NULL) == -1)
		return kube_fail_path(out);
	if (kube_request(k, "GET", path, NULL, NULL,
	    meta ? KUBE_ACCEPT_META : NULL, NULL, 0, out) == -1)
		return -1;
	return meta ? kube_check_meta(out, "PartialObjectMetadata") : 0;
}

/* The path and query of a list; -1 when too long. */
static int
kube_list_url(const struct kube_res *r, const char *ns,
    const struct kube_list_opts *lo, char *path, size_t psz, char *q,
    size_t qsz)
{
	char	 lim[32];

	if (kube_path(path, psz, r, ns, NULL, NULL) == -1)
		return -1;
	q[0] = '\0';
	if (lo == NULL)
		return 0;
	snprintf(lim, sizeof(lim), "%ld", lo->limit);
	if (kube_query_add(q, qsz, "labelSelector", lo->label_selector) == -1 ||
	    kube_query_add(q, qsz, "fieldSelector", lo->field_selector) == -1 ||
	    kube_query_add(q, qsz, "limit", lo->limit > 0 ? lim : NULL) == -1 ||
	    kube_query_add(q, qsz, "continue", lo->continue_token != NULL &&
	    *lo->continue_token ? lo->continue_token : NULL) == -1 ||
	    kube_query_add(q, qsz, "resourceVersion",
	    lo->resource_version != NULL && *lo->resource_version ?
	    lo->resource_version : NULL) == -1)
		return -1;
	return 0;
}

int
kube_list(struct kube *k, const struct kube_res *r, const char *ns,
    const struct kube_list_opts *lo, struct kube_resp *out)
{
	char	 path[KUBE_PATH_MAX], q[KUBE_QUERY_MAX];
	int	 meta = lo != NULL && lo->metadata_only;

	if (kube_list_url(r, ns, lo, path, sizeof(path), q, sizeof(q)) == -1)
		return kube_fail_path(out);
	if (kube_request(k, "GET", path, q, NULL,
	    meta ? KUBE_ACCEPT_META_LIST : NULL, NULL, 0, out) == -1)
		return -1;
	return meta ? kube_check_meta(out, "PartialObjectMetadataList") : 0;
}

int
kube_list_each(struct kube *k, const struct kube_res *r, const char *ns,
    const struct kube_list_opts *lo, void (*item)(void *, yajl_val),
    void *arg, struct kube_list_page *page, struct kube_resp *out)
{
	struct kube_sink	 sk;
	const char		*s;
	char			 path[KUBE_PATH_MAX], q[KUBE_QUERY_MAX];
	int			 meta = lo != NULL && lo->metadata_only, rc;

	memset(page, 0, sizeof(*page));
	if (kube_list_url(r, ns, lo, path, sizeof(path), q, sizeof(q)) == -1)
		return kube_fail_path(out);
	memset(&sk, 0, sizeof(sk));
	sk.max = k->opts.max_body;
	if ((sk.dec = kube_list_decoder_new(k->opts.max_event, meta, item,
	    arg)) == NULL) {
		memset(out, 0, sizeof(*out));
		snprintf(out->message, sizeof(out->message), "out of memory");
		return -1;
	}
	rc = kube_request_sink(k, "GET", path, q, NULL,
	    meta ? KUBE_ACCEPT_META_LIST : NULL, NULL, 0, &sk, out);
	if (rc == 0 && kube_decoder_finish(sk.dec) == -1) {
		out->status = 200;
		snprintf(out->message, sizeof(out->message), "%s",
		    kube_decoder_error(sk.dec));
		rc = -1;
	}
	if (rc == -1 && (s = kube_decoder_error(sk.dec)) != NULL &&
	    strcmp(s, KUBE_ERR_NOT_META) == 0)
		kube_not_meta(out, "PartialObjectMetadataList");
	page->items = kube_decoder_events(sk.dec);
	page->dropped = kube_decoder_dropped(sk.dec);
	if (rc == 0) {
		snprintf(page->resource_version,
		    sizeof(page->resource_version), "%s",
		    kube_decoder_list_rv(sk.dec));
		if ((s = kube_decoder_list_continue(sk.dec)) != NULL &&
		    (page->continue_token = strdup(s)) == NULL) {
			snprintf(out->message, sizeof(out->message),
			    "out of memory");
			rc = -1;
		}
	}
	kube_decoder_free(&sk.dec);
	return rc;
}

void
kube_list_page_free(struct kube_list_page *page)
{
	free(page->continue_token);
	page->continue_token = NULL;
}

static int
kube_fm_query(char *q, size_t sz, const char *fm)
{
	q[0] = '\0';
	return kube_query_add(q, sz, "fieldManager",
	    fm != NULL && *fm ? fm : NULL);
}

int
kube_create(struct kube *k, const struct kube_res *r, const char *ns,
    const char *body, size_t len, const char *fm, struct kube_resp *out)
{
	char	 path[KUBE_PATH_MAX], q[512];

	if (kube_path(path, sizeof(path), r, ns, NULL, NULL) == -1 ||
	    kube_fm_query(q, sizeof(q), fm) == -1)
		return kube_fail_path(out);
	return kube_request(k, "POST", path, q, "application/json", NULL,
	    body, len, out);
}

static int
kube_put(struct kube *k, const struct kube_res *r, const char *ns,
    const char *name, const char *sub, const char *body, size_t len,
    const char *fm, struct kube_resp *out)
{
	char	 path[KUBE_PATH_MAX], q[512];

	if (name == NULL || *name == '\0' ||
	    kube_path(path, sizeof(path), r, ns, name, sub) == -1 ||
	    kube_fm_query(q, sizeof(q), fm) == -1)
		return kube_fail_path(out);
	return kube_request(k, "PUT", path, q, "application/json", NULL,
	    body, len, out);
}

int
kube_update(struct kube *k, const struct kube_res *r, const char *ns,
    const char *name, const char *body, size_t len, const char *fm,
    struct kube_resp *out)
{
	return kube_put(k, r, ns, name, NULL, body, len, fm, out);
}

int
kube_update_status(struct kube *k, const struct kube_res *r,
    const char *ns, const char *name, const char *body, size_t len,
    const char *fm, struct kube_resp *out)
{
	return kube_put(k, r, ns, name, "status", body, len, fm, out);
}

int
kube_patch(struct kube *k, const struct kube_res *r, const char *ns,
    const char *name, enum kube_patch_type t, const char *body, size_t len,
    const char *fm, int force, const char *sub, struct kube_resp *out)
{
	char		 path[KUBE_PATH_MAX], q[512];
	const char	*ct;

	switch (t) {
	case KUBE_PATCH_MERGE:
		ct = "application/merge-patch+json";
		break;
	case KUBE_PATCH_JSON:
		ct = "application/json-patch+json";
		break;
	case KUBE_PATCH_APPLY:
		ct = "application/apply-patch+yaml";
		break;
	case KUBE_PATCH_STRATEGIC:
		ct = "application/strategic-merge-patch+json";
		break;
	default:
		return kube_fail_path(out);
	}
	if (name == NULL || *name == '\0' ||
	    kube_path(path, sizeof(path), r, ns, name, sub) == -1 ||
	    kube_fm_query(q, sizeof(q), fm) == -1 ||
	    (t == KUBE_PATCH_APPLY && force &&
	    kube_query_add(q, sizeof(q), "force", "true") == -1))
		return kube_fail_path(out);
	return kube_request(k, "PATCH", path, q, ct, NULL, body, len, out);
}

int
kube_delete(struct kube *k, const struct kube_res *r, const char *ns,
    const char *name, const struct kube_delete_opts *d,
    struct kube_resp *out)
{
	struct jw	*w;
	char		 path[KUBE_PATH_MAX], *body = NULL;
	size_t		 len = 0;
	int		 rv;

	if (name == NULL || *name == '\0' ||
	    kube_path(path, sizeof(path), r, ns, name, NULL) == -1)
		return kube_fail_path(out);
	if (d != NULL && (d->uid != NULL || d->resource_version != NULL ||
	    d->propagation != NULL)) {
		if ((w = jw_new()) == NULL)
			return kube_fail_path(out);
		jw_obj(w);
		jw_kstr(w, "kind", "DeleteOptions");
		jw_kstr(w, "apiVersion", "v1");
		if (d->propagation != NULL)
			jw_kstr(w, "propagationPolicy", d->propagation);
		if (d->uid != NULL || d->resource_version != NULL) {
			jw_key(w, "preconditions");
			jw_obj(w);
			if (d->uid != NULL)
				jw_kstr(w, "uid", d->uid);
			if (d->resource_version != NULL)
				jw_kstr(w, "resourceVersion",
				    d->resource_version);
			jw_obj_end(w);
		}
		jw_obj_end(w);
		body = jw_take(w, &len);
		jw_free(&w);
		if (body == NULL)
			return kube_fail_path(out);
	}
	rv = kube_request(k, "DELETE", path, NULL,
	    body != NULL ? "application/json" : NULL, NULL, body, len, out);
	free(body);
	return rv;
}
