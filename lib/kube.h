/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_KUBE_H
#define CFGW_KUBE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

/*
 * A small Kubernetes API client over libcurl.
 *
 * Configuration (kube_new): opts->kubeconfig if set, else $KUBECONFIG (a
 * colon-separated list merged the kubectl way: the first file that sets a
 * map key wins), else ~/.kube/config, else in-cluster (service account under
 * /var/run/secrets/kubernetes.io/serviceaccount or $CFGW_SA_DIR).  Plain
 * http:// servers are accepted.
 *
 * Requests are rate limited on the client (token bucket, qps/burst) and
 * retried with jittered backoff on 429, 5xx and connection errors, honouring
 * Retry-After; a POST is only retried when it cannot have reached the server
 * (connection refused / could not resolve).
 *
 * Every request function returns 0 on a 2xx answer and -1 otherwise.  On -1,
 * out->status is the HTTP status (0 for a transport error) and out->reason /
 * out->message carry the Status object's reason and message (or a transport
 * error text).  409 = Conflict (optimistic concurrency or AlreadyExists,
 * see reason), 404 = NotFound, 410 = Gone (expired resourceVersion),
 * 422 = Invalid.  out must be freed with kube_resp_free() in either case.
 *
 * Not thread-safe: one struct kube per thread.
 */

struct kube;
struct kube_watch;

struct kube_opts {
	const char	*kubeconfig;	/* NULL or "": see above */
	const char	*context;	/* NULL or "": current-context */
	const char	*user_agent;	/* "cfgw/<ver> (<process>)" */
	double		 qps;		/* <= 0: default 20 */
	int		 burst;		/* <= 0: default 40 */
	long		 connect_timeout_ms;	/* <= 0: 10000 */
	long		 timeout_ms;	/* not watches; 30000 */
	int		 max_retries;	/* < 0: none; 0: default 4 */
	size_t		 max_body;	/* response cap; 0: 64 MiB */
	size_t		 max_event;	/* watch event cap; 0: 4 MiB */
};

/* A resource type. */
struct kube_res {
	const char	*group;		/* "" for the core group */
	const char	*version;
	const char	*resource;	/* plural, lower case */
	const char	*kind;
	int		 namespaced;
};

/*
 * The kinds cfgw uses.  kube_res_lookup("Gateway"); NULL when unknown.
 * kube_res_table ends with a zeroed entry.
 */
extern const struct kube_res kube_res_table[];
const struct kube_res *kube_res_lookup(const char *kind);

struct kube_resp {
	long		 status;	/* HTTP; 0 = transport error */
	char		*body;		/* NUL-terminated or NULL */
	size_t		 len;
	yajl_val	 json;		/* parsed body or NULL */
	char		 reason[64];	/* Status.reason: "Conflict" */
	char		 message[512];	/* Status.message/curl */
	long		 retry_after;	/* Retry-After seconds or -1 */
};

void	 kube_resp_free(struct kube_resp *);

struct kube	*kube_new(const struct kube_opts *);
void		 kube_free(struct kube **);
/* "https://host:port" (no trailing slash). */
const char	*kube_server(const struct kube *);
/* Namespace from the kubeconfig context or the service account, or "". */
const char	*kube_namespace(const struct kube *);

/*
 * Files the client reads after kube_new (CA, client certificate and key,
 * token file), for a sandbox's read-only list.  Returns how many were
 * stored in paths[0..max).
 */
int		 kube_files(const struct kube *, const char **paths,
		    int max);

/* Raw request.  path starts with "/", query is appended ("" or NULL). */
int	 kube_request(struct kube *, const char *method, const char *path,
	    const char *query, const char *content_type, const char *accept,
	    const char *body, size_t len, struct kube_resp *out);

/* "/apis/<g>/<v>/namespaces/<ns>/<resource>[/<name>[/<sub>]]"; -1 if long. */
int	 kube_path(char *buf, size_t sz, const struct kube_res *,
	    const char *ns, const char *name, const char *subresource);

/*
 * Discovery: 1 when the server serves res (group/version/resource),
 * 0 when it does not (404 or absent from the resource list), -1 on error.
 */
int	 kube_served(struct kube *, const struct kube_res *);

