/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session: Gateway API session persistence (GEP-1619), Cookie and Header.
 *
 * The session value names the backend and is authenticated with a
 * per-Gateway key, so a client can neither pick nor forge a backend:
 *
 *	base64url(ver(1) | backend id(8) | expiry(8, BE unix s, 0: none) |
 *	    HMAC-SHA-512-256(key, "cfgw-session" NUL name NUL ver..expiry))
 *
 * (libsodium crypto_auth).  The key is derived (BLAKE2b) from
 * --session-key-file or $CFGW_SESSION_KEY; without either a random key is
 * made at start.  An expired, tampered or unknown value, or one naming a
 * backend that is gone, invalid or weight 0, gets a fresh weighted choice
 * and a new value.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "proxy.h"

#define TOK_VER		1
#define TOK_MSG		17			/* ver + id + expiry */
#define TOK_BIN		(TOK_MSG + crypto_auth_BYTES)
#define KEY_MIN		16			/* bytes of key material */
#define KEY_MAX		4096

static unsigned char	 skey[crypto_auth_KEYBYTES];

static void
session_derive(const unsigned char *m, size_t n)
{
	static const unsigned char ctx[] = "cfgw-proxy session key v1";

	crypto_generichash(skey, sizeof(skey), m, n, ctx, sizeof(ctx) - 1);
}

