/* SPDX-License-Identifier: Apache-2.0 */
/* down_h2: HTTP/2 server connections (not yet implemented: closes). */
#include "proxy.h"

void
down_h2_accept(struct bufferevent *bev, const char *ip, int tls,
    const char *u, size_t ul)
{
	(void)ip; (void)tls; (void)u; (void)ul;
	bufferevent_free(bev);
	px_conn_release();
}
