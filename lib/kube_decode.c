/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_decode: the incremental decoder for Kubernetes watch streams, and
 * small helpers over decoded objects.
 *
 * A watch response is a sequence of JSON objects {"type":..,"object":..},
 * one per line.  Bytes are fed to a yajl callback parser as they arrive and
 * each event's tree is built on the fly (compatible with yajl_tree_free), so
 * nothing ever buffers the stream.  Memory is bounded by max_event: the
 * bytes of the event in progress are counted, and once over the limit the
 * partial tree is freed and the rest of the line is discarded.  A parse
 * error likewise drops the rest of the line; the parser restarts at the next
 * newline, which in the apiserver's encoding always separates events.
 *
 * The same machinery decodes a List answer as a stream (list mode): the
 * outer object and its "items" array are walked without building them,
 * each item's tree is built, handed to the item callback and freed, and
 * the list's metadata (resourceVersion, continue) is kept on the side;
 * so neither a page's body nor its whole tree is ever held.  An item over
 * max_event bytes is skipped (its partial tree freed, the rest of it
 * parsed without building) and counted as dropped; malformed JSON ends
 * the list with an error, as there is no newline to resume at.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "json.h"
#include "kube.h"
#include "log.h"

#define KD_MAX_DEPTH	64
#define KD_DEFAULT_MAX	(4u * 1024 * 1024)

struct kd_frame {
	yajl_val	 v;		/* object or array being built */
	size_t		 cap;
	char		*key;		/* pending key (objects) */
};

/* Where a list-mode parse is, outside the item being built. */
enum kd_lstate {
	KD_L_START,		/* before the list object */
	KD_L_TOP,		/* in the list object */
	KD_L_ITEMS,		/* in its "items" array */
	KD_L_DONE,		/* after the list object */
};

struct kube_decoder {
	yajl_handle	 h;
	size_t		 max_event;
	size_t		 cur;		/* bytes of this event */
	int		 discard;	/* drop until the next newline */
	void		(*cb)(void *, enum kube_event_type, yajl_val);
	void		*arg;
	/* List mode. */
	int		 list;
	int		 meta;		/* PartialObjectMetadata only */
	void		(*item)(void *, yajl_val);
	enum kd_lstate	 lstate;
	int		 skip;		/* depth of an oversized item skipped */
	int		 litems;	/* "items" seen (an array or null) */
	char		 lkey[16];	/* top-level key being read */
	char		 lkind[64];	/* the list's kind */
	char		 lrv[64];	/* metadata.resourceVersion */
	char		*lcont;		/* metadata.continue */
	char		 lerr[128];	/* why the list failed */
	uint64_t	 events, dropped;
	struct kd_frame	 st[KD_MAX_DEPTH];
	int		 depth;
	const char	*why;		/* reason a callback cancelled */
	char		 pk[3][16];	/* last key at depths 1..3 */
	/* What we know of the event in progress, for log lines. */
	char		 type[16];
	char		 kind[64];
	char		 ns[64];
	char		 name[254];
};

static int	kd_reset(struct kube_decoder *);

static void
kd_drop_partial(struct kube_decoder *d)
{
	int	 i;

	for (i = 0; i < d->depth; i++) {
		free(d->st[i].key);
		d->st[i].key = NULL;
	}
	/* The outermost container owns everything below it. */
	if (d->depth > 0 && d->st[0].v != NULL)
		yajl_tree_free(d->st[0].v);
	d->depth = 0;
}

static const char *
kd_ident(struct kube_decoder *d, char *buf, size_t sz)
{
	if (d->name[0] == '\0')
		snprintf(buf, sz, "%s (object unknown)",
		    d->kind[0] ? d->kind : "event");
	else
		snprintf(buf, sz, "%s %s%s%s", d->kind[0] ? d->kind : "object",
		    d->ns, d->ns[0] ? "/" : "", d->name);
	return buf;
}

