/* SPDX-License-Identifier: Apache-2.0 */
/*
 * events: Kubernetes Events (core v1, which every API server serves and
 * kubectl describe shows) for significant transitions only: a class
 * accepted or rejected, a Gateway ready or failing, finalized, its token
 * rotated.  Best effort: a failed Event is logged and forgotten.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "owned.h"
#include "queue.h"
#include "reconciler.h"
#include "status.h"

void
events_emit(struct rec *r, yajl_val obj, const char *api, const char *kind,
    const char *type, const char *reason, const char *fmt, ...)
{
	struct jw	*w;
	yajl_val	 md = json_get(obj, "metadata");
	const char	*ns = json_str(md, "namespace"), *name, *buf;
	char		 ename[300], now[32], err[512], *msg = NULL;
	static unsigned	 seq;
	va_list		 ap;
	size_t		 len;

	name = json_str(md, "name");
	if (name == NULL || strlen(name) > 200)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (msg == NULL || (w = jw_new()) == NULL) {
		free(msg);
		return;
	}
	if (strlen(msg) > 1024)
		msg[1024] = '\0';	/* Event messages are short */
	status_now(now, sizeof(now));
	snprintf(ename, sizeof(ename), "%s.%llx%04x", name,
	    (unsigned long long)queue_now(), ++seq & 0xffff);
	jw_obj(w);
	jw_kstr(w, "apiVersion", "v1");
	jw_kstr(w, "kind", "Event");
	jw_key(w, "metadata");
	jw_obj(w);
	jw_kstr(w, "name", ename);
	jw_kstr(w, "namespace", ns != NULL ? ns : "default");
	jw_obj_end(w);
	jw_key(w, "involvedObject");
	jw_obj(w);
	jw_kstr(w, "apiVersion", api);
	jw_kstr(w, "kind", kind);
	jw_kstr(w, "name", name);
	if (ns != NULL)
		jw_kstr(w, "namespace", ns);
	jw_kstr(w, "uid", json_str(md, "uid"));
	jw_kstr(w, "resourceVersion", json_str(md, "resourceVersion"));
	jw_obj_end(w);
	jw_kstr(w, "reason", reason);
	jw_kstr(w, "message", msg);
	jw_kstr(w, "type", type);
	jw_key(w, "source");
	jw_obj(w);
	jw_kstr(w, "component", OWNED_MANAGER);
	jw_obj_end(w);
	jw_kstr(w, "reportingComponent", OWNED_MANAGER);
	jw_kstr(w, "reportingInstance", "cfgw-reconciler");
	jw_kstr(w, "action", "Reconcile");
	jw_kstr(w, "firstTimestamp", now);
	jw_kstr(w, "lastTimestamp", now);
	jw_kint(w, "count", 1);
	jw_obj_end(w);
	if (jw_result(w, &buf, &len) == 0 &&
	    kio_create(r, "Event", ns != NULL ? ns : "default", buf, len, err,
	    sizeof(err)) == -1)
		log_debug("event %s on %s %s: %s", reason, kind, name, err);
	jw_free(&w);
	free(msg);
}
