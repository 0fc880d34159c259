/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube: the Kubernetes API client core: configuration, one reusable curl
 * easy handle for plain requests (connection reuse, HTTP/2 over TLS when
 * offered), client-side rate limiting, retries, and the typed verbs.
 * Watches live in kube_watch.c, the stream decoder in kube_decode.c.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http.h"
#include "json.h"
#include "kube.h"
#include "kube_priv.h"
#include "log.h"

#define KUBE_DEF_QPS		20.0
#define KUBE_DEF_BURST		40
#define KUBE_DEF_CONNECT_MS	10000
#define KUBE_DEF_TIMEOUT_MS	30000
#define KUBE_DEF_RETRIES	4
#define KUBE_DEF_MAX_BODY	(64u * 1024 * 1024)
#define KUBE_BACKOFF_BASE_MS	200
#define KUBE_BACKOFF_MAX_MS	5000

const struct kube_res kube_res_table[] = {
	{ "gateway.networking.k8s.io", "v1", "gatewayclasses",
	    "GatewayClass", 0 },
	{ "gateway.networking.k8s.io", "v1", "gateways", "Gateway", 1 },
	{ "gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", 1 },
	{ "gateway.networking.k8s.io", "v1", "grpcroutes", "GRPCRoute", 1 },
	{ "gateway.networking.k8s.io", "v1beta1", "referencegrants",
	    "ReferenceGrant", 1 },
	{ "", "v1", "namespaces", "Namespace", 0 },
	{ "", "v1", "services", "Service", 1 },
	{ "", "v1", "secrets", "Secret", 1 },
	{ "", "v1", "configmaps", "ConfigMap", 1 },
	{ "", "v1", "serviceaccounts", "ServiceAccount", 1 },
	{ "", "v1", "events", "Event", 1 },
	{ "", "v1", "pods", "Pod", 1 },
	{ "apps", "v1", "deployments", "Deployment", 1 },
	{ "rbac.authorization.k8s.io", "v1", "roles", "Role", 1 },
	{ "rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding",
	    1 },
	{ "coordination.k8s.io", "v1", "leases", "Lease", 1 },
	{ "autoscaling.k8s.io", "v1", "verticalpodautoscalers",
	    "VerticalPodAutoscaler", 1 },
	{ "apiextensions.k8s.io", "v1", "customresourcedefinitions",
	    "CustomResourceDefinition", 0 },
	{ "cloudflare-gateway-controller.io", "v1",
	    "cloudflaregatewayparameters", "CloudflareGatewayParameters", 1 },
	{ "cloudflare-gateway-controller.io", "v1",
	    "cloudflaregatewaystatuses", "CloudflareGatewayStatus", 1 },
	{ NULL, NULL, NULL, NULL, 0 },
};

const struct kube_res *
kube_res_lookup(const char *kind)
{
	const struct kube_res	*r;

	if (kind == NULL)
		return NULL;
	for (r = kube_res_table; r->kind != NULL; r++)
		if (strcmp(r->kind, kind) == 0)
			return r;
	return NULL;
}

void
kube_resp_free(struct kube_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	r->body = NULL;
	r->len = 0;
	if (r->json != NULL)
		yajl_tree_free(r->json);
	r->json = NULL;
}

/*
 * tls-server-name: curl has no option to verify against another name, so
 * the URL names the TLS server and CONNECT_TO sends the connection to the
 * real host.
 */