/* metadata_only: Accept PartialObjectMetadata (never read Secret data). */
int	 kube_get(struct kube *, const struct kube_res *, const char *ns,
	    const char *name, int metadata_only, struct kube_resp *out);

struct kube_list_opts {
	const char	*label_selector;
	const char	*field_selector;
	long		 limit;			/* 0: no limit */
	const char	*continue_token;
	const char	*resource_version;
	int		 metadata_only;
};

/* ns NULL or "": all namespaces.  out->json is the List object. */
int	 kube_list(struct kube *, const struct kube_res *, const char *ns,
	    const struct kube_list_opts *, struct kube_resp *out);

/*
 * kube_list, streamed: each item of the page goes to item() as soon as it
 * is decoded (a tree owned by the decoder, valid during the call only; the
 * callee may change it), so neither the page's body nor its whole tree is
 * ever held.  Items are checked as a watch event's object is (metadata
 * with name and resourceVersion); one that fails, or is over
 * opts->max_event bytes, is dropped with a log line and counted.  Retried
 * as kube_request is, but only while no item has been handed on.
 *
 * 0: page->resource_version and page->continue_token (NULL on the last
 * page) are the list's.  -1: out as for kube_list; a malformed or
 * truncated list has out->status 200 and a message; a metadata_only list
 * that is not PartialObjectMetadata, 406 (no item of it is handed on).
 * Items handed on before a failure are the caller's to discard.  Free
 * page with kube_list_page_free and out with kube_resp_free either way.
 */
struct kube_list_page {
	char		 resource_version[64];
	char		*continue_token;
	uint64_t	 items;
	uint64_t	 dropped;
};

int	 kube_list_each(struct kube *, const struct kube_res *,
	    const char *ns, const struct kube_list_opts *,
	    void (*item)(void *, yajl_val), void *arg,
	    struct kube_list_page *page, struct kube_resp *out);
void	 kube_list_page_free(struct kube_list_page *);

int	 kube_create(struct kube *, const struct kube_res *, const char *ns,
	    const char *body, size_t len, const char *field_manager,
	    struct kube_resp *out);
int	 kube_update(struct kube *, const struct kube_res *, const char *ns,
	    const char *name, const char *body, size_t len,
	    const char *field_manager, struct kube_resp *out);
int	 kube_update_status(struct kube *, const struct kube_res *,
	    const char *ns, const char *name, const char *body, size_t len,
	    const char *field_manager, struct kube_resp *out);

enum kube_patch_type {
	KUBE_PATCH_MERGE,	/* application/merge-patch+json */
	KUBE_PATCH_JSON,	/* application/json-patch+json */
	KUBE_PATCH_APPLY,	/* application/apply-patch+yaml (JSON body) */
	KUBE_PATCH_STRATEGIC,	/* strategic-merge-patch+json */
};

/* subresource: NULL or "" for the object, "status" for its status. */
int	 kube_patch(struct kube *, const struct kube_res *, const char *ns,
	    const char *name, enum kube_patch_type, const char *body,
	    size_t len, const char *field_manager, int force,
	    const char *subresource, struct kube_resp *out);

struct kube_delete_opts {
	const char	*uid;		/* precondition, or NULL */
	const char	*resource_version;	/* precondition, or NULL */
	const char	*propagation;	/* e.g. "Background" */
};

int	 kube_delete(struct kube *, const struct kube_res *, const char *ns,
	    const char *name, const struct kube_delete_opts *,
	    struct kube_resp *out);

/*
 * Watch.  Streams run on one curl multi handle per struct kube, driven from
 * the caller's poll loop:
 *
 *	n = kube_watch_fds(k, pfd, max, &timeout_ms);   add pfd[0..n) to poll
 *	poll(...);
 *	kube_watch_perform(k);     reads, decodes, calls the callbacks
 *
 * The callback gets one call per decoded event with the event's object
 * (owned by the decoder: copy what you keep; valid during the call only).
 * KUBE_EV_ERROR carries the Status object (e.g. code 410 Gone).  When the
 * stream ends (server closed it, timeoutSeconds, HTTP error, transport
 * error) the callback gets KUBE_EV_CLOSED with obj NULL, once;
 * kube_watch_status() then tells why.  Free a watch with kube_watch_free()
 * at any time except inside its own callback.
 *
 * Events over opts->max_event (struct kube_opts) bytes, malformed JSON,
 * invalid UTF-8, or events lacking type/object/metadata are dropped with a
 * log line naming the object when it is known; the stream continues.
 */
