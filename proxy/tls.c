/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls: the TLS listener's context.  cloudflared reaches gRPC hostnames over
 * https with http2Origin and noTLSVerify (DESIGN.md 5), so by default we
 * make a fresh self-signed P-256 certificate at start; --tls-cert/--tls-key
 * load a real one.  ALPN offers h2 then http/1.1.
 */
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string.h>

#include "log.h"
#include "proxy.h"

static SSL_CTX	*ctx;

static int
tls_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char	 prefs[] = "\x02h2\x08http/1.1";

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, prefs,
	    sizeof(prefs) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	return SSL_TLSEXT_ERR_OK;
}

static int
tls_selfsigned(void)
{
	EVP_PKEY	*key;
	X509		*x;
	X509_NAME	*nm;
	X509_EXTENSION	*ext;
	X509V3_CTX	 v3;
	int		 ok = 0;

	if ((key = EVP_EC_gen("P-256")) == NULL)
		return -1;
	if ((x = X509_new()) == NULL) {
		EVP_PKEY_free(key);
		return -1;
	}
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x),
	    (long)(arc4random() & 0x7fffffff));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
	X509_set_pubkey(x, key);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)"cfgw-proxy", -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
	    "DNS:localhost,IP:127.0.0.1,IP:::1");
	if (ext != NULL) {
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (X509_sign(x, key, EVP_sha256()) > 0 &&
	    SSL_CTX_use_certificate(ctx, x) == 1 &&
	    SSL_CTX_use_PrivateKey(ctx, key) == 1)
		ok = 1;
	X509_free(x);
	EVP_PKEY_free(key);
	return ok ? 0 : -1;
}

int
tls_init(const char *cert, const char *key)
{
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return -1;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn, NULL);
	if (cert != NULL) {
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key,
		    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) !=
		    1) {
			log_warnx("cannot load %s / %s: %s", cert, key,
			    ERR_reason_error_string(ERR_get_error()));
			return -1;
		}
		return 0;
	}
	if (tls_selfsigned() == -1) {
		log_warnx("cannot make a self-signed certificate");
		return -1;
	}
	log_info("TLS: using a self-signed certificate");
	return 0;
}

void *
tls_ctx(void)
{
	return ctx;
}
