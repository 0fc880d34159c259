/* SPDX-License-Identifier: Apache-2.0 */
/* store: the watcher's objects, as the reconciler sees them. */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "store.h"

static const char *store_kinds[] = {
	"GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute",
	"ReferenceGrant", "Namespace", "Service", "Secret",
	"CloudflareGatewayParameters", "Deployment", "ConfigMap",
	"CustomResourceDefinition",
};
#define STORE_NKINDS	(sizeof(store_kinds) / sizeof(*store_kinds))

struct store_list {
	yajl_val	*v;
	size_t		 n, cap;
};

struct store {
	struct store_list	 k[STORE_NKINDS];
};

static int
store_kind_index(const char *kind)
{
	size_t	 i;

	if (kind == NULL)
		return -1;
	for (i = 0; i < STORE_NKINDS; i++)
		if (strcmp(kind, store_kinds[i]) == 0)
			return (int)i;
	return -1;
}

int
store_kind_known(const char *kind)
{
	return store_kind_index(kind) != -1;
}

struct store *
store_new(void)
{
	return calloc(1, sizeof(struct store));
}

void
store_clear(struct store *s)
{
	size_t	 i, j;

	for (i = 0; i < STORE_NKINDS; i++) {
		for (j = 0; j < s->k[i].n; j++)
			yajl_tree_free(s->k[i].v[j]);
		s->k[i].n = 0;
	}
}

void
store_free(struct store **ps)
{
	size_t	 i;

	if (*ps == NULL)
		return;
	store_clear(*ps);
	for (i = 0; i < STORE_NKINDS; i++)
		free((*ps)->k[i].v);
	free(*ps);
	*ps = NULL;
}

static int
store_same(yajl_val o, const char *ns, const char *name)
{
	const char	*ons, *oname;

	ons = json_str(json_get(o, "metadata"), "namespace");
	oname = json_str(json_get(o, "metadata"), "name");
	if (ns == NULL)
		ns = "";
	if (ons == NULL)
		ons = "";
	return oname != NULL && strcmp(oname, name) == 0 &&
	    strcmp(ons, ns) == 0;
}

static ssize_t
store_find(const struct store_list *l, const char *ns, const char *name)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (store_same(l->v[i], ns, name))
			return (ssize_t)i;
	return -1;
}

yajl_val
store_put(struct store *s, const char *kind, yajl_val obj, int *err)
{
	struct store_list	*l;
	const char		*ns, *name;
	yajl_val		 old, *nv;
	ssize_t			 i;
	int			 k;

	*err = 0;
	k = store_kind_index(kind);
	name = json_str(json_get(obj, "metadata"), "name");
	if (k == -1 || name == NULL || *name == '\0') {
		yajl_tree_free(obj);
		*err = -1;
		return NULL;
	}
	ns = json_str(json_get(obj, "metadata"), "namespace");
	l = &s->k[k];
	if ((i = store_find(l, ns, name)) != -1) {
		old = l->v[i];
		l->v[i] = obj;
		return old;
	}
	if (l->n == l->cap) {
		nv = reallocarray(l->v, l->cap ? l->cap * 2 : 16, sizeof(*nv));
		if (nv == NULL) {
			yajl_tree_free(obj);
			*err = -1;
			return NULL;
		}
		l->v = nv;
		l->cap = l->cap ? l->cap * 2 : 16;
	}
	l->v[l->n++] = obj;
	return NULL;
}

yajl_val
store_del(struct store *s, const char *kind, const char *ns,
    const char *name)
{
	struct store_list	*l;
	yajl_val		 old;
	ssize_t			 i;
	int			 k;

	if ((k = store_kind_index(kind)) == -1 || name == NULL)
		return NULL;
	l = &s->k[k];
	if ((i = store_find(l, ns, name)) == -1)
		return NULL;
	old = l->v[i];
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
	l->n--;
	return old;
}

yajl_val
store_get(const struct store *s, const char *kind, const char *ns,
    const char *name)
{
	ssize_t	 i;
	int	 k;

	if ((k = store_kind_index(kind)) == -1 || name == NULL)
		return NULL;
	if ((i = store_find(&s->k[k], ns, name)) == -1)
		return NULL;
	return s->k[k].v[i];
}

size_t
store_count(const struct store *s, const char *kind)
{
	int	 k;

	if ((k = store_kind_index(kind)) == -1)
		return 0;
	return s->k[k].n;
}

yajl_val
store_at(const struct store *s, const char *kind, size_t i)
{
	int	 k;

	if ((k = store_kind_index(kind)) == -1 || i >= s->k[k].n)
		return NULL;
	return s->k[k].v[i];
}

size_t
store_total(const struct store *s)
{
	size_t	 i, n = 0;

	for (i = 0; i < STORE_NKINDS; i++)
		n += s->k[i].n;
	return n;
}
