/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_watch: watch streams on the client's curl multi handle, driven from
 * the caller's poll loop.  Each stream's bytes go straight into its own
 * incremental decoder (kube_decode.c); nothing buffers a whole stream.
 */
#include <sys/select.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http.h"
#include "json.h"
#include "kube.h"
#include "kube_priv.h"
#include "log.h"

#define KUBE_WATCH_ERRBODY	(64u * 1024)

struct kube_watch {
	struct kube		*k;
	struct kube_watch	*next;
	CURL			*h;
	struct curl_slist	*hdrs;
	char			*url;
	char			 what[96];	/* kind, for logs */
	struct kube_decoder	*dec;
	kube_watch_cb		 cb;
	void			*arg;
	int			 meta;
	int			 done;
	long			 status;
	struct http_buf		 errbody;	/* a non-200 answer */
	uint64_t		 dropped;
};

static void
kube_watch_event(void *arg, enum kube_event_type t, yajl_val obj)
{
	struct kube_watch	*w = arg;
	const char		*kind;

	/* Never pass on anything but metadata from a metadata-only watch. */
	if (w->meta && t <= KUBE_EV_DELETED &&
	    ((kind = json_str(obj, "kind")) == NULL ||
	    strcmp(kind, "PartialObjectMetadata") != 0)) {
		w->dropped++;
		log_warnx("watch %s: dropping %s/%s: not PartialObjectMetadata",
		    w->what, kube_obj_namespace(obj) ?
		    kube_obj_namespace(obj) : "", kube_obj_name(obj));
		return;
	}
	w->cb(w->arg, w, t, obj);
}

static size_t
kube_watch_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct kube_watch	*w = arg;
	size_t			 n = size * nmemb;
	long			 code = 0;

	curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		/* Keep the start of an error body for its Status message. */
		if (!w->errbody.overflow)
			http_buf_write(ptr, size, nmemb, &w->errbody);
		return n;
	}
	if (kube_decoder_feed(w->dec, ptr, n) == -1)
		return 0;
	return n;
}

static int
kube_watch_url(struct kube_watch *w, const struct kube_res *r,
    const char *ns, const struct kube_watch_opts *o)
{
	char	 path[1024], q[4096] = "", ts[32];

	if (kube_path(path, sizeof(path), r, ns, NULL, NULL) == -1)
		return -1;
	snprintf(ts, sizeof(ts), "%ld", o->timeout_seconds);
	if (kube_query_add(q, sizeof(q), "watch", "1") == -1 ||
	    kube_query_add(q, sizeof(q), "allowWatchBookmarks",
	    o->bookmarks ? "true" : NULL) == -1 ||
	    kube_query_add(q, sizeof(q), "resourceVersion",
	    o->resource_version != NULL && *o->resource_version ?
	    o->resource_version : NULL) == -1 ||
	    kube_query_add(q, sizeof(q), "timeoutSeconds",
	    o->timeout_seconds > 0 ? ts : NULL) == -1 ||
	    kube_query_add(q, sizeof(q), "labelSelector",
	    o->label_selector) == -1 ||
	    kube_query_add(q, sizeof(q), "fieldSelector",
	    o->field_selector) == -1)
		return -1;
	if (asprintf(&w->url, "%s%s?%s", w->k->kc.server, path, q) == -1) {
		w->url = NULL;
		return -1;
	}
	return 0;
}

struct kube_watch *
kube_watch_start(struct kube *k, const struct kube_res *r, const char *ns,
    const struct kube_watch_opts *o, kube_watch_cb cb, void *arg)
{
	struct kube_watch	*w;
	long			 tmo;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->k = k;
	w->cb = cb;
	w->arg = arg;
	w->meta = o->metadata_only;
	snprintf(w->what, sizeof(w->what), "%s", r->kind);
	http_buf_init(&w->errbody, KUBE_WATCH_ERRBODY);
	if ((w->dec = kube_decoder_new(k->opts.max_event, kube_watch_event,
	    w)) == NULL || kube_watch_url(w, r, ns, o) == -1 ||
	    (w->h = curl_easy_init()) == NULL)
		goto fail;
	ratelimit_wait(&k->rl);
	if (kube_token_refresh(k) == -1 ||
	    kube_setup_handle(k, w->h, w->url, &w->hdrs,
	    w->meta ? KUBE_ACCEPT_META_WATCH : "application/json", NULL) == -1)
		goto fail;
	curl_easy_setopt(w->h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, kube_watch_write);
	curl_easy_setopt(w->h, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->h, CURLOPT_PRIVATE, w);
	/* The server ends the stream; this only guards a hung peer. */
	if (o->timeout_seconds > 0) {
		tmo = (o->timeout_seconds + 30) * 1000;
		curl_easy_setopt(w->h, CURLOPT_TIMEOUT_MS, tmo);
	}
	if (curl_multi_add_handle(k->multi, w->h) != CURLM_OK)
		goto fail;
	w->next = k->watches;
	k->watches = w;
	return w;
fail:
	log_warnx("watch %s: cannot start", r->kind);
	if (w->h != NULL)
		curl_easy_cleanup(w->h);
	kube_hdrs_free(&w->hdrs);
	kube_decoder_free(&w->dec);
	http_buf_free(&w->errbody);
	free(w->url);
	free(w);
	return NULL;
}

