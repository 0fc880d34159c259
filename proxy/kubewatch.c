/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubewatch: --routes-configmap NS/NAME.  Watches that one ConfigMap
 * (field selector metadata.name=NAME, so a Role limited to resourceNames
 * [NAME] with get/list/watch suffices) and loads its "routes.json" key.
 * A watch without a resourceVersion starts with the object's current state
 * as an ADDED event, so no separate GET is needed.  The watch is restarted
 * with backoff when it ends; a 410 Gone restarts from the current state.
 * A bad or deleted table never replaces the last good one.
 *
 * lib/kube drives its streams with curl multi; we hand curl's sockets and
 * timeout to libevent after every perform.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "kube.h"
#include "log.h"
#include "proxy.h"

#define CM_KEY		"routes.json"
#define CM_MAXFD	16

static struct {
	struct kube		*k;
	const struct kube_res	*res;
	char			 ns[254];
	char			 name[254];
	char			 src[520];
	char			 fsel[300];
	char			 rv[64];
	struct kube_watch	*w;
	int			 closed;
	int			 backoff_ms;
	char			*last;		/* last table text tried */
	struct event		*timer;
	struct event		*fdev[CM_MAXFD];
	int			 nfd;
} cm;

static void	 cm_pump(evutil_socket_t, short, void *);

static void
cm_apply(yajl_val obj)
{
	yajl_val	 data = json_get(obj, "data");
	const char	*text = json_str(data, CM_KEY);
	struct table	*tb;
	char		 err[512];

	if (text == NULL) {
		px_table_reject(cm.src, "no \"" CM_KEY "\" key in data");
		return;
	}
	if (cm.last != NULL && strcmp(cm.last, text) == 0)
		return;
	free(cm.last);
	cm.last = strdup(text);
	if ((tb = table_load(text, strlen(text), err, sizeof(err))) == NULL) {
		px_table_reject(cm.src, err);
		return;
	}
	px_table_set(tb, cm.src);
}

static void
cm_event(void *arg, struct kube_watch *w, enum kube_event_type type,
    yajl_val obj)
{
	const char	*rv;
	long long	 code = 0;

	(void)arg;
	(void)w;
	if (type != KUBE_EV_CLOSED && type != KUBE_EV_ERROR &&
	    (rv = kube_obj_rv(obj)) != NULL)
		snprintf(cm.rv, sizeof(cm.rv), "%s", rv);
	switch (type) {
	case KUBE_EV_ADDED:
	case KUBE_EV_MODIFIED:
		cm.backoff_ms = 0;
		cm_apply(obj);
		break;
	case KUBE_EV_DELETED:
		log_warnx("%s deleted; keeping the current table", cm.src);
		free(cm.last);
		cm.last = NULL;
		break;
	case KUBE_EV_ERROR:
		(void)json_int(obj, "code", &code);
		log_warnx("%s: watch error %lld", cm.src, code);
		if (code == 410)
			cm.rv[0] = '\0';
		break;
	case KUBE_EV_CLOSED:
		cm.closed = 1;
		break;
	default:
		break;
	}
}

static int
cm_start(void)
{
	struct kube_watch_opts	 o;

	memset(&o, 0, sizeof(o));
	o.resource_version = cm.rv;
	o.bookmarks = 1;
	o.timeout_seconds = 300;
	o.field_selector = cm.fsel;
	cm.closed = 0;
	cm.w = kube_watch_start(cm.k, cm.res, cm.ns, &o, cm_event, NULL);
	return cm.w == NULL ? -1 : 0;
}

/* Hand curl's sockets and timeout to libevent. */
static void
cm_arm(void)
{
	struct pollfd	 pfd[CM_MAXFD];
	long		 tmo = -1;
	struct timeval	 tv;
	int		 i, n;

	for (i = 0; i < cm.nfd; i++)
		event_free(cm.fdev[i]);
	cm.nfd = 0;
	n = kube_watch_fds(cm.k, pfd, CM_MAXFD, &tmo);
	for (i = 0; i < n; i++) {
		short ev = ((pfd[i].events & POLLIN) ? EV_READ : 0) |
		    ((pfd[i].events & POLLOUT) ? EV_WRITE : 0);
		if (ev == 0)
			continue;
		cm.fdev[cm.nfd] = event_new(px->base, pfd[i].fd, ev, cm_pump,
		    NULL);
		if (cm.fdev[cm.nfd] != NULL)
			event_add(cm.fdev[cm.nfd++], NULL);
	}
	if (tmo < 0 || tmo > 1000)
		tmo = 1000;
	px_tv_ms(&tv, tmo > 0 ? (int)tmo : 1);
	evtimer_add(cm.timer, &tv);
}

static void
cm_pump(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval	 tv;
	long		 status = 0;

	(void)fd;
	(void)ev;
	(void)arg;
	if (cm.w == NULL) {		/* restart after backoff */
		if (cm_start() == -1)
			log_warnx("%s: cannot start watch", cm.src);
	}
	(void)kube_watch_perform(cm.k);
	if (cm.w != NULL && (cm.closed || kube_watch_done(cm.w, &status))) {
		if (status != 0 && status != 200)
			log_warnx("%s: watch ended with HTTP %ld", cm.src,
			    status);
		kube_watch_free(&cm.w);
		cm.backoff_ms = cm.backoff_ms ? cm.backoff_ms * 2 : 250;
		if (cm.backoff_ms > 30000)
			cm.backoff_ms = 30000;
		px_tv_ms(&tv, cm.backoff_ms + (int)arc4random_uniform(250));
		evtimer_add(cm.timer, &tv);
		return;
	}
	cm_arm();
}

int
cm_watch_start(const char *ref, const char *kubeconfig)
{
	struct kube_opts	 o;
	const char		*slash = strchr(ref, '/');

	if (slash == NULL || slash == ref || slash[1] == '\0' ||
	    (size_t)(slash - ref) >= sizeof(cm.ns) ||
	    strlen(slash + 1) >= sizeof(cm.name) || strchr(slash + 1, '/')) {
		log_warnx("--routes-configmap wants NAMESPACE/NAME, not %s",
		    ref);
		return -1;
	}
	memcpy(cm.ns, ref, slash - ref);
	snprintf(cm.name, sizeof(cm.name), "%s", slash + 1);
	snprintf(cm.src, sizeof(cm.src), "configmap %s/%s", cm.ns, cm.name);
	snprintf(cm.fsel, sizeof(cm.fsel), "metadata.name=%s", cm.name);
	memset(&o, 0, sizeof(o));
	o.kubeconfig = kubeconfig;
	o.user_agent = "cfgw/" CFGW_VERSION " (cfgw-proxy)";
	if ((cm.k = kube_new(&o)) == NULL) {
		log_warnx("cannot set up the Kubernetes client");
		return -1;
	}
	if ((cm.res = kube_res_lookup("ConfigMap")) == NULL ||
	    (cm.timer = evtimer_new(px->base, cm_pump, NULL)) == NULL)
		return -1;
	if (cm_start() == -1) {
		log_warnx("%s: cannot start watch", cm.src);
		return -1;
	}
	log_info("watching %s key %s on %s", cm.src, CM_KEY,
	    kube_server(cm.k));
	cm_arm();
	return 0;
}

void
cm_watch_stop(void)
{
	int	 i;

	if (cm.k == NULL)
		return;
	for (i = 0; i < cm.nfd; i++)
		event_free(cm.fdev[i]);
	cm.nfd = 0;
	kube_watch_free(&cm.w);
	kube_free(&cm.k);
	event_free(cm.timer);
	free(cm.last);
	cm.last = NULL;
}
