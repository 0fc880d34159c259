/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store: the watcher's objects, as the reconciler sees them.
 *
 * Per kind, the objects sit in an array (store_at keeps insertion order)
 * with an open-addressing hash index on (namespace, name) beside it, so a
 * snapshot of 10,000 routes is applied in linear time.  Index slots hold
 * the array position + 1 (0 = empty); a delete shifts the array down, so
 * the positions above it are renumbered in the index.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "json.h"
#include "log.h"
#include "store.h"

#define STORE_TAB_MIN	64

static const char *store_kinds[] = {
	"GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute",
	"ReferenceGrant", "Namespace", "Service", "Secret",
	"CloudflareGatewayParameters", "Deployment", "ConfigMap",
	"CustomResourceDefinition", "ServiceAccount", "Role", "RoleBinding",
	"VerticalPodAutoscaler",
};
#define STORE_NKINDS	(sizeof(store_kinds) / sizeof(*store_kinds))

struct store_list {
	yajl_val	*v;
	uint32_t	*hv;		/* hash of each v[i] */
	size_t		 n, cap;
	uint32_t	*tab;		/* position + 1; 0 = empty */
	size_t		 tabsz;		/* power of two, or 0 */
};

struct store {
	struct store_list	 k[STORE_NKINDS];
	unsigned long long	 changes;
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
		if (s->k[i].tab != NULL)
			memset(s->k[i].tab, 0,
			    s->k[i].tabsz * sizeof(*s->k[i].tab));
	}
	s->changes++;
}

void
store_free(struct store **ps)
{
	size_t	 i;

	if (*ps == NULL)
		return;
	store_clear(*ps);
	for (i = 0; i < STORE_NKINDS; i++) {
		free((*ps)->k[i].v);
		free((*ps)->k[i].hv);
		free((*ps)->k[i].tab);
	}
	free(*ps);
	*ps = NULL;
}

/* FNV-1a over "namespace\0name". */
static uint32_t
store_hash(const char *ns, const char *name)
{
	uint32_t	 h = 2166136261u;

	if (ns != NULL)
		for (; *ns != '\0'; ns++)
			h = (h ^ (unsigned char)*ns) * 16777619u;
	h = (h ^ 0) * 16777619u;
	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
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

/* The index slot holding (ns, name), or the empty slot ending its run. */
static size_t
store_slot(const struct store_list *l, uint32_t h, const char *ns,
    const char *name)
{
	size_t		 j, mask = l->tabsz - 1;
	uint32_t	 p;

	for (j = h & mask; (p = l->tab[j]) != 0; j = (j + 1) & mask)
		if (l->hv[p - 1] == h && store_same(l->v[p - 1], ns, name))
			break;
	return j;
}

static ssize_t
store_find(const struct store_list *l, const char *ns, const char *name)
{
	size_t	 j;

	if (l->tabsz == 0 || l->n == 0)
		return -1;
	if (ns != NULL && *ns == '\0')
		ns = NULL;
	j = store_slot(l, store_hash(ns, name), ns, name);
	return l->tab[j] == 0 ? -1 : (ssize_t)l->tab[j] - 1;
}

/* Rebuild the index at twice the size; -1 when out of memory. */
static int
store_regrow(struct store_list *l, size_t want)
{
	uint32_t	*tab;
	size_t		 sz = l->tabsz ? l->tabsz : STORE_TAB_MIN, i, j;

	while (sz < want * 2)
		sz *= 2;
	if (sz == l->tabsz)
		return 0;
	if ((tab = calloc(sz, sizeof(*tab))) == NULL)
		return -1;
	for (i = 0; i < l->n; i++) {
		for (j = l->hv[i] & (sz - 1); tab[j] != 0; j = (j + 1) &
		    (sz - 1))
			;
		tab[j] = (uint32_t)i + 1;
	}
	free(l->tab);
	l->tab = tab;
	l->tabsz = sz;
	return 0;
}

static int
store_append(struct store_list *l, yajl_val obj, uint32_t h)
{
	yajl_val	*nv;
	uint32_t	*nh;
	size_t		 cap, j;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 16;
		if ((nv = reallocarray(l->v, cap, sizeof(*nv))) == NULL)
			return -1;
		l->v = nv;
		if ((nh = reallocarray(l->hv, cap, sizeof(*nh))) == NULL)
			return -1;
		l->hv = nh;
		l->cap = cap;
	}
	if (l->n >= UINT32_MAX - 1 || store_regrow(l, l->n + 1) == -1)
		return -1;
	for (j = h & (l->tabsz - 1); l->tab[j] != 0; j = (j + 1) &
	    (l->tabsz - 1))
		;
	l->v[l->n] = obj;
	l->hv[l->n] = h;
	l->tab[j] = (uint32_t)++l->n;
	return 0;
}

