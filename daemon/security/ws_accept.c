/* Sec-WebSocket-Accept with OpenSSL's SHA-1 and base64: see ws_accept.h. */
#include "security/ws_accept.h"

#include <openssl/evp.h>
#include <string.h>

/* RFC 6455 1.3: proves the server read this handshake, not a cached one. */
static const char ws_accept_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int ws_accept_value(const char *key, size_t key_len, char out[WS_ACCEPT_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, key, key_len) == 1 &&
		 EVP_DigestUpdate(ctx, ws_accept_guid, strlen(ws_accept_guid)) == 1 &&
		 EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == 20;

	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	/* 20 bytes encode to 28 characters and a NUL: exactly out's size. */
	EVP_EncodeBlock((unsigned char *)out, md, (int)md_len);
	return 0;
}
