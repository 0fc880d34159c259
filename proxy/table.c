/* SPDX-License-Identifier: Apache-2.0 */
/*
 * table: turn the route table JSON (docs/route-table.md) into an immutable,
 * indexed structure.  Every field is checked; any error rejects the whole
 * table with one message, so the caller can keep its last good table.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "table.h"
#include "table_int.h"

static int	 table_host_parse(struct tctx *, struct table *, yajl_val,
		    struct thost *);
static int	 table_rules_parse(struct tctx *, yajl_val, int,
		    struct trule **, size_t *);
static int	 table_rule_parse(struct tctx *, yajl_val, int,
		    struct trule *);
static int	 table_match_http(struct tctx *, yajl_val, struct trule *);
static int	 table_match_grpc(struct tctx *, yajl_val, struct trule *);
static void	 table_retry(yajl_val, struct trule *);
static int	 table_session(struct tctx *, yajl_val, struct trule *);
static int	 table_vmatches(struct tctx *, yajl_val, int, struct vmatch **,
		    size_t *);
static int	 table_backends(struct tctx *, yajl_val, struct trule *);
static void	 rule_free(struct trule *);
static int	 table_index(struct tctx *, struct table *);
static uint32_t	 host_hash(const char *, size_t);

int
terr(struct tctx *t, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[256];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (t->err != NULL && t->errsz > 0)
		snprintf(t->err, t->errsz, "%s%s%s", t->where ? t->where : "",
		    t->where ? ": " : "", msg);
	return -1;
}

char *
tstrdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

char *
lowerdup(const char *s)
{
	char	*d, *p;

	if ((d = strdup(s)) == NULL)
		return NULL;
	for (p = d; *p; p++)
		*p = tolower((unsigned char)*p);
	return d;
}

/* Bytes allowed in a host name we index: letters, digits, '-', '.', '*'. */
static int
host_valid(const char *h)
{
	size_t	 n = strlen(h), i;

	if (n == 0 || n > 253)
		return 0;
	if (strcmp(h, "*") == 0)
		return 1;
	for (i = 0; i < n; i++) {
		unsigned char c = h[i];
		if (c == '*' && i == 0 && n > 2 && h[1] == '.')
			continue;
		if (!isalnum(c) && c != '-' && c != '.' && c != '_')
			return 0;
	}
	return 1;
}

struct table *
table_load(const char *buf, size_t len, char *err, size_t errsz)
{
	struct tctx	 t = { err, errsz, NULL };
	struct table	*tb;
	yajl_val	 root, hosts;
	const char	*ver, *gen;
	char		 perr[160];
	size_t		 i;
	char		*end;
	long		 major;

	if (err != NULL && errsz > 0)
		err[0] = '\0';
	if ((root = json_parse(buf, len, perr, sizeof(perr))) == NULL) {
		terr(&t, "invalid JSON: %s", perr);
		return NULL;
	}
	if ((tb = calloc(1, sizeof(*tb))) == NULL) {
		json_free(&root);
		terr(&t, "out of memory");
		return NULL;
	}
	tb->refs = 1;
	if (!YAJL_IS_OBJECT(root) || (ver = json_str(root, "version")) ==
	    NULL) {
		terr(&t, "missing \"version\"");
		goto fail;
	}
	errno = 0;
	major = strtol(ver, &end, 10);
	if (end == ver || (*end != '.' && *end != '\0') || errno != 0) {
		terr(&t, "bad version \"%.32s\"", ver);
		goto fail;
	}
	if (major != TABLE_MAJOR) {
		terr(&t, "unsupported table major version %ld", major);
		goto fail;
	}
	tb->version = strdup(ver);
	gen = json_str(root, "generation");
	tb->generation = strdup(gen != NULL ? gen : "");
	hosts = json_get(root, "hosts");
	if (hosts == NULL || !YAJL_IS_ARRAY(hosts)) {
		terr(&t, "\"hosts\" must be an array");
		goto fail;
	}
	tb->nhosts = json_len(hosts);
	if (tb->nhosts > 0 &&
	    (tb->hosts = calloc(tb->nhosts, sizeof(*tb->hosts))) == NULL) {
		terr(&t, "out of memory");
		goto fail;
	}
	for (i = 0; i < tb->nhosts; i++)
		if (table_host_parse(&t, tb, json_at(hosts, i),
		    &tb->hosts[i]) == -1)
			goto fail;
	if (table_index(&t, tb) == -1)
		goto fail;
	json_free(&root);
	return tb;
fail:
	json_free(&root);
	table_unref(tb);
	return NULL;
}