void
kube_watch_free(struct kube_watch **pw)
{
	struct kube_watch	*w = *pw, **pp;

	if (w == NULL)
		return;
	for (pp = &w->k->watches; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	curl_multi_remove_handle(w->k->multi, w->h);
	curl_easy_cleanup(w->h);
	kube_hdrs_free(&w->hdrs);
	kube_decoder_free(&w->dec);
	http_buf_free(&w->errbody);
	free(w->url);
	free(w);
	*pw = NULL;
}

void
kube_watch_free_all(struct kube *k)
{
	struct kube_watch	*w;

	while ((w = k->watches) != NULL)
		kube_watch_free(&w);
}

int
kube_watch_fds(struct kube *k, struct pollfd *pfd, int max, long *timeout)
{
	fd_set	 r, wr, ex;
	int	 maxfd = -1, fd, n = 0;
	short	 ev;

	*timeout = -1;
	FD_ZERO(&r);
	FD_ZERO(&wr);
	FD_ZERO(&ex);
	if (curl_multi_fdset(k->multi, &r, &wr, &ex, &maxfd) != CURLM_OK)
		return -1;
	curl_multi_timeout(k->multi, timeout);
	for (fd = 0; fd <= maxfd && n < max; fd++) {
		ev = 0;
		if (FD_ISSET(fd, &r))
			ev |= POLLIN;
		if (FD_ISSET(fd, &wr))
			ev |= POLLOUT;
		if (FD_ISSET(fd, &ex))
			ev |= POLLPRI;
		if (ev == 0)
			continue;
		pfd[n].fd = fd;
		pfd[n].events = ev;
		pfd[n].revents = 0;
		n++;
	}
	/* Sockets still being resolved/connected: ask to be called soon. */
	if (maxfd == -1 && k->watches != NULL &&
	    (*timeout < 0 || *timeout > 100))
		*timeout = 100;
	return n;
}

static void
kube_watch_finish(struct kube_watch *w, CURLcode rc)
{
	struct kube_resp	 r;
	long			 code = 0;

	curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &code);
	w->done = 1;
	w->status = rc == CURLE_OK ? code : 0;
	if (rc == CURLE_OK && code == 200)
		kube_decoder_finish(w->dec);
	if (rc != CURLE_OK)
		log_warnx("watch %s: %s", w->what, curl_easy_strerror(rc));
	else if (code != 200) {
		memset(&r, 0, sizeof(r));
		r.status = code;
		if (w->errbody.len > 0)
			r.json = json_parse(w->errbody.data, w->errbody.len,
			    NULL, 0);
		kube_resp_status(&r);
		log_warnx("watch %s: HTTP %ld: %s", w->what, code, r.message);
		kube_resp_free(&r);
	}
	curl_multi_remove_handle(w->k->multi, w->h);
	w->cb(w->arg, w, KUBE_EV_CLOSED, NULL);
}

int
kube_watch_perform(struct kube *k)
{
	struct kube_watch	*w;
	CURLMsg			*m;
	int			 running = 0, left;

	if (curl_multi_perform(k->multi, &running) != CURLM_OK)
		return -1;
	while ((m = curl_multi_info_read(k->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		w = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
		    (char **)&w);
		if (w != NULL && !w->done)
			kube_watch_finish(w, m->data.result);
	}
	return running;
}

int
kube_watch_done(const struct kube_watch *w, long *status)
{
	if (status != NULL)
		*status = w->status;
	return w->done;
}

uint64_t
kube_watch_events(const struct kube_watch *w)
{
	return kube_decoder_events(w->dec);
}

uint64_t
kube_watch_dropped(const struct kube_watch *w)
{
	return kube_decoder_dropped(w->dec) + w->dropped;
}
