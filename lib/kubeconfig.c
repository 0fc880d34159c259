/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubeconfig: find and read the Kubernetes client configuration.  YAML is
 * read with libyaml's document API; a kubeconfig is small.
 */
#include <sys/stat.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "kubeconfig.h"

#define KC_MAX_FILES	16
#define KC_SA_DIR	"/var/run/secrets/kubernetes.io/serviceaccount"

struct kc_file {
	char		*path;
	char		*dir;
	yaml_document_t	 doc;
	int		 loaded;
};

struct kc_set {
	struct kc_file	 f[KC_MAX_FILES];
	int		 n;
};

static void
kc_err(char *err, size_t sz, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || sz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, sz, fmt, ap);
	va_end(ap);
}

static yaml_node_t *
kc_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(d, p->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strlen(key) == k->data.scalar.length &&
		    memcmp(k->data.scalar.value, key,
		    k->data.scalar.length) == 0)
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

/* A scalar as a C string (NULL if absent, not a scalar, or has a NUL). */
static const char *
kc_str(yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE ||
	    strlen((char *)n->data.scalar.value) != n->data.scalar.length)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static int
kc_load_file(struct kc_file *f, const char *path, char *err, size_t sz)
{
	yaml_parser_t	 p;
	FILE		*fp;
	char		*tmp;
	int		 ok;

	if ((fp = fopen(path, "r")) == NULL) {
		kc_err(err, sz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!yaml_parser_initialize(&p)) {
		fclose(fp);
		kc_err(err, sz, "%s: cannot start the YAML parser", path);
		return -1;
	}
	yaml_parser_set_input_file(&p, fp);
	ok = yaml_parser_load(&p, &f->doc);
	if (!ok)
		kc_err(err, sz, "%s:%zu:%zu: %s", path,
		    p.problem_mark.line + 1, p.problem_mark.column + 1,
		    p.problem != NULL ? p.problem : "invalid YAML");
	yaml_parser_delete(&p);
	fclose(fp);
	if (!ok)
		return -1;
	f->loaded = 1;
	if (yaml_document_get_root_node(&f->doc) != NULL &&
	    yaml_document_get_root_node(&f->doc)->type !=
	    YAML_MAPPING_NODE) {
		kc_err(err, sz, "%s: not a kubeconfig (top level is not a "
		    "mapping)", path);
		return -1;
	}
	f->path = strdup(path);
	tmp = strdup(path);
	f->dir = tmp != NULL ? strdup(dirname(tmp)) : NULL;
	free(tmp);
	if (f->path == NULL || f->dir == NULL) {
		kc_err(err, sz, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

static void
kc_set_free(struct kc_set *s)
{
	int	 i;

	for (i = 0; i < s->n; i++) {
		if (s->f[i].loaded)
			yaml_document_delete(&s->f[i].doc);
		free(s->f[i].path);
		free(s->f[i].dir);
	}
	s->n = 0;
}

/*
 * Find the named entry of a list (clusters, users, contexts) in the first
 * file that has it, and return its inner mapping (e.g. "cluster").
 */
static yaml_node_t *
kc_find(struct kc_set *s, const char *list, const char *inner,
    const char *name, struct kc_file **where)
{
	yaml_node_t	*root, *seq, *item;
	yaml_node_item_t *it;
	const char	*n;
	int		 i;

	for (i = 0; i < s->n; i++) {
		root = yaml_document_get_root_node(&s->f[i].doc);
		seq = kc_get(&s->f[i].doc, root, list);
		if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
			continue;
		for (it = seq->data.sequence.items.start;
		    it < seq->data.sequence.items.top; it++) {
			item = yaml_document_get_node(&s->f[i].doc, *it);
			n = kc_str(kc_get(&s->f[i].doc, item, "name"));
			if (n == NULL || strcmp(n, name) != 0)
				continue;
			*where = &s->f[i];
			return kc_get(&s->f[i].doc, item, inner);
		}
	}
	return NULL;
}

static int
kc_dup(char **dst, const char *src)
{
	if (src == NULL || *src == '\0')
		return 0;
	return (*dst = strdup(src)) == NULL ? -1 : 0;
}

/* A file path from a kubeconfig, relative to that file's directory. */
static int
kc_path(char **dst, struct kc_file *f, const char *p)
{
	if (p == NULL || *p == '\0')
		return 0;
	if (p[0] == '/')
		return kc_dup(dst, p);
	return asprintf(dst, "%s/%s", f->dir, p) == -1 ? -1 : 0;
}

static int
kc_data(char **dst, size_t *len, struct kc_file *f, const char *what,
    const char *v, char *err, size_t sz)
{
	if (v == NULL || *v == '\0')
		return 0;
	if (kubeconfig_b64decode(v, dst, len) == -1) {
		kc_err(err, sz, "%s: %s is not valid base64", f->path, what);
		return -1;
	}
	return 0;
}

static int
kc_cluster(struct kubeconfig *kc, struct kc_set *s, const char *name,
    char *err, size_t sz)
{
	struct kc_file	*f = NULL;
	yaml_node_t	*c;
	const char	*v;
	size_t		 n;

	if ((c = kc_find(s, "clusters", "cluster", name, &f)) == NULL) {
		kc_err(err, sz, "%s: cluster \"%s\" not found", kc->source,
		    name);
		return -1;
	}
	v = kc_str(kc_get(&f->doc, c, "server"));
	if (v == NULL || (strncmp(v, "https://", 8) != 0 &&
	    strncmp(v, "http://", 7) != 0)) {
		kc_err(err, sz, "%s: cluster \"%s\": server missing or not an "
		    "http(s) URL", f->path, name);
		return -1;
	}
	if (kc_dup(&kc->server, v) == -1)
		return -1;
	n = strlen(kc->server);
	while (n > 0 && kc->server[n - 1] == '/')
		kc->server[--n] = '\0';
	v = kc_str(kc_get(&f->doc, c, "insecure-skip-tls-verify"));
	kc->insecure = v != NULL && strcmp(v, "true") == 0;
	if (kc_dup(&kc->tls_server_name,
	    kc_str(kc_get(&f->doc, c, "tls-server-name"))) == -1 ||
	    kc_path(&kc->ca_file, f,
	    kc_str(kc_get(&f->doc, c, "certificate-authority"))) == -1 ||
	    kc_data(&kc->ca_data, &kc->ca_len, f,
	    "certificate-authority-data",
	    kc_str(kc_get(&f->doc, c, "certificate-authority-data")), err,
	    sz) == -1)
		return -1;
	return 0;
}

static int
kc_user(struct kubeconfig *kc, struct kc_set *s, const char *name,
    char *err, size_t sz)
{
	struct kc_file	*f = NULL;
	yaml_node_t	*u;
	yaml_document_t	*d;

	if (name == NULL || *name == '\0')
		return 0;
	if ((u = kc_find(s, "users", "user", name, &f)) == NULL) {
		kc_err(err, sz, "%s: user \"%s\" not found", kc->source, name);
		return -1;
	}
	d = &f->doc;
	if (kc_dup(&kc->token, kc_str(kc_get(d, u, "token"))) == -1 ||
	    kc_path(&kc->token_file, f,
	    kc_str(kc_get(d, u, "tokenFile"))) == -1 ||
	    kc_path(&kc->cert_file, f,
	    kc_str(kc_get(d, u, "client-certificate"))) == -1 ||
	    kc_path(&kc->key_file, f,
	    kc_str(kc_get(d, u, "client-key"))) == -1 ||
	    kc_dup(&kc->username, kc_str(kc_get(d, u, "username"))) == -1 ||
	    kc_dup(&kc->password, kc_str(kc_get(d, u, "password"))) == -1) {
		kc_err(err, sz, "out of memory");
		return -1;
	}
	if (kc_data(&kc->cert_data, &kc->cert_len, f,
	    "client-certificate-data",
	    kc_str(kc_get(d, u, "client-certificate-data")), err, sz) == -1 ||
	    kc_data(&kc->key_data, &kc->key_len, f, "client-key-data",
	    kc_str(kc_get(d, u, "client-key-data")), err, sz) == -1)
		return -1;
	if (kc->token != NULL && kc->token_file != NULL) {
		free(kc->token_file);	/* kubectl: token wins */
		kc->token_file = NULL;
	}
	if ((kc->cert_file || kc->cert_data) != (kc->key_file ||
	    kc->key_data)) {
		kc_err(err, sz, "%s: user \"%s\": client certificate and key "
		    "must be given together", f->path, name);
		return -1;
	}
	if (kc_get(d, u, "exec") != NULL ||
	    kc_get(d, u, "auth-provider") != NULL) {
		if (kc->token == NULL && kc->token_file == NULL &&
		    kc->cert_file == NULL && kc->cert_data == NULL) {
			kc_err(err, sz, "%s: user \"%s\": exec and "
			    "auth-provider credentials are not supported",
			    f->path, name);
			return -1;
		}
	}
	return 0;
}

static const char *
kc_current_context(struct kc_set *s)
{
	const char	*v;
	int		 i;

	for (i = 0; i < s->n; i++) {
		v = kc_str(kc_get(&s->f[i].doc,
		    yaml_document_get_root_node(&s->f[i].doc),
		    "current-context"));
		if (v != NULL && *v != '\0')
			return v;
	}
	return NULL;
}

static int
kc_from_set(struct kubeconfig *kc, struct kc_set *s, const char *context,
    char *err, size_t sz)
{
	struct kc_file	*f = NULL;
	yaml_node_t	*ctx;
	const char	*cluster;

	if (context == NULL || *context == '\0')
		context = kc_current_context(s);
	if (context == NULL) {
		kc_err(err, sz, "%s: no current-context and no context given",
		    kc->source);
		return -1;
	}
	if ((ctx = kc_find(s, "contexts", "context", context, &f)) == NULL) {
		kc_err(err, sz, "%s: context \"%s\" not found", kc->source,
		    context);
		return -1;
	}
	cluster = kc_str(kc_get(&f->doc, ctx, "cluster"));
	if (cluster == NULL) {
		kc_err(err, sz, "%s: context \"%s\" names no cluster", f->path,
		    context);
		return -1;
	}
	if (kc_dup(&kc->namespace,
	    kc_str(kc_get(&f->doc, ctx, "namespace"))) == -1)
		return -1;
	if (kc_cluster(kc, s, cluster, err, sz) == -1)
		return -1;
	return kc_user(kc, s, kc_str(kc_get(&f->doc, ctx, "user")), err, sz);
}

int
kubeconfig_load(struct kubeconfig *kc, const char *paths,
    const char *context, char *err, size_t sz)
{
	struct kc_set	 s;
	char		*list, *p, *save = NULL;
	int		 rv = -1;

	memset(kc, 0, sizeof(*kc));
	memset(&s, 0, sizeof(s));
	if (paths == NULL || *paths == '\0' || (list = strdup(paths)) ==
	    NULL) {
		kc_err(err, sz, "no kubeconfig path");
		return -1;
	}
	for (p = strtok_r(list, ":", &save); p != NULL;
	    p = strtok_r(NULL, ":", &save)) {
		if (s.n == KC_MAX_FILES) {
			kc_err(err, sz, "%s: too many kubeconfig files", paths);
			goto out;
		}
		if (kc_load_file(&s.f[s.n], p, err, sz) == -1) {
			s.n++;
			goto out;
		}
		s.n++;
	}
	if (s.n == 0) {
		kc_err(err, sz, "no kubeconfig path");
		goto out;
	}
	if ((kc->source = strdup(paths)) == NULL)
		goto out;
	rv = kc_from_set(kc, &s, context, err, sz);
out:
	kc_set_free(&s);
	free(list);
	if (rv == -1)
		kubeconfig_clear(kc);
	return rv;
}

static char *
kc_read_small(const char *path)
{
	FILE	*fp;
	char	 buf[1024];
	size_t	 n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return strdup(buf);
}

int
kubeconfig_in_cluster(struct kubeconfig *kc, char *err, size_t sz)
{
	const char	*host, *port, *dir;
	char		*p = NULL;

	memset(kc, 0, sizeof(*kc));
	host = getenv("KUBERNETES_SERVICE_HOST");
	port = getenv("KUBERNETES_SERVICE_PORT");
	if ((dir = getenv("CFGW_SA_DIR")) == NULL || *dir == '\0')
		dir = KC_SA_DIR;
	if (host == NULL || *host == '\0' || port == NULL || *port == '\0') {
		kc_err(err, sz, "no kubeconfig and not in a cluster "
		    "(KUBERNETES_SERVICE_HOST/PORT unset)");
		return -1;
	}
	if (asprintf(&kc->server, strchr(host, ':') != NULL ?
	    "https://[%s]:%s" : "https://%s:%s", host, port) == -1 ||
	    asprintf(&kc->token_file, "%s/token", dir) == -1 ||
	    asprintf(&p, "%s/ca.crt", dir) == -1 ||
	    (kc->source = strdup(dir)) == NULL)
		goto nomem;
	if (access(kc->token_file, R_OK) == -1) {
		kc_err(err, sz, "%s: %s", kc->token_file, strerror(errno));
		free(p);
		kubeconfig_clear(kc);
		return -1;
	}
	if (access(p, R_OK) == 0)
		kc->ca_file = p;
	else
		free(p);
	if (asprintf(&p, "%s/namespace", dir) == -1)
		goto nomem;
	kc->namespace = kc_read_small(p);
	free(p);
	kc->in_cluster = 1;
	return 0;
nomem:
	free(p);
	kubeconfig_clear(kc);
	kc_err(err, sz, "out of memory");
	return -1;
}

int
kubeconfig_resolve(struct kubeconfig *kc, const char *path,
    const char *context, char *err, size_t sz)
{
	const char	*env, *home;
	char		 def[PATH_MAX];

	if (path != NULL && *path != '\0')
		return kubeconfig_load(kc, path, context, err, sz);
	if ((env = getenv("KUBECONFIG")) != NULL && *env != '\0')
		return kubeconfig_load(kc, env, context, err, sz);
	if ((home = getenv("HOME")) != NULL && *home != '\0') {
		snprintf(def, sizeof(def), "%s/.kube/config", home);
		if (access(def, F_OK) == 0)
			return kubeconfig_load(kc, def, context, err, sz);
	}
	return kubeconfig_in_cluster(kc, err, sz);
}

static void
kc_wipe(char **p, size_t len)
{
	if (*p == NULL)
		return;
	explicit_bzero(*p, len ? len : strlen(*p));
	free(*p);
	*p = NULL;
}

void
kubeconfig_clear(struct kubeconfig *kc)
{
	free(kc->server);
	free(kc->tls_server_name);
	free(kc->ca_file);
	free(kc->ca_data);
	free(kc->cert_file);
	free(kc->cert_data);
	free(kc->key_file);
	kc_wipe(&kc->key_data, kc->key_len);
	kc_wipe(&kc->token, 0);
	free(kc->token_file);
	free(kc->username);
	kc_wipe(&kc->password, 0);
	free(kc->namespace);
	free(kc->source);
	memset(kc, 0, sizeof(*kc));
}

static int
kc_b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
kubeconfig_b64decode(const char *in, char **out, size_t *outlen)
{
	size_t		 n = strlen(in), o = 0;
	unsigned	 acc = 0;
	int		 bits = 0, v, pad = 0;
	char		*buf;

	*out = NULL;
	*outlen = 0;
	if ((buf = malloc(n / 4 * 3 + 4)) == NULL)
		return -1;
	for (; *in != '\0'; in++) {
		if (*in == ' ' || *in == '\n' || *in == '\r' || *in == '\t')
			continue;
		if (*in == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = kc_b64val((unsigned char)*in)) < 0)
			goto bad;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (bits >= 6 || pad > 2)
		goto bad;
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
bad:
	free(buf);
	return -1;
}
