/* TLS on the client ports: see tls.h. */
#include "security/tls.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <event2/util.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config.h"
#include "util/log.h"
#include "util/xalloc.h"

/* Required by OpenSSL for session resumption once client certificates are
 * verified; any constant unique to this daemon will do. */
#define TLS_SESSION_ID_CONTEXT "switchboard"

/* Owner: the server. ctx is the context for new connections. */
struct tls_server {
	SSL_CTX *ctx;
};

/* The oldest queued OpenSSL error as text ("" when none), draining the rest. */
static void tls_openssl_reason(char *out, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(out, len, "no detail from OpenSSL");
	else
		ERR_error_string_n(e, out, len);
	ERR_clear_error();
}

/* name, or name joined to the directory of config_path when relative. */
static char *tls_resolve(const char *name, const char *config_path)
{
	const char *slash = config_path != NULL ? strrchr(config_path, '/') : NULL;

	if (name[0] == '/' || slash == NULL)
		return xstrdup(name);
	size_t dirlen = (size_t)(slash - config_path), len = dirlen + 1 + strlen(name) + 1;
	char *path = xmalloc(len);
	snprintf(path, len, "%.*s/%s", (int)dirlen, config_path, name);
	return path;
}

/* A private key others can read or write is refused, like every secret file
 * (config.c): refusing it makes a careless chmod visible instead of silently
 * leaking the key. The group may read it: the package installs secrets
 * root:switchboard 0640, so the daemon (user switchboard) reads them through
 * its group and cannot change them; an owner-only 0600 file owned by root
 * would be unreadable to it. */
static int tls_check_key_mode(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "cannot load private key %s: %s", path, strerror(errno));
		return -1;
	}
	if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
		snprintf(err, errlen,
		         "key file %s is accessible to other users (mode %04o): chmod o-rw it",
		         path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* Loads certificate, key and client CA into ctx. Returns 0 or -1 with err. */
static int tls_ctx_load(SSL_CTX *ctx, const struct sb_tls_conf *conf, const char *config_path,
                        char *err, size_t errlen)
{
	char *cert = tls_resolve(conf->cert_file, config_path);
	char *key =
	    tls_resolve(conf->key_file != NULL ? conf->key_file : conf->cert_file, config_path);
	char *ca =
	    conf->client_ca_file != NULL ? tls_resolve(conf->client_ca_file, config_path) : NULL;
	char why[256];
	int rc = -1;

	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_openssl_reason(why, sizeof why);
		snprintf(err, errlen, "cannot load certificate %s: %s", cert, why);
		goto out;
	}
	if (tls_check_key_mode(key, err, errlen) != 0)
		goto out;
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		/* OpenSSL compares the key with the certificate as it loads it;
		 * "key values mismatch" alone would not say which two files. */
		unsigned long e = ERR_peek_error();
		bool mismatch = ERR_GET_LIB(e) == ERR_LIB_X509 &&
		                (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
		                 ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH);
		tls_openssl_reason(why, sizeof why);
		if (mismatch)
			snprintf(err, errlen, "private key %s does not match certificate %s: %s", key,
			         cert, why);
		else
			snprintf(err, errlen, "cannot load private key %s: %s", key, why);
		goto out;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_openssl_reason(why, sizeof why);
		snprintf(err, errlen, "private key %s does not match certificate %s: %s", key, cert,
		         why);
		goto out;
	}
	if (ca != NULL) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
		if (names == NULL || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			if (names != NULL)
				sk_X509_NAME_pop_free(names, X509_NAME_free);
			tls_openssl_reason(why, sizeof why);
			snprintf(err, errlen, "cannot load client CA %s: %s", ca, why);
			goto out;
		}
		/* Tells clients which CA to pick a certificate for. */
		SSL_CTX_set_client_CA_list(ctx, names);
		int mode = SSL_VERIFY_PEER;
		if (conf->require_client_cert)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		SSL_CTX_set_verify(ctx, mode, NULL);
	}
	rc = 0;
out:
	free(cert);
	free(key);
	free(ca);
	return rc;
}

