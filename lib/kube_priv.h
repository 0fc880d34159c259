/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_KUBE_PRIV_H
#define CFGW_KUBE_PRIV_H

/* Internals shared by kube.c, kube_verbs.c and kube_watch.c only. */

#include <sys/types.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"
#include "kube.h"
#include "kubeconfig.h"
#include "ratelimit.h"

#define KUBE_ACCEPT_META	\
	"application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
#define KUBE_ACCEPT_META_LIST	\
	"application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
/*
 * Watches: client-go's metadata client asks for the List form, the
 * apiserver also takes the single-object form; offer both, never plain
 * JSON (that would be Secret data).
 */
#define KUBE_ACCEPT_META_WATCH	\
	KUBE_ACCEPT_META_LIST "," KUBE_ACCEPT_META

struct kube {
	struct kube_opts	 opts;
	char			 ua[128];
	struct kubeconfig	 kc;
	char			*token;
	struct timespec		 token_mtime;
	off_t			 token_size;
	struct curl_slist	*connect_to;
	CURL			*easy;
	CURLM			*multi;
	struct ratelimit	 rl;
	struct kube_watch	*watches;	/* list */
};

/*
 * Where kube_request_sink sends a 2xx answer's body: to a decoder, at most
 * max bytes; any other answer is buffered for its Status as usual.
 */
struct kube_sink {
	struct kube_decoder	*dec;
	size_t			 max;
	size_t			 fed;		/* bytes given to dec */
	int			 overflow;	/* over max */
	CURL			*h;		/* set by kube.c */
	struct http_buf		*err;
};

int	 kube_request_sink(struct kube *, const char *method,
	    const char *path, const char *query, const char *ctype,
	    const char *accept, const char *body, size_t len,
	    struct kube_sink *, struct kube_resp *out);
int	 kube_token_refresh(struct kube *);
int	 kube_setup_handle(struct kube *, CURL *, const char *url,
	    struct curl_slist **hdrs, const char *accept, const char *ctype);
void	 kube_hdrs_free(struct curl_slist **);
void	 kube_resp_status(struct kube_resp *);
void	 kube_watch_free_all(struct kube *);
/* Append "&key=value" (value percent-encoded) to a query buffer. */
int	 kube_query_add(char *q, size_t sz, const char *key,
	    const char *val);

#endif
