/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store: the watcher's objects, as the reconciler sees them.
 *
 * Per kind, the objects sit in an array (store_at keeps insertion order)
 * with an open-addressing hash index on (namespace, name) beside it, so a
 * snapshot of 10,000 routes is applied in linear time.  Index slots hold
 * the array position + 1 (0 = empty); a delete shifts the array down, so
 * the positions above it are renumbered in the index.
 *
 * Each object is one allocation: its namespace, name and resourceVersion
 * (for the index and the digest) and, for the kinds kept as text, its
 * compact JSON packed by objpack; the other kinds keep their parsed tree
 * beside it.  A route takes ~0.2 KB packed, ~0.65 KB as text and ~4.6 KB
 * as a yajl tree.  Trees parsed for borrowers go to a bin emptied by
 * store_release.
 */
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "json.h"
#include "log.h"
#include "objpack.h"
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

/* Kinds kept parsed: few objects, read on most runs. */
static const char *store_tree_kinds[] = {
	"GatewayClass", "Gateway", "Namespace", "Secret",
	"CloudflareGatewayParameters", "Deployment",
};

/* 10,000 of them: offsets, not pointers, into buf. */
struct store_obj {
	yajl_val	 tree;		/* NULL for text kinds */
	uint32_t	 len;		/* of the packed text */
	uint16_t	 name;		/* offsets into buf */
	uint16_t	 rv;
	uint16_t	 pack;
	uint8_t		 has_ns;	/* buf starts with the namespace */
	char		 buf[];		/* [ns\0] name\0 rv\0 packed text */
};

#define SO_NS(o)	((o)->has_ns ? (const char *)(o)->buf : NULL)
#define SO_NAME(o)	((const char *)(o)->buf + (o)->name)
#define SO_RV(o)	((const char *)(o)->buf + (o)->rv)
#define SO_PACK(o)	((const unsigned char *)(o)->buf + (o)->pack)

struct store_bin {
	yajl_val	*v;
	size_t		 n, cap;
};

struct store_list {
	struct store_obj **v;
	uint32_t	*hv;		/* hash of each v[i] */
	size_t		 n, cap;
	uint32_t	*tab;		/* position + 1; 0 = empty */
	size_t		 tabsz;		/* power of two, or 0 */
};

struct store {
	struct store_list	 k[STORE_NKINDS];
	unsigned char		 text[STORE_NKINDS];
	struct store_bin	*bin;	/* mutable behind const lookups */
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

int
store_kind_text(const char *kind)
{
	size_t	 i;

	if (store_kind_index(kind) == -1)
		return 0;
	for (i = 0; i < sizeof(store_tree_kinds) / sizeof(*store_tree_kinds);
	    i++)
		if (strcmp(kind, store_tree_kinds[i]) == 0)
			return 0;
	return 1;
}

struct store *
store_new(void)
{
	struct store	*s;
	size_t		 i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->bin = calloc(1, sizeof(*s->bin))) == NULL) {
		free(s);
		return NULL;
	}
	for (i = 0; i < STORE_NKINDS; i++)
		s->text[i] = (unsigned char)store_kind_text(store_kinds[i]);
	return s;
}

static void
store_obj_free(struct store_obj *o)
{
	if (o == NULL)
		return;
	if (o->tree != NULL)
		yajl_tree_free(o->tree);
	free(o);
}

/* Keep t until store_release; on failure t is freed and NULL returned. */
static yajl_val
store_bin_add(const struct store *s, yajl_val t)
{
	struct store_bin	*b = s->bin;
	yajl_val		*nv;
	size_t			 cap;

	if (t == NULL)
		return NULL;
	if (b->n == b->cap) {
		cap = b->cap ? b->cap * 2 : 16;
		if ((nv = reallocarray(b->v, cap, sizeof(*nv))) == NULL) {
			log_warnx("store: out of memory");
			yajl_tree_free(t);
			return NULL;
		}
		b->v = nv;
		b->cap = cap;
	}
	b->v[b->n++] = t;
	return t;
}

void
store_release(struct store *s)
{
	size_t	 i;

	for (i = 0; i < s->bin->n; i++)
		yajl_tree_free(s->bin->v[i]);
	s->bin->n = 0;
	if (s->bin->cap > 64) {
		free(s->bin->v);
		s->bin->v = NULL;
		s->bin->cap = 0;
	}
}

