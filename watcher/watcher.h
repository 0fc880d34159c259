/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_WATCHER_H
#define CFGW_WATCHER_H

/* Internals of the watcher process, shared by the files in watcher/. */

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "kube.h"

/* ---- cache.c: objects of one kind by "namespace/name" ---------------- */

/*
 * An object as the cache keeps it: its trimmed, normalised compact JSON
 * packed by objpack (a route of ~640 bytes takes ~170), with its key and
 * resourceVersion in the clear.
 */
struct wobj {
	struct wobj	*next;
	uint32_t	 packlen;
	uint16_t	 rv;		/* offsets into key[] */
	uint16_t	 pack;
	char		 key[];		/* key\0 rv\0 pack */
};

/* resourceVersion, and the objpack frame of the JSON. */
#define WOBJ_RV(o)	((const char *)(o)->key + (o)->rv)
#define WOBJ_PACK(o)	((const unsigned char *)(o)->key + (o)->pack)

struct wcache {
	struct wobj	**b;
	size_t		 nb;
	size_t		 n;
};

/*
 * One allocation holding the key, rv and the packed JSON; free() frees it.
 * NULL when out of memory (or key and rv are over 64 KB).
 */
struct wobj	*wobj_new(const char *key, const char *rv, const char *json,
		    size_t len);
/* The JSON of o, malloc'd and NUL-terminated; NULL (logged) on failure. */
char		*wobj_json(const struct wobj *o, size_t *len);
int		 wcache_init(struct wcache *);
void		 wcache_free(struct wcache *);
struct wobj	*wcache_get(struct wcache *, const char *key);
/* Takes o; replaces (and frees) an entry with the same key. */
void		 wcache_put(struct wcache *, struct wobj *o);
/* Unlinks and returns the entry (the caller frees it). */
struct wobj	*wcache_take(struct wcache *, const char *key);
/* Visit every entry; the callback must not change the cache. */
void		 wcache_walk(struct wcache *,
		    void (*)(void *, struct wobj *), void *);
void		 wcache_swap(struct wcache *, struct wcache *);

/* Set obj[key] to a string (replace or add); 0 or -1. */
int		 wjson_set_str(yajl_val obj, const char *key, const char *v);
/* Remove obj[key] if present. */
void		 wjson_del(yajl_val obj, const char *key);

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

/* Answer cfgwd's heartbeat if one is waiting (watcher.c). */
void	 watcher_keepalive(void);
/* The watcher's publishing hook (watcher.c). */
void	 watcher_publish(const char *event, const char *kind,
	    const struct wobj *);

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
	    void (*)(void *, const char *kind, const struct wobj *), void *);

#endif
