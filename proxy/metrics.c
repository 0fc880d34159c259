/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics: Prometheus series per (route, backend).  A series is created
 * when a table that names the pair is installed (metrics_bind) and lives
 * for the rest of the process, so counters survive reloads and an
 * exchange may keep a pointer to its series.  The number of series is
 * bounded (MX_MAX); pairs beyond it share one "_overflow" series.  The
 * request path only bumps counters through pointers bound at install:
 * each event-loop thread has its own slot of every series (relaxed
 * atomic adds on its own cache lines); /metrics sums the slots.
 *
 * Labels: route="<Kind>/<namespace>/<name>", backend="<namespace>/<name>:
 * <port>" or "" for answers without a backend (redirects, CORS
 * preflights, 500 for an unusable rule).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proxy.h"

#define MX_MAX		2048
#define MX_HASH		512

/*
 * Counters of one series for one event-loop thread (its own cache lines;
 * updated with relaxed atomic adds, so threads that share a slot and the
 * admin reader never race).
 */
struct mxc {
	uint64_t	 req[6];		/* by status class */
	uint64_t	 bucket[PX_NBUCKETS];	/* not cumulative */
	uint64_t	 count;
	uint64_t	 sum_us;
	uint64_t	 up_errors;
	uint64_t	 retries;
	int64_t		 inflight;
} __attribute__((aligned(64)));

struct mx {
	struct mx	*hnext;
	struct mx	*lnext;
	char		*route;
	char		*backend;
	struct mxc	*c;			/* mx_nslots */
};

/* The registry is only touched by the main thread (tables, /metrics). */
static struct mx	*mx_hash[MX_HASH];
static struct mx	*mx_list;
static struct mx	**mx_tail = &mx_list;
static size_t		 mx_n;
static struct mx	 mx_over = { .route = "_overflow",
			    .backend = "_overflow" };
static int		 mx_over_used;
static int		 mx_nslots;
static int		 mx_next_slot;
static __thread int	 mx_slot = -1;

#define ADD(f, v)	__atomic_fetch_add(&(f), (v), __ATOMIC_RELAXED)
#define GET(f)		__atomic_load_n(&(f), __ATOMIC_RELAXED)

/* This thread's counters of series m. */
static struct mxc *
mx_mine(struct mx *m)
{
	if (mx_slot == -1)
		mx_slot = __atomic_fetch_add(&mx_next_slot, 1,
		    __ATOMIC_RELAXED) % mx_nslots;
	return &m->c[mx_slot];
}

static struct mxc *
mx_slots(void)
{
	long	 n;

	if (mx_nslots == 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		if (px->cf.threads > n)
			n = px->cf.threads;
		mx_nslots = n < 1 ? 1 : n > 64 ? 64 : n;
	}
	return calloc(mx_nslots, sizeof(struct mxc));
}

static unsigned
mx_hashval(const char *a, size_t al, const char *b)
{
	uint32_t	 h = 2166136261u;
	size_t		 i;

	for (i = 0; i < al; i++)
		h = (h ^ (unsigned char)a[i]) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (; *b != '\0'; b++)
		h = (h ^ (unsigned char)*b) * 16777619u;
	return h % MX_HASH;
}

static struct mx *
mx_overflow(void)
{
	if (mx_over.c == NULL && (mx_over.c = mx_slots()) == NULL)
		return NULL;
	if (!mx_over_used) {
		log_warnx("metrics: more than %d route/backend series; the "
		    "rest are counted as _overflow", MX_MAX);
		mx_over_used = 1;
		*mx_tail = &mx_over;
		mx_tail = &mx_over.lnext;
	}
	return &mx_over;
}

/* The series for (route[0..rl), backend), created on first use. */
static struct mx *
mx_get(const char *route, size_t rl, const char *backend)
{
	unsigned	 hv = mx_hashval(route, rl, backend);
	struct mx	*m;

	for (m = mx_hash[hv]; m != NULL; m = m->hnext)
		if (strlen(m->route) == rl &&
		    strncmp(m->route, route, rl) == 0 &&
		    strcmp(m->backend, backend) == 0)
			return m;
	if (mx_n >= MX_MAX || (m = calloc(1, sizeof(*m))) == NULL)
		return mx_overflow();
	m->route = strndup(route, rl);
	m->backend = strdup(backend);
	m->c = mx_slots();
	if (m->route == NULL || m->backend == NULL || m->c == NULL) {
		free(m->c);
		free(m->route);
		free(m->backend);
		free(m);
		return mx_overflow();
	}
	m->hnext = mx_hash[hv];
	mx_hash[hv] = m;
	*mx_tail = m;
	mx_tail = &m->lnext;
	mx_n++;
	return m;
}

