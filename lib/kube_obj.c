/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_obj: small helpers over a Kubernetes object's yajl tree: its
 * identity fields, the trim applied to everything the watcher keeps
 * (managedFields and kubectl's last-applied annotation go), and a deep
 * copy.
 */
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "json.h"
#include "kube.h"

const char *
kube_obj_name(yajl_val o)
{
	return json_str(json_get(o, "metadata"), "name");
}

const char *
kube_obj_namespace(yajl_val o)
{
	return json_str(json_get(o, "metadata"), "namespace");
}

const char *
kube_obj_rv(yajl_val o)
{
	return json_str(json_get(o, "metadata"), "resourceVersion");
}

const char *
kube_obj_uid(yajl_val o)
{
	return json_str(json_get(o, "metadata"), "uid");
}

static void
obj_remove(yajl_val o, const char *key)
{
	size_t	 i;

	if (o == NULL || !YAJL_IS_OBJECT(o))
		return;
	for (i = 0; i < o->u.object.len; i++) {
		if (strcmp(o->u.object.keys[i], key) != 0)
			continue;
		free((char *)o->u.object.keys[i]);
		yajl_tree_free(o->u.object.values[i]);
		memmove(&o->u.object.keys[i], &o->u.object.keys[i + 1],
		    (o->u.object.len - i - 1) * sizeof(char *));
		memmove(&o->u.object.values[i], &o->u.object.values[i + 1],
		    (o->u.object.len - i - 1) * sizeof(yajl_val));
		o->u.object.len--;
		i--;
	}
}

void
kube_obj_trim(yajl_val o)
{
	yajl_val	 md = json_get(o, "metadata");

	obj_remove(md, "managedFields");
	obj_remove(json_get(md, "annotations"),
	    "kubectl.kubernetes.io/last-applied-configuration");
}

yajl_val
kube_val_new(yajl_type t)
{
	yajl_val	 v;

	if ((v = calloc(1, sizeof(*v))) != NULL)
		v->type = t;
	return v;
}

yajl_val
kube_val_dup(yajl_val s)
{
	yajl_val	 v;
	size_t		 i, n;

	if (s == NULL || (v = kube_val_new(s->type)) == NULL)
		return NULL;
	switch (s->type) {
	case yajl_t_string:
		if ((v->u.string = strdup(s->u.string)) == NULL)
			goto fail;
		break;
	case yajl_t_number:
		v->u.number = s->u.number;
		if ((v->u.number.r = strdup(s->u.number.r)) == NULL)
			goto fail;
		break;
	case yajl_t_object:
		n = s->u.object.len;
		if (n == 0)
			break;
		v->u.object.keys = calloc(n, sizeof(char *));
		v->u.object.values = calloc(n, sizeof(yajl_val));
		if (v->u.object.keys == NULL || v->u.object.values == NULL)
			goto fail;
		for (i = 0; i < n; i++) {
			v->u.object.keys[i] = strdup(s->u.object.keys[i]);
			v->u.object.values[i] =
			    kube_val_dup(s->u.object.values[i]);
			v->u.object.len++;
			if (v->u.object.keys[i] == NULL ||
			    v->u.object.values[i] == NULL)
				goto fail;
		}
		break;
	case yajl_t_array:
		n = s->u.array.len;
		if (n == 0)
			break;
		if ((v->u.array.values = calloc(n, sizeof(yajl_val))) == NULL)
			goto fail;
		for (i = 0; i < n; i++) {
			v->u.array.values[i] =
			    kube_val_dup(s->u.array.values[i]);
			v->u.array.len++;
			if (v->u.array.values[i] == NULL)
				goto fail;
		}
		break;
	default:
		break;
	}
	return v;
fail:
	yajl_tree_free(v);
	return NULL;
}
