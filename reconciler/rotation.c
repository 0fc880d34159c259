/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rotation: the reconciler's side of token rotation.  The rotator owns the
 * schedules and asks cfapi to rotate; we tell it the full set of managed
 * tunnels whenever that set changes (ROTATE_SCHEDULE), pass on-demand
 * requests (annotation rotateTokenRequestedAt -> ROTATE_REQUEST), and on
 * ROTATED re-run the Gateway so the new token hash reaches the Deployment's
 * pod template (a rolling restart) and the CGS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwjob.h"
#include "json.h"
#include "log.h"
#include "owned.h"
#include "proto.h"
#include "reconciler.h"
#include "store.h"
#include "timefmt.h"

static void
rot_write_one(struct jw *w, struct rec *r, struct gw_job *j, yajl_val gw)
{
	struct owned_gw	 og;
	char		 s[OWNED_NAME_MAX + 1];

	gw_owned_init(&og, j, gw);
	(void)r;
	jw_obj(w);
	jw_key(w, "gateway");
	jw_str(w, j->key + strlen("Gateway/"));
	jw_key(w, "cred");
	jw_obj(w);
	jw_kstr(w, "namespace", j->cred_ns);
	jw_kstr(w, "name", j->cred_name);
	jw_obj_end(w);
	jw_kstr(w, "tunnel_id", j->tunnel_id);
	(void)owned_name(s, sizeof(s), j->name, NULL);
	jw_key(w, "secret");
	jw_obj(w);
	jw_kstr(w, "namespace", j->ns);
	jw_kstr(w, "name", s);
	jw_obj_end(w);
	jw_key(w, "owner");
	owned_write_owner_ref(w, &og);
	jw_key(w, "labels");
	owned_write_labels(w, &og, NULL);
	jw_kbool(w, "enabled", j->rot_enabled);
	jw_kstr(w, "cron", j->rot_cron);
	jw_kstr(w, "tz", j->rot_tz);
	jw_kstr(w, "last_rotated_at", j->last_rotated_at[0] ?
	    j->last_rotated_at : NULL);
	jw_obj_end(w);
}

/* The full set, sent only when it differs from the last one sent. */
void
gateway_rotation_flush(struct rec *r)
{
	struct gw_job	*j;
	struct jw	*w;
	yajl_val	 gw;
	char		*s;
	size_t		 i, len;

	r->rotate_dirty = 0;
	if ((w = jw_new()) == NULL)
		return;
	jw_obj(w);
	jw_key(w, "gateways");
	jw_arr(w);
	for (i = 0; i < gw_job_count(); i++) {
		j = gw_job_at(i);
		gw = store_get(r->store, "Gateway", j->ns, j->name);
		if (j->tunnel_id[0] == '\0' || j->cred_name[0] == '\0' ||
		    j->rot_cron[0] == '\0' || gw == NULL ||
		    json_path(gw, "metadata", "deletionTimestamp",
		    NULL) != NULL)
			continue;
		rot_write_one(w, r, j, gw);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	s = jw_take(w, &len);
	jw_free(&w);
	if (s == NULL)
		return;
	if (r->rotate_sent != NULL && strcmp(s, r->rotate_sent) == 0) {
		free(s);
		return;
	}
	if (rec_send_rotator(r, MSG_ROTATE_SCHEDULE, s, len) == -1) {
		free(s);
		r->rotate_dirty = 1;
		return;
	}
	log_debug("ROTATE_SCHEDULE sent (%zu bytes)", len);
	free(r->rotate_sent);
	r->rotate_sent = s;
}

/* On-demand rotation by annotation, once per distinct value. */
void
gateway_rotation_request(struct rec *r, struct gw_job *j, yajl_val gw)
{
	struct jw	*w;
	const char	*want, *buf;
	size_t		 len;

	want = json_str(json_path(gw, "metadata", "annotations", NULL),
	    REC_ANN_ROTATE);
	if (want == NULL || strcmp(want, j->handled_rotate) == 0 ||
	    strlen(want) >= sizeof(j->handled_rotate))
		return;
	/*
	 * Rotated since it was asked?  Compared as times: the reference's
	 * CLI writes local offsets, and "...:43Z" sorts after "...:43.4Z".
	 */
	if (j->last_rotated_at[0] != '\0' &&
	    time_cmp_rfc3339(j->last_rotated_at, want) >= 0) {
		strcpy(j->handled_rotate, want);
		strcpy(j->rotated_for, want);
		return;
	}
	gateway_rotation_flush(r);	/* the rotator must know the tunnel */
	if ((w = jw_new()) == NULL)
		return;
	jw_obj(w);
	jw_key(w, "gateway");
	jw_str(w, j->key + strlen("Gateway/"));
	jw_obj_end(w);
	if (jw_result(w, &buf, &len) == 0 &&
	    rec_send_rotator(r, MSG_ROTATE_REQUEST, buf, len) == 0) {
		log_info("Gateway %s/%s: token rotation requested (%s)",
		    j->ns, j->name, want);
		strcpy(j->handled_rotate, want);
	}
	jw_free(&w);
}

void
gateway_rotated(struct rec *r, yajl_val msg)
{
	const char	*g = json_str(msg, "gateway"), *err, *at;
	char		 buf[2 * GW_NAME_MAX + 2], *name;
	struct gw_job	*j;
	yajl_val	 gw;

	if (g == NULL || strlen(g) >= sizeof(buf))
		return;
	strcpy(buf, g);
	if ((name = strchr(buf, '/')) == NULL)
		return;
	*name++ = '\0';
	if ((err = json_str(msg, "error")) != NULL) {
		log_warnx("Gateway %s: token rotation failed: %s", g, err);
		/* An on-demand request is asked again on a later run. */
		if ((j = gw_job_find(buf, name)) != NULL)
			j->handled_rotate[0] = '\0';
		if ((gw = store_get(r->store, "Gateway", buf, name)) != NULL)
			events_emit(r, gw, "gateway.networking.k8s.io/v1",
			    "Gateway", "Warning", "TokenRotationFailed",
			    "Tunnel token rotation failed: %s", err);
		rec_enqueue_gateway(r, buf, name, REC_ROTATE_RETRY_MS);
		return;
	}
	if ((j = gw_job_find(buf, name)) != NULL) {
		if ((at = json_str(msg, "rotated_at")) != NULL)
			snprintf(j->last_rotated_at,
			    sizeof(j->last_rotated_at), "%s", at);
		/* Any rotation after the request satisfies it. */
		snprintf(j->rotated_for, sizeof(j->rotated_for), "%s",
		    j->handled_rotate);
	}
	log_info("Gateway %s: token rotated", g);
	if ((gw = store_get(r->store, "Gateway", buf, name)) != NULL)
		events_emit(r, gw, "gateway.networking.k8s.io/v1", "Gateway",
		    "Normal", "TokenRotated", "Tunnel token rotated; tunnel "
		    "pods roll to the new token");
	rec_enqueue_gateway(r, buf, name, 0);
}
