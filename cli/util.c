/* SPDX-License-Identifier: Apache-2.0 */
/* util: output helpers shared by cfgwctl subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "cli.h"
#include "json.h"

static void
pretty_val(yajl_gen g, yajl_val v)
{
	size_t	 i;
	const char *k;

	switch (v == NULL ? yajl_t_null : v->type) {
	case yajl_t_string:
		yajl_gen_string(g, (const unsigned char *)v->u.string,
		    strlen(v->u.string));
		break;
	case yajl_t_number:
		yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
		break;
	case yajl_t_object:
		yajl_gen_map_open(g);
		for (i = 0; i < v->u.object.len; i++) {
			k = v->u.object.keys[i];
			yajl_gen_string(g, (const unsigned char *)k,
			    strlen(k));
			pretty_val(g, v->u.object.values[i]);
		}
		yajl_gen_map_close(g);
		break;
	case yajl_t_array:
		yajl_gen_array_open(g);
		for (i = 0; i < v->u.array.len; i++)
			pretty_val(g, v->u.array.values[i]);
		yajl_gen_array_close(g);
		break;
	case yajl_t_true:
		yajl_gen_bool(g, 1);
		break;
	case yajl_t_false:
		yajl_gen_bool(g, 0);
		break;
	default:
		yajl_gen_null(g);
		break;
	}
}

/*
 * Write yajl's beautified text with empty containers folded to [] and {}
 * (whitespace holding a newline can only be outside strings, since JSON
 * strings escape newlines).
 */
static void
pretty_write(FILE *f, const unsigned char *b, size_t n)
{
	size_t	 i, k;
	int	 nl;

	for (i = 0; i < n; i++) {
		fputc(b[i], f);
		if (b[i] != '[' && b[i] != '{')
			continue;
		for (k = i + 1, nl = 0; k < n && (b[k] == ' ' ||
		    b[k] == '\n'); k++)
			nl |= b[k] == '\n';
		if (nl && k < n && (b[k] == ']' || b[k] == '}')) {
			fputc(b[k], f);
			i = k;
		}
	}
}

/* Print JSON text indented by two spaces, with a final newline. */
int
cli_json_pretty(FILE *f, const char *json, size_t len)
{
	yajl_val		 v;
	yajl_gen		 g;
	const unsigned char	*buf;
	size_t			 blen;
	char			 err[128];
	int			 rc = -1;

	if ((v = json_parse(json, len, err, sizeof(err))) == NULL)
		return -1;
	if ((g = yajl_gen_alloc(NULL)) != NULL) {
		yajl_gen_config(g, yajl_gen_beautify, 1);
		yajl_gen_config(g, yajl_gen_indent_string, "  ");
		pretty_val(g, v);
		if (yajl_gen_get_buf(g, &buf, &blen) == yajl_gen_status_ok) {
			pretty_write(f, buf, blen);
			if (blen > 0 && buf[blen - 1] != '\n')
				fputc('\n', f);
			rc = 0;
		}
		yajl_gen_free(g);
	}
	yajl_tree_free(v);
	return rc;
}

void
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "cfgwctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}