static int
kube_sni(struct kube *k)
{
	CURLU	*u;
	char	*host = NULL, *port = NULL, *url = NULL, *line = NULL;
	int	 rv = -1;

	if (k->kc.tls_server_name == NULL ||
	    strncmp(k->kc.server, "https://", 8) != 0)
		return 0;
	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, k->kc.server, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK ||
	    curl_url_set(u, CURLUPART_HOST, k->kc.tls_server_name, 0) !=
	    CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		log_warnx("kube: cannot apply tls-server-name to %s",
		    k->kc.server);
		goto out;
	}
	if (asprintf(&line, "%s:%s:%s:%s", k->kc.tls_server_name, port, host,
	    port) == -1) {
		line = NULL;
		goto out;
	}
	if ((k->connect_to = curl_slist_append(NULL, line)) == NULL)
		goto out;
	free(k->kc.server);
	if ((k->kc.server = strdup(url)) == NULL)
		goto out;
	/* curl adds a trailing slash to a bare host. */
	if (k->kc.server[0] != '\0' &&
	    k->kc.server[strlen(k->kc.server) - 1] == '/')
		k->kc.server[strlen(k->kc.server) - 1] = '\0';
	rv = 0;
out:
	free(line);
	curl_free(host);
	curl_free(port);
	curl_free(url);
	curl_url_cleanup(u);
	return rv;
}

struct kube *
kube_new(const struct kube_opts *o)
{
	struct kube	*k;
	char		 err[512];

	if (http_global_init() == -1)
		return NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->opts = *o;
	k->opts.kubeconfig = NULL;
	k->opts.context = NULL;
	if (k->opts.qps <= 0)
		k->opts.qps = KUBE_DEF_QPS;
	if (k->opts.burst <= 0)
		k->opts.burst = KUBE_DEF_BURST;
	if (k->opts.connect_timeout_ms <= 0)
		k->opts.connect_timeout_ms = KUBE_DEF_CONNECT_MS;
	if (k->opts.timeout_ms <= 0)
		k->opts.timeout_ms = KUBE_DEF_TIMEOUT_MS;
	if (k->opts.max_retries == 0)
		k->opts.max_retries = KUBE_DEF_RETRIES;
	if (k->opts.max_body == 0)
		k->opts.max_body = KUBE_DEF_MAX_BODY;
	snprintf(k->ua, sizeof(k->ua), "%s",
	    o->user_agent != NULL ? o->user_agent : "cfgw");
	k->opts.user_agent = k->ua;
	ratelimit_init(&k->rl, k->opts.qps, k->opts.burst);
	if (kubeconfig_resolve(&k->kc, o->kubeconfig, o->context, err,
	    sizeof(err)) == -1) {
		log_warnx("kube: %s", err);
		free(k);
		return NULL;
	}
	if (kube_token_refresh(k) == -1 || kube_sni(k) == -1 ||
	    (k->easy = curl_easy_init()) == NULL ||
	    (k->multi = curl_multi_init()) == NULL) {
		kube_free(&k);
		return NULL;
	}
	return k;
}

void
kube_free(struct kube **pk)
{
	struct kube	*k = *pk;

	if (k == NULL)
		return;
	kube_watch_free_all(k);
	curl_slist_free_all(k->connect_to);
	if (k->easy != NULL)
		curl_easy_cleanup(k->easy);
	if (k->multi != NULL)
		curl_multi_cleanup(k->multi);
	kubeconfig_clear(&k->kc);
	if (k->token != NULL) {
		explicit_bzero(k->token, strlen(k->token));
		free(k->token);
	}
	free(k);
	*pk = NULL;
}

const char *
kube_server(const struct kube *k)
{
	return k->kc.server;
}

int
kube_files(const struct kube *k, const char **paths, int max)
{
	const char	*f[4];
	int		 i, n = 0;

	f[0] = k->kc.ca_data == NULL ? k->kc.ca_file : NULL;
	f[1] = k->kc.cert_data == NULL ? k->kc.cert_file : NULL;
	f[2] = k->kc.key_data == NULL ? k->kc.key_file : NULL;
	f[3] = k->kc.token_file;
	for (i = 0; i < 4 && n < max; i++)
		if (f[i] != NULL)
			paths[n++] = f[i];
	return n;
}

const char *
kube_namespace(const struct kube *k)
{
	return k->kc.namespace != NULL ? k->kc.namespace : "";
}

/*
 * The bearer token: from the kubeconfig, or from a token file that is
 * re-read whenever its mtime or size changes (projected service-account
 * tokens are rotated in place).
 */
