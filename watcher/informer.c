/* SPDX-License-Identifier: Apache-2.0 */
/*
 * informer: keep a cache of one kind in step with the API server, the
 * client-go way: discover whether (and in which version) the kind is
 * served, list it page by page, then watch from the list's
 * resourceVersion with bookmarks.  A dropped stream resumes from the last
 * resourceVersion seen; 410 Gone means a full re-list, and objects that
 * vanished meanwhile are published as DELETED.  Errors back off with
 * jitter.  Every change is handed to watcher_publish().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "kube.h"
#include "log.h"
#include "watcher.h"

#define INF_PAGE		500	/* as client-go; decoded as a stream */
#define INF_OBJ_MAX		(4u * 1024 * 1024)
#define INF_BACKOFF_MIN		0.5
#define INF_BACKOFF_MAX		30.0
#define INF_RECHECK		60.0
#define INF_WATCH_MIN_S		300
#define INF_WATCH_SPAN_S	300

static double
informer_env_seconds(const char *name, double def)
{
	const char	*v = getenv(name);
	double		 d;

	if (v == NULL || (d = atof(v)) <= 0)
		return def;
	return d;
}

static void
informer_backoff(struct informer *inf, double now)
{
	double	 j;

	inf->backoff = inf->backoff == 0 ? INF_BACKOFF_MIN :
	    inf->backoff * 2;
	if (inf->backoff > INF_BACKOFF_MAX)
		inf->backoff = INF_BACKOFF_MAX;
	/* Half fixed, half random, so informers do not march in step. */
	j = inf->backoff / 2 + (inf->backoff / 2) *
	    ((double)(random() % 1000) / 1000.0);
	inf->next_at = now + j;
}

int
informer_init(struct informer *inf)
{
	const struct kube_res	*r;

	if ((r = kube_res_lookup(inf->kind)) == NULL)
		return -1;
	inf->res = *r;
	if (inf->versions[0] == NULL)
		inf->versions[0] = r->version;
	inf->phase = INF_DISCOVER;
	return wcache_init(&inf->cache);
}

void
informer_free(struct informer *inf)
{
	kube_watch_free(&inf->watch);
	wcache_free(&inf->cache);
}

static void
informer_key(const char *ns, const char *name, char *buf, size_t sz)
{
	if (ns != NULL && *ns != '\0')
		snprintf(buf, sz, "%s/%s", ns, name);
	else
		snprintf(buf, sz, "%s", name);
}

/*
 * The cache entry for src: managed fields and last-applied annotation
 * gone, kind and apiVersion those of the informer (list items and
 * metadata-only answers lack or differ in them), as compact JSON.  src is
 * changed in place (it is a list page's or a watch event's, about to be
 * freed); metadata.selfLink goes too.  NULL: dropped, logged.
 */
static struct wobj *
informer_prepare(struct informer *inf, yajl_val src)
{
	struct wobj	*o = NULL;
	struct jw	*w;
	const char	*name, *ns, *rv, *buf;
	char		 api[128], key[512];
	size_t		 len;

	name = kube_obj_name(src);
	ns = kube_obj_namespace(src);
	rv = kube_obj_rv(src);
	if (name == NULL || *name == '\0' || rv == NULL ||
	    (inf->res.namespaced && (ns == NULL || *ns == '\0'))) {
		log_warnx("%s: dropping object %s%s%s: missing name, namespace "
		    "or resourceVersion", inf->kind, ns ? ns : "",
		    ns ? "/" : "", name ? name : "(unnamed)");
		return NULL;
	}
	informer_key(inf->res.namespaced ? ns : NULL, name, key, sizeof(key));
	kube_obj_trim(src);
	/* Deprecated, unused, and a tenth of a small object. */
	wjson_del(json_get(src, "metadata"), "selfLink");
	if (inf->res.group[0] != '\0')
		snprintf(api, sizeof(api), "%s/%s", inf->res.group,
		    inf->res.version);
	else
		snprintf(api, sizeof(api), "%s", inf->res.version);
	if (wjson_set_str(src, "kind", inf->kind) == -1 ||
	    wjson_set_str(src, "apiVersion", api) == -1 ||
	    (w = jw_new()) == NULL) {
		log_warnx("%s %s: out of memory", inf->kind, key);
		return NULL;
	}
	jw_val(w, src);
	if (jw_result(w, &buf, &len) == -1 || len > INF_OBJ_MAX)
		log_warnx("%s %s: object larger than %u bytes, dropped",
		    inf->kind, key, INF_OBJ_MAX);
	else if ((o = wobj_new(key, kube_obj_rv(src), buf, len)) == NULL)
		log_warnx("%s %s: out of memory", inf->kind, key);
	jw_free(&w);
	return o;
}