static int
table_host_parse(struct tctx *t, struct table *tb, yajl_val v,
    struct thost *h)
{
	const char	*name;
	int		 wild = 0;

	if (v == NULL || !YAJL_IS_OBJECT(v))
		return terr(t, "hosts[] entry is not an object");
	if ((name = json_str(v, "hostname")) == NULL)
		return terr(t, "hosts[] entry without \"hostname\"");
	if (!host_valid(name))
		return terr(t, "invalid hostname \"%.64s\"", name);
	if ((h->hostname = lowerdup(name)) == NULL)
		return terr(t, "out of memory");
	t->where = h->hostname;
	if (name[0] == '*') {
		wild = 1;
		if (name[1] == '.') {
			h->suffix = h->hostname + 1;
			h->suffixlen = strlen(h->suffix);
		}
	}
	h->wildcard = wild;
	if (table_rules_parse(t, json_get(v, "http"), 0, &h->http,
	    &h->nhttp) == -1)
		return -1;
	if (table_rules_parse(t, json_get(v, "grpc"), 1, &h->grpc,
	    &h->ngrpc) == -1)
		return -1;
	tb->nrules += h->nhttp + h->ngrpc;
	t->where = NULL;
	return 0;
}

static int
table_rules_parse(struct tctx *t, yajl_val v, int grpc, struct trule **out,
    size_t *n)
{
	size_t	 i, len;

	*out = NULL;
	*n = 0;
	if (v == NULL || YAJL_IS_NULL(v))
		return 0;
	if (!YAJL_IS_ARRAY(v))
		return terr(t, "%s must be an array", grpc ? "grpc" : "http");
	if ((len = json_len(v)) == 0)
		return 0;
	if ((*out = calloc(len, sizeof(**out))) == NULL)
		return terr(t, "out of memory");
	for (i = 0; i < len; i++) {
		*n = i + 1;
		if (table_rule_parse(t, json_at(v, i), grpc, &(*out)[i]) == -1)
			return -1;
	}
	return 0;
}

static int
table_rule_parse(struct tctx *t, yajl_val v, int grpc, struct trule *r)
{
	yajl_val	 rt, tmo, m;
	char		 id[300];
	const char	*kind, *ns, *nm;
	long long	 rule = 0, ms;

	if (v == NULL || !YAJL_IS_OBJECT(v))
		return terr(t, "rule is not an object");
	rt = json_get(v, "route");
	kind = json_str(rt, "kind");
	ns = json_str(rt, "namespace");
	nm = json_str(rt, "name");
	(void)json_int(rt, "rule", &rule);
	snprintf(id, sizeof(id), "%s/%s/%s#%lld", kind ? kind : "?",
	    ns ? ns : "?", nm ? nm : "?", rule);
	if ((r->route = strdup(id)) == NULL)
		return terr(t, "out of memory");
	m = json_get(v, "match");
	if (m != NULL && !YAJL_IS_NULL(m) && !YAJL_IS_OBJECT(m))
		return terr(t, "%s: match is not an object", id);
	if (grpc ? table_match_grpc(t, m, r) : table_match_http(t, m, r))
		return -1;
	if (table_backends(t, json_get(v, "backends"), r) == -1)
		return -1;
	if (table_filters(t, json_get(v, "filters"), r) == -1)
		return -1;
	/* null or absent: proxy default (-1); 0: no timeout. */
	tmo = json_get(v, "timeouts");
	r->request_ms = r->backend_ms = -1;
	if (json_int(tmo, "request_ms", &ms) == 0 && ms >= 0 &&
	    ms < 86400000LL * 30)
		r->request_ms = ms;
	if (json_int(tmo, "backend_request_ms", &ms) == 0 && ms >= 0 &&
	    ms < 86400000LL * 30)
		r->backend_ms = ms;
	r->schemes = table_schemes(json_get(v, "schemes"));
	table_retry(json_get(v, "retry"), r);
	if (table_session(t, json_get(v, "session_persistence"), r) == -1)
		return -1;
	return 0;
}

