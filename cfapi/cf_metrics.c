/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfapi's metrics: requests by endpoint (method and a normalised route,
 * ids replaced by ":id") and HTTP status, retries by reason, replies by
 * op and result, and gauges for each credential's budget and the queues.
 * They are published as Prometheus text through worker_metrics_set (cfgwd
 * shows them on /metrics) at most once a second, and logged every minute
 * at debug level.  Credentials are labelled by their Secret's
 * namespace/name: never by the token or anything derived from it.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfapi.h"
#include "log.h"

#define CF_METRICS_TEXT_MAX	16000	/* under PROMTEXT_MAX */

/* Path segments that are part of a route; any other is an id. */
static const char *const cf_route_words[] = {
	"accounts", "zones", "cfd_tunnel", "dns_records", "batch",
	"configurations", "connections", "connectors", "token", "tokens",
	"verify", "user", "management", NULL
};

static const char *const cf_retry_names[CF_NRETRY] = {
	"5xx", "429", "transport", "lookup"
};

static const char *const cf_prio_names[CF_NPRIO] = {
	"high", "normal", "low"
};

void
cf_route_norm(const char *method, const char *path, char *out, size_t sz)
{
	const char	*p = path, *e;
	size_t		 n, off, i;
	int		 w;

	w = snprintf(out, sz, "%s ", method);
	off = w > 0 && (size_t)w < sz ? (size_t)w : 0;
	while (*p == '/' && off + 1 < sz) {
		p++;
		e = strchr(p, '/');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		for (i = 0; cf_route_words[i] != NULL; i++)
			if (strlen(cf_route_words[i]) == n &&
			    strncmp(cf_route_words[i], p, n) == 0)
				break;
		if (cf_route_words[i] != NULL)
			w = snprintf(out + off, sz - off, "/%.*s", (int)n, p);
		else
			w = snprintf(out + off, sz - off, "/:id");
		if (w < 0 || (size_t)w >= sz - off)
			break;
		off += (size_t)w;
		p += n;
	}
}

void
cf_metric_add(struct cfapi_state *st, const char *method, const char *path,
    long status)
{
	char	 label[sizeof(st->metrics[0].label)];
	size_t	 i;

	cf_route_norm(method, path, label, sizeof(label));
	for (i = 0; i < st->nmetrics; i++)
		if (st->metrics[i].status == status &&
		    strcmp(st->metrics[i].label, label) == 0) {
			st->metrics[i].count++;
			return;
		}
	if (st->nmetrics == CF_MAX_METRICS)
		return;
	memcpy(st->metrics[i].label, label, sizeof(label));
	st->metrics[i].status = status;
	st->metrics[i].count = 1;
	st->nmetrics++;
}

void
cf_metric_retry(struct cfapi_state *st, enum cf_retry why)
{
	st->retries[why]++;
}

void
cf_metric_reply(struct cfapi_state *st, const char *op, enum cf_errkind k)
{
	struct cf_replymetric	*r;
	size_t			 i;

	if (op == NULL)
		op = "unknown";
	for (i = 0; i < st->nreplies; i++) {
		r = &st->replies[i];
		if (r->kind == k && strcmp(r->op, op) == 0) {
			r->count++;
			return;
		}
	}
	if (st->nreplies == CF_MAX_METRICS)
		return;
	r = &st->replies[st->nreplies++];
	snprintf(r->op, sizeof(r->op), "%s", op);
	r->kind = k;
	r->count = 1;
}

/* Secret namespace/name as a label value: Kubernetes name characters. */
static void
cf_label_cred(const struct cf_cred *c, char *out, size_t sz)
{
	size_t	 i;

	snprintf(out, sz, "%s/%s", c->ns, c->name);
	for (i = 0; out[i] != '\0'; i++)
		if (!((out[i] >= 'a' && out[i] <= 'z') || (out[i] >= '0' &&
		    out[i] <= '9') || strchr("-./", out[i]) != NULL))
			out[i] = '_';
}

#define CF_ADD(...) do {						\
	if (n < sz)							\
		n += (size_t)snprintf(buf + n, sz - n, __VA_ARGS__);	\
} while (0)

