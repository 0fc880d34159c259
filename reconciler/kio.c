/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kio: the reconciler's Kubernetes writes.  Owned objects go through
 * server-side apply with our field manager and force (manual edits are
 * reverted, as in the reference); status through merge patches on the
 * status subresource.  Each call is synchronous, bounded by the client's
 * timeouts; errors come back as one line for a condition message.
 */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "kube.h"
#include "log.h"
#include "owned.h"
#include "reconciler.h"

#define KIO_CONFLICT_TRIES	4

static void
kio_err(char *err, size_t errsz, const char *what, const char *kind,
    const char *ns, const char *name, const struct kube_resp *r)
{
	char	 code[32];

	snprintf(code, sizeof(code), "HTTP %ld", r->status);
	snprintf(err, errsz, "%s %s %s%s%s: %s%s%s", what, kind,
	    ns != NULL ? ns : "", ns != NULL ? "/" : "", name,
	    r->status != 0 ? code : "transport error",
	    r->message[0] != '\0' ? ": " : "", r->message);
}

static const struct kube_res *
kio_res(const char *kind, char *err, size_t errsz)
{
	const struct kube_res	*res;

	if ((res = kube_res_lookup(kind)) == NULL)
		snprintf(err, errsz, "unknown kind %s", kind);
	return res;
}

int
kio_apply(struct rec *r, const char *kind, const char *ns, const char *name,
    const char *body, size_t len, char *err, size_t errsz)
{
	long	 code;

	return kio_apply_code(r, kind, ns, name, body, len, &code, err,
	    errsz);
}

/* kio_apply; *code gets the HTTP status of a failure (0: none). */
int
kio_apply_code(struct rec *r, const char *kind, const char *ns,
    const char *name, const char *body, size_t len, long *code, char *err,
    size_t errsz)
{
	const struct kube_res	*res;
	struct kube_resp	 resp;
	int			 rc;

	*code = 0;
	if ((res = kio_res(kind, err, errsz)) == NULL)
		return -1;
	memset(&resp, 0, sizeof(resp));
	rc = kube_patch(r->kube, res, ns, name, KUBE_PATCH_APPLY, body, len,
	    OWNED_MANAGER, 1, NULL, &resp);
	if (rc == -1) {
		*code = resp.status;
		kio_err(err, errsz, "apply", kind, ns, name, &resp);
	} else
		log_debug("applied %s %s/%s", kind, ns, name);
	kube_resp_free(&resp);
	return rc;
}

/* A merge patch; *code gets the HTTP status of a failure (0: none). */
static int
kio_merge_code(struct rec *r, const char *kind, const char *ns,
    const char *name, const char *body, size_t len, int status, long *code,
    char *err, size_t errsz)
{
	const struct kube_res	*res;
	struct kube_resp	 resp;
	int			 rc;

	*code = 0;
	if ((res = kio_res(kind, err, errsz)) == NULL)
		return -1;
	memset(&resp, 0, sizeof(resp));
	rc = kube_patch(r->kube, res, ns, name, KUBE_PATCH_MERGE, body, len,
	    OWNED_MANAGER, 0, status ? "status" : NULL, &resp);
	if (rc == -1) {
		*code = resp.status;
		kio_err(err, errsz, status ? "patch status of" : "patch",
		    kind, ns, name, &resp);
		if (resp.status == 409)
			strncat(err, " (conflict)", errsz - strlen(err) - 1);
	}
	kube_resp_free(&resp);
	return rc;
}

int
kio_merge(struct rec *r, const char *kind, const char *ns, const char *name,
    const char *body, size_t len, int status, char *err, size_t errsz)
{
	long	 code;

	return kio_merge_code(r, kind, ns, name, body, len, status, &code,
	    err, errsz);
}

/* Does obj's metadata.finalizers hold fin? */
int
kio_has_finalizer(yajl_val obj, const char *fin)
{
	yajl_val	 f = json_path(obj, "metadata", "finalizers", NULL);
	size_t		 i;

	for (i = 0; i < json_len(f); i++) {
		const char *s = json_str(json_at(f, i), NULL);

		if (s != NULL && strcmp(s, fin) == 0)
			return 1;
	}
	return 0;
}

/*
 * One write of metadata.finalizers with fin added or removed, the others
 * kept, under obj's resourceVersion.  0 when nothing needs writing.
 */