static int
session_key_file(const char *path)
{
	unsigned char	 buf[KEY_MAX];
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("session key file %s", path);
		return -1;
	}
	while (len < sizeof(buf) &&
	    (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += n;
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len < KEY_MIN) {
		log_warnx("session key file %s: need at least %d bytes", path,
		    KEY_MIN);
		sodium_memzero(buf, sizeof(buf));
		return -1;
	}
	session_derive(buf, len);
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

/* Set up the key; -1 on a bad key file or environment value. */
int
session_init(const char *path)
{
	const char	*env = getenv("CFGW_SESSION_KEY");
	unsigned char	 rnd[32];

	if (sodium_init() == -1) {
		log_warnx("libsodium initialisation failed");
		return -1;
	}
	if (path != NULL)
		return session_key_file(path);
	if (env != NULL && env[0] != '\0') {
		if (strlen(env) < KEY_MIN) {
			log_warnx("CFGW_SESSION_KEY: need at least %d bytes",
			    KEY_MIN);
			return -1;
		}
		session_derive((const unsigned char *)env, strlen(env));
		return 0;
	}
	randombytes_buf(rnd, sizeof(rnd));
	session_derive(rnd, sizeof(rnd));
	sodium_memzero(rnd, sizeof(rnd));
	log_warnx("no --session-key-file or CFGW_SESSION_KEY: using a random "
	    "session key; replicas will not share persistent sessions");
	return 0;
}

static void
tok_mac(unsigned char *mac, const unsigned char *msg, const char *name)
{
	crypto_auth_hmacsha512256_state	 st;
	static const unsigned char	 pfx[] = "cfgw-session";

	crypto_auth_hmacsha512256_init(&st, skey, sizeof(skey));
	crypto_auth_hmacsha512256_update(&st, pfx, sizeof(pfx));
	crypto_auth_hmacsha512256_update(&st, (const unsigned char *)name,
	    strlen(name) + 1);
	crypto_auth_hmacsha512256_update(&st, msg, TOK_MSG);
	crypto_auth_hmacsha512256_final(&st, mac);
}

static int
sid_bin(const char *hex, unsigned char *out)
{
	size_t	 bl;

	if (sodium_hex2bin(out, 8, hex, strlen(hex), NULL, &bl, NULL) != 0 ||
	    bl != 8)
		return -1;
	return 0;
}

static void
tok_make(const struct trule *r, const struct tbackend *be, char *out,
    size_t sz)
{
	unsigned char	 b[TOK_BIN];
	uint64_t	 exp = 0;
	int		 i;

	memset(b, 0, sizeof(b));
	b[0] = TOK_VER;
	(void)sid_bin(be->sid, b + 1);
	if (r->session.absolute_ms > 0)
		exp = (uint64_t)time(NULL) + (r->session.absolute_ms + 999) /
		    1000;
	for (i = 0; i < 8; i++)
		b[9 + i] = exp >> (56 - 8 * i);
	tok_mac(b + TOK_MSG, b, r->session.name);
	if (sz < sodium_base64_ENCODED_LEN(TOK_BIN,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		out[0] = '\0';
	else
		sodium_bin2base64(out, sz, b, sizeof(b),
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* The backend named by a valid token, or NULL. */
static const struct tbackend *
tok_check(const struct trule *r, const char *tok, size_t len)
{
	unsigned char		 b[TOK_BIN], mac[crypto_auth_BYTES], id[8];
	const struct tbackend	*be;
	uint64_t		 exp = 0;
	size_t			 bl, i;

	if (sodium_base642bin(b, sizeof(b), tok, len, NULL, &bl, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || bl != TOK_BIN ||
	    b[0] != TOK_VER)
		return NULL;
	tok_mac(mac, b, r->session.name);
	if (sodium_memcmp(mac, b + TOK_MSG, sizeof(mac)) != 0)
		return NULL;
	for (i = 0; i < 8; i++)
		exp = exp << 8 | b[9 + i];
	if (exp != 0 && (uint64_t)time(NULL) >= exp)
		return NULL;
	for (i = 0; i < r->nbackends; i++) {
		be = &r->backends[i];
		if (sid_bin(be->sid, id) == 0 && memcmp(id, b + 1, 8) == 0)
			return be->weight > 0 && be->invalid == NULL ? be :
			    NULL;
	}
	return NULL;
}

/* The client's session value (cookie or header); *len set. */
static const char *
session_value(const struct xch *x, size_t *len)
{
	const struct session	*s = &x->rule->session;
	const char		*v, *p;
	size_t			 i, nl = strlen(s->name), vl;

	if (s->header) {
		if ((v = hdrs_get(&x->rqh, s->name)) != NULL)
			*len = strlen(v);
		return v;
	}
	for (i = 0; i < x->rqh.n; i++) {
		if (strcmp(x->rqh.v[i].name, "cookie") != 0)
			continue;
		for (p = x->rqh.v[i].value; *p != '\0'; p += vl) {
			while (*p == ' ' || *p == ';')
				p++;
			vl = strcspn(p, ";");
			if (vl > nl && strncmp(p, s->name, nl) == 0 &&
			    p[nl] == '=') {
				*len = vl - nl - 1;
				while (*len > 0 && p[nl + *len] == ' ')
					(*len)--;
				return p + nl + 1;
			}
		}
	}
	return NULL;
}

/*
 * The session's backend, or a weighted pick that starts a new session.
 * For a retry, failed is the backend the last attempt could not use: the
 * session does not hold to it, and the new pick avoids it (as without
 * session persistence, match_backend_other).
 */
const struct tbackend *
session_pick(struct xch *x, const struct tbackend *failed)
{
	const struct trule	*r = x->rule;
	const struct tbackend	*be;
	const char		*v;
	size_t			 len = 0;

	if ((v = session_value(x, &len)) != NULL && len < 256 &&
	    (be = tok_check(r, v, len)) != NULL && be != failed)
		return be;
	if ((be = match_backend_other(r, failed)) != NULL &&
	    be->invalid == NULL)
		tok_make(r, be, x->session, sizeof(x->session));
	return be;
}

/* The new session value on the answer that starts a session. */
void
session_response(struct xch *x, struct hdrs *h)
{
	const struct session	*s = &x->rule->session;
	char			 c[512], age[40] = "";
	const char		*path = "/";
	int			 secure;

	if (x->session[0] == '\0')
		return;
	if (s->header) {
		hdrs_del(h, s->name);
		hdrs_add(h, s->name, strlen(s->name), x->session,
		    strlen(x->session));
		return;
	}
	if ((x->rule->path_type == PATH_PREFIX || x->rule->path_type ==
	    PATH_EXACT) && strlen(x->rule->path) < 256 &&
	    strpbrk(x->rule->path, ";, \t") == NULL)
		path = x->rule->path;
	if (s->permanent && s->absolute_ms > 0)
		snprintf(age, sizeof(age), "; Max-Age=%lld",
		    (long long)(s->absolute_ms / 1000));
	/* Secure unless the visitor is known to use plain http. */
	secure = x->xfp == SCHEME_HTTPS || (x->xfp == 0 &&
	    strcmp(x->scheme, "https") == 0);
	snprintf(c, sizeof(c), "%s=%s; Path=%s%s; HttpOnly; SameSite=Lax%s",
	    s->name, x->session, path, secure ? "; Secure" : "", age);
	hdrs_add(h, "set-cookie", 10, c, strlen(c));
}
