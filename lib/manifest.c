/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest: read Kubernetes manifests (YAML/JSON, multi-document, files or
 * directories) into yajl trees with libyaml's document API.  Each document
 * is converted node by node into JSON text with the json writer and parsed
 * back, so every tree handed out is an ordinary yajl tree.  Alias bombs and
 * deep nesting are bounded.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "json.h"
#include "manifest.h"

#define MF_MAX_DEPTH	100
#define MF_MAX_NODES	1000000
#define MF_MAX_FILE	(64 * 1024 * 1024)

struct mf_conv {
	yaml_document_t	*doc;
	struct jw	*w;
	size_t		 nodes;
	const char	*problem;
};

static void
mf_err(char *err, size_t sz, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || sz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, sz, fmt, ap);
	va_end(ap);
}

static int
mf_all(const char *s, const char *set)
{
	return *s != '\0' && strspn(s, set) == strlen(s);
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int
mf_is_float(const char *s)
{
	size_t	 d = 0;

	if (*s == '-' || *s == '+')
		s++;
	while (*s >= '0' && *s <= '9')
		s++, d++;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9')
			s++, d++;
	}
	if (d == 0)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!mf_all(s, "0123456789"))
			return 0;
		return 1;
	}
	return *s == '\0';
}

static int
mf_int(const char *s, long long *out)
{
	const char	*p = s;
	char		*end;
	int		 base = 10;

	if (*p == '-' || *p == '+')
		p++;
	if (strncmp(s, "0x", 2) == 0 && mf_all(s + 2,
	    "0123456789abcdefABCDEF"))
		base = 16, s += 2;
	else if (strncmp(s, "0o", 2) == 0 && mf_all(s + 2, "01234567"))
		base = 8, s += 2;
	else if (!mf_all(p, "0123456789"))
		return 0;
	errno = 0;
	*out = strtoll(s, &end, base);
	return errno == 0 && *end == '\0';
}

/* YAML 1.2 core schema resolution of a plain scalar. */
static void
mf_scalar(struct mf_conv *m, yaml_node_t *n)
{
	const char	*s = (const char *)n->data.scalar.value;
	size_t		 len = n->data.scalar.length;
	long long	 i;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    strlen(s) != len) {
		jw_strn(m->w, s, len);
		return;
	}
	if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
		jw_null(m->w);
	else if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
	    strcmp(s, "TRUE") == 0)
		jw_bool(m->w, 1);
	else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
	    strcmp(s, "FALSE") == 0)
		jw_bool(m->w, 0);
	else if (mf_int(s, &i))
		jw_int(m->w, i);
	else if (mf_is_float(s))
		jw_double(m->w, strtod(s, NULL));
	else
		jw_strn(m->w, s, len);
}

static int
mf_node(struct mf_conv *m, yaml_node_t *n, int depth)
{
	yaml_node_item_t	*it;
	yaml_node_pair_t	*p;
	yaml_node_t		*k;

	if (n == NULL || depth > MF_MAX_DEPTH || ++m->nodes > MF_MAX_NODES) {
		m->problem = n == NULL ? "bad node" : "document too deep or "
		    "too large (alias expansion?)";
		return -1;
	}
	switch (n->type) {
	case YAML_SCALAR_NODE:
		mf_scalar(m, n);
		return 0;
	case YAML_SEQUENCE_NODE:
		jw_arr(m->w);
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++)
			if (mf_node(m, yaml_document_get_node(m->doc, *it),
			    depth + 1) == -1)
				return -1;
		jw_arr_end(m->w);
		return 0;
	case YAML_MAPPING_NODE:
		jw_obj(m->w);
		for (p = n->data.mapping.pairs.start;
		    p < n->data.mapping.pairs.top; p++) {
			k = yaml_document_get_node(m->doc, p->key);
			if (k == NULL || k->type != YAML_SCALAR_NODE) {
				m->problem = "mapping key is not a scalar";
				return -1;
			}
			jw_key(m->w, (const char *)k->data.scalar.value);
			if (mf_node(m, yaml_document_get_node(m->doc,
			    p->value), depth + 1) == -1)
				return -1;
		}
		jw_obj_end(m->w);
		return 0;
	default:
		m->problem = "empty node";
		return -1;
	}
}

/* Convert a document's root into a tree; NULL with *problem set. */
static yajl_val
mf_convert(yaml_document_t *doc, yaml_node_t *root, const char **problem)
{
	struct mf_conv	 m;
	char		*txt;
	size_t		 len;
	yajl_val	 v = NULL;
	char		 perr[128];

	memset(&m, 0, sizeof(m));
	m.doc = doc;
	if ((m.w = jw_new()) == NULL) {
		*problem = "out of memory";
		return NULL;
	}
	if (mf_node(&m, root, 0) == -1) {
		*problem = m.problem;
	} else if ((txt = jw_take(m.w, &len)) == NULL) {
		*problem = "invalid UTF-8 or NUL byte in a string";
	} else {
		if ((v = json_parse(txt, len, perr, sizeof(perr))) == NULL)
			*problem = "cannot convert document to JSON";
		free(txt);
	}
	jw_free(&m.w);
	return v;
}