int
kube_token_refresh(struct kube *k)
{
	struct stat	 st;
	FILE		*fp;
	char		 buf[16384];
	size_t		 n;

	if (k->kc.token_file == NULL) {
		if (k->token == NULL && k->kc.token != NULL &&
		    (k->token = strdup(k->kc.token)) == NULL)
			return -1;
		return 0;
	}
	if (stat(k->kc.token_file, &st) == -1) {
		log_warn("kube: token file %s", k->kc.token_file);
		return k->token != NULL ? 0 : -1;
	}
	if (k->token != NULL && st.st_mtim.tv_sec == k->token_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == k->token_mtime.tv_nsec &&
	    st.st_size == k->token_size)
		return 0;
	if ((fp = fopen(k->kc.token_file, "r")) == NULL) {
		log_warn("kube: token file %s", k->kc.token_file);
		return k->token != NULL ? 0 : -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	if (k->token != NULL) {
		explicit_bzero(k->token, strlen(k->token));
		free(k->token);
	}
	k->token = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (k->token == NULL)
		return -1;
	k->token_mtime = st.st_mtim;
	k->token_size = st.st_size;
	return 0;
}

/* TLS: CA, client certificate and key, from files or in-memory blobs. */
static void
kube_setup_tls(struct kube *k, CURL *h)
{
	struct curl_blob	 blob;

	if (k->kc.insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (k->kc.ca_data != NULL) {
		blob.data = k->kc.ca_data;
		blob.len = k->kc.ca_len;
		blob.flags = CURL_BLOB_COPY;
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	} else if (k->kc.ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, k->kc.ca_file);
	if (k->kc.cert_data != NULL) {
		blob.data = k->kc.cert_data;
		blob.len = k->kc.cert_len;
		blob.flags = CURL_BLOB_COPY;
		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (k->kc.cert_file != NULL)
		curl_easy_setopt(h, CURLOPT_SSLCERT, k->kc.cert_file);
	if (k->kc.key_data != NULL) {
		blob.data = k->kc.key_data;
		blob.len = k->kc.key_len;
		blob.flags = CURL_BLOB_COPY;
		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &blob);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (k->kc.key_file != NULL)
		curl_easy_setopt(h, CURLOPT_SSLKEY, k->kc.key_file);
}

/* Options shared by plain requests and watches. */
int
kube_setup_handle(struct kube *k, CURL *h, const char *url,
    struct curl_slist **hdrs, const char *accept, const char *ctype)
{
	char			 line[256];
	char			*auth;
	size_t			 alen;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, k->ua);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    k->opts.connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	kube_setup_tls(k, h);
	if (k->connect_to != NULL)
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, k->connect_to);
	if (k->kc.username != NULL && k->token == NULL) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, k->kc.username);
		curl_easy_setopt(h, CURLOPT_PASSWORD,
		    k->kc.password != NULL ? k->kc.password : "");
	}
	*hdrs = NULL;
	snprintf(line, sizeof(line), "Accept: %s",
	    accept != NULL ? accept : "application/json");
	if ((*hdrs = curl_slist_append(*hdrs, line)) == NULL)
		return -1;
	if (ctype != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", ctype);
		if ((*hdrs = curl_slist_append(*hdrs, line)) == NULL)
			return -1;
	}
	if (k->token != NULL && *k->token != '\0') {
		alen = strlen(k->token) + 32;
		if ((auth = malloc(alen)) == NULL)
			return -1;
		snprintf(auth, alen, "Authorization: Bearer %s", k->token);
		*hdrs = curl_slist_append(*hdrs, auth);
		explicit_bzero(auth, alen);
		free(auth);
		if (*hdrs == NULL)
			return -1;
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	return 0;
}