/* A new tree of o, parsed from its text (or a copy of its tree). */
static yajl_val
store_obj_parse(const struct store_obj *o)
{
	struct jw	*w = NULL;
	const char	*text;
	char		*unpacked = NULL, err[128];
	size_t		 len;
	yajl_val	 v = NULL;

	if (o->tree != NULL) {
		if ((w = jw_new()) == NULL)
			return NULL;
		jw_val(w, o->tree);
		if (jw_result(w, &text, &len) == -1)
			goto done;
	} else if ((unpacked = objpack_unpack(SO_PACK(o), o->len, 0,
	    &len)) == NULL) {
		log_warnx("store: cannot unpack %s", SO_NAME(o));
		return NULL;
	} else
		text = unpacked;
	if ((v = json_parse(text, len, err, sizeof(err))) == NULL)
		log_warnx("store: cannot parse %s: %s", SO_NAME(o), err);
done:
	jw_free(&w);
	free(unpacked);
	return v;
}

/* The tree of o to hand out and forget (o is about to be freed). */
static yajl_val
store_obj_take(struct store_obj *o)
{
	yajl_val	 t;

	if (o == NULL)
		return NULL;
	if ((t = o->tree) != NULL)
		o->tree = NULL;
	else
		t = store_obj_parse(o);
	store_obj_free(o);
	return t;
}

/* A borrowed tree of o. */
static yajl_val
store_obj_borrow(const struct store *s, const struct store_obj *o)
{
	if (o->tree != NULL)
		return o->tree;
	return store_bin_add(s, store_obj_parse(o));
}

