/* SPDX-License-Identifier: Apache-2.0 */
/* h2common: nghttp2 glue shared by the HTTP/2 server and h2c client. */
#include <stdlib.h>
#include <string.h>

#include "h2.h"

int
h2nv_add(struct h2nv *nv, const char *n, const char *v)
{
	nghttp2_nv	*x;

	if (nv->n == nv->cap) {
		size_t cap = nv->cap ? nv->cap * 2 : 16;
		if ((x = reallocarray(nv->v, cap, sizeof(*x))) == NULL)
			return -1;
		nv->v = x;
		nv->cap = cap;
	}
	x = &nv->v[nv->n++];
	x->name = (uint8_t *)(uintptr_t)n;
	x->namelen = strlen(n);
	x->value = (uint8_t *)(uintptr_t)v;
	x->valuelen = strlen(v);
	x->flags = NGHTTP2_NV_FLAG_NONE;
	return 0;
}

void
h2nv_free(struct h2nv *nv)
{
	free(nv->v);
	memset(nv, 0, sizeof(*nv));
}

/* Connection-specific fields that HTTP/2 forbids. */
int
h2_is_hop(const char *n)
{
	static const char *hop[] = { "connection", "keep-alive",
	    "proxy-connection", "transfer-encoding", "upgrade", "host",
	    "te", "http2-settings", NULL };
	int	 i;

	for (i = 0; hop[i] != NULL; i++)
		if (strcmp(hop[i], n) == 0)
			return 1;
	return 0;
}

static ssize_t
h2_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags,
    void *arg)
{
	struct h2io	*io = arg;
	struct evbuffer	*out = bufferevent_get_output(io->bev);

	(void)s;
	(void)flags;
	if (evbuffer_get_length(out) > PX_HIGH_WATER)
		return NGHTTP2_ERR_WOULDBLOCK;
	if (evbuffer_add(out, data, len) == -1)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return len;
}

int
h2_callbacks_common(nghttp2_session_callbacks *cb)
{
	nghttp2_session_callbacks_set_send_callback(cb, h2_send);
	return 0;
}

ssize_t
h2_body_read(nghttp2_session *s, int32_t id, uint8_t *dst, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	struct h2body	*b = src->ptr;
	size_t		 have = evbuffer_get_length(b->buf);
	struct h2nv	 nv = { 0 };
	size_t		 i;

	(void)arg;
	if (have == 0 && !b->eof) {
		b->deferred = 1;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (len > have)
		len = have;
	if (len > 0)
		evbuffer_remove(b->buf, dst, len);
	if (b->drained != NULL && !b->resume &&
	    evbuffer_get_length(b->buf) < PX_HIGH_WATER / 2)
		b->drained(b);
	if (b->eof && evbuffer_get_length(b->buf) == 0) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (b->has_trailers && b->trailers.n > 0) {
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			for (i = 0; i < b->trailers.n; i++)
				h2nv_add(&nv, b->trailers.v[i].name,
				    b->trailers.v[i].value);
			if (nghttp2_submit_trailer(s, id, nv.v, nv.n) != 0)
				*flags &= ~NGHTTP2_DATA_FLAG_NO_END_STREAM;
			h2nv_free(&nv);
		}
	}
	return len;
}

/* More body (or its end) is available: resume a deferred provider. */
void
h2_body_kick(nghttp2_session *s, int32_t id, struct h2body *b)
{
	if (b->deferred) {
		b->deferred = 0;
		nghttp2_session_resume_data(s, id);
	}
}

/* Flush frames; -1 when the session is finished or broken. */
int
h2_pump(struct h2io *io)
{
	if (nghttp2_session_send(io->s) != 0)
		return -1;
	if (!nghttp2_session_want_read(io->s) &&
	    !nghttp2_session_want_write(io->s) &&
	    evbuffer_get_length(bufferevent_get_output(io->bev)) == 0)
		return -1;
	return 0;
}

/* Feed received bytes to the session; -1 on a protocol error. */
int
h2_feed(struct h2io *io)
{
	struct evbuffer		*in = bufferevent_get_input(io->bev);
	struct evbuffer_iovec	 v;
	ssize_t			 r;

	while (evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		r = nghttp2_session_mem_recv(io->s, v.iov_base, v.iov_len);
		if (r < 0)
			return -1;
		evbuffer_drain(in, r);
	}
	return 0;
}
