/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kubernetes client against the simulator (tests/sim/kubesim.py, run
 * on 127.0.0.1 by this test): verbs, errors, pagination, metadata-only
 * reads, retries with Retry-After, watches, TLS and credentials.  Skips
 * when the simulator or python3 is missing.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "json.h"
#include "kube.h"
#include "kubeconfig.h"
#include "log.h"
#include "ratelimit.h"
#include "check_run.h"

#define SIM	"tests/sim/kubesim.py"
#define PY	"/usr/bin/python3"

static struct {
	pid_t	 pid;
	int	 port;
	char	 dir[64];
	char	 kc[128];
	int	 tls;
} sim;

static int
sim_start(int tls)
{
	char	 pf[128], tlsdir[128];
	FILE	*fp;
	int	 i;

	memset(&sim, 0, sizeof(sim));
	sim.tls = tls;
	snprintf(sim.dir, sizeof(sim.dir), "/tmp/check_kube_client.XXXXXX");
	if (access(SIM, R_OK) == -1 || access(PY, X_OK) == -1 ||
	    mkdtemp(sim.dir) == NULL)
		return -1;
	snprintf(pf, sizeof(pf), "%s/port", sim.dir);
	snprintf(tlsdir, sizeof(tlsdir), "%s/tls", sim.dir);
	if ((sim.pid = fork()) == 0) {
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		if (tls)
			execl(PY, PY, SIM, "--listen", "127.0.0.1:0",
			    "--port-file", pf, "--tls-dir", tlsdir, "--token",
			    "sekrit", (char *)NULL);
		else
			execl(PY, PY, SIM, "--listen", "127.0.0.1:0",
			    "--port-file", pf, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200 && sim.port == 0; i++) {
		usleep(100000);
		if ((fp = fopen(pf, "r")) != NULL) {
			if (fscanf(fp, "%d", &sim.port) != 1)
				sim.port = 0;
			fclose(fp);
		}
	}
	return sim.port > 0 ? 0 : -1;
}

static void
sim_stop(void)
{
	char	 cmd[128];

	if (sim.pid > 0) {
		kill(sim.pid, SIGTERM);
		waitpid(sim.pid, NULL, 0);
		sim.pid = 0;
	}
	if (sim.dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sim.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup of %s failed\n", sim.dir);
	}
}

static void
setup_plain(void)
{
	if (sim_start(0) == -1)
		sim.port = 0;
}

static void
setup_tls(void)
{
	if (sim_start(1) == -1)
		sim.port = 0;
}

static void
need_sim(void)
{
	if (sim.port == 0) {
		fprintf(stderr, "kubesim not available: skipped\n");
		exit(0);	/* the forked test passes as skipped */
	}
}

static const char *
write_kc(const char *name, const char *cluster_extra, const char *user)
{
	static char	 path[160];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/%s", sim.dir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, "current-context: c\ncontexts:\n- name: c\n  context:\n"
	    "    cluster: k\n    user: u\n    namespace: default\n"
	    "clusters:\n- name: k\n  cluster:\n    server: %s://%s:%d\n%s"
	    "users:\n- name: u\n  user:\n%s", sim.tls ? "https" : "http",
	    "127.0.0.1", sim.port, cluster_extra, user);
	fclose(fp);
	return path;
}

static struct kube *
client(const char *kc)
{
	struct kube_opts	 o;
	struct kube		*k;

	memset(&o, 0, sizeof(o));
	o.kubeconfig = kc;
	o.user_agent = "cfgw/test (check)";
	o.qps = 1000;
	o.burst = 1000;
	k = kube_new(&o);
	ck_assert_ptr_nonnull(k);
	return k;
}

static struct kube *
plain_client(void)
{
	need_sim();
	return client(write_kc("kc", "", "    token: t\n"));
}

static void
faults(struct kube *k, const char *rules)
{
	struct kube_resp	 r;

	ck_assert_int_eq(kube_request(k, "POST", "/_sim/faults", NULL,
	    "application/json", NULL, rules, strlen(rules), &r), 0);
	kube_resp_free(&r);
}

