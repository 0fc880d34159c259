/* SPDX-License-Identifier: Apache-2.0 */
/* status: condition lists, their merge with what an object carries, and
 * semantic JSON comparison so that unchanged status is never written. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "status.h"

static char	*status_truncate(char *);

/*
 * A message longer than the API allows is cut on a UTF-8 character
 * boundary so the object stays valid.
 */
static char *
status_truncate(char *s)
{
	size_t	 n;

	if (s == NULL || strlen(s) <= STATUS_MSG_MAX)
		return s;
	n = STATUS_MSG_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	s[n] = '\0';
	return s;
}

void
status_cond_set(struct conds *c, const char *type, const char *status,
    const char *reason, const char *fmt, ...)
{
	va_list		 ap;
	char		*msg = NULL;
	size_t		 i;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	msg = status_truncate(msg);
	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].type, type) == 0)
			break;
	if (i == c->n) {
		if (c->n == STATUS_MAX_CONDS) {
			free(msg);
			return;
		}
		c->n++;
	} else
		free(c->v[i].message);
	c->v[i].type = type;
	c->v[i].status = status;
	c->v[i].reason = reason;
	c->v[i].message = msg;
}

const struct cond *
status_cond_get(const struct conds *c, const char *type)
{
	size_t	 i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].type, type) == 0)
			return &c->v[i];
	return NULL;
}

void
status_conds_free(struct conds *c)
{
	size_t	 i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].message);
		c->v[i].message = NULL;
	}
	c->n = 0;
}

yajl_val
status_cond_find(yajl_val conds, const char *type)
{
	size_t		 i;
	const char	*t;

	if (conds == NULL || !YAJL_IS_ARRAY(conds))
		return NULL;
	for (i = 0; i < conds->u.array.len; i++) {
		t = json_str(conds->u.array.values[i], "type");
		if (t != NULL && strcmp(t, type) == 0)
			return conds->u.array.values[i];
	}
	return NULL;
}

int
status_cond_true(yajl_val conds, const char *type)
{
	const char	*s;

	s = json_str(status_cond_find(conds, type), "status");
	return s != NULL && strcmp(s, "True") == 0;
}

static int
status_is_desired(const struct conds *c, const char *type)
{
	return type != NULL && status_cond_get(c, type) != NULL;
}

void
status_write_conds(struct jw *w, yajl_val existing, const struct conds *c,
    long long gen, const char *now, int keep_others)
{
	const struct cond	*d;
	yajl_val		 old;
	const char		*ost, *olt, *ltt;
	size_t			 i;

	jw_arr(w);
	for (i = 0; i < c->n; i++) {
		d = &c->v[i];
		old = status_cond_find(existing, d->type);
		ost = json_str(old, "status");
		olt = json_str(old, "lastTransitionTime");
		ltt = (ost != NULL && olt != NULL &&
		    strcmp(ost, d->status) == 0) ? olt : now;
		jw_obj(w);
		jw_kstr(w, "type", d->type);
		jw_kstr(w, "status", d->status);
		jw_kstr(w, "reason", d->reason);
		jw_kstr(w, "message", d->message != NULL ? d->message : "");
		jw_kint(w, "observedGeneration", gen);
		jw_kstr(w, "lastTransitionTime", ltt);
		jw_obj_end(w);
	}
	if (keep_others && existing != NULL && YAJL_IS_ARRAY(existing)) {
		for (i = 0; i < existing->u.array.len; i++) {
			old = existing->u.array.values[i];
			if (!status_is_desired(c, json_str(old, "type")))
				jw_val(w, old);
		}
	}
	jw_arr_end(w);
}

static int
status_number_equal(yajl_val a, yajl_val b)
{
	if (YAJL_IS_INTEGER(a) && YAJL_IS_INTEGER(b))
		return YAJL_GET_INTEGER(a) == YAJL_GET_INTEGER(b);
	if (YAJL_IS_DOUBLE(a) && YAJL_IS_DOUBLE(b))
		return YAJL_GET_DOUBLE(a) == YAJL_GET_DOUBLE(b);
	return strcmp(a->u.number.r, b->u.number.r) == 0;
}

static int
status_object_equal(yajl_val a, yajl_val b)
{
	size_t	 i;

	if (a->u.object.len != b->u.object.len)
		return 0;
	for (i = 0; i < a->u.object.len; i++) {
		if (!status_json_equal(a->u.object.values[i],
		    json_get(b, a->u.object.keys[i])))
			return 0;
	}
	return 1;
}

int
status_json_equal(yajl_val a, yajl_val b)
{
	size_t	 i;

	if (a == NULL || b == NULL)
		return a == b;
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case yajl_t_string:
		return strcmp(a->u.string, b->u.string) == 0;
	case yajl_t_number:
		return status_number_equal(a, b);
	case yajl_t_object:
		return status_object_equal(a, b);
	case yajl_t_array:
		if (a->u.array.len != b->u.array.len)
			return 0;
		for (i = 0; i < a->u.array.len; i++)
			if (!status_json_equal(a->u.array.values[i],
			    b->u.array.values[i]))
				return 0;
		return 1;
	default:
		return 1;	/* true, false, null: same type */
	}
}

void
status_now(char *buf, size_t sz)
{
	time_t		 t;
	struct tm	 tm;

	t = time(NULL);
	gmtime_r(&t, &tm);
	strftime(buf, sz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