static void
mx_bind_rules(struct trule *r, size_t n)
{
	size_t	 i, j, rl;

	for (i = 0; i < n; i++) {
		rl = strcspn(r[i].route, "#");
		r[i].mx = mx_get(r[i].route, rl, "");
		for (j = 0; j < r[i].nbackends; j++)
			r[i].backends[j].mx = mx_get(r[i].route, rl,
			    r[i].backends[j].name);
	}
}

/* Point every rule and backend of a table about to be installed at its
 * series. */
void
metrics_bind(struct table *tb)
{
	size_t	 i;

	for (i = 0; i < tb->nhosts; i++) {
		mx_bind_rules(tb->hosts[i].http, tb->hosts[i].nhttp);
		mx_bind_rules(tb->hosts[i].grpc, tb->hosts[i].ngrpc);
	}
}

static struct mx *
mx_of(const struct xch *x)
{
	if (x->be != NULL && x->be->mx != NULL)
		return x->be->mx;
	if (x->rule != NULL)
		return x->rule->mx;
	return NULL;
}

/* A finished exchange: status class and duration. */
void
metrics_request(const struct xch *x, double s)
{
	struct mx	*m;
	struct mxc	*c;
	int		 i;

	if (x->is_mirror || (m = mx_of(x)) == NULL)
		return;
	c = mx_mine(m);
	if (x->status >= 100 && x->status < 600)
		ADD(c->req[x->status / 100], 1);
	for (i = 0; i < PX_NBUCKETS; i++)
		if (s <= px_buckets[i]) {
			ADD(c->bucket[i], 1);
			break;
		}
	ADD(c->count, 1);
	ADD(c->sum_us, (uint64_t)(s * 1e6));
}

/* Move the exchange's in-flight mark to backend be (NULL: drop it). */
void
metrics_inflight(struct xch *x, const struct tbackend *be)
{
	if (x->mx != NULL) {
		ADD(mx_mine(x->mx)->inflight, -1);
		x->mx = NULL;
	}
	if (be != NULL && be->mx != NULL && !x->is_mirror) {
		x->mx = be->mx;
		ADD(mx_mine(x->mx)->inflight, 1);
	}
}

void
metrics_upstream_error(const struct xch *x)
{
	struct mx	*m;

	if ((m = mx_of(x)) != NULL)
		ADD(mx_mine(m)->up_errors, 1);
}

void
metrics_retry(const struct xch *x)
{
	struct mx	*m;

	if ((m = mx_of(x)) != NULL)
		ADD(mx_mine(m)->retries, 1);
}

/* Series m summed over the threads' slots. */
static void
mx_sum(const struct mx *m, struct mxc *t)
{
	int	 i, j;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < mx_nslots; i++) {
		for (j = 0; j < 6; j++)
			t->req[j] += GET(m->c[i].req[j]);
		for (j = 0; j < PX_NBUCKETS; j++)
			t->bucket[j] += GET(m->c[i].bucket[j]);
		t->count += GET(m->c[i].count);
		t->sum_us += GET(m->c[i].sum_us);
		t->up_errors += GET(m->c[i].up_errors);
		t->retries += GET(m->c[i].retries);
		t->inflight += GET(m->c[i].inflight);
	}
}

/* A label value with \, " and newline escaped (text format 0.0.4). */
static void
mx_label(struct evbuffer *b, const char *name, const char *v, int comma)
{
	evbuffer_add_printf(b, "%s%s=\"", comma ? "," : "", name);
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(b, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, v, 1);
	}
	evbuffer_add(b, "\"", 1);
}

static void
mx_labels(struct evbuffer *b, const struct mx *m)
{
	mx_label(b, "route", m->route, 0);
	mx_label(b, "backend", m->backend, 1);
}