static void
kd_copy(char *dst, size_t sz, const char *s, size_t len)
{
	size_t	 i, n = len < sz - 1 ? len : sz - 1;

	/* Log-safe: printable ASCII only. */
	for (i = 0; i < n; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[n] = '\0';
}

/*
 * Remember type, kind, namespace and name as they stream past: of a list
 * item, or of a watch event's type and its "object".
 */
static void
kd_capture(struct kube_decoder *d, const char *s, size_t len)
{
	const char	*k0 = d->pk[0], *k1 = d->pk[1];
	int		 depth = d->depth;

	if (!d->list) {
		if (depth == 1 && strcmp(k0, "type") == 0) {
			kd_copy(d->type, sizeof(d->type), s, len);
			return;
		}
		if (depth < 2 || strcmp(k0, "object") != 0)
			return;
		depth--;
		k0 = d->pk[1];
		k1 = d->pk[2];
	}
	if (depth == 1 && strcmp(k0, "kind") == 0)
		kd_copy(d->kind, sizeof(d->kind), s, len);
	else if (depth == 2 && strcmp(k0, "metadata") == 0) {
		if (strcmp(k1, "name") == 0)
			kd_copy(d->name, sizeof(d->name), s, len);
		else if (strcmp(k1, "namespace") == 0)
			kd_copy(d->ns, sizeof(d->ns), s, len);
	}
}

/* Why an object cannot be handed on (metadata, name, resourceVersion). */
static const char *
kd_obj_check(yajl_val obj)
{
	if (!YAJL_IS_OBJECT(json_get(obj, "metadata")))
		return "missing metadata";
	if (kube_obj_name(obj) == NULL || *kube_obj_name(obj) == '\0')
		return "missing metadata.name";
	if (kube_obj_rv(obj) == NULL)
		return "missing metadata.resourceVersion";
	return NULL;
}

static void
kd_event(struct kube_decoder *d, yajl_val root)
{
	yajl_val		 obj;
	const char		*type, *what = NULL;
	enum kube_event_type	 t = KUBE_EV_ERROR;
	char			 id[400];

	type = json_str(root, "type");
	obj = json_get(root, "object");
	if (type == NULL)
		what = "no type";
	else if (obj == NULL || !YAJL_IS_OBJECT(obj))
		what = "no object";
	else if (strcmp(type, "ADDED") == 0)
		t = KUBE_EV_ADDED;
	else if (strcmp(type, "MODIFIED") == 0)
		t = KUBE_EV_MODIFIED;
	else if (strcmp(type, "DELETED") == 0)
		t = KUBE_EV_DELETED;
	else if (strcmp(type, "BOOKMARK") == 0)
		t = KUBE_EV_BOOKMARK;
	else if (strcmp(type, "ERROR") == 0)
		t = KUBE_EV_ERROR;
	else
		what = "unknown event type";
	if (what == NULL && t <= KUBE_EV_DELETED)
		what = kd_obj_check(obj);
	else if (what == NULL && t == KUBE_EV_BOOKMARK &&
	    kube_obj_rv(obj) == NULL)
		what = "bookmark without resourceVersion";
	if (what != NULL) {
		d->dropped++;
		log_warnx("watch: dropping %s: %s", kd_ident(d, id, sizeof(id)),
		    what);
		return;
	}
	d->events++;
	d->cb(d->arg, t, obj);
}

/* ---- list mode ------------------------------------------------------ */

static void
kd_list_fail(struct kube_decoder *d, const char *why)
{
	if (d->lerr[0] == '\0')
		snprintf(d->lerr, sizeof(d->lerr), "%s", why);
	d->why = d->lerr;
}

/* A finished item: checked as a watch event's object is, then handed on. */
static int
kd_list_item(struct kube_decoder *d, yajl_val v)
{
	const char	*what = NULL, *kind;
	char		 id[400];

	if (!YAJL_IS_OBJECT(v))
		what = "not a JSON object";
	else
		what = kd_obj_check(v);
	if (what == NULL && d->meta &&
	    strcmp(d->lkind, "PartialObjectMetadataList") != 0 &&
	    ((kind = json_str(v, "kind")) == NULL ||
	    strcmp(kind, "PartialObjectMetadata") != 0)) {
		/* Never hand on more than metadata: the list is refused. */
		kd_list_fail(d, KUBE_ERR_NOT_META);
		return 0;
	}
	if (what != NULL) {
		d->dropped++;
		log_warnx("list: dropping %s: %s", kd_ident(d, id, sizeof(id)),
		    what);
	} else {
		d->events++;
		d->item(d->arg, v);
	}
	return 1;
}

/* A finished value at the list's top: an item or a top-level field. */
static int
kd_list_value(struct kube_decoder *d, yajl_val v)
{
	const char	*s;
	yajl_val	 md;
	int		 ok = 1;

	if (d->lstate == KD_L_ITEMS)
		ok = kd_list_item(d, v);
	else if (strcmp(d->lkey, "metadata") == 0 && YAJL_IS_OBJECT(v)) {
		md = v;
		if ((s = json_str(md, "resourceVersion")) != NULL)
			snprintf(d->lrv, sizeof(d->lrv), "%s", s);
		if ((s = json_str(md, "continue")) != NULL && *s != '\0') {
			free(d->lcont);
			if ((d->lcont = strdup(s)) == NULL) {
				kd_list_fail(d, "out of memory");
				ok = 0;
			}
		}
	} else if (strcmp(d->lkey, "items") == 0) {
		if (YAJL_IS_NULL(v))
			d->litems = 1;	/* Go's encoding of no items */
		else {
			kd_list_fail(d, "items is not an array");
			ok = 0;
		}
	} else if (strcmp(d->lkey, "kind") == 0 && YAJL_IS_STRING(v))
		snprintf(d->lkind, sizeof(d->lkind), "%s", YAJL_GET_STRING(v));
	yajl_tree_free(v);
	d->cur = 0;
	d->type[0] = d->kind[0] = d->ns[0] = d->name[0] = '\0';
	return ok;
}

/*
 * Before a value starts at the list's top: 1 when the list's structure
 * took it (the list object, the items array), 0 to build it, -1 to fail.
 */
static int
kd_list_open(struct kube_decoder *d, yajl_type t)
{
	if (d->depth > 0 || d->skip > 0)
		return 0;
	switch (d->lstate) {
	case KD_L_START:
		if (t != yajl_t_object) {
			kd_list_fail(d, "not a JSON object");
			return -1;
		}
		d->lstate = KD_L_TOP;
		return 1;
	case KD_L_TOP:
		if (t == yajl_t_array && strcmp(d->lkey, "items") == 0) {
			d->lstate = KD_L_ITEMS;
			d->litems = 1;
			return 1;
		}
		return 0;
	case KD_L_ITEMS:
		d->cur = 0;
		return 0;
	case KD_L_DONE:
		kd_list_fail(d, "data after the list");
		return -1;
	}
	return 0;
}

/* Drop the item being built and skip the rest of it. */
static void
kd_list_drop(struct kube_decoder *d, const char *why)
{
	char	 id[400];

	d->dropped++;
	log_warnx("list: dropping %s: %s", kd_ident(d, id, sizeof(id)), why);
	d->skip = d->depth;
	kd_drop_partial(d);
	d->type[0] = d->kind[0] = d->ns[0] = d->name[0] = '\0';
}

/*
 * A NUL in a string or key: 1 when an item was dropped for it (and is
 * skipped), 0 when it must end the parse.
 */
static int
kd_nul(struct kube_decoder *d, const char *why)
{
	if (d->list && d->skip > 0)
		return 1;
	if (d->list && d->lstate == KD_L_ITEMS) {
		kd_list_drop(d, why);
		return 1;
	}
	d->why = why;
	return 0;
}

/*
 * Count the bytes of the top-level value being built: 1 to go on; over
 * max_event, an item is dropped and the rest of it skipped (0), anything
 * else fails the list (-1).
 */
static int
kd_list_count(struct kube_decoder *d, size_t len)
{
	char	 id[400];

	if (d->depth == 0)
		d->cur = 0;	/* a new value starts */
	d->cur += len + 8;
	if (d->cur <= d->max_event)
		return 1;
	if (d->lstate != KD_L_ITEMS) {
		kd_list_fail(d, "list metadata too large");
		return -1;
	}
	snprintf(id, sizeof(id), "larger than %zu bytes", d->max_event);
	kd_list_drop(d, id);
	return 0;
}

/* Attach a finished value to its parent, or complete the event. */
static int
kd_add(struct kube_decoder *d, yajl_val v)
{
	struct kd_frame	*f;
	void		*p;
	char		 id[400];

	if (d->depth == 0 && d->list)
		return kd_list_value(d, v);
	if (d->depth == 0) {
		if (YAJL_IS_OBJECT(v))
			kd_event(d, v);
		else {
			d->dropped++;
			log_warnx("watch: dropping %s: not a JSON object",
			    kd_ident(d, id, sizeof(id)));
		}
		yajl_tree_free(v);
		d->type[0] = d->kind[0] = d->ns[0] = d->name[0] = '\0';
		return 1;
	}
	f = &d->st[d->depth - 1];
	if (YAJL_IS_OBJECT(f->v)) {
		if (f->key == NULL)
			goto bad;
		if (f->v->u.object.len == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 8;
			p = realloc(f->v->u.object.keys,
			    f->cap * sizeof(char *));
			if (p == NULL)
				goto bad;
			f->v->u.object.keys = p;
			p = realloc(f->v->u.object.values,
			    f->cap * sizeof(yajl_val));
			if (p == NULL)
				goto bad;
			f->v->u.object.values = p;
		}
		f->v->u.object.keys[f->v->u.object.len] = f->key;
		f->v->u.object.values[f->v->u.object.len++] = v;
		f->key = NULL;
	} else {
		if (f->v->u.array.len == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 8;
			p = realloc(f->v->u.array.values,
			    f->cap * sizeof(yajl_val));
			if (p == NULL)
				goto bad;
			f->v->u.array.values = p;
		}
		f->v->u.array.values[f->v->u.array.len++] = v;
	}
	return 1;
bad:
	d->why = "out of memory";
	yajl_tree_free(v);
	return 0;
}

/*
 * A scalar is about to be added: 1 to build it, 0 to ignore it (skipped
 * item), -1 to fail (a scalar where the list object belongs).
 */
static int
kd_scalar(struct kube_decoder *d, size_t len)
{
	if (!d->list)
		return 1;
	if (d->skip > 0)
		return 0;
	if (d->depth == 0 && (d->lstate == KD_L_START ||
	    d->lstate == KD_L_DONE)) {
		kd_list_fail(d, "not a JSON object");
		return -1;
	}
	return kd_list_count(d, len);
}

static int
kd_null(void *ctx)
{
	yajl_val	 v;
	int		 r;

	if ((r = kd_scalar(ctx, 4)) <= 0)
		return r == 0;
	v = kube_val_new(yajl_t_null);
	return v != NULL && kd_add(ctx, v);
}

static int
kd_bool(void *ctx, int b)
{
	yajl_val	 v;
	int		 r;

	if ((r = kd_scalar(ctx, 5)) <= 0)
		return r == 0;
	v = kube_val_new(b ? yajl_t_true : yajl_t_false);
	return v != NULL && kd_add(ctx, v);
}

static int
kd_number(void *ctx, const char *s, size_t len)
{
	yajl_val	 v;
	char		*end;
	int		 r;

	if ((r = kd_scalar(ctx, len)) <= 0)
		return r == 0;
	if ((v = kube_val_new(yajl_t_number)) == NULL)
		return 0;
	if ((v->u.number.r = strndup(s, len)) == NULL) {
		free(v);
		return 0;
	}
	errno = 0;
	v->u.number.i = strtoll(v->u.number.r, &end, 10);
	if (errno == 0 && *end == '\0')
		v->u.number.flags |= YAJL_NUMBER_INT_VALID;
	errno = 0;
	v->u.number.d = strtod(v->u.number.r, &end);
	if (errno == 0 && *end == '\0')
		v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
	return kd_add(ctx, v);
}

static int
kd_string(void *ctx, const unsigned char *s, size_t len)
{
	struct kube_decoder	*d = ctx;
	yajl_val		 v;
	int			 r;

	if (memchr(s, '\0', len) != NULL)
		return kd_nul(d, "NUL in string");
	if ((r = kd_scalar(d, len)) <= 0)
		return r == 0;
	kd_capture(d, (const char *)s, len);
	if ((v = kube_val_new(yajl_t_string)) == NULL)
		return 0;
	if ((v->u.string = strndup((const char *)s, len)) == NULL) {
		free(v);
		return 0;
	}
	return kd_add(d, v);
}

static int
kd_open(struct kube_decoder *d, yajl_type t)
{
	yajl_val	 v;
	int		 r;

	if (d->list) {
		if (d->skip > 0) {
			d->skip++;
			return 1;
		}
		if ((r = kd_list_open(d, t)) != 0)
			return r == 1;
		if ((r = kd_list_count(d, 1)) != 1) {
			d->skip += r == 0;	/* this one too */
			return r == 0;
		}
	}
	if (d->depth == 0)
		d->type[0] = d->kind[0] = d->ns[0] = d->name[0] = '\0';
	if (d->depth < 3)
		d->pk[d->depth][0] = '\0';
	if (d->depth >= KD_MAX_DEPTH) {
		d->why = "nested too deeply";
		return 0;
	}
	if ((v = kube_val_new(t)) == NULL)
		return 0;
	/*
	 * Link into the parent right away so a cancelled parse frees the
	 * whole partial tree from the root.
	 */
	if (d->depth > 0 && !kd_add(d, v))
		return 0;
	d->st[d->depth].v = v;
	d->st[d->depth].cap = 0;
	d->st[d->depth].key = NULL;
	d->depth++;
	return 1;
}

static int
kd_close(struct kube_decoder *d)
{
	yajl_val	 v;

	if (d->list && d->skip > 0) {
		d->skip--;
		return 1;
	}
	if (d->list && d->depth == 0) {
		/* The end of the items array, or of the list object. */
		if (d->lstate == KD_L_ITEMS)
			d->lstate = KD_L_TOP;
		else if (d->lstate == KD_L_TOP)
			d->lstate = KD_L_DONE;
		return 1;
	}
	if (d->depth == 0)
		return 0;
	d->depth--;
	v = d->st[d->depth].v;
	free(d->st[d->depth].key);
	d->st[d->depth].key = NULL;
	if (d->depth == 0)
		return kd_add(d, v);
	return 1;
}

static int
kd_start_map(void *ctx)
{
	return kd_open(ctx, yajl_t_object);
}

static int
kd_start_array(void *ctx)
{
	return kd_open(ctx, yajl_t_array);
}

static int
kd_end(void *ctx)
{
	return kd_close(ctx);
}

static int
kd_key(void *ctx, const unsigned char *s, size_t len)
{
	struct kube_decoder	*d = ctx;
	struct kd_frame		*f;
	int			 r;

	if (memchr(s, '\0', len) != NULL)
		return kd_nul(d, "NUL in key");
	if (d->list && d->skip > 0)
		return 1;
	if (d->list && d->depth == 0) {
		kd_copy(d->lkey, sizeof(d->lkey), (const char *)s, len);
		return 1;
	}
	if (d->list && (r = kd_list_count(d, len)) != 1)
		return r == 0;
	if (d->depth == 0)
		return 0;
	f = &d->st[d->depth - 1];
	if (d->depth <= 3)
		kd_copy(d->pk[d->depth - 1], sizeof(d->pk[0]), (const char *)s,
		    len);
	free(f->key);
	return (f->key = strndup((const char *)s, len)) != NULL;
}

static const yajl_callbacks kd_callbacks = {
	kd_null, kd_bool, NULL, NULL, kd_number, kd_string,
	kd_start_map, kd_key, kd_end, kd_start_array, kd_end,
};

static int
kd_reset(struct kube_decoder *d)
{
	kd_drop_partial(d);
	if (d->h != NULL)
		yajl_free(d->h);
	d->cur = 0;
	d->discard = 0;
	d->why = NULL;
	d->type[0] = d->kind[0] = d->ns[0] = d->name[0] = '\0';
	d->lstate = KD_L_START;
	d->skip = d->litems = 0;
	d->lkey[0] = d->lkind[0] = d->lrv[0] = d->lerr[0] = '\0';
	free(d->lcont);
	d->lcont = NULL;
	if ((d->h = yajl_alloc(&kd_callbacks, NULL, d)) == NULL)
		return -1;
	if (!d->list)
		yajl_config(d->h, yajl_allow_multiple_values, 1);
	return 0;
}

struct kube_decoder *
kube_decoder_new(size_t max_event,
    void (*cb)(void *, enum kube_event_type, yajl_val), void *arg)
{
	struct kube_decoder	*d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->max_event = max_event ? max_event : KD_DEFAULT_MAX;
	d->cb = cb;
	d->arg = arg;
	if (kd_reset(d) == -1) {
		free(d);
		return NULL;
	}
	return d;
}

struct kube_decoder *
kube_list_decoder_new(size_t max_item, int metadata_only,
    void (*item)(void *, yajl_val), void *arg)
{
	struct kube_decoder	*d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->max_event = max_item ? max_item : KD_DEFAULT_MAX;
	d->list = 1;
	d->meta = metadata_only;
	d->item = item;
	d->arg = arg;
	if (kd_reset(d) == -1) {
		free(d);
		return NULL;
	}
	return d;
}

void
kube_decoder_free(struct kube_decoder **pd)
{
	struct kube_decoder	*d = *pd;

	if (d == NULL)
		return;
	free(d->lcont);
	kd_drop_partial(d);
	if (d->h != NULL)
		yajl_free(d->h);
	free(d);
	*pd = NULL;
}

static void
kd_fail(struct kube_decoder *d, const char *what)
{
	char	 id[400];

	d->dropped++;
	log_warnx("watch: dropping %s: %s", kd_ident(d, id, sizeof(id)), what);
	kd_drop_partial(d);
	d->discard = 1;
}

static void
kd_parse_error(struct kube_decoder *d, const char *seg, size_t len)
{
	unsigned char	*e;
	char		 msg[128];

	if (d->why != NULL)
		snprintf(msg, sizeof(msg), "%s", d->why);
	else {
		e = yajl_get_error(d->h, 0, (const unsigned char *)seg, len);
		snprintf(msg, sizeof(msg), "malformed JSON (%s)",
		    e != NULL ? (char *)e : "?");
		msg[strcspn(msg, "\n")] = '\0';
		if (e != NULL)
			yajl_free_error(d->h, e);
	}
	kd_fail(d, msg);
}

/* One segment: bytes up to and including a newline, or the tail. */
static int
kd_segment(struct kube_decoder *d, const char *seg, size_t len, int nl)
{
	char	 msg[64];

	if (!d->discard) {
		if (len > d->max_event - d->cur) {
			/* Parse up to the limit: it may name the object. */
			yajl_parse(d->h, (const unsigned char *)seg,
			    d->max_event - d->cur);
			snprintf(msg, sizeof(msg),
			    "event larger than %zu bytes", d->max_event);
			kd_fail(d, msg);
		} else if (yajl_parse(d->h, (const unsigned char *)seg, len) !=
		    yajl_status_ok)
			kd_parse_error(d, seg, len);
		else
			d->cur += len;
	}
	if (nl) {
		if (d->discard)
			return kd_reset(d);
		if (d->depth == 0)
			d->cur = 0;
	}
	return 0;
}

/* List mode: no newlines to resume at; an error ends the list. */
static int
kd_list_feed(struct kube_decoder *d, const char *buf, size_t len)
{
	unsigned char	*e;

	if (d->lerr[0] != '\0')
		return -1;
	if (yajl_parse(d->h, (const unsigned char *)buf, len) ==
	    yajl_status_ok)
		return 0;
	if (d->why != NULL)
		kd_list_fail(d, d->why);
	else {
		e = yajl_get_error(d->h, 0, (const unsigned char *)buf, len);
		snprintf(d->lerr, sizeof(d->lerr), "malformed JSON (%s)",
		    e != NULL ? (char *)e : "?");
		d->lerr[strcspn(d->lerr, "\n")] = '\0';
		if (e != NULL)
			yajl_free_error(d->h, e);
	}
	kd_drop_partial(d);
	return -1;
}

int
kube_decoder_feed(struct kube_decoder *d, const char *buf, size_t len)
{
	const char	*nl;
	size_t		 n;

	if (d->list)
		return kd_list_feed(d, buf, len);
	while (len > 0) {
		nl = memchr(buf, '\n', len);
		n = nl != NULL ? (size_t)(nl - buf) + 1 : len;
		if (kd_segment(d, buf, n, nl != NULL) == -1)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

int
kube_decoder_finish(struct kube_decoder *d)
{
	if (d->list) {
		if (d->lerr[0] != '\0')
			return -1;
		if (yajl_complete_parse(d->h) != yajl_status_ok ||
		    d->lstate != KD_L_DONE) {
			kd_list_fail(d, "truncated list");
			kd_drop_partial(d);
			return -1;
		}
		if (!d->litems) {
			kd_list_fail(d, "list answer without items");
			return -1;
		}
		return 0;
	}
	if (!d->discard && yajl_complete_parse(d->h) != yajl_status_ok) {
		if (d->depth > 0 || d->cur > 0)
			kd_parse_error(d, NULL, 0);
	}
	return kd_reset(d);
}

uint64_t
kube_decoder_events(const struct kube_decoder *d)
{
	return d->events;
}

uint64_t
kube_decoder_dropped(const struct kube_decoder *d)
{
	return d->dropped;
}

const char *
kube_decoder_error(const struct kube_decoder *d)
{
	return d->lerr[0] != '\0' ? d->lerr : NULL;
}

const char *
kube_decoder_list_rv(const struct kube_decoder *d)
{
	return d->lrv;
}

const char *
kube_decoder_list_continue(const struct kube_decoder *d)
{
	return d->lcont;
}
