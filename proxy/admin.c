/* SPDX-License-Identifier: Apache-2.0 */
/*
 * admin: /healthz (process alive), /readyz (503 until a route table is
 * loaded) and /metrics (Prometheus text format) on --admin-addr.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proxy.h"

static void
admin_reply(struct evhttp_request *req, int code, const char *type,
    struct evbuffer *b)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", type);
	evhttp_send_reply(req, code, code == 200 ? "OK" :
	    "Service Unavailable", b);
}

static void
admin_metrics(struct evbuffer *b)
{
	static const char *cls[] = { "", "1xx", "2xx", "3xx", "4xx", "5xx" };
	struct px_metrics	 tot, *m = &tot;
	int			 i;

	px_metrics_sum(&tot);	/* all threads */
	evbuffer_add_printf(b,
	    "# HELP cfgw_proxy_requests_total Requests answered, by status "
	    "class.\n# TYPE cfgw_proxy_requests_total counter\n");
	for (i = 1; i <= 5; i++)
		evbuffer_add_printf(b,
		    "cfgw_proxy_requests_total{code=\"%s\"} %llu\n", cls[i],
		    (unsigned long long)m->req_class[i]);
	evbuffer_add_printf(b,
	    "# HELP cfgw_proxy_table_generation Route tables loaded.\n"
	    "# TYPE cfgw_proxy_table_generation gauge\n"
	    "cfgw_proxy_table_generation %llu\n"
	    "# HELP cfgw_proxy_table_info The route table in use.\n"
	    "# TYPE cfgw_proxy_table_info gauge\n"
	    "cfgw_proxy_table_info{generation=\"%.64s\",rules=\"%zu\"} %d\n"
	    "# HELP cfgw_proxy_table_reload_failures_total Tables rejected.\n"
	    "# TYPE cfgw_proxy_table_reload_failures_total counter\n"
	    "cfgw_proxy_table_reload_failures_total %llu\n"
	    "# HELP cfgw_proxy_connections_active Open client connections.\n"
	    "# TYPE cfgw_proxy_connections_active gauge\n"
	    "cfgw_proxy_connections_active %llu\n"
	    "# HELP cfgw_proxy_connections_total Client connections accepted."
	    "\n# TYPE cfgw_proxy_connections_total counter\n"
	    "cfgw_proxy_connections_total %llu\n"
	    "# HELP cfgw_proxy_connections_rejected_total Connections over "
	    "--max-connections.\n"
	    "# TYPE cfgw_proxy_connections_rejected_total counter\n"
	    "cfgw_proxy_connections_rejected_total %llu\n"
	    "# HELP cfgw_proxy_upstream_connections_total Upstream "
	    "connections, by origin.\n"
	    "# TYPE cfgw_proxy_upstream_connections_total counter\n"
	    "cfgw_proxy_upstream_connections_total{kind=\"new\"} %llu\n"
	    "cfgw_proxy_upstream_connections_total{kind=\"reused\"} %llu\n"
	    "# HELP cfgw_proxy_bad_requests_total Requests rejected as "
	    "malformed.\n# TYPE cfgw_proxy_bad_requests_total counter\n"
	    "cfgw_proxy_bad_requests_total %llu\n",
	    (unsigned long long)m->table_generation,
	    px->table ? px->table->generation : "",
	    px->table ? px->table->nrules : 0, px->table != NULL,
	    (unsigned long long)m->reload_fail,
	    (unsigned long long)m->conn_active,
	    (unsigned long long)m->conn_total,
	    (unsigned long long)m->conn_rejected,
	    (unsigned long long)m->up_conn_new,
	    (unsigned long long)m->up_conn_reused,
	    (unsigned long long)m->bad_requests);
}