/* A fresh server context for conf, or NULL with err. */
static SSL_CTX *tls_ctx_new(const struct sb_tls_conf *conf, const char *ciphers,
                            const char *config_path, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char why[256];

	if (ctx == NULL) {
		tls_openssl_reason(why, sizeof why);
		snprintf(err, errlen, "cannot create a TLS context: %s", why);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Renegotiation has a history of attacks and no use here; compression
	 * leaks plaintext lengths (CRIME). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	                             SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)TLS_SESSION_ID_CONTEXT,
	                               sizeof TLS_SESSION_ID_CONTEXT - 1);
	if (ciphers != NULL && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
		tls_openssl_reason(why, sizeof why);
		snprintf(err, errlen, "tls.ciphers \"%s\" selects no usable cipher: %s", ciphers,
		         why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (tls_ctx_load(ctx, conf, config_path, err, errlen) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct tls_server *tls_server_new(const struct sb_tls_conf *conf, const char *ciphers,
                                  const char *config_path, char *err, size_t errlen)
{
	SSL_CTX *ctx = tls_ctx_new(conf, ciphers, config_path, err, errlen);
	struct tls_server *t;

	if (ctx == NULL)
		return NULL;
	t = xcalloc(1, sizeof *t);
	t->ctx = ctx;
	return t;
}

int tls_server_reload(struct tls_server *t, const struct sb_tls_conf *conf, const char *ciphers,
                      const char *config_path, char *err, size_t errlen)
{
	SSL_CTX *ctx = tls_ctx_new(conf, ciphers, config_path, err, errlen);

	if (ctx == NULL)
		return -1;
	/* Live connections hold their own reference to the old context. */
	SSL_CTX_free(t->ctx);
	t->ctx = ctx;
	return 0;
}

void tls_server_free(struct tls_server *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

struct bufferevent *tls_bufferevent(struct tls_server *t, struct event_base *base, int fd)
{
	SSL *ssl = SSL_new(t->ctx);
	struct bufferevent *bev;

	if (ssl == NULL)
		fatal("out of memory: cannot create a TLS connection");
	bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		fatal("out of memory: cannot create a TLS bufferevent");
	/* A client that closes TCP without close_notify is an ordinary EOF:
	 * the protocol's frames carry their own lengths, so no truncation
	 * attack goes unnoticed. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* The peer's certificate if it was presented and verified, else NULL. */
static X509 *tls_verified_peer(struct bufferevent *bev)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	X509 *cert;

	if (ssl == NULL)
		return NULL;
	cert = SSL_get0_peer_certificate(ssl);
	if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
		return NULL;
	return cert;
}

/* An ASN.1 string as C text; NULL when it holds a NUL (a forged name). */
static const char *tls_asn1_text(const ASN1_STRING *s)
{
	const char *p = (const char *)ASN1_STRING_get0_data(s);
	int n = ASN1_STRING_length(s);

	if (p == NULL || n < 0 || memchr(p, '\0', (size_t)n) != NULL)
		return NULL;
	return p;
}

/* Calls fn on the subject CN(s) and every DNS subjectAltName of cert, with
 * kind "CN" or "DNS"; stops when fn returns true. Returns whether one did. */
static bool tls_each_name(X509 *cert,
                          bool (*fn)(const char *kind, const char *name, size_t len, void *arg),
                          void *arg)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	X509_NAME *subject = X509_get_subject_name(cert);
	bool hit = false;

	for (int i = 0; sans != NULL && !hit && i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		if (g->type != GEN_DNS)
			continue;
		const char *p = tls_asn1_text(g->d.dNSName);
		if (p != NULL)
			hit = fn("DNS", p, (size_t)ASN1_STRING_length(g->d.dNSName), arg);
	}
	GENERAL_NAMES_free(sans);
	for (int i = -1; !hit && subject != NULL;) {
		i = X509_NAME_get_index_by_NID(subject, NID_commonName, i);
		if (i < 0)
			break;
		const ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
		const char *p = tls_asn1_text(cn);
		if (p != NULL)
			hit = fn("CN", p, (size_t)ASN1_STRING_length(cn), arg);
	}
	return hit;
}

/* tls_each_name callback: is this name the wanted one? */
static bool tls_name_equal(const char *kind, const char *name, size_t len, void *arg)
{
	const char *want = arg;
	return strlen(want) == len && memcmp(want, name, len) == 0;
}

int tls_peer_has_name(struct bufferevent *bev, const char *name)
{
	X509 *cert = tls_verified_peer(bev);

	if (cert == NULL)
		return -1;
	return tls_each_name(cert, tls_name_equal, (void *)(uintptr_t)name) ? 1 : 0;
}

/* Appends names for tls_peer_identity. */
struct tls_names {
	char *out;
	size_t len, used;
};

/* tls_each_name callback: appends "KIND:name" to the list. */
static bool tls_name_append(const char *kind, const char *name, size_t len, void *arg)
{
	struct tls_names *n = arg;
	int w;

	if (n->used >= n->len)
		return true;
	w = snprintf(n->out + n->used, n->len - n->used, "%s%s%s%.*s", n->used > 0 ? " " : "", kind,
	             strcmp(kind, "CN") == 0 ? "=" : ":", (int)len, name);
	if (w > 0)
		n->used += (size_t)w;
	return false;
}

const char *tls_peer_identity(struct bufferevent *bev, char *out, size_t len)
{
	X509 *cert = tls_verified_peer(bev);
	struct tls_names n = {out, len, 0};

	snprintf(out, len, "-");
	if (cert != NULL)
		tls_each_name(cert, tls_name_append, &n);
	return out;
}

const char *tls_error(struct bufferevent *bev, char *out, size_t len)
{
	unsigned long e = bufferevent_get_openssl_error(bev);
	int sock_err = EVUTIL_SOCKET_ERROR();

	if (e != 0 && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		/* A port scanner or a health check, most likely. */
		snprintf(out, len, TLS_CLOSED_EARLY);
		while (bufferevent_get_openssl_error(bev) != 0)
			;
	} else if (e != 0) {
		ERR_error_string_n(e, out, len);
		/* Later entries only repeat the first one's story. */
		while (bufferevent_get_openssl_error(bev) != 0)
			;
	} else if (sock_err != 0) {
		snprintf(out, len, "%s", evutil_socket_error_to_string(sock_err));
	} else {
		snprintf(out, len, TLS_CLOSED_EARLY);
	}
	return out;
}