/* Free a header list that may carry the token. */
void
kube_hdrs_free(struct curl_slist **hdrs)
{
	struct curl_slist	*s;

	for (s = *hdrs; s != NULL; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_slist_free_all(*hdrs);
	*hdrs = NULL;
}

/* Fill reason/message from a Status body, or a generic text. */
void
kube_resp_status(struct kube_resp *out)
{
	const char	*s;

	if (out->json != NULL && (s = json_str(out->json, "kind")) != NULL &&
	    strcmp(s, "Status") == 0) {
		if ((s = json_str(out->json, "reason")) != NULL)
			snprintf(out->reason, sizeof(out->reason), "%s", s);
		if ((s = json_str(out->json, "message")) != NULL)
			snprintf(out->message, sizeof(out->message), "%s", s);
	}
	if (out->message[0] == '\0')
		snprintf(out->message, sizeof(out->message), "HTTP %ld",
		    out->status);
}

static int
kube_is_idempotent(const char *method)
{
	return strcmp(method, "POST") != 0 && strcmp(method, "PATCH") != 0;
}

/* A 2xx answer's body to the decoder, any other to the buffer. */
static size_t
kube_sink_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct kube_sink	*sk = arg;
	size_t			 n = size * nmemb;
	long			 code = 0;

	curl_easy_getinfo(sk->h, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299)
		return http_buf_write(ptr, size, nmemb, sk->err);
	if (n > sk->max - sk->fed) {
		sk->overflow = 1;
		return 0;
	}
	sk->fed += n;
	if (kube_decoder_feed(sk->dec, ptr, n) == -1)
		return 0;
	return n;
}

/* One attempt.  Returns the CURLcode. */
static CURLcode
kube_perform_once(struct kube *k, const char *method, const char *url,
    const char *ctype, const char *accept, const char *body, size_t len,
    struct kube_sink *sink, struct http_buf *buf, struct http_hdrs *rh,
    long *status)
{
	struct curl_slist	*hdrs = NULL;
	CURL			*h = k->easy;
	CURLcode		 rc;

	curl_easy_reset(h);
	http_buf_reset(buf);
	http_hdrs_init(rh);
	*status = 0;
	if (kube_token_refresh(k) == -1 ||
	    kube_setup_handle(k, h, url, &hdrs, accept, ctype) == -1) {
		kube_hdrs_free(&hdrs);
		return CURLE_OUT_OF_MEMORY;
	}
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, k->opts.timeout_ms);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else if (body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	}
	if (sink != NULL) {
		sink->h = h;
		sink->err = buf;
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, kube_sink_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
	} else {
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_buf_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, buf);
	}
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_hdrs_write);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, rh);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	kube_hdrs_free(&hdrs);
	/* Don't keep pointers to our stack or the body in the handle. */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	return rc;
}

static void
kube_resp_fill(struct kube_resp *out, struct http_buf *buf, long status)
{
	out->status = status;
	out->body = http_buf_take(buf, &out->len);
	if (out->body != NULL && out->len > 0)
		out->json = json_parse(out->body, out->len, NULL, 0);
}

int
kube_request(struct kube *k, const char *method, const char *path,
    const char *query, const char *ctype, const char *accept,
    const char *body, size_t len, struct kube_resp *out)
{
	return kube_request_sink(k, method, path, query, ctype, accept, body,
	    len, NULL, out);
}

int
kube_request_sink(struct kube *k, const char *method, const char *path,
    const char *query, const char *ctype, const char *accept,
    const char *body, size_t len, struct kube_sink *sink,
    struct kube_resp *out)
{
	struct http_buf		 buf;
	struct http_hdrs	 rh;
	char			*url;
	CURLcode		 rc;
	long			 status, wait;
	int			 attempt, unsent, retry;

