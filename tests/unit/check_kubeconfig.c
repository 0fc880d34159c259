/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: kubeconfig loading, merging, in-cluster, base64. */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "kubeconfig.h"
#include "check_run.h"

static char	 dir[256];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_kubeconfig.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("CFGW_SA_DIR");
	setenv("HOME", dir, 1);
}

static void
teardown(void)
{
	char	 cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

static const char *
write_file(const char *name, const char *text)
{
	static char	 path[PATH_MAX];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static const char main_cfg[] =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: dev\n"
    "clusters:\n"
    "- name: devc\n"
    "  cluster:\n"
    "    server: https://127.0.0.1:6443/\n"
    "    certificate-authority: certs/ca.pem\n"
    "    tls-server-name: kubernetes.default\n"
    "- name: prodc\n"
    "  cluster:\n"
    "    server: http://127.0.0.1:8080\n"
    "    insecure-skip-tls-verify: true\n"
    "    certificate-authority-data: aGVsbG8gQ0E=\n"
    "contexts:\n"
    "- name: dev\n"
    "  context:\n"
    "    cluster: devc\n"
    "    user: alice\n"
    "    namespace: team-a\n"
    "- name: prod\n"
    "  context:\n"
    "    cluster: prodc\n"
    "    user: bob\n"
    "users:\n"
    "- name: alice\n"
    "  user:\n"
    "    token: s3cret\n"
    "- name: bob\n"
    "  user:\n"
    "    client-certificate-data: Y2VydA==\n"
    "    client-key-data: a2V5\n";

START_TEST(test_current_context)
{
	struct kubeconfig	 kc;
	char			 err[256], want[PATH_MAX];
	const char		*p = write_file("config", main_cfg);

	ck_assert_int_eq(kubeconfig_load(&kc, p, NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(kc.server, "https://127.0.0.1:6443");
	ck_assert_str_eq(kc.token, "s3cret");
	ck_assert_str_eq(kc.namespace, "team-a");
	ck_assert_str_eq(kc.tls_server_name, "kubernetes.default");
	snprintf(want, sizeof(want), "%s/certs/ca.pem", dir);
	ck_assert_str_eq(kc.ca_file, want);
	ck_assert_int_eq(kc.insecure, 0);
	ck_assert_ptr_null(kc.cert_data);
	kubeconfig_clear(&kc);
	ck_assert_ptr_null(kc.server);
}
END_TEST

START_TEST(test_explicit_context_data)
{
	struct kubeconfig	 kc;
	char			 err[256];
	const char		*p = write_file("config", main_cfg);

	ck_assert_int_eq(kubeconfig_load(&kc, p, "prod", err, sizeof(err)),
	    0);
	ck_assert_str_eq(kc.server, "http://127.0.0.1:8080");
	ck_assert_int_eq(kc.insecure, 1);
	ck_assert_uint_eq(kc.ca_len, 8);
	ck_assert(memcmp(kc.ca_data, "hello CA", 8) == 0);
	ck_assert_uint_eq(kc.cert_len, 4);
	ck_assert(memcmp(kc.cert_data, "cert", 4) == 0);
	ck_assert_uint_eq(kc.key_len, 3);
	ck_assert(memcmp(kc.key_data, "key", 3) == 0);
	ck_assert_ptr_null(kc.token);
	ck_assert_ptr_null(kc.namespace);
	kubeconfig_clear(&kc);
}
END_TEST

START_TEST(test_merge_first_wins)
{
	struct kubeconfig	 kc;
	char			 err[256], list[2 * PATH_MAX + 2], a[PATH_MAX];
	const char		*p;

	/* The first file names the context and overrides user alice. */
	p = write_file("a.yaml",
	    "current-context: prod\n"
	    "users:\n"
	    "- name: bob\n"
	    "  user:\n"
	    "    tokenFile: tok\n");
	snprintf(a, sizeof(a), "%s", p);
	p = write_file("b.yaml", main_cfg);
	snprintf(list, sizeof(list), "%s:%s", a, p);
	ck_assert_int_eq(kubeconfig_load(&kc, list, NULL, err, sizeof(err)),
	    0);
	ck_assert_str_eq(kc.server, "http://127.0.0.1:8080");
	ck_assert_ptr_nonnull(kc.token_file);
	ck_assert(strstr(kc.token_file, "/tok") != NULL);
	ck_assert_ptr_null(kc.cert_data);
	kubeconfig_clear(&kc);
	/* $KUBECONFIG through resolve gives the same answer. */
	setenv("KUBECONFIG", list, 1);
	ck_assert_int_eq(kubeconfig_resolve(&kc, NULL, NULL, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(kc.server, "http://127.0.0.1:8080");
	kubeconfig_clear(&kc);
}
END_TEST

START_TEST(test_errors_name_file)
{
	struct kubeconfig	 kc;
	char			 err[512];
	const char		*p;

	p = write_file("bad.yaml", "clusters: [\n  - name: x\n  - : :\n");
	ck_assert_int_eq(kubeconfig_load(&kc, p, NULL, err, sizeof(err)),
	    -1);
	ck_assert(strstr(err, "bad.yaml") != NULL);
	p = write_file("noctx.yaml", main_cfg);
	ck_assert_int_eq(kubeconfig_load(&kc, p, "nope", err, sizeof(err)),
	    -1);
	ck_assert(strstr(err, "noctx.yaml") != NULL);
	ck_assert(strstr(err, "\"nope\"") != NULL);
	p = write_file("noserver.yaml",
	    "current-context: c\ncontexts:\n- name: c\n  context:\n"
	    "    cluster: k\nclusters:\n- name: k\n  cluster:\n"
	    "    server: ftp://x\n");
	ck_assert_int_eq(kubeconfig_load(&kc, p, NULL, err, sizeof(err)),
	    -1);
	ck_assert(strstr(err, "server") != NULL);
	p = write_file("exec.yaml",
	    "current-context: c\ncontexts:\n- name: c\n  context:\n"
	    "    cluster: k\n    user: u\nclusters:\n- name: k\n  cluster:\n"
	    "    server: https://x\nusers:\n- name: u\n  user:\n"
	    "    exec:\n      command: aws\n");
	ck_assert_int_eq(kubeconfig_load(&kc, p, NULL, err, sizeof(err)),
	    -1);
	ck_assert(strstr(err, "exec") != NULL);
	p = write_file("b64.yaml",
	    "current-context: c\ncontexts:\n- name: c\n  context:\n"
	    "    cluster: k\nclusters:\n- name: k\n  cluster:\n"
	    "    server: https://x\n    certificate-authority-data: '@@'\n");
	ck_assert_int_eq(kubeconfig_load(&kc, p, NULL, err, sizeof(err)),
	    -1);
	ck_assert(strstr(err, "base64") != NULL);
	p = write_file("list.yaml", "- a\n- b\n");
	ck_assert_int_eq(kubeconfig_load(&kc, p, NULL, err, sizeof(err)),
	    -1);
	ck_assert(strstr(err, "list.yaml") != NULL);
	ck_assert_int_eq(kubeconfig_load(&kc, "/nonexistent/kc", NULL, err,
	    sizeof(err)), -1);
	ck_assert(strstr(err, "/nonexistent/kc") != NULL);
}
END_TEST

START_TEST(test_in_cluster)
{
	struct kubeconfig	 kc;
	char			 err[256], sa[PATH_MAX];

	snprintf(sa, sizeof(sa), "%s/sa", dir);
	ck_assert_int_eq(mkdir(sa, 0700), 0);
	write_file("sa/token", "tok\n");
	write_file("sa/ca.crt", "-----BEGIN CERTIFICATE-----\n");
	write_file("sa/namespace", "cfgw-system\n");
	setenv("CFGW_SA_DIR", sa, 1);
	/* Not in a cluster yet. */
	ck_assert_int_eq(kubeconfig_resolve(&kc, NULL, NULL, err,
	    sizeof(err)), -1);
	ck_assert(strstr(err, "KUBERNETES_SERVICE_HOST") != NULL);
	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ck_assert_int_eq(kubeconfig_resolve(&kc, NULL, NULL, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(kc.in_cluster, 1);
	ck_assert_str_eq(kc.server, "https://10.0.0.1:443");
	ck_assert_str_eq(kc.namespace, "cfgw-system");
	ck_assert(strstr(kc.token_file, "/sa/token") != NULL);
	ck_assert(strstr(kc.ca_file, "/sa/ca.crt") != NULL);
	kubeconfig_clear(&kc);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	ck_assert_int_eq(kubeconfig_in_cluster(&kc, err, sizeof(err)), 0);
	ck_assert_str_eq(kc.server, "https://[fd00::1]:443");
	kubeconfig_clear(&kc);
	/* ~/.kube/config beats in-cluster. */
	snprintf(sa, sizeof(sa), "%s/.kube", dir);
	ck_assert_int_eq(mkdir(sa, 0700), 0);
	write_file(".kube/config", main_cfg);
	ck_assert_int_eq(kubeconfig_resolve(&kc, NULL, NULL, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(kc.in_cluster, 0);
	ck_assert_str_eq(kc.token, "s3cret");
	kubeconfig_clear(&kc);
}
END_TEST

START_TEST(test_b64)
{
	char	*out;
	size_t	 n;

	ck_assert_int_eq(kubeconfig_b64decode("aGVs\nbG8=", &out, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert(memcmp(out, "hello", 5) == 0);
	free(out);
	ck_assert_int_eq(kubeconfig_b64decode("aGVsbG8", &out, &n), 0);
	ck_assert_uint_eq(n, 5);
	free(out);
	ck_assert_int_eq(kubeconfig_b64decode("", &out, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(out);
	ck_assert_int_eq(kubeconfig_b64decode("a=b", &out, &n), -1);
	ck_assert_int_eq(kubeconfig_b64decode("a", &out, &n), -1);
	ck_assert_int_eq(kubeconfig_b64decode("ab$c", &out, &n), -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("kubeconfig");
	TCase	*tc = tcase_create("load");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_current_context);
	tcase_add_test(tc, test_explicit_context_data);
	tcase_add_test(tc, test_merge_first_wins);
	tcase_add_test(tc, test_errors_name_file);
	tcase_add_test(tc, test_in_cluster);
	tcase_add_test(tc, test_b64);
	suite_add_tcase(s, tc);
	return check_run(s);
}