static void
informer_set_rv(struct informer *inf, const char *rv)
{
	if (rv != NULL && *rv != '\0')
		snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
}

/* ---- one event from the stream --------------------------------------- */

static void
informer_apply(struct informer *inf, enum kube_event_type t, yajl_val src)
{
	struct wobj	*o, *old;

	if ((o = informer_prepare(inf, src)) == NULL)
		return;
	informer_set_rv(inf, WOBJ_RV(o));
	if (t == KUBE_EV_DELETED) {
		free(wcache_take(&inf->cache, o->key));
		watcher_publish("DELETED", inf->kind, o);
		free(o);
		return;
	}
	old = wcache_get(&inf->cache, o->key);
	if (old != NULL && strcmp(WOBJ_RV(old), WOBJ_RV(o)) == 0) {
		free(o);	/* seen already (resumed stream) */
		return;
	}
	watcher_publish(old != NULL ? "MODIFIED" : "ADDED", inf->kind, o);
	wcache_put(&inf->cache, o);
}

static void
informer_event(void *arg, struct kube_watch *w, enum kube_event_type t,
    yajl_val obj)
{
	struct informer	*inf = arg;
	long long	 code = 0;
	const char	*msg;

	(void)w;
	switch (t) {
	case KUBE_EV_ADDED:
	case KUBE_EV_MODIFIED:
	case KUBE_EV_DELETED:
		inf->stream_events++;
		inf->backoff = 0;
		informer_apply(inf, t, obj);
		break;
	case KUBE_EV_BOOKMARK:
		inf->stream_events++;
		informer_set_rv(inf, kube_obj_rv(obj));
		break;
	case KUBE_EV_ERROR:
		json_int(obj, "code", &code);
		msg = json_str(obj, "message");
		if (code == 410)
			inf->gone = 1;
		else
			inf->failed = 1;
		log_info("%s: watch error %lld: %s", inf->kind, code,
		    msg != NULL ? msg : "(no message)");
		break;
	case KUBE_EV_CLOSED:
		inf->closed = 1;
		break;
	}
}

/* ---- list ------------------------------------------------------------- */

struct informer_diff {
	struct informer	*inf;
	struct wcache	*other;
};

static void
informer_diff_new(void *arg, struct wobj *o)
{
	struct informer_diff	*d = arg;
	struct wobj		*old;

	old = wcache_get(d->other, o->key);
	if (old == NULL) {
		watcher_publish("ADDED", d->inf->kind, o);
		return;
	}
	if (d->inf->resend || strcmp(WOBJ_RV(old), WOBJ_RV(o)) != 0)
		watcher_publish("MODIFIED", d->inf->kind, o);
}

static void
informer_diff_gone(void *arg, struct wobj *o)
{
	struct informer_diff	*d = arg;

	if (wcache_get(d->other, o->key) == NULL)
		watcher_publish("DELETED", d->inf->kind, o);
}

/* Publish what changed between the cache and a fresh list; adopt it. */
static void
informer_adopt(struct informer *inf, struct wcache *fresh)
{
	struct informer_diff	 d;

	d.inf = inf;
	d.other = &inf->cache;
	wcache_walk(fresh, informer_diff_new, &d);
	d.other = fresh;
	wcache_walk(&inf->cache, informer_diff_gone, &d);
	wcache_swap(&inf->cache, fresh);
	inf->resend = 0;
}

struct informer_page {
	struct informer	*inf;
	struct wcache	*fresh;
};

