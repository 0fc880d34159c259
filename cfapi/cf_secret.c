/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tunnel token Secret: cfapi writes it itself (create, or merge-patch
 * when it exists) so the token never leaves this process except towards
 * the Kubernetes API.  Every buffer we fill with the token is wiped.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cfapi.h"
#include "kube.h"
#include "log.h"

#define CF_FIELD_MANAGER	"cfgw-cfapi"

static int
cf_k8s_name_ok(const char *s)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 253)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '.')
			return 0;
	return 1;
}

/* The Secret (whole: create) or a merge patch (patch). */
static struct jw *
cf_secret_body(const char *ns, const char *name, yajl_val labels,
    yajl_val owner, const char *b64, int patch)
{
	struct jw	*j;

	if ((j = jw_new()) == NULL)
		return NULL;
	jw_obj(j);
	if (!patch) {
		jw_kstr(j, "apiVersion", "v1");
		jw_kstr(j, "kind", "Secret");
		jw_kstr(j, "type", "Opaque");
	}
	jw_key(j, "metadata");
	jw_obj(j);
	if (!patch) {
		jw_kstr(j, "name", name);
		jw_kstr(j, "namespace", ns);
	}
	if (labels != NULL && YAJL_IS_OBJECT(labels)) {
		jw_key(j, "labels");
		jw_val(j, labels);
	}
	if (owner != NULL && YAJL_IS_OBJECT(owner)) {
		jw_key(j, "ownerReferences");
		jw_arr(j);
		jw_val(j, owner);
		jw_arr_end(j);
	}
	jw_obj_end(j);
	jw_key(j, "data");
	jw_obj(j);
	jw_kstr(j, "TUNNEL_TOKEN", b64);
	jw_obj_end(j);
	jw_obj_end(j);
	return j;
}

static void
cf_jw_wipe_free(struct jw **j)
{
	const char	*buf;
	size_t		 len;

	if (*j != NULL && jw_result(*j, &buf, &len) == 0)
		sodium_memzero((void *)(uintptr_t)buf, len);
	jw_free(j);
}

static void
cf_kresp_wipe_free(struct kube_resp *r)
{
	yajl_val	 v;

	v = json_path(r->json, "data", "TUNNEL_TOKEN", NULL);
	if (v != NULL && YAJL_IS_STRING(v) && v->u.string != NULL)
		sodium_memzero(v->u.string, strlen(v->u.string));
	if (r->body != NULL)
		sodium_memzero(r->body, r->len);
	kube_resp_free(r);
}

static int
cf_secret_put(struct cfapi_state *st, const char *ns, const char *name,
    yajl_val req, const char *b64, char *rv, size_t rvsz,
    struct cf_err *err)
{
	const struct kube_res	*res = kube_res_lookup("Secret");
	struct kube_resp	 r;
	struct jw		*j;
	const char		*buf;
	size_t			 len;
	int			 rc, patch;

	for (patch = 0; patch < 2; patch++) {
		memset(&r, 0, sizeof(r));
		j = cf_secret_body(ns, name, json_get(req, "labels"),
		    json_get(req, "owner"), b64, patch);
		if (j == NULL || jw_result(j, &buf, &len) == -1) {
			cf_jw_wipe_free(&j);
			cf_err_set(err, CF_E_INTERNAL, "cannot build Secret");
			return -1;
		}
		cfapi_poll_ctl(st, 0);	/* answer pings between calls */
		if (!patch)
			rc = kube_create(st->kube, res, ns, buf, len,
			    CF_FIELD_MANAGER, &r);
		else
			rc = kube_patch(st->kube, res, ns, name,
			    KUBE_PATCH_MERGE, buf, len, CF_FIELD_MANAGER, 0,
			    NULL, &r);
		cf_jw_wipe_free(&j);
		if (rc == 0 || patch || r.status != 409)
			break;
		cf_kresp_wipe_free(&r);
	}
	if (rc == -1)
		cf_err_set(err, r.status == 0 ? CF_E_TRANSPORT :
		    CF_E_INTERNAL, "writing Secret %s/%s: HTTP %ld %s", ns,
		    name, r.status, r.message);
	else
		snprintf(rv, rvsz, "%s", kube_obj_rv(r.json) != NULL ?
		    kube_obj_rv(r.json) : "");
	cf_kresp_wipe_free(&r);
	return rc;
}

int
cf_secret_write(struct cfapi_state *st, yajl_val req, const char *token,
    size_t toklen, char *rv, size_t rvsz, struct cf_err *err)
{
	yajl_val	 sv = json_get(req, "secret");
	const char	*ns = json_str(sv, "namespace");
	const char	*name = json_str(sv, "name");
	size_t		 blen;
	char		*b64;
	int		 rc;

	if (!cf_k8s_name_ok(ns) || !cf_k8s_name_ok(name)) {
		cf_err_set(err, CF_E_VALIDATION, "request lacks a valid "
		    "\"secret\" {namespace, name}");
		return -1;
	}
	if (st->kube == NULL) {
		cf_err_set(err, CF_E_TRANSPORT, "no Kubernetes client");
		return -1;
	}
	blen = sodium_base64_ENCODED_LEN(toklen,
	    sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = sodium_malloc(blen)) == NULL) {
		cf_err_set(err, CF_E_INTERNAL, "sodium_malloc failed");
		return -1;
	}
	sodium_bin2base64(b64, blen, (const unsigned char *)token, toklen,
	    sodium_base64_VARIANT_ORIGINAL);
	rv[0] = '\0';
	rc = cf_secret_put(st, ns, name, req, b64, rv, rvsz, err);
	sodium_free(b64);
	if (rc == 0)
		log_info("tunnel token written to Secret %s/%s", ns, name);
	return rc;
}
