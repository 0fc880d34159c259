/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_MANIFEST_H
#define CFGW_MANIFEST_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

/*
 * Kubernetes manifests (YAML or JSON, files or directories, several
 * documents per file, `kind: List` expanded) read into yajl trees with
 * libyaml.  Each object remembers its file and document index for error
 * messages.  Scalars follow the YAML 1.2 core schema: plain scalars that
 * look like integers, floats, true/false or null become those JSON types;
 * quoted and block scalars stay strings (tags are not interpreted: a plain
 * `!!str 1` is still a number).
 */

struct manifest_doc {
	yajl_val	 obj;
	char		*file;
	size_t		 index;		/* 0-based document index
					   (messages count from 1) */
	long		 item;		/* index in a List, or -1 */
	const char	*kind;		/* borrowed from obj; "" if absent */
	const char	*name;		/* "" if absent */
	const char	*namespace;	/* NULL if absent */
};

struct manifest_set {
	struct manifest_doc	*docs;
	size_t			 n;
};

/*
 * Add every object of a file, or of every *.yaml, *.yml and *.json file
 * below a directory (sorted by path).  "-" reads stdin.  Returns 0, or -1
 * with "file: document N: problem" (N from 1) in err (objects read before
 * the error stay in the set).
 */
int	 manifest_load_path(struct manifest_set *, const char *path,
	    char *err, size_t errsz);
/* The same for a buffer; name is used in messages. */
int	 manifest_load_buf(struct manifest_set *, const char *name,
	    const char *buf, size_t len, char *err, size_t errsz);
void	 manifest_set_free(struct manifest_set *);

/*
 * Set metadata.namespace on objects that lack it, except cluster-scoped
 * kinds (Namespace, GatewayClass, CustomResourceDefinition, ClusterRole,
 * ClusterRoleBinding, ...).  Returns -1 on out of memory.
 */
int	 manifest_default_namespace(struct manifest_set *, const char *ns);

/*
 * Append a string member to a yajl object (e.g. the kind and apiVersion
 * that items of an API List lack); -1 if obj is not an object or out of
 * memory.  After editing d->obj, manifest_doc_refresh(d) re-reads the
 * borrowed kind, name and namespace.
 */
int	 manifest_obj_set(yajl_val obj, const char *key, const char *value);
void	 manifest_doc_refresh(struct manifest_doc *);

/* "file: document N (Kind ns/name)" into buf; returns buf. */
const char *manifest_where(const struct manifest_doc *, char *buf,
	    size_t bufsz);

#endif
