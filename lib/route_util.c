/* SPDX-License-Identifier: Apache-2.0 */
/*
 * route_util: small pure helpers of the route compiler: hostnames and
 * wildcards (Gateway API semantics), GEP-2257 durations, label selectors,
 * PCRE2 validation and allocation helpers that record out-of-memory in the
 * compile context instead of failing at every call site.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pcre2.h>

#include "json.h"
#include "route_priv.h"

char *
rt_strdup(struct rt_ctx *c, const char *s)
{
	char	*p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL)
		c->oom = 1;
	return p;
}

char *
rt_printf(struct rt_ctx *c, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0) {
		c->oom = 1;
		return NULL;
	}
	return p;
}

void *
rt_reallocarray(struct rt_ctx *c, void *p, size_t n, size_t sz)
{
	void	*q;

	if (n == 0)
		n = 1;
	if ((q = reallocarray(p, n, sz)) == NULL)
		c->oom = 1;
	return q;
}

/* Append a formatted line to *buf (which may be NULL). */
void
rt_append(struct rt_ctx *c, char **buf, const char *fmt, ...)
{
	va_list	 ap;
	char	*add, *joined;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&add, fmt, ap);
	va_end(ap);
	if (n < 0) {
		c->oom = 1;
		return;
	}
	if (*buf == NULL) {
		*buf = add;
		return;
	}
	if (asprintf(&joined, "%s\n%s", *buf, add) < 0) {
		c->oom = 1;
		free(add);
		return;
	}
	free(*buf);
	free(add);
	*buf = joined;
}

const char *
rt_str_or(yajl_val obj, const char *key, const char *dflt)
{
	const char	*s = json_str(obj, key);

	return s != NULL ? s : dflt;
}

static int
host_any(const char *h)
{
	return h == NULL || h[0] == '\0' || strcmp(h, "*") == 0;
}

int
rt_host_is_wild(const char *h)
{
	return h != NULL && h[0] == '*' && h[1] == '.';
}

/* Compare the host part of h (port stripped) with a suffix. */
static int
host_ends_with(const char *h, size_t hlen, const char *suf)
{
	size_t	 slen = strlen(suf);

	return hlen > slen && strncasecmp(h + hlen - slen, suf, slen) == 0;
}

int
route_hostname_match(const char *pattern, const char *host)
{
	size_t		 hlen;
	const char	*colon;

	if (host_any(pattern))
		return 1;
	if (host == NULL)
		return 0;
	hlen = strlen(host);
	if (host[0] != '[' && (colon = strrchr(host, ':')) != NULL)
		hlen = colon - host;
	if (hlen > 0 && host[hlen - 1] == '.')
		hlen--;
	if (rt_host_is_wild(pattern))
		return host_ends_with(host, hlen, pattern + 1) &&
		    host[0] != '.';
	return strlen(pattern) == hlen && strncasecmp(pattern, host,
	    hlen) == 0;
}

/* 1 if every host matched by inner is matched by outer. */
int
rt_host_covers(const char *outer, const char *inner)
{
	if (host_any(outer))
		return 1;
	if (host_any(inner))
		return 0;
	if (!rt_host_is_wild(outer))
		return !rt_host_is_wild(inner) &&
		    strcasecmp(outer, inner) == 0;
	if (!rt_host_is_wild(inner))
		return route_hostname_match(outer, inner);
	return strcasecmp(outer, inner) == 0 ||
	    host_ends_with(inner + 1, strlen(inner + 1), outer + 1);
}

int
route_hostname_intersect(const char *a, const char *b, char *out,
    size_t outsz)
{
	const char	*r;

	if (host_any(a) && host_any(b))
		return 2;
	if (rt_host_covers(a, b))
		r = b;
	else if (rt_host_covers(b, a))
		r = a;
	else
		return 0;
	if ((size_t)snprintf(out, outsz, "%s", r) >= outsz)
		return 0;
	return 1;
}

/*
 * Host entry order: exact names (alphabetical), then wildcards with more
 * characters first (alphabetical on ties), then "*".  For two wildcards
 * that both match a host the longer one is always the narrower one, so a
 * first-match scan in this order finds the most specific entry.
 */
int
rt_host_cmp(const char *a, const char *b)
{
	int	 ka, kb;
	size_t	 la, lb;

	ka = host_any(a) ? 2 : rt_host_is_wild(a) ? 1 : 0;
	kb = host_any(b) ? 2 : rt_host_is_wild(b) ? 1 : 0;
	if (ka != kb)
		return ka - kb;
	if (ka == 1) {
		la = strlen(a);
		lb = strlen(b);
		if (la != lb)
			return la > lb ? -1 : 1;
	}
	if (ka == 2)
		return 0;
	return strcmp(a, b);
}