static void
admin_table(struct evbuffer *b)
{
	evbuffer_add_printf(b,
	    "# HELP cfgw_proxy_table_reloads_total Route tables installed.\n"
	    "# TYPE cfgw_proxy_table_reloads_total counter\n"
	    "cfgw_proxy_table_reloads_total %llu\n"
	    "# HELP cfgw_proxy_table_last_reload_timestamp_seconds When the "
	    "table in use was installed.\n"
	    "# TYPE cfgw_proxy_table_last_reload_timestamp_seconds gauge\n"
	    "cfgw_proxy_table_last_reload_timestamp_seconds %lld\n",
	    (unsigned long long)px->m.reload_ok,
	    (long long)px->m.table_loaded);
	if (px->table == NULL)
		return;
	evbuffer_add_printf(b,
	    "# HELP cfgw_proxy_table_version_info Format version of the table "
	    "in use.\n# TYPE cfgw_proxy_table_version_info gauge\n"
	    "cfgw_proxy_table_version_info{version=\"%.16s\"} 1\n",
	    px->table->version);
}

static void
admin_histogram(struct evbuffer *b)
{
	struct px_metrics	 m;
	uint64_t		 acc = 0;
	int			 i;

	px_metrics_sum(&m);	/* all threads */
	evbuffer_add_printf(b,
	    "# HELP cfgw_proxy_request_duration_seconds Time from request "
	    "head to the end of the answer.\n"
	    "# TYPE cfgw_proxy_request_duration_seconds histogram\n");
	for (i = 0; i < PX_NBUCKETS; i++) {
		acc += m.dur_bucket[i];
		evbuffer_add_printf(b, "cfgw_proxy_request_duration_seconds_"
		    "bucket{le=\"%g\"} %llu\n", px_buckets[i],
		    (unsigned long long)acc);
	}
	evbuffer_add_printf(b, "cfgw_proxy_request_duration_seconds_bucket"
	    "{le=\"+Inf\"} %llu\n"
	    "cfgw_proxy_request_duration_seconds_sum %.6f\n"
	    "cfgw_proxy_request_duration_seconds_count %llu\n",
	    (unsigned long long)m.dur_count, m.dur_sum,
	    (unsigned long long)m.dur_count);
}

static void
admin_cb(struct evhttp_request *req, void *arg)
{
	const char	*uri = evhttp_request_get_uri(req);
	struct evbuffer	*b = evbuffer_new();
	size_t		 n;

	(void)arg;
	if (b == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	n = strcspn(uri, "?");
	if (n == 8 && strncmp(uri, "/healthz", 8) == 0) {
		evbuffer_add_printf(b, "ok\n");
		admin_reply(req, 200, "text/plain", b);
	} else if (n == 7 && strncmp(uri, "/readyz", 7) == 0) {
		evbuffer_add_printf(b, px->draining ? "draining\n" :
		    px->table ? "ready\n" : "no route table loaded\n");
		admin_reply(req, px->table && !px->draining ? 200 : 503,
		    "text/plain", b);
	} else if (n == 8 && strncmp(uri, "/metrics", 8) == 0) {
		admin_metrics(b);
		admin_table(b);
		admin_histogram(b);
		metrics_write(b);
		admin_reply(req, 200, "text/plain; version=0.0.4", b);
	} else
		evhttp_send_error(req, 404, NULL);
	evbuffer_free(b);
}

int
admin_open(const char *addr)
{
	struct evhttp			*h;
	struct evhttp_bound_socket	*s;
	char				 host[64];
	const char			*colon;
	struct sockaddr_storage		 ss;
	socklen_t			 sl = sizeof(ss);
	int				 port;

	if ((colon = strrchr(addr, ':')) == NULL || colon == addr ||
	    (size_t)(colon - addr) >= sizeof(host)) {
		log_warnx("bad admin address %s", addr);
		return -1;
	}
	memcpy(host, addr, colon - addr);
	host[colon - addr] = '\0';
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	port = atoi(colon + 1);
	if ((h = evhttp_new(px->base)) == NULL)
		return -1;
	evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(h, 10);
	evhttp_set_gencb(h, admin_cb, NULL);
	if ((s = evhttp_bind_socket_with_handle(h, host, port)) == NULL) {
		log_warn("admin listen %s", addr);
		evhttp_free(h);
		return -1;
	}
	getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&ss,
	    &sl);
	log_info("listening admin on %s port %d", host,
	    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	return 0;
}