static int
mf_push(struct manifest_set *s, yajl_val obj, const char *file,
    size_t index, long item)
{
	struct manifest_doc	*a, *d;
	yajl_val		 md = json_get(obj, "metadata");
	const char		*kind = json_str(obj, "kind");
	const char		*name = json_str(md, "name");

	if ((a = reallocarray(s->docs, s->n + 1, sizeof(*a))) == NULL)
		return -1;
	s->docs = a;
	d = &a[s->n];
	if ((d->file = strdup(file)) == NULL)
		return -1;
	d->obj = obj;
	d->index = index;
	d->item = item;
	d->kind = kind != NULL ? kind : "";
	d->name = name != NULL ? name : "";
	d->namespace = json_str(md, "namespace");
	s->n++;
	return 0;
}

/* Add one converted document, expanding kind: List. */
static int
mf_add(struct manifest_set *s, yajl_val obj, const char *file,
    size_t index, char *err, size_t errsz)
{
	yajl_val	 items = json_get(obj, "items");
	const char	*kind = json_str(obj, "kind");
	size_t		 i, len;

	if (!YAJL_IS_OBJECT(obj)) {
		mf_err(err, errsz, "%s: document %zu: not a mapping", file,
		    index + 1);
		yajl_tree_free(obj);
		return -1;
	}
	if (kind == NULL || strlen(kind) < 4 || strcmp(kind + strlen(kind) -
	    4, "List") != 0 || items == NULL || !YAJL_IS_ARRAY(items))
	{
		if (mf_push(s, obj, file, index, -1) == 0)
			return 0;
		mf_err(err, errsz, "out of memory");
		yajl_tree_free(obj);
		return -1;
	}
	/* Detach the items from the List and free the rest. */
	len = items->u.array.len;
	for (i = 0; i < len; i++) {
		yajl_val it = items->u.array.values[i];

		items->u.array.values[i] = NULL;
		if (!YAJL_IS_OBJECT(it) || mf_push(s, it, file, index,
		    (long)i) == -1) {
			mf_err(err, errsz, "%s: document %zu: item %zu: not "
			    "a mapping", file, index + 1, i);
			yajl_tree_free(it);
			yajl_tree_free(obj);
			return -1;
		}
	}
	items->u.array.len = 0;
	yajl_tree_free(obj);
	return 0;
}

int
manifest_load_buf(struct manifest_set *s, const char *name,
    const char *buf, size_t len, char *err, size_t errsz)
{
	yaml_parser_t	 p;
	yaml_document_t	 doc;
	yaml_node_t	*root;
	yajl_val	 v;
	const char	*problem = NULL;
	size_t		 idx;
	int		 rc = 0;

	if (!yaml_parser_initialize(&p)) {
		mf_err(err, errsz, "%s: cannot initialise YAML parser", name);
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	for (idx = 0; rc == 0; idx++) {
		if (!yaml_parser_load(&p, &doc)) {
			mf_err(err, errsz, "%s: document %zu: line %zu column "
			    "%zu: %s", name, idx + 1, p.problem_mark.line + 1,
			    p.problem_mark.column + 1, p.problem != NULL ?
			    p.problem : "YAML error");
			rc = -1;
			break;
		}
		if ((root = yaml_document_get_root_node(&doc)) == NULL) {
			yaml_document_delete(&doc);
			break;
		}
		if (root->type == YAML_SCALAR_NODE &&
		    root->data.scalar.length == 0) {
			yaml_document_delete(&doc);
			continue;
		}
		v = mf_convert(&doc, root, &problem);
		yaml_document_delete(&doc);
		if (v == NULL) {
			mf_err(err, errsz, "%s: document %zu: %s", name,
			    idx + 1, problem);
			rc = -1;
		} else if (!YAJL_IS_NULL(v))
			rc = mf_add(s, v, name, idx, err, errsz);
		else
			yajl_tree_free(v);
	}
	yaml_parser_delete(&p);
	return rc;
}

static char *
mf_read(FILE *f, size_t *lenp)
{
	char	*buf = NULL, *nb;
	size_t	 len = 0, cap = 0, n;

	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > MF_MAX_FILE || (nb = realloc(buf, cap)) ==
			    NULL) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		return NULL;
	}
	*lenp = len;
	return buf;
}

