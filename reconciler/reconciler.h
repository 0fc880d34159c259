/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_RECONCILER_H
#define CFGW_RECONCILER_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "worker.h"

/*
 * Shared between the reconciler's own files (never included elsewhere).
 * The process file reconciler.c owns the one struct rec; the others get a
 * pointer to it.
 */

#define REC_CONTROLLER		"cloudflare-gateway-controller.io/controller"
#define REC_GROUP		"cloudflare-gateway-controller.io"
#define REC_GW_GROUP		"gateway.networking.k8s.io"
#define REC_FINALIZER		"cloudflare-gateway-controller.io/finalizer"
#define REC_ANN_RECONCILE	"cloudflare-gateway-controller.io/reconcile"
#define REC_ANN_EVERY \
	"cloudflare-gateway-controller.io/reconcileEvery"
#define REC_ANN_REQUESTED \
	"cloudflare-gateway-controller.io/reconcileRequestedAt"
#define REC_ANN_ROTATE \
	"gateways.cloudflare-gateway-controller.io/rotateTokenRequestedAt"
#define REC_CRD_GATEWAYCLASS	"gatewayclasses.gateway.networking.k8s.io"
#define REC_ANN_BUNDLE		"gateway.networking.k8s.io/bundle-version"

#define REC_EVERY_DEFAULT_MS	(10LL * 60 * 1000)
#define REC_ROTATE_RETRY_MS	(60LL * 1000)	/* after a failed rotation */
#define REC_CF_TIMEOUT_MS	(90 * 1000)	/* cfapi retries inside */
#define REC_DNS_TIMEOUT_MS	(300 * 1000)	/* many zones, many names */
#define REC_SNAPSHOT_TIMEOUT_MS	(30 * 1000)

struct kube;
struct queue;
struct store;
struct rec_pending;

enum rec_peer {
	REC_PEER_CFAPI,
	REC_PEER_DNS,
};

enum rec_sync {
	REC_SYNC_NONE,		/* no snapshot yet: ask */
	REC_SYNC_WAIT,		/* snapshot streaming */
	REC_SYNC_LIVE,		/* applying deltas */
};

/* A DELTA payload held while a snapshot is pending, packed (objpack.h). */
struct rec_delta {
	size_t		 len;
	unsigned char	 pack[];
};

struct rec {
	struct worker		 w;
	struct kube		*kube;
	struct store		*store;
	struct queue		*queue;
	void			*sub, *snap, *cfapi, *dns, *rot;
	void			*mon[3];	/* cfapi, dns, rot monitors */
	uint64_t		 next_reqid;
	struct rec_pending	*pend;
	size_t			 npend, cappend;

	/* Clone pattern state (watcher -> reconciler). */
	enum rec_sync		 sync;
	char			 epoch[64];
	long long		 seq;
	int			 synced;	/* watcher had listed all */
	uint64_t		 snap_reqid;
	uint64_t		 snap_started;
	struct store		*staging;
	struct rec_delta	**buffered;	/* DELTA payloads */
	size_t			 nbuffered;

	char			*rotate_sent;	/* last ROTATE_SCHEDULE */
	int			 rotate_dirty;
	int			 stop;
};

/* reconciler.c: services for the other files. */
uint64_t	 rec_request(struct rec *, enum rec_peer, unsigned type,
		    const char *key, int step, const char *payload,
		    size_t len, int timeout_ms);
void		 rec_enqueue(struct rec *, const char *key, long long delay_ms);
void		 rec_enqueue_gateway(struct rec *, const char *ns,
		    const char *name, long long delay_ms);
int		 rec_send_rotator(struct rec *, unsigned type,
		    const char *payload, size_t len);

/* gatewayclass.c */
int		 gatewayclass_ours(yajl_val gc);
void		 gatewayclass_reconcile(struct rec *, const char *name);
void		 gatewayclass_resume(struct rec *, const char *name, int step,
		    uint64_t reqid, yajl_val reply);
/* 1 if our class and its Accepted condition is True. */
int		 gatewayclass_ready(struct rec *, const char *name);

/* gateway.c */
void		 gateway_reconcile(struct rec *, const char *ns,
		    const char *name);
void		 gateway_resume(struct rec *, const char *ns, const char *name,
		    int step, uint64_t reqid, yajl_val reply);
void		 gateway_rotated(struct rec *, yajl_val msg);
/* Recompute Ready only (a tunnel Deployment's status changed). */
void		 gateway_refresh_ready(struct rec *, const char *ns,
		    const char *name);
/* Write the ROTATE_SCHEDULE if the set changed. */
void		 gateway_rotation_flush(struct rec *);
void		 gateway_forget_all(struct rec *);

/* triggers.c: what a changed object makes us reconcile. */
void		 triggers_changed(struct rec *, const char *kind, yajl_val old,
		    yajl_val obj);
void		 triggers_all(struct rec *);

/* events.c: a core v1 Event about obj (best effort). */
void		 events_emit(struct rec *, yajl_val obj, const char *api,
		    const char *kind, const char *type, const char *reason,
		    const char *fmt, ...)
		    __attribute__((format(printf, 7, 8)));

/* kio.c: Kubernetes writes. err gets a one-line reason on -1. */
int		 kio_apply(struct rec *, const char *kind, const char *ns,
		    const char *name, const char *body, size_t len, char *err,
		    size_t errsz);
int		 kio_apply_code(struct rec *, const char *kind,
		    const char *ns, const char *name, const char *body,
		    size_t len, long *code, char *err, size_t errsz);
int		 kio_merge(struct rec *, const char *kind, const char *ns,
		    const char *name, const char *body, size_t len,
		    int status, char *err, size_t errsz);
int		 kio_create(struct rec *, const char *kind, const char *ns,
		    const char *body, size_t len, char *err, size_t errsz);
/* 404 counts as done. */
int		 kio_delete(struct rec *, const char *kind, const char *ns,
		    const char *name, char *err, size_t errsz);
/* Does obj's metadata.finalizers hold fin? */
int		 kio_has_finalizer(yajl_val, const char *);
/*
 * Add (add 1) or remove fin in metadata.finalizers of obj, the other
 * entries kept, with a merge patch under obj's resourceVersion; on 409
 * Conflict the object is read again and the write retried a few times.
 * Nothing is written when fin is already as asked; removing from an
 * object that is gone succeeds.
 */
int		 kio_finalizer(struct rec *, const char *kind,
		    const char *ns, const char *name, yajl_val obj,
		    const char *fin, int add, char *err, size_t errsz);
/* Fresh GET (not from the store); NULL with err on failure, *notfound. */
yajl_val	 kio_get(struct rec *, const char *kind, const char *ns,
		    const char *name, int *notfound, char *err, size_t errsz);

#endif
