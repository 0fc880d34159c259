/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_PROXY_H2_H
#define CFGW_PROXY_H2_H

/* Pieces shared by the HTTP/2 server (down_h2.c) and h2c client (up_h2.c). */

#include <nghttp2/nghttp2.h>

#include "proxy.h"

#define H2_MAX_HEADER_BYTES	(64 * 1024)
#define H2_MAX_STREAMS		100
#define H2_MAX_RESETS		500

/* First member of both connection structs: the send callback uses it. */
struct h2io {
	struct bufferevent	*bev;
	nghttp2_session		*s;
};

/* A body queued for nghttp2's data provider, with optional trailers. */
struct h2body {
	struct evbuffer		*buf;
	int			 eof;
	int			 deferred;
	struct hdrs		 trailers;
	int			 has_trailers;
	/* Called when the queue falls under half the high-water mark, so
	 * the side that fills it may read again. */
	void			(*drained)(struct h2body *);
	void			*owner;
	int			 resume;	/* set by drained */
};

struct h2nv {
	nghttp2_nv	*v;
	size_t		 n;
	size_t		 cap;
};

int		 h2nv_add(struct h2nv *, const char *, const char *);
void		 h2nv_free(struct h2nv *);
int		 h2_callbacks_common(nghttp2_session_callbacks *);
ssize_t		 h2_body_read(nghttp2_session *, int32_t, uint8_t *, size_t,
		    uint32_t *, nghttp2_data_source *, void *);
void		 h2_body_kick(nghttp2_session *, int32_t, struct h2body *);
int		 h2_pump(struct h2io *);
int		 h2_feed(struct h2io *);
int		 h2_is_hop(const char *);

#endif