static int
mf_load_file(struct manifest_set *s, const char *path, char *err,
    size_t errsz)
{
	FILE	*f;
	char	*buf;
	size_t	 len;
	int	 rc;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "r")) == NULL) {
		mf_err(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf = mf_read(f, &len);
	if (f != stdin)
		fclose(f);
	if (buf == NULL) {
		mf_err(err, errsz, "%s: read error or file too large", path);
		return -1;
	}
	rc = manifest_load_buf(s, strcmp(path, "-") == 0 ? "<stdin>" : path,
	    buf, len, err, errsz);
	free(buf);
	return rc;
}

static int
mf_wanted(const char *name)
{
	size_t	 n = strlen(name);

	if (name[0] == '.')
		return 0;
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	    (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
	    (n > 5 && strcmp(name + n - 5, ".json") == 0);
}

static int
mf_load_dir(struct manifest_set *s, const char *dir, int depth, char *err,
    size_t errsz)
{
	struct dirent	**ents;
	struct stat	 st;
	char		 path[PATH_MAX];
	int		 n, i, rc = 0;

	if (depth > 16) {
		mf_err(err, errsz, "%s: directories nested too deep", dir);
		return -1;
	}
	if ((n = scandir(dir, &ents, NULL, alphasort)) < 0) {
		mf_err(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (rc == 0 && ents[i]->d_name[0] != '.' &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    ents[i]->d_name) < sizeof(path) && stat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				rc = mf_load_dir(s, path, depth + 1, err,
				    errsz);
			else if (S_ISREG(st.st_mode) &&
			    mf_wanted(ents[i]->d_name))
				rc = mf_load_file(s, path, err, errsz);
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int
manifest_load_path(struct manifest_set *s, const char *path, char *err,
    size_t errsz)
{
	struct stat	 st;

	if (strcmp(path, "-") != 0 && stat(path, &st) == -1) {
		mf_err(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (strcmp(path, "-") != 0 && S_ISDIR(st.st_mode))
		return mf_load_dir(s, path, 0, err, errsz);
	return mf_load_file(s, path, err, errsz);
}

void
manifest_set_free(struct manifest_set *s)
{
	size_t	 i;

	for (i = 0; i < s->n; i++) {
		yajl_tree_free(s->docs[i].obj);
		free(s->docs[i].file);
	}
	free(s->docs);
	s->docs = NULL;
	s->n = 0;
}

static const char *cluster_kinds[] = {
	"Namespace", "GatewayClass", "CustomResourceDefinition",
	"ClusterRole", "ClusterRoleBinding", "Node", "PersistentVolume",
	"StorageClass", "PriorityClass", "IngressClass",
	"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
	"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
	NULL
};

/* Append a string member to a yajl object (yajl frees with free(3)). */
int
manifest_obj_set(yajl_val obj, const char *key, const char *value)
{
	const char	**keys;
	yajl_val	 *vals, v;
	size_t		  n;

	if (obj == NULL || !YAJL_IS_OBJECT(obj))
		return -1;
	n = obj->u.object.len;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return -1;
	v->type = yajl_t_string;
	if ((v->u.string = strdup(value)) == NULL) {
		free(v);
		return -1;
	}
	keys = reallocarray(obj->u.object.keys, n + 1, sizeof(*keys));
	if (keys != NULL)
		obj->u.object.keys = keys;
	vals = reallocarray(obj->u.object.values, n + 1, sizeof(*vals));
	if (vals != NULL)
		obj->u.object.values = vals;
	if (keys == NULL || vals == NULL ||
	    (keys[n] = strdup(key)) == NULL) {
		yajl_tree_free(v);
		return -1;
	}
	vals[n] = v;
	obj->u.object.len = n + 1;
	return 0;
}

void
manifest_doc_refresh(struct manifest_doc *d)
{
	yajl_val	 md = json_get(d->obj, "metadata");
	const char	*kind = json_str(d->obj, "kind");
	const char	*name = json_str(md, "name");

	d->kind = kind != NULL ? kind : "";
	d->name = name != NULL ? name : "";
	d->namespace = json_str(md, "namespace");
}

int
manifest_default_namespace(struct manifest_set *s, const char *ns)
{
	struct manifest_doc	*d;
	yajl_val		 md;
	size_t			 i, k;

	for (i = 0; i < s->n; i++) {
		d = &s->docs[i];
		md = json_get(d->obj, "metadata");
		if (md == NULL || !YAJL_IS_OBJECT(md) || d->namespace != NULL)
			continue;
		for (k = 0; cluster_kinds[k] != NULL; k++)
			if (strcmp(d->kind, cluster_kinds[k]) == 0)
				break;
		if (cluster_kinds[k] != NULL)
			continue;
		if (manifest_obj_set(md, "namespace", ns) == -1)
			return -1;
		manifest_doc_refresh(d);
	}
	return 0;
}

const char *
manifest_where(const struct manifest_doc *d, char *buf, size_t bufsz)
{
	char	 item[32];

	item[0] = '\0';
	if (d->item >= 0)
		snprintf(item, sizeof(item), " item %ld", d->item);
	snprintf(buf, bufsz, "%s: document %zu%s (%s %s%s%s)", d->file,
	    d->index + 1, item, d->kind[0] ? d->kind : "<no kind>",
	    d->namespace != NULL ? d->namespace : "",
	    d->namespace != NULL ? "/" : "", d->name[0] ? d->name :
	    "<no name>");
	return buf;
}
