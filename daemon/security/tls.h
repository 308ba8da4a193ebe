/* TLS on the client ports: one OpenSSL server context per port, the
 * bufferevents that speak it, and what a verified client certificate says.
 * This header and tls.c are the daemon's only contact with OpenSSL for
 * connections (token.c uses it for HMAC only); callers see opaque types.
 *
 * Owner: the server creates one tls_server per TLS port with
 * tls_server_new() and releases it with tls_server_free(). Reload swaps the
 * context for new connections only: each live connection holds a reference
 * to the context it was accepted with, so it keeps working unchanged. */
#ifndef SB_TLS_H
#define SB_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct bufferevent;
struct event_base;
struct sb_tls_conf;
struct tls_server;

/* Builds the context of one port from conf (cert_file must be set).
 * ciphers is the TLS 1.2 list; relative file names are resolved against the
 * directory of config_path. Returns NULL with a message in err when a file
 * cannot be loaded, the key does not match the certificate, the key file is
 * readable or writable by others (its group may read it), or no cipher
 * matches. --check-config calls it too, so it refuses what a start would. */
struct tls_server *tls_server_new(const struct sb_tls_conf *conf, const char *ciphers,
                                  const char *config_path, char *err, size_t errlen);
/* Rebuilds the context from the files on disk; on success new connections
 * use it and 0 is returned. On failure returns -1 with err set and keeps the
 * old context. */
int tls_server_reload(struct tls_server *t, const struct sb_tls_conf *conf, const char *ciphers,
                      const char *config_path, char *err, size_t errlen);
void tls_server_free(struct tls_server *t);

/* A bufferevent that runs the server side of a handshake on fd, then
 * carries plaintext. Closes fd when freed. Aborts on allocation failure,
 * like the x-allocators. */
struct bufferevent *tls_bufferevent(struct tls_server *t, struct event_base *base, int fd);

/* Whether the bufferevent's peer presented a certificate that verified and
 * whose subject CN or one of its DNS subjectAltNames equals name: 1 yes,
 * 0 a verified certificate naming someone else, -1 no verified certificate. */
int tls_peer_has_name(struct bufferevent *bev, const char *name);
/* The verified peer certificate's names for logs ("CN=gw1 DNS:gw1.example"),
 * "-" without one. Returns out. */
const char *tls_peer_identity(struct bufferevent *bev, char *out, size_t len);
/* Why a TLS bufferevent failed, from OpenSSL's error queue (drained), for
 * one log line. Returns out: TLS_CLOSED_EARLY when the peer only closed
 * the connection (a port scanner or a health check, most likely). */
#define TLS_CLOSED_EARLY "connection closed during the handshake"
const char *tls_error(struct bufferevent *bev, char *out, size_t len);

#endif