/* "retry": {"codes": [503], "attempts": 2, "backoff_ms": 100} */
static void
table_retry(yajl_val v, struct trule *r)
{
	yajl_val	 codes = json_get(v, "codes");
	long long	 n;
	size_t		 i;

	if (v == NULL || !YAJL_IS_OBJECT(v))
		return;
	r->has_retry = 1;
	r->retry.attempts = 1;
	if (json_int(v, "attempts", &n) == 0 && n >= 0 && n <= 100)
		r->retry.attempts = n;
	if (json_int(v, "backoff_ms", &n) == 0 && n >= 0 && n <= 60000)
		r->retry.backoff_ms = n;
	for (i = 0; i < json_len(codes) && YAJL_IS_ARRAY(codes) &&
	    r->retry.ncodes < 32; i++)
		if (json_int(json_at(codes, i), NULL, &n) == 0 && n >= 100 &&
		    n <= 599)
			r->retry.codes[r->retry.ncodes++] = n;
}

/* "session_persistence": {"type", "session_name", ...} */
static int
table_session(struct tctx *t, yajl_val v, struct trule *r)
{
	const char	*type, *name, *lt;
	long long	 n;
	size_t		 i;

	if (v == NULL || !YAJL_IS_OBJECT(v))
		return 0;
	type = json_str(v, "type");
	r->session.header = type != NULL && strcmp(type, "Header") == 0;
	if ((name = json_str(v, "session_name")) == NULL)
		name = r->session.header ? "X-Cgw-Session" : "cgw-session";
	for (i = 0; name[i] != '\0'; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_')
			return terr(t, "%s: bad session name", r->route);
	r->session.name = r->session.header ? lowerdup(name) : strdup(name);
	if (r->session.name == NULL)
		return terr(t, "out of memory");
	if (json_int(v, "absolute_timeout_ms", &n) == 0 && n > 0)
		r->session.absolute_ms = n;
	lt = json_str(v, "lifetime_type");
	r->session.permanent = lt != NULL && strcmp(lt, "Permanent") == 0;
	r->has_session = 1;
	return 0;
}

static int
table_regex(struct tctx *t, const char *pat, struct pcre2_real_code_8 **re)
{
	char	 e[128];

	if ((*re = re_compile(pat, e, sizeof(e))) == NULL)
		return terr(t, "regex \"%.64s\": %s", pat, e);
	return 0;
}

static int
table_match_http(struct tctx *t, yajl_val m, struct trule *r)
{
	yajl_val	 p;
	const char	*type, *val, *meth;

	r->path_type = PATH_PREFIX;
	p = json_get(m, "path");
	type = json_str(p, "type");
	val = json_str(p, "value");
	if (type == NULL || strcmp(type, "PathPrefix") == 0) {
		size_t n;
		if (val == NULL)
			val = "/";
		if (val[0] != '/')
			return terr(t, "%s: path must start with /", r->route);
		n = strlen(val);
		/* A trailing slash is ignored: "/foo/" acts as "/foo". */
		while (n > 1 && val[n - 1] == '/')
			n--;
		if ((r->path = strndup(val, n)) == NULL)
			return terr(t, "out of memory");
		r->pathlen = n;
	} else if (strcmp(type, "Exact") == 0) {
		if (val == NULL || val[0] != '/')
			return terr(t, "%s: bad Exact path", r->route);
		r->path_type = PATH_EXACT;
		r->path = strdup(val);
		r->pathlen = strlen(val);
	} else if (strcmp(type, "RegularExpression") == 0) {
		if (val == NULL)
			return terr(t, "%s: regex path without value",
			    r->route);
		r->path_type = PATH_REGEX;
		r->path = strdup(val);
		if (table_regex(t, val, &r->path_re) == -1)
			return -1;
	} else
		return terr(t, "%s: unknown path type \"%.32s\"", r->route,
		    type);
	if (r->path == NULL)
		return terr(t, "out of memory");
	if ((meth = json_str(m, "method")) != NULL &&
	    !http_field_name_ok(meth))
		return terr(t, "%s: bad method", r->route);
	if (meth != NULL && (r->method = strdup(meth)) == NULL)
		return terr(t, "out of memory");
	if (table_vmatches(t, json_get(m, "headers"), 1, &r->headers,
	    &r->nheaders) == -1)
		return -1;
	return table_vmatches(t, json_get(m, "query"), 0, &r->query,
	    &r->nquery);
}

static int
table_match_grpc(struct tctx *t, yajl_val m, struct trule *r)
{
	const char	*type = json_str(m, "type");
	const char	*svc = json_str(m, "service");
	const char	*meth = json_str(m, "method");

	r->grpc_type = VAL_EXACT;
	if (type != NULL && strcmp(type, "RegularExpression") == 0)
		r->grpc_type = VAL_REGEX;
	else if (type != NULL && strcmp(type, "Exact") != 0)
		return terr(t, "%s: unknown method match type \"%.32s\"",
		    r->route, type);
	r->service = tstrdup(svc);
	r->gmethod = tstrdup(meth);
	if ((svc != NULL && r->service == NULL) ||
	    (meth != NULL && r->gmethod == NULL))
		return terr(t, "out of memory");
	if (r->grpc_type == VAL_REGEX) {
		if (svc != NULL && table_regex(t, svc, &r->svc_re) == -1)
			return -1;
		if (meth != NULL && table_regex(t, meth, &r->meth_re) == -1)
			return -1;
	}
	return table_vmatches(t, json_get(m, "headers"), 1, &r->headers,
	    &r->nheaders);
}

static int
table_vmatches(struct tctx *t, yajl_val a, int lower, struct vmatch **out,
    size_t *n)
{
	size_t		 i, len;
	yajl_val	 e;
	const char	*type, *name, *val;
	struct vmatch	*vm;

	if (a == NULL || YAJL_IS_NULL(a))
		return 0;
	if (!YAJL_IS_ARRAY(a))
		return terr(t, "header/query matches must be an array");
	if ((len = json_len(a)) == 0)
		return 0;
	if ((*out = calloc(len, sizeof(**out))) == NULL)
		return terr(t, "out of memory");
	for (i = 0; i < len; i++) {
		vm = &(*out)[i];
		*n = i + 1;
		e = json_at(a, i);
		type = json_str(e, "type");
		name = json_str(e, "name");
		val = json_str(e, "value");
		if (name == NULL || val == NULL || name[0] == '\0')
			return terr(t, "match without name or value");
		vm->name = lower ? lowerdup(name) : strdup(name);
		vm->value = strdup(val);
		if (vm->name == NULL || vm->value == NULL)
			return terr(t, "out of memory");
		if (type == NULL || strcmp(type, "Exact") == 0)
			vm->type = VAL_EXACT;
		else if (strcmp(type, "RegularExpression") == 0) {
			vm->type = VAL_REGEX;
			if (table_regex(t, val, &vm->re) == -1)
				return -1;
		} else
			return terr(t, "unknown match type \"%.32s\"", type);
	}
	return 0;
}

/* Mark backend b unusable: its share of the requests answers 500. */
static int
be_unusable(struct tctx *t, struct tbackend *b)
{
	if (b->invalid == NULL &&
	    (b->invalid = strdup("UnsupportedFilter")) == NULL)
		return terr(t, "out of memory");
	return 0;
}

/*
 * Per-backendRef filters: header modifiers, once each, not naming a
 * framing field; anything else is never skipped: the backend is unusable.
 */
static int
table_be_filters(struct tctx *t, yajl_val a, struct tbackend *b)
{
	size_t		 i;
	yajl_val	 f;
	const char	*ft;
	int		 unsup;

	for (i = 0; i < json_len(a) && YAJL_IS_ARRAY(a); i++) {
		f = json_at(a, i);
		ft = json_str(f, "type");
		unsup = 0;
		(void)json_bool(f, "unsupported", &unsup);
		if (!unsup && ft != NULL && !b->has_reqmod &&
		    strcmp(ft, "RequestHeaderModifier") == 0) {
			b->has_reqmod = 1;
			if (table_hmod(t, json_get(f, "requestHeaderModifier"),
			    &b->reqmod) == -1)
				return -1;
			if (hmod_framing(&b->reqmod) && be_unusable(t, b) == -1)
				return -1;
		} else if (!unsup && ft != NULL && !b->has_respmod &&
		    strcmp(ft, "ResponseHeaderModifier") == 0) {
			b->has_respmod = 1;
			if (table_hmod(t, json_get(f,
			    "responseHeaderModifier"), &b->respmod) == -1)
				return -1;
			if (hmod_framing(&b->respmod) &&
			    be_unusable(t, b) == -1)
				return -1;
		} else if (be_unusable(t, b) == -1)
			return -1;
	}
	return 0;
}

/* FNV-1a 64 of "ns/name:port": stable across table reloads. */
static uint64_t
sid_hash(const char *s)
{
	uint64_t	 h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int
table_backends(struct tctx *t, yajl_val a, struct trule *r)
{
	size_t		 i, len;
	yajl_val	 e, inv;
	struct tbackend	*b;
	const char	*host, *proto, *ns, *nm;
	long long	 port, w;
	char		 id[300];

	if (a == NULL || YAJL_IS_NULL(a))
		return 0;
	if (!YAJL_IS_ARRAY(a))
		return terr(t, "%s: backends must be an array", r->route);
	if ((len = json_len(a)) == 0)
		return 0;
	if ((r->backends = calloc(len, sizeof(*b))) == NULL)
		return terr(t, "out of memory");
	for (i = 0; i < len; i++) {
		b = &r->backends[i];
		r->nbackends = i + 1;
		e = json_at(a, i);
		if (e == NULL || !YAJL_IS_OBJECT(e))
			return terr(t, "%s: backend not an object", r->route);
		ns = json_str(e, "namespace");
		nm = json_str(e, "name");
		if (json_int(e, "port", &port) == -1)
			port = 0;
		snprintf(id, sizeof(id), "%s/%s:%lld", ns ? ns : "?",
		    nm ? nm : "?", port);
		b->name = strdup(id);
		w = 1;
		if (json_get(e, "weight") != NULL &&
		    (json_int(e, "weight", &w) == -1 || w < 0 ||
		    w > 1000000))
			return terr(t, "%s: bad backend weight", r->route);
		b->weight = w;
		inv = json_get(e, "invalid");
		if (inv != NULL && !YAJL_IS_NULL(inv)) {
			const char *s = json_str(e, "invalid");
			b->invalid = strdup(s != NULL ? s : "Invalid");
		}
		host = json_str(e, "host");
		b->port = port;
		if (b->invalid == NULL && (host == NULL || !host_valid(host) ||
		    host[0] == '*' || port < 1 || port > 65535))
			return terr(t, "%s: backend %s: bad host or port",
			    r->route, id);
		b->host = strdup(host != NULL ? host : "");
		proto = json_str(e, "protocol");
		if (proto == NULL || strcmp(proto, "http") == 0)
			b->proto = BE_HTTP;
		else if (strcmp(proto, "h2c") == 0)
			b->proto = BE_H2C;
		else if (strcmp(proto, "ws") == 0)
			b->proto = BE_WS;
		else
			return terr(t, "%s: unknown backend protocol \"%.16s\"",
			    r->route, proto);
		if (b->name == NULL || b->host == NULL)
			return terr(t, "out of memory");
		if (table_be_filters(t, json_get(e, "filters"), b) == -1)
			return -1;
		r->total_weight += b->weight;
		r->be_reqmod |= b->has_reqmod;
		snprintf(b->sid, sizeof(b->sid), "%016llx",
		    (unsigned long long)sid_hash(b->name));
	}
	return 0;
}

static uint32_t
host_hash(const char *s, size_t n)
{
	uint32_t	 h = 2166136261u;
	size_t		 i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)tolower((unsigned char)s[i]);
		h *= 16777619u;
	}
	return h;
}

