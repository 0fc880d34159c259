/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_HTTPFIELD_H
#define CFGW_HTTPFIELD_H

#include <stddef.h>

/*
 * httpfield: checks on HTTP field names and values that come from
 * configuration (route filters), shared by the route compiler, which
 * refuses them, and cfgw-proxy, which checks again any table it loads.
 */

/* An RFC 9110 token (non-empty). */
int	http_field_name_ok(const char *);
/* No control character but tab (RFC 9110 field-value). */
int	http_field_value_ok(const char *);
/*
 * A hop-by-hop or framing field (Connection, Content-Length, Keep-Alive,
 * Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade), any case:
 * the proxy writes these itself and never passes or lets a filter set
 * them.  len is the name's length.
 */
int	http_field_framing(const char *, size_t);

#endif