static const char cm_json[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
    "\"%s\",\"namespace\":\"default\",\"labels\":{\"app\":\"%s\"}},"
    "\"data\":{\"k\":\"v\"}}";

static void
create_cm(struct kube *k, const char *name, const char *app)
{
	const struct kube_res	*cm = kube_res_lookup("ConfigMap");
	struct kube_resp	 r;
	char			 body[512];

	snprintf(body, sizeof(body), cm_json, name, app);
	ck_assert_int_eq(kube_create(k, cm, "default", body, strlen(body),
	    "cfgw", &r), 0);
	ck_assert_int_eq(r.status, 201);
	kube_resp_free(&r);
}

START_TEST(test_crud_and_errors)
{
	struct kube		*k = plain_client();
	const struct kube_res	*cm = kube_res_lookup("ConfigMap");
	struct kube_delete_opts	 d;
	struct kube_resp	 r;
	char			 body[512], uid[128];
	const char		*p;

	create_cm(k, "one", "a");
	p = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
	    "{\"name\":\"one\"}}";
	ck_assert_int_eq(kube_create(k, cm, "default", p, strlen(p), NULL, &r),
	    -1);
	ck_assert_int_eq(r.status, 409);
	ck_assert_str_eq(r.reason, "AlreadyExists");
	kube_resp_free(&r);
	ck_assert_int_eq(kube_get(k, cm, "default", "one", 0, &r), 0);
	ck_assert_str_eq(json_str(json_get(r.json, "data"), "k"), "v");
	snprintf(uid, sizeof(uid), "%s", kube_obj_uid(r.json));
	kube_resp_free(&r);
	/* PUT with a stale resourceVersion: 409 Conflict. */
	snprintf(body, sizeof(body), "{\"apiVersion\":\"v1\",\"kind\":"
	    "\"ConfigMap\",\"metadata\":{\"name\":\"one\",\"namespace\":"
	    "\"default\",\"resourceVersion\":\"1\"},\"data\":{\"k\":\"w\"}}");
	ck_assert_int_eq(kube_update(k, cm, "default", "one", body,
	    strlen(body), NULL, &r), -1);
	ck_assert_int_eq(r.status, 409);
	ck_assert_str_eq(r.reason, "Conflict");
	ck_assert(strlen(r.message) > 0);
	kube_resp_free(&r);
	/* Merge patch, JSON patch, server-side apply. */
	p = "{\"data\":{\"m\":\"1\"}}";
	ck_assert_int_eq(kube_patch(k, cm, "default", "one", KUBE_PATCH_MERGE,
	    p, strlen(p), NULL, 0, NULL, &r), 0);
	ck_assert_str_eq(json_str(json_get(r.json, "data"), "m"), "1");
	kube_resp_free(&r);
	p = "[{\"op\":\"replace\",\"path\":\"/data/k\",\"value\":\"j\"}]";
	ck_assert_int_eq(kube_patch(k, cm, "default", "one", KUBE_PATCH_JSON,
	    p, strlen(p), NULL, 0, "", &r), 0);
	ck_assert_str_eq(json_str(json_get(r.json, "data"), "k"), "j");
	kube_resp_free(&r);
	p = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
	    "{\"name\":\"one\"},\"data\":{\"s\":\"a\"}}";
	ck_assert_int_eq(kube_patch(k, cm, "default", "one", KUBE_PATCH_APPLY,
	    p, strlen(p), "cfgw", 1, NULL, &r), 0);
	ck_assert_str_eq(json_str(json_get(r.json, "data"), "s"), "a");
	kube_resp_free(&r);
	/* Delete with a wrong uid precondition, then for real. */
	memset(&d, 0, sizeof(d));
	d.uid = "00000000-0000-0000-0000-000000000000";
	ck_assert_int_eq(kube_delete(k, cm, "default", "one", &d, &r), -1);
	ck_assert_int_eq(r.status, 409);
	kube_resp_free(&r);
	d.uid = uid;
	d.propagation = "Background";
	ck_assert_int_eq(kube_delete(k, cm, "default", "one", &d, &r), 0);
	kube_resp_free(&r);
	ck_assert_int_eq(kube_get(k, cm, "default", "one", 0, &r), -1);
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(r.reason, "NotFound");
	kube_resp_free(&r);
	kube_free(&k);
	ck_assert_ptr_null(k);
}
END_TEST

START_TEST(test_list_pages_and_selectors)
{
	struct kube		*k = plain_client();
	const struct kube_res	*cm = kube_res_lookup("ConfigMap");
	struct kube_list_opts	 lo;
	struct kube_resp	 r;
	char			 name[32], *cont = NULL;
	const char		*c;
	int			 i, total = 0, pages = 0;

	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		create_cm(k, name, i % 2 ? "odd" : "even");
	}
	do {
		memset(&lo, 0, sizeof(lo));
		lo.limit = 2;
		lo.label_selector = "app in (odd,even)";
		lo.continue_token = cont;
		ck_assert_int_eq(kube_list(k, cm, "default", &lo, &r), 0);
		ck_assert_uint_le(json_len(json_get(r.json, "items")), 2);
		total += (int)json_len(json_get(r.json, "items"));
		pages++;
		free(cont);
		c = json_str(json_get(r.json, "metadata"), "continue");
		cont = c != NULL && *c ? strdup(c) : NULL;
		kube_resp_free(&r);
	} while (cont != NULL);
	ck_assert_int_eq(total, 5);
	ck_assert_int_ge(pages, 3);
	memset(&lo, 0, sizeof(lo));
	lo.label_selector = "app=odd";
	ck_assert_int_eq(kube_list(k, cm, NULL, &lo, &r), 0);
	ck_assert_uint_eq(json_len(json_get(r.json, "items")), 2);
	kube_resp_free(&r);
	kube_free(&k);
}
END_TEST