static int
table_index(struct tctx *t, struct table *tb)
{
	size_t		 i;
	struct thost	*h, *o;
	uint32_t	 k;

	tb->hashsz = 16;
	while (tb->hashsz < tb->nhosts * 2)
		tb->hashsz *= 2;
	tb->hash = calloc(tb->hashsz, sizeof(*tb->hash));
	tb->wild = calloc(tb->nhosts + 1, sizeof(*tb->wild));
	if (tb->hash == NULL || tb->wild == NULL)
		return terr(t, "out of memory");
	for (i = 0; i < tb->nhosts; i++) {
		h = &tb->hosts[i];
		if (strcmp(h->hostname, "*") == 0) {
			if (tb->star == NULL)
				tb->star = h;
			continue;
		}
		if (h->wildcard) {
			tb->wild[tb->nwild++] = h;
			continue;
		}
		k = host_hash(h->hostname, strlen(h->hostname)) &
		    (tb->hashsz - 1);
		for (o = tb->hash[k]; o != NULL; o = o->hnext)
			if (strcmp(o->hostname, h->hostname) == 0)
				return terr(t, "duplicate host \"%.64s\"",
				    h->hostname);
		h->hnext = tb->hash[k];
		tb->hash[k] = h;
	}
	return 0;
}

/* Host must already be lower case, without port or trailing dot. */
const struct thost *
table_host(const struct table *tb, const char *host, size_t n)
{
	const struct thost	*h;
	size_t			 i;
	uint32_t		 k;

	if (tb->hashsz == 0)
		return NULL;
	k = host_hash(host, n) & (tb->hashsz - 1);
	for (h = tb->hash[k]; h != NULL; h = h->hnext)
		if (strlen(h->hostname) == n && memcmp(h->hostname, host,
		    n) == 0)
			return h;
	for (i = 0; i < tb->nwild; i++) {
		h = tb->wild[i];
		/* "*.example.com" needs at least one label before it. */
		if (n > h->suffixlen && memcmp(host + n - h->suffixlen,
		    h->suffix, h->suffixlen) == 0)
			return h;
	}
	return tb->star;
}