/* One item of a list page, as it is decoded. */
static void
informer_item(void *arg, yajl_val item)
{
	struct informer_page	*p = arg;
	struct wobj		*o;

	if ((o = informer_prepare(p->inf, item)) != NULL)
		wcache_put(p->fresh, o);
}

/* 0 listed, -1 error (back off), -2 not served any more. */
static int
informer_list(struct kube *k, struct informer *inf)
{
	struct kube_list_opts	 lo;
	struct kube_list_page	 page;
	struct kube_resp	 resp;
	struct informer_page	 p;
	struct wcache		 fresh;
	char			 rv[64] = "", *cont = NULL;
	int			 rc = 0, restarts = 0;

	if (wcache_init(&fresh) == -1)
		return -1;
	p.inf = inf;
	p.fresh = &fresh;
	for (;;) {
		memset(&lo, 0, sizeof(lo));
		lo.label_selector = inf->label_selector;
		lo.field_selector = inf->field_selector;
		lo.limit = INF_PAGE;
		lo.continue_token = cont;
		lo.metadata_only = inf->meta;
		/* Items go to the fresh cache as they are decoded. */
		if (kube_list_each(k, &inf->res, NULL, &lo, informer_item, &p,
		    &page, &resp) == -1) {
			log_warnx("%s: list: %s", inf->kind, resp.message);
			rc = resp.status == 404 ? -2 : -1;
			kube_list_page_free(&page);
			/* An expired continue token: start the list over. */
			if (resp.status == 410 && cont != NULL &&
			    restarts++ == 0) {
				free(cont);
				cont = NULL;
				wcache_free(&fresh);
				rc = wcache_init(&fresh);
				rv[0] = '\0';
				kube_resp_free(&resp);
				if (rc == 0)
					continue;
			}
			kube_resp_free(&resp);
			break;
		}
		kube_resp_free(&resp);
		if (rv[0] == '\0')
			snprintf(rv, sizeof(rv), "%s", page.resource_version);
		free(cont);
		cont = page.continue_token;	/* NULL on the last page */
		page.continue_token = NULL;
		watcher_keepalive();
		if (cont == NULL)
			break;		/* the last page */
	}
	free(cont);
	if (rc == 0) {
		informer_adopt(inf, &fresh);
		informer_set_rv(inf, rv);
		log_debug("%s: listed %zu objects at resourceVersion %s",
		    inf->kind, inf->cache.n, inf->rv);
	}
	wcache_free(&fresh);
	return rc;
}

/* ---- discovery ------------------------------------------------------- */

static void
informer_forget_one(void *arg, struct wobj *o)
{
	struct informer	*inf = arg;

	watcher_publish("DELETED", inf->kind, o);
}

static void
informer_unserved(struct informer *inf, double now)
{
	if (inf->served || !inf->synced)
		log_warnx("%s: not served by the API server; skipping it "
		    "(re-checked every %.0f s)", inf->kind,
		    informer_env_seconds("CFGW_WATCHER_RECHECK", INF_RECHECK));
	inf->served = 0;
	inf->synced = 1;
	if (inf->cache.n > 0) {
		wcache_walk(&inf->cache, informer_forget_one, inf);
		wcache_free(&inf->cache);
		wcache_init(&inf->cache);
	}
	inf->rv[0] = '\0';
	inf->next_at = now + informer_env_seconds("CFGW_WATCHER_RECHECK",
	    INF_RECHECK);
}

static void
informer_discover(struct kube *k, struct informer *inf, double now)
{
	int	 i, r;

	for (i = 0; i < 3 && inf->versions[i] != NULL; i++) {
		inf->res.version = inf->versions[i];
		if ((r = kube_served(k, &inf->res)) == -1) {
			log_warnx("%s: discovery failed", inf->kind);
			informer_backoff(inf, now);
			return;
		}
		if (r == 1) {
			if (!inf->served)
				log_info("%s: served as %s%s%s", inf->kind,
				    inf->res.group, *inf->res.group ? "/" :
				    "", inf->res.version);
			inf->served = 1;
			inf->phase = INF_LIST;
			inf->next_at = now;
			return;
		}
	}
	informer_unserved(inf, now);
}