START_TEST(test_metadata_only_secret)
{
	struct kube		*k = plain_client();
	const struct kube_res	*sec = kube_res_lookup("Secret");
	struct kube_list_opts	 lo;
	struct kube_resp	 r;
	const char		*b = "{\"apiVersion\":\"v1\",\"kind\":\"Secret\","
	    "\"metadata\":{\"name\":\"s\"},\"stringData\":{\"TOKEN\":"
	    "\"hush-hush\"}}";

	ck_assert_int_eq(kube_create(k, sec, "default", b, strlen(b), NULL,
	    &r), 0);
	kube_resp_free(&r);
	ck_assert_int_eq(kube_get(k, sec, "default", "s", 1, &r), 0);
	ck_assert_str_eq(json_str(r.json, "kind"), "PartialObjectMetadata");
	ck_assert_ptr_null(json_get(r.json, "data"));
	ck_assert_ptr_null(strstr(r.body, "hush"));
	kube_resp_free(&r);
	memset(&lo, 0, sizeof(lo));
	lo.metadata_only = 1;
	ck_assert_int_eq(kube_list(k, sec, "default", &lo, &r), 0);
	ck_assert_str_eq(json_str(r.json, "kind"),
	    "PartialObjectMetadataList");
	ck_assert_uint_eq(json_len(json_get(r.json, "items")), 1);
	ck_assert_ptr_null(strstr(r.body, "aHVzaC1odXNo"));
	kube_resp_free(&r);
	kube_free(&k);
}
END_TEST

static void
count_item(void *arg, yajl_val obj)
{
	int	*n = arg;

	ck_assert_ptr_nonnull(kube_obj_name(obj));
	(*n)++;
}