struct table *
table_load_file(const char *path, char *err, size_t errsz)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 r;
	size_t		 off = 0;
	int		 fd;
	struct table	*tb;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsz, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > TABLE_MAX_BYTES) {
		snprintf(err, errsz, "%s: not a regular file or too large",
		    path);
		close(fd);
		return NULL;
	}
	if ((buf = malloc(st.st_size + 1)) == NULL) {
		close(fd);
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	while (off < (size_t)st.st_size &&
	    (r = read(fd, buf + off, st.st_size - off)) > 0)
		off += r;
	close(fd);
	tb = table_load(buf, off, err, errsz);
	free(buf);
	return tb;
}

struct table *
table_ref(struct table *tb)
{
	if (tb != NULL)
		__atomic_add_fetch(&tb->refs, 1, __ATOMIC_RELAXED);
	return tb;
}

void
hmod_free(struct hmod *h)
{
	size_t	 i;

	for (i = 0; i < h->nset; i++)
		free(h->set_name[i]), free(h->set_value[i]);
	for (i = 0; i < h->nadd; i++)
		free(h->add_name[i]), free(h->add_value[i]);
	for (i = 0; i < h->nremove; i++)
		free(h->remove[i]);
	free(h->set_name);
	free(h->set_value);
	free(h->add_name);
	free(h->add_value);
	free(h->remove);
}