static void
mx_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

static void
mx_write_requests(struct evbuffer *b, const struct mx *m,
    const struct mxc *t)
{
	static const char *cls[] = { "", "1xx", "2xx", "3xx", "4xx", "5xx" };
	int		 i;

	for (i = 1; i <= 5; i++) {
		if (t->req[i] == 0 && i != 2)
			continue;
		evbuffer_add_printf(b, "cfgw_proxy_route_requests_total{");
		mx_labels(b, m);
		evbuffer_add_printf(b, ",code=\"%s\"} %llu\n", cls[i],
		    (unsigned long long)t->req[i]);
	}
}

static void
mx_write_histogram(struct evbuffer *b, const struct mx *m,
    const struct mxc *t)
{
	const char	*n = "cfgw_proxy_route_request_duration_seconds";
	uint64_t	 acc = 0;
	int		 i;

	for (i = 0; i < PX_NBUCKETS; i++) {
		acc += t->bucket[i];
		evbuffer_add_printf(b, "%s_bucket{", n);
		mx_labels(b, m);
		evbuffer_add_printf(b, ",le=\"%g\"} %llu\n", px_buckets[i],
		    (unsigned long long)acc);
	}
	evbuffer_add_printf(b, "%s_bucket{", n);
	mx_labels(b, m);
	evbuffer_add_printf(b, ",le=\"+Inf\"} %llu\n%s_sum{", (unsigned long
	    long)t->count, n);
	mx_labels(b, m);
	evbuffer_add_printf(b, "} %.6f\n%s_count{", t->sum_us / 1e6, n);
	mx_labels(b, m);
	evbuffer_add_printf(b, "} %llu\n", (unsigned long long)t->count);
}

static void
mx_write_simple(struct evbuffer *b, const char *name, const struct mx *m,
    long long v)
{
	evbuffer_add_printf(b, "%s{", name);
	mx_labels(b, m);
	evbuffer_add_printf(b, "} %lld\n", v);
}

#define MX_EACH(m)	for ((m) = mx_list; (m) != NULL; (m) = (m)->lnext)

void
metrics_write(struct evbuffer *b)
{
	struct mx	*m;
	struct mxc	*t;
	size_t		 i, n = 0;

	MX_EACH(m)
		n++;
	if (n == 0 || (t = calloc(n, sizeof(*t))) == NULL)
		return;
	i = 0;
	MX_EACH(m)
		mx_sum(m, &t[i++]);
	mx_family(b, "cfgw_proxy_route_requests_total", "counter",
	    "Requests answered, by route, backend and status class.");
	for (i = 0, m = mx_list; m != NULL; m = m->lnext, i++)
		mx_write_requests(b, m, &t[i]);
	mx_family(b, "cfgw_proxy_route_request_duration_seconds", "histogram",
	    "Time from request head to the end of the answer, by route and "
	    "backend.");
	for (i = 0, m = mx_list; m != NULL; m = m->lnext, i++)
		mx_write_histogram(b, m, &t[i]);
	mx_family(b, "cfgw_proxy_route_upstream_errors_total", "counter",
	    "Backend failures (refused, reset, malformed, timed out).");
	for (i = 0, m = mx_list; m != NULL; m = m->lnext, i++)
		if (m->backend[0] != '\0')
			mx_write_simple(b, "cfgw_proxy_route_upstream_errors_"
			    "total", m, t[i].up_errors);
	mx_family(b, "cfgw_proxy_route_retries_total", "counter",
	    "Requests sent again after a failure of this backend.");
	for (i = 0, m = mx_list; m != NULL; m = m->lnext, i++)
		if (m->backend[0] != '\0')
			mx_write_simple(b, "cfgw_proxy_route_retries_total", m,
			    t[i].retries);
	mx_family(b, "cfgw_proxy_route_requests_in_flight", "gauge",
	    "Requests being sent to or answered by this backend.");
	for (i = 0, m = mx_list; m != NULL; m = m->lnext, i++)
		if (m->backend[0] != '\0')
			mx_write_simple(b, "cfgw_proxy_route_requests_in_"
			    "flight", m, t[i].inflight);
	free(t);
}
