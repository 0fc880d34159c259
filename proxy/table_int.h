/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_PROXY_TABLE_INT_H
#define CFGW_PROXY_TABLE_INT_H

/* Internal to table.c and table_filter.c. */

#include "httpfield.h"
#include "json.h"
#include "table.h"

struct tctx {
	char		*err;
	size_t		 errsz;
	const char	*where;
};

int	 terr(struct tctx *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
char	*tstrdup(const char *);
char	*lowerdup(const char *);
int	 table_filters(struct tctx *, yajl_val, struct trule *);
int	 table_hmod(struct tctx *, yajl_val, struct hmod *);
void	 hmod_free(struct hmod *);
int	 hmod_framing(const struct hmod *);
unsigned table_schemes(yajl_val);

#endif