/* GEP-2257: ^([0-9]{1,5}(h|m|s|ms)){1,4}$ */
long long
route_duration_ms(const char *s)
{
	long long	 total = 0, n;
	int		 parts = 0, digits;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		if (++parts > 4)
			return -1;
		for (n = 0, digits = 0; isdigit((unsigned char)*s); s++) {
			if (++digits > 5)
				return -1;
			n = n * 10 + (*s - '0');
		}
		if (digits == 0)
			return -1;
		if (strncmp(s, "ms", 2) == 0) {
			s += 2;
		} else if (*s == 'h') {
			n *= 3600000LL;
			s++;
		} else if (*s == 'm') {
			n *= 60000LL;
			s++;
		} else if (*s == 's') {
			n *= 1000LL;
			s++;
		} else
			return -1;
		total += n;
	}
	return total;
}

static const char *
label_get(yajl_val labels, const char *ns_name, const char *key)
{
	if (strcmp(key, "kubernetes.io/metadata.name") == 0 &&
	    json_get(labels, key) == NULL)
		return ns_name;
	return json_str(labels, key);
}

static int
expr_match(yajl_val e, yajl_val labels, const char *ns_name)
{
	const char	*key = json_str(e, "key");
	const char	*op = json_str(e, "operator");
	const char	*have;
	yajl_val	 vals = json_get(e, "values");
	size_t		 i;
	int		 in = 0;

	if (key == NULL || op == NULL)
		return 0;
	have = label_get(labels, ns_name, key);
	if (strcmp(op, "Exists") == 0)
		return have != NULL;
	if (strcmp(op, "DoesNotExist") == 0)
		return have == NULL;
	for (i = 0; have != NULL && i < json_len(vals); i++) {
		const char *v = json_str(json_at(vals, i), NULL);

		if (v != NULL && strcmp(v, have) == 0)
			in = 1;
	}
	if (strcmp(op, "In") == 0)
		return in;
	if (strcmp(op, "NotIn") == 0)
		return !in;
	return 0;
}

/*
 * A metav1.LabelSelector against a Namespace.  The automatic label
 * kubernetes.io/metadata.name is always present, even when the Namespace
 * object is unknown (offline planning).  A NULL selector selects nothing,
 * an empty one everything.
 */
int
rt_selector_match(yajl_val sel, yajl_val ns_obj, const char *ns_name)
{
	yajl_val	 labels = json_path(ns_obj, "metadata", "labels", NULL);
	yajl_val	 ml, me;
	size_t		 i;

	if (sel == NULL || !YAJL_IS_OBJECT(sel))
		return 0;
	ml = json_get(sel, "matchLabels");
	for (i = 0; i < json_len(ml); i++) {
		const char *k = json_key_at(ml, i);
		const char *want = json_str(json_at(ml, i), NULL);
		const char *have = label_get(labels, ns_name, k);

		if (want == NULL || have == NULL || strcmp(want, have) != 0)
			return 0;
	}
	me = json_get(sel, "matchExpressions");
	for (i = 0; i < json_len(me); i++)
		if (!expr_match(json_at(me, i), labels, ns_name))
			return 0;
	return 1;
}

/* Find an object by namespace (NULL: cluster-scoped) and name. */
yajl_val
rt_find_named(yajl_val *objs, size_t n, const char *ns, const char *name)
{
	size_t		 i;
	const char	*ons, *oname;

	for (i = 0; i < n; i++) {
		oname = json_str(json_path(objs[i], "metadata", NULL), "name");
		ons = json_str(json_path(objs[i], "metadata", NULL),
		    "namespace");
		if (oname == NULL || strcmp(oname, name) != 0)
			continue;
		if (ns == NULL || (ons != NULL && strcmp(ons, ns) == 0))
			return objs[i];
	}
	return NULL;
}

/* Validate a PCRE2 pattern the way the proxy will compile it. */
int
rt_regex_valid(const char *re, char *msg, size_t msgsz)
{
	pcre2_code	*code;
	int		 ec;
	PCRE2_SIZE	 off;
	PCRE2_UCHAR	 buf[128];

	code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF, &ec, &off, NULL);
	if (code != NULL) {
		pcre2_code_free(code);
		return 1;
	}
	pcre2_get_error_message(ec, buf, sizeof(buf));
	snprintf(msg, msgsz, "invalid regular expression %s at offset %zu: "
	    "%s", re, (size_t)off, (const char *)buf);
	return 0;
}