yajl_val
store_put(struct store *s, const char *kind, yajl_val obj, int *err)
{
	struct store_list	*l;
	const char		*ns, *name;
	yajl_val		 old;
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
	if (ns != NULL && *ns == '\0')
		ns = NULL;
	l = &s->k[k];
	s->changes++;
	if ((i = store_find(l, ns, name)) != -1) {
		old = l->v[i];
		l->v[i] = obj;
		return old;
	}
	if (store_append(l, obj, store_hash(ns, name)) == -1) {
		yajl_tree_free(obj);
		*err = -1;
	}
	return NULL;
}

/* Empty slot j of the index, moving later entries of its run back. */
static void
store_unslot(struct store_list *l, size_t j)
{
	size_t	 i = j, mask = l->tabsz - 1, home;

	l->tab[j] = 0;
	for (i = (j + 1) & mask; l->tab[i] != 0; i = (i + 1) & mask) {
		home = l->hv[l->tab[i] - 1] & mask;
		/* Move it back unless its home lies in (j, i]. */
		if (j <= i ? (home > j && home <= i) : (home > j ||
		    home <= i))
			continue;
		l->tab[j] = l->tab[i];
		l->tab[i] = 0;
		j = i;
	}
}

yajl_val
store_del(struct store *s, const char *kind, const char *ns,
    const char *name)
{
	struct store_list	*l;
	yajl_val		 old;
	size_t			 i, j;
	uint32_t		 h;
	int			 k;

	if ((k = store_kind_index(kind)) == -1 || name == NULL)
		return NULL;
	l = &s->k[k];
	if (l->n == 0)
		return NULL;
	if (ns != NULL && *ns == '\0')
		ns = NULL;
	h = store_hash(ns, name);
	j = store_slot(l, h, ns, name);
	if (l->tab[j] == 0)
		return NULL;
	i = l->tab[j] - 1;
	store_unslot(l, j);
	old = l->v[i];
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
	memmove(&l->hv[i], &l->hv[i + 1], (l->n - i - 1) * sizeof(*l->hv));
	l->n--;
	if (i < l->n)
		for (j = 0; j < l->tabsz; j++)
			if (l->tab[j] > i + 1)
				l->tab[j]--;
	s->changes++;
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

unsigned long long
store_changes(const struct store *s)
{
	return s->changes;
}

static int
store_cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "Kind ns/name rv" (cluster-scoped: "Kind name rv"); NULL if no memory. */
static char *
store_line(const char *kind, yajl_val o)
{
	yajl_val	 md = json_get(o, "metadata");
	const char	*ns, *name, *rv;
	char		*line;

	ns = json_str(md, "namespace");
	name = json_str(md, "name");
	rv = json_str(md, "resourceVersion");
	if (asprintf(&line, "%s %s%s%s %s", kind, ns != NULL ? ns : "",
	    ns != NULL && *ns != '\0' ? "/" : "", name != NULL ? name : "",
	    rv != NULL ? rv : "") == -1)
		return NULL;
	return line;
}

int
store_digest(const struct store *s, char hex[65])
{
	crypto_hash_sha256_state	 st;
	unsigned char			 h[crypto_hash_sha256_BYTES];
	char				**lines;
	size_t				 n = 0, i, j, total;
	int				 rc = 0;

	total = store_total(s);
	if ((lines = calloc(total + 1, sizeof(*lines))) == NULL)
		return -1;
	for (i = 0; i < STORE_NKINDS && rc == 0; i++)
		for (j = 0; j < s->k[i].n && rc == 0; j++)
			if ((lines[n++] = store_line(store_kinds[i],
			    s->k[i].v[j])) == NULL)
				rc = -1;
	if (rc == 0) {
		qsort(lines, n, sizeof(*lines), store_cmp_line);
		crypto_hash_sha256_init(&st);
		for (i = 0; i < n; i++) {
			crypto_hash_sha256_update(&st,
			    (const unsigned char *)lines[i], strlen(lines[i]));
			crypto_hash_sha256_update(&st,
			    (const unsigned char *)"\n", 1);
		}
		crypto_hash_sha256_final(&st, h);
		for (i = 0; i < sizeof(h); i++)
			snprintf(hex + 2 * i, 3, "%02x", h[i]);
	}
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	return rc;
}

void
store_log_settled(const struct store *s)
{
	char	 hex[65], counts[1024];
	size_t	 i, off = 0;
	int	 w;

	if (store_digest(s, hex) == -1) {
		log_warnx("store: cannot compute the digest (out of memory)");
		return;
	}
	log_info("store: digest %s objects %zu", hex, store_total(s));
	counts[0] = '\0';
	for (i = 0; i < STORE_NKINDS; i++) {
		w = snprintf(counts + off, sizeof(counts) - off, " %s=%zu",
		    store_kinds[i], s->k[i].n);
		if (w < 0 || (size_t)w >= sizeof(counts) - off)
			break;
		off += (size_t)w;
	}
	log_info("store:%s", counts);
}