/* kube_list_each: the same pages item by item; 429 retried; metadata. */
START_TEST(test_list_each)
{
	struct kube		*k = plain_client();
	const struct kube_res	*cm = kube_res_lookup("ConfigMap");
	const struct kube_res	*sec = kube_res_lookup("Secret");
	struct kube_list_opts	 lo;
	struct kube_list_page	 page;
	struct kube_resp	 r;
	char			 name[32], *cont = NULL;
	const char		*b = "{\"apiVersion\":\"v1\","
	    "\"kind\":\"Secret\",\"metadata\":{\"name\":\"s2\"},"
	    "\"stringData\":{\"T\":\"x\"}}";
	int			 i, total = 0, pages = 0;

	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		create_cm(k, name, "each");
	}
	do {
		memset(&lo, 0, sizeof(lo));
		lo.limit = 2;
		lo.label_selector = "app=each";
		lo.continue_token = cont;
		ck_assert_int_eq(kube_list_each(k, cm, "default", &lo,
		    count_item, &total, &page, &r), 0);
		ck_assert_uint_le(page.items, 2);
		ck_assert_str_ne(page.resource_version, "");
		pages++;
		free(cont);
		cont = page.continue_token;
		page.continue_token = NULL;
		kube_list_page_free(&page);
		kube_resp_free(&r);
	} while (cont != NULL);
	ck_assert_int_eq(total, 5);
	ck_assert_int_ge(pages, 3);
	/* A 429 before any item: retried, nothing counted twice. */
	faults(k, "{\"rules\":[{\"path_regex\":\"/configmaps$\","
	    "\"method\":\"GET\",\"status\":429,\"count\":1,"
	    "\"headers\":{\"Retry-After\":\"1\"}}]}");
	memset(&lo, 0, sizeof(lo));
	lo.label_selector = "app=each";
	total = 0;
	ck_assert_int_eq(kube_list_each(k, cm, NULL, &lo, count_item, &total,
	    &page, &r), 0);
	ck_assert_int_eq(total, 5);
	ck_assert_ptr_null(page.continue_token);
	kube_list_page_free(&page);
	kube_resp_free(&r);
	/* A body cut short: an error, with the items seen so far. */
	faults(k, "{\"rules\":[{\"path_regex\":\"/configmaps$\","
	    "\"method\":\"GET\",\"invalid_json\":true,\"count\":1}]}");
	ck_assert_int_eq(kube_list_each(k, cm, NULL, &lo, count_item, &total,
	    &page, &r), -1);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.message, "truncated list");
	kube_list_page_free(&page);
	kube_resp_free(&r);
	/* An error answer: its Status, no item. */
	faults(k, "{\"rules\":[{\"path_regex\":\"/configmaps$\","
	    "\"method\":\"GET\",\"status\":404,\"count\":1}]}");
	total = 0;
	ck_assert_int_eq(kube_list_each(k, cm, NULL, &lo, count_item, &total,
	    &page, &r), -1);
	ck_assert_int_eq(r.status, 404);
	ck_assert_int_eq(total, 0);
	kube_list_page_free(&page);
	kube_resp_free(&r);
	faults(k, "{\"rules\":[]}");
	/* Metadata only. */
	ck_assert_int_eq(kube_create(k, sec, "default", b, strlen(b), NULL,
	    &r), 0);
	kube_resp_free(&r);
	memset(&lo, 0, sizeof(lo));
	lo.metadata_only = 1;
	total = 0;
	ck_assert_int_eq(kube_list_each(k, sec, "default", &lo, count_item,
	    &total, &page, &r), 0);
	ck_assert_int_ge(total, 1);
	kube_list_page_free(&page);
	kube_resp_free(&r);
	/* A server that ignored Accept: refused, nothing handed on. */
	faults(k, "{\"rules\":[{\"path_regex\":\"/secrets$\","
	    "\"method\":\"GET\",\"status\":200,\"count\":1,\"body\":"
	    "{\"kind\":\"SecretList\",\"items\":[{\"kind\":\"Secret\","
	    "\"metadata\":{\"name\":\"s\",\"resourceVersion\":\"1\"},"
	    "\"data\":{\"k\":\"c2VjcmV0\"}}]}}]}");
	total = 0;
	ck_assert_int_eq(kube_list_each(k, sec, "default", &lo, count_item,
	    &total, &page, &r), -1);
	ck_assert_int_eq(r.status, 406);
	ck_assert_str_eq(r.reason, "NotAcceptable");
	ck_assert_str_eq(r.message, KUBE_ERR_NOT_META);
	ck_assert_int_eq(total, 0);
	kube_list_page_free(&page);
	kube_resp_free(&r);
	faults(k, "{\"rules\":[]}");
	kube_free(&k);
}
END_TEST

