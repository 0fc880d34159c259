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
	const struct kube_res	*res;
	struct kube_resp	 resp;
	int			 rc;

	if ((res = kio_res(kind, err, errsz)) == NULL)
		return -1;
	memset(&resp, 0, sizeof(resp));
	rc = kube_patch(r->kube, res, ns, name, KUBE_PATCH_APPLY, body, len,
	    OWNED_MANAGER, 1, NULL, &resp);
	if (rc == -1)
		kio_err(err, errsz, "apply", kind, ns, name, &resp);
	else
		log_debug("applied %s %s/%s", kind, ns, name);
	kube_resp_free(&resp);
	return rc;
}

int
kio_merge(struct rec *r, const char *kind, const char *ns, const char *name,
    const char *body, size_t len, int status, char *err, size_t errsz)
{
	const struct kube_res	*res;
	struct kube_resp	 resp;
	int			 rc;

	if ((res = kio_res(kind, err, errsz)) == NULL)
		return -1;
	memset(&resp, 0, sizeof(resp));
	rc = kube_patch(r->kube, res, ns, name, KUBE_PATCH_MERGE, body, len,
	    OWNED_MANAGER, 0, status ? "status" : NULL, &resp);
	if (rc == -1) {
		kio_err(err, errsz, status ? "patch status of" : "patch",
		    kind, ns, name, &resp);
		if (resp.status == 409)
			strncat(err, " (conflict)", errsz - strlen(err) - 1);
	}
	kube_resp_free(&resp);
	return rc;
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