void
store_clear(struct store *s)
{
	size_t	 i, j;

	for (i = 0; i < STORE_NKINDS; i++) {
		for (j = 0; j < s->k[i].n; j++)
			store_obj_free(s->k[i].v[j]);
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
	store_release(*ps);
	free((*ps)->bin->v);
	free((*ps)->bin);
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
store_same(const struct store_obj *o, const char *ns, const char *name)
{
	return strcmp(SO_NAME(o), name) == 0 &&
	    strcmp(o->has_ns ? SO_NS(o) : "", ns != NULL ? ns : "") == 0;
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
store_append(struct store_list *l, struct store_obj *obj, uint32_t h)
{
	struct store_obj **nv;
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

/*
 * The stored form of obj: keys and, for a text kind, its compact JSON,
 * packed; the tree is kept for the other kinds.  NULL when out of memory
 * (or keys too long for the offsets).
 */
static struct store_obj *
store_obj_new(int text, yajl_val obj, const char *ns, const char *name)
{
	struct store_obj	*o;
	struct jw		*w = NULL;
	const char		*rv, *js = "";
	const void		*pack;
	size_t			 jl = 0, lns, lname, lrv;

	rv = json_str(json_get(obj, "metadata"), "resourceVersion");
	if (rv == NULL)
		rv = "";
	if (text) {
		if ((w = jw_new()) == NULL)
			return NULL;
		jw_val(w, obj);
		if (jw_result(w, &js, &jl) == -1 ||
		    (pack = objpack_pack(js, jl, &jl)) == NULL) {
			jw_free(&w);
			return NULL;
		}
		js = pack;
	}
	lns = ns != NULL ? strlen(ns) + 1 : 0;
	lname = strlen(name) + 1;
	lrv = strlen(rv) + 1;
	/* Kubernetes names are at most 253 bytes: offsets fit 16 bits. */
	if (lns + lname + lrv > UINT16_MAX || jl > UINT32_MAX)
		o = NULL;
	else if ((o = malloc(offsetof(struct store_obj, buf) + lns + lname +
	    lrv + jl + 1)) != NULL) {
		o->tree = text ? NULL : obj;
		o->has_ns = ns != NULL;
		memcpy(o->buf, ns != NULL ? ns : "", lns);
		o->name = (uint16_t)lns;
		memcpy(o->buf + o->name, name, lname);
		o->rv = (uint16_t)(lns + lname);
		memcpy(o->buf + o->rv, rv, lrv);
		o->pack = (uint16_t)(lns + lname + lrv);
		memcpy(o->buf + o->pack, js, jl);
		o->buf[o->pack + jl] = '\0';
		o->len = (uint32_t)jl;
	}
	jw_free(&w);
	return o;
}

yajl_val
store_put(struct store *s, const char *kind, yajl_val obj, int *err)
{
	struct store_list	*l;
	struct store_obj	*o, *old;
	const char		*ns, *name;
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
	if ((o = store_obj_new(s->text[k], obj, ns, name)) == NULL) {
		log_warnx("store: cannot keep %s %s%s%s (out of memory or "
		    "bad text)", kind, ns != NULL ? ns : "", ns != NULL ? "/" :
		    "", name);
		yajl_tree_free(obj);
		*err = -1;
		return NULL;
	}
	/* A text kind keeps obj borrowed for the caller. */
	if (s->text[k] && store_bin_add(s, obj) == NULL) {
		store_obj_free(o);
		*err = -1;
		return NULL;
	}
	s->changes++;
	if ((i = store_find(l, SO_NS(o), SO_NAME(o))) != -1) {
		old = l->v[i];
		l->v[i] = o;
		return store_obj_take(old);
	}
	if (store_append(l, o, store_hash(SO_NS(o), SO_NAME(o))) == -1) {
		store_obj_free(o);
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
	struct store_obj	*old;
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
	return store_obj_take(old);
}

/* The object (ns, name) of kind, or NULL. */
static const struct store_obj *
store_lookup(const struct store *s, const char *kind, const char *ns,
    const char *name)
{
	ssize_t	 i;
	int	 k;

	if ((k = store_kind_index(kind)) == -1 || name == NULL ||
	    (i = store_find(&s->k[k], ns, name)) == -1)
		return NULL;
	return s->k[k].v[i];
}

/* The i-th object of kind, or NULL. */
static const struct store_obj *
store_nth(const struct store *s, const char *kind, size_t i)
{
	int	 k;

	if ((k = store_kind_index(kind)) == -1 || i >= s->k[k].n)
		return NULL;
	return s->k[k].v[i];
}

yajl_val
store_get(const struct store *s, const char *kind, const char *ns,
    const char *name)
{
	const struct store_obj	*o;

	return (o = store_lookup(s, kind, ns, name)) != NULL ?
	    store_obj_borrow(s, o) : NULL;
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
	const struct store_obj	*o;

	return (o = store_nth(s, kind, i)) != NULL ?
	    store_obj_borrow(s, o) : NULL;
}

yajl_val
store_fetch(const struct store *s, const char *kind, const char *ns,
    const char *name)
{
	const struct store_obj	*o;

	return (o = store_lookup(s, kind, ns, name)) != NULL ?
	    store_obj_parse(o) : NULL;
}

yajl_val
store_load(const struct store *s, const char *kind, size_t i)
{
	const struct store_obj	*o;

	return (o = store_nth(s, kind, i)) != NULL ? store_obj_parse(o) : NULL;
}

int
store_key_at(const struct store *s, const char *kind, size_t i,
    const char **ns, const char **name)
{
	const struct store_obj	*o;

	if ((o = store_nth(s, kind, i)) == NULL)
		return -1;
	*ns = o->has_ns ? SO_NS(o) : "";
	*name = SO_NAME(o);
	return 0;
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

/*
 * The digest's line of an object, "Kind ns/name rv" ("Kind name rv" if
 * cluster-scoped), as segments: compared and hashed in place, so that a
 * digest over 10,000 objects allocates no line.
 */
#define STORE_NSEG	7

struct store_dline {
	const char		*kind;
	const struct store_obj	*o;
};

static void
store_segs(const struct store_dline *l, const char *seg[STORE_NSEG + 1])
{
	seg[0] = l->kind;
	seg[1] = " ";
	seg[2] = l->o->has_ns ? SO_NS(l->o) : "";
	seg[3] = l->o->has_ns ? "/" : "";
	seg[4] = SO_NAME(l->o);
	seg[5] = " ";
	seg[6] = SO_RV(l->o);
	seg[7] = NULL;
}

/* strcmp of the two lines the segments spell. */
static int
store_cmp_line(const void *va, const void *vb)
{
	const char	*sa[STORE_NSEG + 1], *sb[STORE_NSEG + 1];
	const char	**a = sa, **b = sb, *pa, *pb;

	store_segs(va, sa);
	store_segs(vb, sb);
	pa = *a;
	pb = *b;
	for (;;) {
		while (pa != NULL && *pa == '\0')
			pa = *++a;
		while (pb != NULL && *pb == '\0')
			pb = *++b;
		if (pa == NULL || pb == NULL)
			return (pa != NULL) - (pb != NULL);
		if (*pa != *pb)
			return (unsigned char)*pa - (unsigned char)*pb;
		pa++;
		pb++;
	}
}

int
store_digest(const struct store *s, char hex[65])
{
	crypto_hash_sha256_state	 st;
	unsigned char			 h[crypto_hash_sha256_BYTES];
	struct store_dline		*lines;
	const char			*seg[STORE_NSEG + 1];
	size_t				 n = 0, i, j;

	if ((lines = calloc(store_total(s) + 1, sizeof(*lines))) == NULL)
		return -1;
	for (i = 0; i < STORE_NKINDS; i++)
		for (j = 0; j < s->k[i].n; j++) {
			lines[n].kind = store_kinds[i];
			lines[n++].o = s->k[i].v[j];
		}
	qsort(lines, n, sizeof(*lines), store_cmp_line);
	crypto_hash_sha256_init(&st);
	for (i = 0; i < n; i++) {
		store_segs(&lines[i], seg);
		for (j = 0; seg[j] != NULL; j++)
			crypto_hash_sha256_update(&st,
			    (const unsigned char *)seg[j], strlen(seg[j]));
		crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
	}
	crypto_hash_sha256_final(&st, h);
	for (i = 0; i < sizeof(h); i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	free(lines);
	return 0;
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