START_TEST(test_retries)
{
	struct kube		*k = plain_client();
	const struct kube_res	*cm = kube_res_lookup("ConfigMap");
	struct kube_resp	 r;
	double			 t0;

	create_cm(k, "rt", "x");
	/* Two 429s with Retry-After: 1, then success. */
	faults(k, "{\"rules\":[{\"path_regex\":\"/configmaps/rt$\","
	    "\"method\":\"GET\",\"status\":429,\"count\":2,"
	    "\"headers\":{\"Retry-After\":\"1\"}}]}");
	t0 = ratelimit_now();
	ck_assert_int_eq(kube_get(k, cm, "default", "rt", 0, &r), 0);
	ck_assert_double_ge(ratelimit_now() - t0, 1.9);
	kube_resp_free(&r);
	/* A POST that got 503 may have been applied: no retry. */
	faults(k, "{\"rules\":[{\"path_regex\":\"/configmaps$\","
	    "\"method\":\"POST\",\"status\":503,\"count\":1}]}");
	ck_assert_int_eq(kube_create(k, cm, "default", "{}", 2, NULL, &r), -1);
	ck_assert_int_eq(r.status, 503);
	kube_resp_free(&r);
	/* A GET that keeps failing gives up after the retries. */
	faults(k, "{\"rules\":[{\"path_regex\":\"/configmaps/rt$\","
	    "\"status\":500}]}");
	ck_assert_int_eq(kube_get(k, cm, "default", "rt", 0, &r), -1);
	ck_assert_int_eq(r.status, 500);
	kube_resp_free(&r);
	faults(k, "{\"rules\":[]}");
	kube_free(&k);
}
END_TEST

START_TEST(test_discovery)
{
	struct kube		*k = plain_client();
	struct kube_res		 r = *kube_res_lookup("Gateway");

	ck_assert_int_eq(kube_served(k, &r), 1);
	ck_assert_int_eq(kube_served(k, kube_res_lookup("Namespace")), 1);
	r.resource = "nosuchthings";
	ck_assert_int_eq(kube_served(k, &r), 0);
	r.group = "nope.example.com";
	ck_assert_int_eq(kube_served(k, &r), 0);
	kube_free(&k);
}
END_TEST

struct wrec {
	int	 added, deleted, bookmarks, closed, gone;
	char	 last[64];
};

static void
wcb(void *arg, struct kube_watch *w, enum kube_event_type t, yajl_val o)
{
	struct wrec	*r = arg;

	(void)w;
	if (t == KUBE_EV_ADDED)
		r->added++;
	else if (t == KUBE_EV_DELETED)
		r->deleted++;
	else if (t == KUBE_EV_BOOKMARK)
		r->bookmarks++;
	else if (t == KUBE_EV_CLOSED)
		r->closed++;
	else if (t == KUBE_EV_ERROR) {
		long long code = 0;

		if (json_int(o, "code", &code) == 0 && code == 410)
			r->gone++;
	}
	if (o != NULL && kube_obj_name(o) != NULL)
		snprintf(r->last, sizeof(r->last), "%s", kube_obj_name(o));
}

static void
pump(struct kube *k, struct wrec *r, int *field, int want, double secs)
{
	struct pollfd	 pfd[16];
	double		 end = ratelimit_now() + secs;
	long		 tmo;
	int		 n;

	(void)r;
	while (*field < want && ratelimit_now() < end) {
		n = kube_watch_fds(k, pfd, 16, &tmo);
		ck_assert_int_ge(n, 0);
		poll(pfd, (nfds_t)n, tmo < 0 || tmo > 100 ? 100 : (int)tmo);
		kube_watch_perform(k);
	}
}

