/* The wallboard page's files (web/), embedded into the daemon at build time
 * by cmake/embed_web.cmake, so the daemon serves them with no file to find
 * at run time. The generated web_assets.c defines the table. */
#ifndef SB_WEB_ASSETS_H
#define SB_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
	const char *name;         /* the file's name in web/: "index.html" */
	const char *content_type; /* from its extension */
	const unsigned char *data;
	size_t len;
};

extern const struct web_asset web_assets[];
extern const size_t web_assets_len;

/* The asset called name, or NULL. */
const struct web_asset *web_asset_find(const char *name);

#endif