static int
kio_finalizer_write(struct rec *r, const char *kind, const char *ns,
    const char *name, yajl_val obj, const char *fin, int add, long *code,
    char *err, size_t errsz)
{
	yajl_val	 f = json_path(obj, "metadata", "finalizers", NULL);
	struct jw	*w;
	const char	*buf, *rv = json_str(json_get(obj, "metadata"),
			    "resourceVersion");
	size_t		 i, len;
	int		 rc = -1;

	*code = 0;
	if (kio_has_finalizer(obj, fin) == add)
		return 0;
	if ((w = jw_new()) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	jw_obj(w);
	jw_key(w, "metadata");
	jw_obj(w);
	if (rv != NULL)
		jw_kstr(w, "resourceVersion", rv);
	jw_key(w, "finalizers");
	jw_arr(w);
	for (i = 0; i < json_len(f); i++) {
		const char *s = json_str(json_at(f, i), NULL);

		if (s != NULL && strcmp(s, fin) != 0)
			jw_str(w, s);
	}
	if (add)
		jw_str(w, fin);
	jw_arr_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
	if (jw_result(w, &buf, &len) == 0)
		rc = kio_merge_code(r, kind, ns, name, buf, len, 0, code, err,
		    errsz);
	else
		snprintf(err, errsz, "out of memory");
	jw_free(&w);
	return rc;
}

int
kio_finalizer(struct rec *r, const char *kind, const char *ns,
    const char *name, yajl_val obj, const char *fin, int add, char *err,
    size_t errsz)
{
	yajl_val	 fresh = NULL;
	long		 code;
	int		 i, nf, rc;

	for (i = 0; ; i++) {
		rc = kio_finalizer_write(r, kind, ns, name, fresh ? fresh : obj,
		    fin, add, &code, err, errsz);
		json_free(&fresh);
		if (rc == 0 || (code == 404 && !add))
			return 0;
		if (code != 409 || i + 1 == KIO_CONFLICT_TRIES)
			return -1;
		log_debug("%s, reading %s %s%s%s again", err, kind,
		    ns != NULL ? ns : "", ns != NULL ? "/" : "", name);
		if ((fresh = kio_get(r, kind, ns, name, &nf, err,
		    errsz)) == NULL)
			return nf && !add ? 0 : -1;
	}
}

int
kio_create(struct rec *r, const char *kind, const char *ns, const char *body,
    size_t len, char *err, size_t errsz)
{
	const struct kube_res	*res;
	struct kube_resp	 resp;
	int			 rc;

	if ((res = kio_res(kind, err, errsz)) == NULL)
		return -1;
	memset(&resp, 0, sizeof(resp));
	rc = kube_create(r->kube, res, ns, body, len, OWNED_MANAGER, &resp);
	if (rc == -1 && resp.status == 409)
		rc = 0;		/* already there: fine */
	else if (rc == -1)
		kio_err(err, errsz, "create", kind, ns, "", &resp);
	kube_resp_free(&resp);
	return rc;
}

yajl_val
kio_get(struct rec *r, const char *kind, const char *ns, const char *name,
    int *notfound, char *err, size_t errsz)
{
	const struct kube_res	*res;
	struct kube_resp	 resp;
	yajl_val		 v = NULL;

	*notfound = 0;
	if ((res = kio_res(kind, err, errsz)) == NULL)
		return NULL;
	memset(&resp, 0, sizeof(resp));
	if (kube_get(r->kube, res, ns, name, 0, &resp) == -1) {
		*notfound = resp.status == 404;
		kio_err(err, errsz, "get", kind, ns, name, &resp);
	} else if (resp.json == NULL || !YAJL_IS_OBJECT(resp.json)) {
		snprintf(err, errsz, "get %s %s/%s: not a JSON object", kind,
		    ns != NULL ? ns : "", name);
	} else {
		v = resp.json;
		resp.json = NULL;
	}
	kube_resp_free(&resp);
	return v;
}

int
kio_delete(struct rec *r, const char *kind, const char *ns, const char *name,
    char *err, size_t errsz)
{
	const struct kube_res	*res;
	struct kube_resp	 resp;
	struct kube_delete_opts	 o = { .propagation = "Background" };
	int			 rc;

	if ((res = kio_res(kind, err, errsz)) == NULL)
		return -1;
	memset(&resp, 0, sizeof(resp));
	rc = kube_delete(r->kube, res, ns, name, &o, &resp);
	if (rc == -1 && resp.status == 404)
		rc = 0;
	else if (rc == -1)
		kio_err(err, errsz, "delete", kind, ns, name, &resp);
	kube_resp_free(&resp);
	return rc;
}