START_TEST(test_watch_stream)
{
	struct kube		*k = plain_client();
	struct kube		*k2 = plain_client();
	const struct kube_res	*cm = kube_res_lookup("ConfigMap");
	struct kube_watch_opts	 o;
	struct kube_watch	*w;
	struct kube_resp	 r;
	struct wrec		 rec;
	char			 rv[64];
	long			 status = -1;

	ck_assert_int_eq(kube_list(k, cm, "default", NULL, &r), 0);
	snprintf(rv, sizeof(rv), "%s", json_str(json_get(r.json, "metadata"),
	    "resourceVersion"));
	kube_resp_free(&r);
	memset(&o, 0, sizeof(o));
	memset(&rec, 0, sizeof(rec));
	o.resource_version = rv;
	o.bookmarks = 1;
	o.timeout_seconds = 3;
	w = kube_watch_start(k, cm, "default", &o, wcb, &rec);
	ck_assert_ptr_nonnull(w);
	pump(k, &rec, &rec.added, 0, 0.5);
	create_cm(k2, "w1", "x");
	pump(k, &rec, &rec.added, 1, 10);
	ck_assert_int_eq(rec.added, 1);
	ck_assert_str_eq(rec.last, "w1");
	ck_assert_int_eq(kube_delete(k2, cm, "default", "w1", NULL, &r), 0);
	kube_resp_free(&r);
	pump(k, &rec, &rec.deleted, 1, 10);
	ck_assert_int_eq(rec.deleted, 1);
	/* timeoutSeconds: the server ends the stream cleanly. */
	pump(k, &rec, &rec.closed, 1, 10);
	ck_assert_int_eq(rec.closed, 1);
	ck_assert_int_eq(kube_watch_done(w, &status), 1);
	ck_assert_int_eq(status, 200);
	ck_assert_uint_ge(kube_watch_events(w), 2);
	kube_watch_free(&w);
	/* An expired resourceVersion surfaces as ERROR/410 or HTTP 410. */
	memset(&rec, 0, sizeof(rec));
	faults(k, "{\"rules\":[{\"path_regex\":\"/configmaps$\","
	    "\"watch_gone\":true,\"count\":1}]}");
	w = kube_watch_start(k, cm, "default", &o, wcb, &rec);
	ck_assert_ptr_nonnull(w);
	pump(k, &rec, &rec.closed, 1, 10);
	ck_assert_int_eq(rec.closed, 1);
	ck_assert_int_eq(kube_watch_done(w, &status), 1);
	ck_assert(rec.gone == 1 || status == 410);
	ck_assert_int_eq(rec.added, 0);
	faults(k, "{\"rules\":[]}");
	kube_watch_free(&w);
	kube_free(&k2);
	kube_free(&k);
}
END_TEST

static char *
b64_file(const char *path)
{
	static const char	 t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
	    "klmnopqrstuvwxyz0123456789+/";
	unsigned char		 buf[16384];
	size_t			 n, i, o = 0;
	char			*out;
	FILE			*fp;

	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	out = calloc(1, n * 2 + 8);
	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = t[buf[i] >> 2];
		out[o++] = t[((buf[i] & 3) << 4) | (buf[i + 1] >> 4)];
		out[o++] = t[((buf[i + 1] & 15) << 2) | (buf[i + 2] >> 6)];
		out[o++] = t[buf[i + 2] & 63];
	}
	if (n - i == 1) {
		out[o++] = t[buf[i] >> 2];
		out[o++] = t[(buf[i] & 3) << 4];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		out[o++] = t[buf[i] >> 2];
		out[o++] = t[((buf[i] & 3) << 4) | (buf[i + 1] >> 4)];
		out[o++] = t[(buf[i + 1] & 15) << 2];
		out[o++] = '=';
	}
	return out;
}

static int
tls_get_ns(const char *kc)
{
	struct kube_opts	 o;
	struct kube		*k;
	struct kube_resp	 r;
	int			 rc;

	memset(&o, 0, sizeof(o));
	o.kubeconfig = kc;
	o.max_retries = -1;
	if ((k = kube_new(&o)) == NULL)
		return -2;
	rc = kube_get(k, kube_res_lookup("Namespace"), NULL, "default", 0,
	    &r);
	if (rc == -1)
		rc = r.status != 0 ? (int)r.status : -1;
	kube_resp_free(&r);
	kube_free(&k);
	return rc;
}

