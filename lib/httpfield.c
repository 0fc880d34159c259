/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpfield: what may be written as an HTTP field name or value, and
 * which fields frame the message (see httpfield.h).
 */
#include <string.h>
#include <strings.h>

#include "httpfield.h"

int
http_field_name_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') ||
		    strchr("!#$%&'*+-.^_`|~", *s) != NULL))
			return 0;
	return 1;
}

int
http_field_value_ok(const char *s)
{
	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 0;
	return 1;
}

int
http_field_framing(const char *n, size_t len)
{
	static const struct {
		const char	*s;
		size_t		 l;
	} f[] = {
	    { "connection", 10 }, { "keep-alive", 10 },
	    { "proxy-connection", 16 }, { "te", 2 }, { "trailer", 7 },
	    { "transfer-encoding", 17 }, { "upgrade", 7 },
	    { "content-length", 14 }
	};
	size_t	 i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].l == len && strncasecmp(f[i].s, n, len) == 0)
			return 1;
	return 0;
}