static void
vm_free(struct vmatch *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
		re_free(v[i].re);
	}
	free(v);
}

static void
rule_free(struct trule *r)
{
	size_t	 i;

	free(r->route);
	free(r->path);
	re_free(r->path_re);
	free(r->method);
	free(r->service);
	free(r->gmethod);
	re_free(r->svc_re);
	re_free(r->meth_re);
	vm_free(r->headers, r->nheaders);
	vm_free(r->query, r->nquery);
	for (i = 0; i < r->nbackends; i++) {
		free(r->backends[i].name);
		free(r->backends[i].host);
		free(r->backends[i].invalid);
		hmod_free(&r->backends[i].reqmod);
		hmod_free(&r->backends[i].respmod);
	}
	free(r->backends);
	hmod_free(&r->reqmod);
	hmod_free(&r->respmod);
	free(r->redirect.scheme);
	free(r->redirect.hostname);
	free(r->redirect.path);
	free(r->rewrite.hostname);
	free(r->rewrite.path);
	free(r->session.name);
	for (i = 0; i < r->cors.norigins; i++)
		free(r->cors.origins[i]);
	free(r->cors.origins);
	free(r->cors.methods);
	free(r->cors.headers);
	free(r->cors.expose);
	for (i = 0; i < r->nmirrors; i++) {
		free(r->mirrors[i].be.host);
		free(r->mirrors[i].be.name);
	}
}

void
table_unref(struct table *tb)
{
	size_t	 i, j;

	if (tb == NULL ||
	    __atomic_sub_fetch(&tb->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (i = 0; i < tb->nhosts; i++) {
		struct thost *h = &tb->hosts[i];
		for (j = 0; j < h->nhttp; j++)
			rule_free(&h->http[j]);
		for (j = 0; j < h->ngrpc; j++)
			rule_free(&h->grpc[j]);
		free(h->http);
		free(h->grpc);
		free(h->hostname);
	}
	free(tb->hosts);
	free(tb->hash);
	free(tb->wild);
	free(tb->version);
	free(tb->generation);
	free(tb);
}