	memset(out, 0, sizeof(*out));
	out->retry_after = -1;
	if (asprintf(&url, "%s%s%s%s", k->kc.server, path,
	    query != NULL && *query ? "?" : "", query != NULL ? query : "")
	    == -1)
		return -1;
	http_buf_init(&buf, k->opts.max_body);
	for (attempt = 0;; attempt++) {
		ratelimit_wait(&k->rl);
		rc = kube_perform_once(k, method, url, ctype, accept, body,
		    len, sink, &buf, &rh, &status);
		retry = 0;
		/* Bytes already decoded (items handed on): never again. */
		if (sink != NULL && sink->fed > 0)
			break;
		if (rc != CURLE_OK) {
			retry = http_curl_retryable(rc, &unsent) &&
			    (unsent || kube_is_idempotent(method));
		} else if (status == 429 || (http_status_retryable(status) &&
		    kube_is_idempotent(method)))
			retry = 1;
		if (!retry || k->opts.max_retries < 0 ||
		    attempt >= k->opts.max_retries)
			break;
		wait = http_backoff_ms(attempt, KUBE_BACKOFF_BASE_MS,
		    KUBE_BACKOFF_MAX_MS, rh.retry_after);
		log_debug("kube: %s %s: %s, retry in %ld ms", method, path,
		    rc != CURLE_OK ? curl_easy_strerror(rc) : "server busy",
		    wait);
		http_sleep_ms(wait);
	}
	free(url);
	out->retry_after = rh.retry_after;
	if (rc != CURLE_OK) {
		out->status = 0;
		snprintf(out->message, sizeof(out->message), "%s",
		    buf.overflow || (sink != NULL && sink->overflow) ?
		    "response larger than the limit" :
		    curl_easy_strerror(rc));
		/* The decoder refused the body: say why. */
		if (sink != NULL && kube_decoder_error(sink->dec) != NULL) {
			out->status = status;
			snprintf(out->message, sizeof(out->message), "%s",
			    kube_decoder_error(sink->dec));
		}
		http_buf_free(&buf);
		return -1;
	}
	kube_resp_fill(out, &buf, status);
	http_buf_free(&buf);
	if (status >= 200 && status < 300)
		return 0;
	kube_resp_status(out);
	return -1;
}

int
kube_path(char *buf, size_t sz, const struct kube_res *r, const char *ns,
    const char *name, const char *sub)
{
	int	 n;

	if (r->group[0] == '\0')
		n = snprintf(buf, sz, "/api/%s", r->version);
	else
		n = snprintf(buf, sz, "/apis/%s/%s", r->group, r->version);
	if (n < 0 || (size_t)n >= sz)
		return -1;
	if (r->namespaced && ns != NULL && *ns != '\0')
		n += snprintf(buf + n, sz - n, "/namespaces/%s", ns);
	if ((size_t)n >= sz)
		return -1;
	n += snprintf(buf + n, sz - n, "/%s", r->resource);
	if ((size_t)n >= sz)
		return -1;
	if (name != NULL && *name != '\0')
		n += snprintf(buf + n, sz - n, "/%s", name);
	if ((size_t)n >= sz)
		return -1;
	if (name != NULL && *name != '\0' && sub != NULL && *sub != '\0')
		n += snprintf(buf + n, sz - n, "/%s", sub);
	return (size_t)n >= sz ? -1 : 0;
}

int
kube_served(struct kube *k, const struct kube_res *r)
{
	struct kube_resp	 resp;
	yajl_val		 list;
	char			 path[256];
	size_t			 i;
	int			 found = 0;

	if (r->group[0] == '\0')
		snprintf(path, sizeof(path), "/api/%s", r->version);
	else
		snprintf(path, sizeof(path), "/apis/%s/%s", r->group,
		    r->version);
	if (kube_request(k, "GET", path, NULL, NULL, NULL, NULL, 0,
	    &resp) == -1) {
		found = resp.status == 404 ? 0 : -1;
		kube_resp_free(&resp);
		return found;
	}
	list = json_get(resp.json, "resources");
	for (i = 0; i < json_len(list); i++) {
		const char *n = json_str(json_at(list, i), "name");

		if (n != NULL && strcmp(n, r->resource) == 0)
			found = 1;
	}
	kube_resp_free(&resp);
	return found;
}
