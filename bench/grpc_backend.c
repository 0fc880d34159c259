/* SPDX-License-Identifier: Apache-2.0 */
/*
 * grpc_backend: a tiny h2c (HTTP/2 prior knowledge) server for
 * bench/proxy_bench.py.  Every request stream, once its body has ended, is
 * answered like a gRPC unary call: HEADERS (:status 200, content-type
 * application/grpc), one DATA frame with a length-prefixed message, and
 * trailers (grpc-status 0).  One thread, libevent + nghttp2; 127.0.0.1 only.
 *   grpc_backend PORT
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <nghttp2/nghttp2.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A gRPC message: flag 0, length 12, "hello, bench". */
static const uint8_t	 reply[] = "\0\0\0\0\x0c" "hello, bench";
#define REPLY_LEN	(sizeof(reply) - 1)

struct conn {
	struct bufferevent	*bev;
	nghttp2_session		*s;
};

struct stream {
	size_t	 off;
};

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, \
	sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE }

static ssize_t
b_send(nghttp2_session *s, const uint8_t *d, size_t n, int fl, void *arg)
{
	struct conn	*c = arg;

	(void)s;
	(void)fl;
	evbuffer_add(bufferevent_get_output(c->bev), d, n);
	return n;
}

static ssize_t
b_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	struct stream	*st = src->ptr;
	nghttp2_nv	 tr[] = { NV("grpc-status", "0") };
	size_t		 n = REPLY_LEN - st->off;

	(void)arg;
	if (n > len)
		n = len;
	memcpy(buf, reply + st->off, n);
	st->off += n;
	if (st->off == REPLY_LEN) {
		*flags |= NGHTTP2_DATA_FLAG_EOF |
		    NGHTTP2_DATA_FLAG_NO_END_STREAM;
		nghttp2_submit_trailer(s, id, tr, 1);
	}
	return n;
}

static int
b_frame(nghttp2_session *s, const nghttp2_frame *f, void *arg)
{
	nghttp2_nv		 h[] = { NV(":status", "200"),
				    NV("content-type", "application/grpc") };
	nghttp2_data_provider	 dp;
	struct stream		*st;

	(void)arg;
	if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
	dp.source.ptr = st;
	dp.read_callback = b_body;
	nghttp2_submit_response(s, f->hd.stream_id, h, 2, &dp);
	return 0;
}

static int
b_close(nghttp2_session *s, int32_t id, uint32_t err, void *arg)
{
	(void)err;
	(void)arg;
	free(nghttp2_session_get_stream_user_data(s, id));
	return 0;
}

static void
c_free(struct conn *c)
{
	nghttp2_session_del(c->s);
	bufferevent_free(c->bev);
	free(c);
}

static void
c_read(struct bufferevent *bev, void *arg)
{
	struct conn		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_iovec	 v;
	ssize_t			 r;

	while (evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		if ((r = nghttp2_session_mem_recv(c->s, v.iov_base,
		    v.iov_len)) < 0) {
			c_free(c);
			return;
		}
		evbuffer_drain(in, r);
	}
	if (nghttp2_session_send(c->s) != 0 ||
	    (!nghttp2_session_want_read(c->s) &&
	    !nghttp2_session_want_write(c->s)))
		c_free(c);
}

static void
c_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	c_free(arg);
}

static void
l_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	nghttp2_session_callbacks	*cb;
	nghttp2_settings_entry		 iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000 } };
	struct conn			*c;
	int				 one = 1;

	(void)sa;
	(void)salen;
	(void)arg;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_send_callback(cb, b_send);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, b_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, b_close);
	nghttp2_session_server_new(&c->s, cb, c);
	nghttp2_session_callbacks_del(cb);
	nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, 1);
	bufferevent_setcb(c->bev, c_read, NULL, c_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	nghttp2_session_send(c->s);
}

int
main(int argc, char **argv)
{
	struct event_base	*base;
	struct sockaddr_in	 sin;

	if (argc != 2) {
		fprintf(stderr, "usage: grpc_backend PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((base = event_base_new()) == NULL ||
	    evconnlistener_new_bind(base, l_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
	    (struct sockaddr *)&sin, sizeof(sin)) == NULL) {
		perror("grpc_backend: listen");
		return 1;
	}
	event_base_dispatch(base);
	return 0;
}