enum kube_event_type {
	KUBE_EV_ADDED,
	KUBE_EV_MODIFIED,
	KUBE_EV_DELETED,
	KUBE_EV_BOOKMARK,
	KUBE_EV_ERROR,
	KUBE_EV_CLOSED,
};

typedef void	(*kube_watch_cb)(void *arg, struct kube_watch *,
		    enum kube_event_type, yajl_val obj);

struct kube_watch_opts {
	const char	*resource_version;	/* NULL/"": from now */
	int		 bookmarks;		/* allowWatchBookmarks */
	long		 timeout_seconds;	/* 0: server default */
	int		 metadata_only;
	const char	*label_selector;
	const char	*field_selector;
};

struct kube_watch *kube_watch_start(struct kube *, const struct kube_res *,
		    const char *ns, const struct kube_watch_opts *,
		    kube_watch_cb, void *arg);
void		 kube_watch_free(struct kube_watch **);
/* Fills up to max pollfds; *timeout_ms gets curl's wish (-1 none). */
int		 kube_watch_fds(struct kube *, struct pollfd *, int max,
		    long *timeout_ms);
/* Drive every stream; returns the number still running, -1 on error. */
int		 kube_watch_perform(struct kube *);
/* 1 if the stream ended; *status = HTTP status (0 transport error). */
int		 kube_watch_done(const struct kube_watch *, long *status);
/* Counters for tests and metrics. */
uint64_t	 kube_watch_events(const struct kube_watch *);
uint64_t	 kube_watch_dropped(const struct kube_watch *);

/*
 * The watch stream decoder on its own (used by kube_watch, unit tests and
 * the fuzzer): feed it bytes in any chunking; it calls cb per event.
 * max_event 0 = 4 MiB.  kube_decoder_feed returns 0, or -1 on allocation
 * failure (malformed input is dropped and counted, never an error).
 */
struct kube_decoder;
struct kube_decoder *kube_decoder_new(size_t max_event,
		    void (*cb)(void *, enum kube_event_type, yajl_val),
		    void *arg);
int		 kube_decoder_feed(struct kube_decoder *, const char *,
		    size_t);
/* End of stream: a trailing event without a newline is delivered. */
int		 kube_decoder_finish(struct kube_decoder *);
/*
 * The same decoder in list mode: one List object, each item to item() as
 * it completes (see kube_list_each).  feed and finish return -1 when the
 * list is malformed or truncated, kube_decoder_error tells why; events and
 * dropped count the items.  After finish, the list's metadata.
 */
struct kube_decoder *kube_list_decoder_new(size_t max_item,
		    int metadata_only, void (*item)(void *, yajl_val),
		    void *arg);
const char	*kube_decoder_error(const struct kube_decoder *);
/* kube_decoder_error of a metadata-only list that is not metadata. */
#define KUBE_ERR_NOT_META \
	"server did not return PartialObjectMetadataList"
const char	*kube_decoder_list_rv(const struct kube_decoder *);
const char	*kube_decoder_list_continue(const struct kube_decoder *);
uint64_t	 kube_decoder_events(const struct kube_decoder *);
uint64_t	 kube_decoder_dropped(const struct kube_decoder *);
void		 kube_decoder_free(struct kube_decoder **);

/*
 * Object helpers.  kube_obj_trim removes metadata.managedFields and the
 * kubectl last-applied-configuration annotation in place.
 */
void		 kube_obj_trim(yajl_val obj);
const char	*kube_obj_name(yajl_val obj);
const char	*kube_obj_namespace(yajl_val obj);
const char	*kube_obj_rv(yajl_val obj);
const char	*kube_obj_uid(yajl_val obj);
/* An empty value of a type; NULL on ENOMEM. */
yajl_val	 kube_val_new(yajl_type);
/* Deep copy of a yajl tree (free with yajl_tree_free); NULL on ENOMEM. */
yajl_val	 kube_val_dup(yajl_val);

#endif
