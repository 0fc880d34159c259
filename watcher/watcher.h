/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_WATCHER_H
#define CFGW_WATCHER_H

/* Internals of the watcher process, shared by the files in watcher/. */

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "kube.h"

/* ---- cache.c: objects of one kind by "namespace/name" ---------------- */

struct wobj {
	char		*key;
	yajl_val	 obj;		/* trimmed, normalised */
	struct wobj	*next;
};

struct wcache {
	struct wobj	**b;
	size_t		 nb;
	size_t		 n;
};

int		 wcache_init(struct wcache *);
void		 wcache_free(struct wcache *);
struct wobj	*wcache_get(struct wcache *, const char *key);
/* Takes ownership of obj; replaces (and frees) an older value. */
int		 wcache_put(struct wcache *, const char *key, yajl_val obj);
/* Unlinks and returns the object (caller frees with yajl_tree_free). */
yajl_val	 wcache_take(struct wcache *, const char *key);
/* Visit every entry; the callback must not change the cache. */
void		 wcache_walk(struct wcache *,
		    void (*)(void *, struct wobj *), void *);
void		 wcache_swap(struct wcache *, struct wcache *);

/* Set obj[key] to a string (replace or add); 0 or -1. */
int		 wjson_set_str(yajl_val obj, const char *key, const char *v);

/* ---- informer.c: list + watch one kind ------------------------------- */

enum informer_phase {
	INF_DISCOVER,		/* which version (if any) is served */
	INF_LIST,		/* full list due */
	INF_WATCH_START,	/* start a watch from rv */
	INF_WATCHING,
};

struct informer {
	const char		*kind;		/* published kind */
	const char		*versions[3];	/* preferred first */
	struct kube_res		 res;		/* version chosen */
	const char		*label_selector;
	const char		*field_selector;
	int			 meta;		/* metadata only */
	enum informer_phase	 phase;
	struct wcache		 cache;
	char			 rv[64];	/* last resourceVersion */
	struct kube_watch	*watch;
	double			 next_at;	/* monotonic seconds */
	double			 backoff;	/* current backoff, s */
	double			 watch_started;
	int			 synced;	/* listed, or unserved */
	int			 served;
	int			 resend;	/* next list: publish all */
	int			 gone;		/* 410 on the stream */
	int			 failed;	/* error on the stream */
	int			 closed;	/* stream ended */
	uint64_t		 stream_events;
};

/* The watcher's publishing hook (watcher.c). */
void	 watcher_publish(const char *event, const char *kind, yajl_val obj);

int	 informer_init(struct informer *);
void	 informer_free(struct informer *);
/* Run what is due; returns the next time anything is due. */
double	 informer_step(struct kube *, struct informer *, double now);
/* After kube_watch_perform: act on a closed stream. */
void	 informer_reap(struct informer *, double now);
/* Re-list now; resend: publish every object, not only the differences. */
void	 informer_resync(struct informer *, double now, int resend);
/* Emit one SNAPSHOT_OBJ per object through the callback. */
void	 informer_walk(struct informer *,
	    void (*)(void *, const char *kind, yajl_val), void *);

#endif