/* ---- the state machine ------------------------------------------------ */

static void
informer_start_watch(struct kube *k, struct informer *inf, double now)
{
	struct kube_watch_opts	 o;
	double			 t;

	if (inf->rv[0] == '\0') {
		inf->phase = INF_LIST;
		inf->next_at = now;
		return;
	}
	memset(&o, 0, sizeof(o));
	o.resource_version = inf->rv;
	o.bookmarks = 1;
	t = informer_env_seconds("CFGW_WATCH_TIMEOUT", 0);
	o.timeout_seconds = t > 0 ? (long)t :
	    INF_WATCH_MIN_S + random() % INF_WATCH_SPAN_S;
	o.metadata_only = inf->meta;
	o.label_selector = inf->label_selector;
	o.field_selector = inf->field_selector;
	inf->gone = inf->failed = inf->closed = 0;
	inf->stream_events = 0;
	inf->watch = kube_watch_start(k, &inf->res, NULL, &o, informer_event,
	    inf);
	if (inf->watch == NULL) {
		informer_backoff(inf, now);
		return;
	}
	inf->watch_started = now;
	inf->phase = INF_WATCHING;
}

double
informer_step(struct kube *k, struct informer *inf, double now)
{
	int	 rc;

	if (inf->phase == INF_WATCHING)
		return now + 3600;
	if (now < inf->next_at)
		return inf->next_at;
	switch (inf->phase) {
	case INF_DISCOVER:
		informer_discover(k, inf, now);
		break;
	case INF_LIST:
		if ((rc = informer_list(k, inf)) == 0) {
			inf->synced = 1;
			inf->backoff = 0;
			inf->phase = INF_WATCH_START;
			inf->next_at = now;
		} else if (rc == -2) {
			inf->phase = INF_DISCOVER;
			inf->next_at = now;
		} else
			informer_backoff(inf, now);
		break;
	case INF_WATCH_START:
		informer_start_watch(k, inf, now);
		break;
	case INF_WATCHING:
		break;
	}
	return inf->phase == INF_WATCHING ? now + 3600 : inf->next_at;
}

void
informer_reap(struct informer *inf, double now)
{
	long	 status = 0;

	if (inf->phase != INF_WATCHING || !inf->closed)
		return;
	kube_watch_done(inf->watch, &status);
	kube_watch_free(&inf->watch);
	inf->next_at = now;
	if (inf->gone || status == 410) {
		log_info("%s: resourceVersion %s expired, re-listing",
		    inf->kind, inf->rv);
		inf->phase = INF_LIST;
		/* Gone right after a list: the server is unwell, slow down. */
		if (now - inf->watch_started < 1.0 && inf->stream_events == 0)
			informer_backoff(inf, now);
	} else if (status == 404) {
		inf->phase = INF_DISCOVER;
	} else if (inf->failed || status != 200) {
		inf->phase = INF_WATCH_START;
		informer_backoff(inf, now);
	} else {
		inf->phase = INF_WATCH_START;
		/* A stream that ends at once, empty, must not spin. */
		if (now - inf->watch_started < 1.0 && inf->stream_events == 0)
			informer_backoff(inf, now);
		else
			inf->backoff = 0;
	}
}

void
informer_resync(struct informer *inf, double now, int resend)
{
	kube_watch_free(&inf->watch);
	if (resend)
		inf->resend = 1;
	inf->backoff = 0;
	inf->next_at = now;
	if (inf->phase != INF_DISCOVER)
		inf->phase = INF_LIST;
}

struct informer_walk_arg {
	struct informer	*inf;
	void		(*fn)(void *, const char *, const struct wobj *);
	void		*arg;
};

static void
informer_walk_one(void *arg, struct wobj *o)
{
	struct informer_walk_arg	*a = arg;

	a->fn(a->arg, a->inf->kind, o);
}

void
informer_walk(struct informer *inf,
    void (*fn)(void *, const char *, const struct wobj *), void *arg)
{
	struct informer_walk_arg	 a;

	a.inf = inf;
	a.fn = fn;
	a.arg = arg;
	wcache_walk(&inf->cache, informer_walk_one, &a);
}