START_TEST(test_tls_and_credentials)
{
	char	 extra[8192], user[16384], *ca, *crt, *key;

	need_sim();
	snprintf(extra, sizeof(extra), "    certificate-authority: tls/ca.crt\n");
	/* CA file + bearer token. */
	ck_assert_int_eq(tls_get_ns(write_kc("t1", extra,
	    "    token: sekrit\n")), 0);
	/* Wrong token: 401 from the server. */
	ck_assert_int_eq(tls_get_ns(write_kc("t2", extra,
	    "    token: wrong\n")), 401);
	/* No CA: verification fails (transport error, status 0). */
	ck_assert_int_eq(tls_get_ns(write_kc("t3", "",
	    "    token: sekrit\n")), -1);
	/* insecure-skip-tls-verify. */
	ck_assert_int_eq(tls_get_ns(write_kc("t4",
	    "    insecure-skip-tls-verify: true\n", "    token: sekrit\n")), 0);
	/* -data blobs: CA and client certificate, no token. */
	ca = b64_file(strcat(strcpy(extra, sim.dir), "/tls/ca.crt"));
	crt = b64_file(strcat(strcpy(extra, sim.dir), "/tls/client.crt"));
	key = b64_file(strcat(strcpy(extra, sim.dir), "/tls/client.key"));
	snprintf(extra, sizeof(extra), "    certificate-authority-data: %s\n"
	    "    tls-server-name: localhost\n", ca);
	snprintf(user, sizeof(user), "    client-certificate-data: %s\n"
	    "    client-key-data: %s\n", crt, key);
	ck_assert_int_eq(tls_get_ns(write_kc("t5", extra, user)), 0);
	/* tls-server-name that the certificate does not name. */
	snprintf(extra, sizeof(extra), "    certificate-authority-data: %s\n"
	    "    tls-server-name: wrong.example\n", ca);
	ck_assert_int_eq(tls_get_ns(write_kc("t6", extra, user)), -1);
	free(ca);
	free(crt);
	free(key);
}
END_TEST

START_TEST(test_token_file_reread)
{
	char		 path[160], extra[256];
	struct kube	*k;
	struct kube_resp r;
	FILE		*fp;

	need_sim();
	snprintf(path, sizeof(path), "%s/token", sim.dir);
	fp = fopen(path, "w");
	fputs("wrong\n", fp);
	fclose(fp);
	snprintf(extra, sizeof(extra), "    certificate-authority: tls/ca.crt\n");
	k = client(write_kc("t7", extra, "    tokenFile: token\n"));
	ck_assert_int_eq(kube_get(k, kube_res_lookup("Namespace"), NULL,
	    "default", 0, &r), -1);
	ck_assert_int_eq(r.status, 401);
	kube_resp_free(&r);
	sleep(1);	/* a new mtime */
	fp = fopen(path, "w");
	fputs("sekrit\n", fp);
	fclose(fp);
	ck_assert_int_eq(kube_get(k, kube_res_lookup("Namespace"), NULL,
	    "default", 0, &r), 0);
	kube_resp_free(&r);
	kube_free(&k);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("kube_client");
	TCase	*tc = tcase_create("plain");

	log_init("check_kube_client", NULL, LOG_FORMAT_TEXT, 0);
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, setup_plain, sim_stop);
	tcase_add_test(tc, test_crud_and_errors);
	tcase_add_test(tc, test_list_pages_and_selectors);
	tcase_add_test(tc, test_metadata_only_secret);
	tcase_add_test(tc, test_list_each);
	tcase_add_test(tc, test_retries);
	tcase_add_test(tc, test_discovery);
	tcase_add_test(tc, test_watch_stream);
	suite_add_tcase(s, tc);
	tc = tcase_create("tls");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, setup_tls, sim_stop);
	tcase_add_test(tc, test_tls_and_credentials);
	tcase_add_test(tc, test_token_file_reread);
	suite_add_tcase(s, tc);
	return check_run(s);
}