static size_t
cf_metrics_budget(struct cfapi_state *st, char *buf, size_t sz)
{
	const struct cf_cred	*c;
	struct cf_bucket	*b;
	char			 lab[340];
	double			 now = ratelimit_now(), tok, pause;
	size_t			 n = 0, i;
	int			 k;

	for (k = 0; k < 3; k++) {
		CF_ADD("%s", k == 0 ?
		    "# HELP cfgw_cloudflare_budget_remaining Requests the "
		    "token may send now (its bucket).\n"
		    "# TYPE cfgw_cloudflare_budget_remaining gauge\n" :
		    k == 1 ? "# HELP cfgw_cloudflare_budget_rate Steady "
		    "requests per second allowed for the token.\n"
		    "# TYPE cfgw_cloudflare_budget_rate gauge\n" :
		    "# HELP cfgw_cloudflare_budget_paused_seconds Seconds "
		    "until the token may send again after a 429.\n"
		    "# TYPE cfgw_cloudflare_budget_paused_seconds gauge\n");
		for (i = 0; i < CF_MAX_CREDS; i++) {
			c = &st->creds[i];
			if (!c->used || c->token == NULL)
				continue;
			b = cf_cred_bucket(st, (struct cf_cred *)c);
			cf_label_cred(c, lab, sizeof(lab));
			tok = ratelimit_tokens_at(&b->rl, now);
			pause = b->paused_until > now ? b->paused_until - now :
			    0;
			if (k == 0)
				CF_ADD("cfgw_cloudflare_budget_remaining"
				    "{credential=\"%s\"} %.0f\n", lab,
				    floor(tok > 0 ? tok : 0));
			else if (k == 1)
				CF_ADD("cfgw_cloudflare_budget_rate"
				    "{credential=\"%s\"} %.3f\n", lab,
				    b->rl.rate);
			else
				CF_ADD("cfgw_cloudflare_budget_paused_seconds"
				    "{credential=\"%s\"} %.1f\n", lab, pause);
		}
	}
	return n;
}

static size_t
cf_metrics_render(struct cfapi_state *st, char *buf, size_t sz)
{
	struct cf_req	*r;
	size_t		 n = 0, i, q;
	int		 p;

	CF_ADD("# HELP cfgw_cloudflare_requests_total Cloudflare API "
	    "requests by endpoint and HTTP status (0: no response).\n"
	    "# TYPE cfgw_cloudflare_requests_total counter\n");
	for (i = 0; i < st->nmetrics; i++)
		CF_ADD("cfgw_cloudflare_requests_total{endpoint=\"%s\","
		    "code=\"%ld\"} %llu\n", st->metrics[i].label,
		    st->metrics[i].status,
		    (unsigned long long)st->metrics[i].count);
	CF_ADD("# HELP cfgw_cloudflare_retries_total Cloudflare requests "
	    "sent again, by reason.\n"
	    "# TYPE cfgw_cloudflare_retries_total counter\n");
	for (i = 0; i < CF_NRETRY; i++)
		CF_ADD("cfgw_cloudflare_retries_total{reason=\"%s\"} %llu\n",
		    cf_retry_names[i], (unsigned long long)st->retries[i]);
	CF_ADD("# HELP cfgw_cloudflare_replies_total CF_REPLY messages by "
	    "op and result.\n"
	    "# TYPE cfgw_cloudflare_replies_total counter\n");
	for (i = 0; i < st->nreplies; i++)
		CF_ADD("cfgw_cloudflare_replies_total{op=\"%s\",result=\"%s\"}"
		    " %llu\n", st->replies[i].op, st->replies[i].kind ==
		    CF_E_NONE ? "ok" : cf_errkind_name(st->replies[i].kind),
		    (unsigned long long)st->replies[i].count);
	CF_ADD("# HELP cfgw_cloudflare_queue_length Requests waiting in "
	    "cfapi, by priority.\n"
	    "# TYPE cfgw_cloudflare_queue_length gauge\n");
	for (p = 0; p < CF_NPRIO; p++) {
		q = 0;
		TAILQ_FOREACH(r, &st->queue[p], entry)
			q++;
		CF_ADD("cfgw_cloudflare_queue_length{priority=\"%s\"} %zu\n",
		    cf_prio_names[p], q);
	}
	if (n < sz)
		n += cf_metrics_budget(st, buf + n, sz - n);
	return n;
}

/* Cut after the last whole line that fits. */
static size_t
cf_metrics_trim(char *buf, size_t n, size_t sz)
{
	if (n < sz)
		return n;
	n = sz - 1;
	while (n > 0 && buf[n - 1] != '\n')
		n--;
	return n;
}

void
cf_metrics_log(struct cfapi_state *st, int force)
{
	static char	 text[CF_METRICS_TEXT_MAX];
	char		 line[1024];
	size_t		 i, off = 0;
	double		 now = ratelimit_now();
	int		 n;

	if (force || now - st->metrics_published >= 1.0) {
		st->metrics_published = now;
		off = cf_metrics_trim(text, cf_metrics_render(st, text,
		    sizeof(text)), sizeof(text));
		(void)worker_metrics_set(&st->w, text, off);
	}
	if (!force && now - st->metrics_logged < 60)
		return;
	st->metrics_logged = now;
	line[0] = '\0';
	for (i = 0, off = 0; i < st->nmetrics && off < sizeof(line); i++) {
		n = snprintf(line + off, sizeof(line) - off, "%s%s/%ld=%llu",
		    i ? ", " : "", st->metrics[i].label, st->metrics[i].status,
		    (unsigned long long)st->metrics[i].count);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	log_debug("requests: %s", st->nmetrics ? line : "none");
}
