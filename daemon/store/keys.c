#include "store/keys.h"

#include "util/xalloc.h"

/* "sb:{site}:" + rest: every key of a site carries its hash tag. */
static char *keys_site(const char *site, const char *rest)
{
	return xasprintf("sb:{%s}:%s", site, rest);
}

char *keys_contact_prefix(const char *site) { return keys_site(site, "contact:"); }
char *keys_queue_prefix(const char *site) { return keys_site(site, "queue:"); }
char *keys_agent_prefix(const char *site) { return keys_site(site, "agent:"); }
char *keys_external_prefix(const char *site) { return keys_site(site, "ext:"); }
char *keys_events(const char *site) { return keys_site(site, "events"); }
char *keys_open(const char *site) { return keys_site(site, "open"); }
char *keys_leader(const char *site) { return keys_site(site, "leader"); }
char *keys_epoch(const char *site) { return keys_site(site, "epoch"); }
char *keys_commits(const char *site) { return keys_site(site, "commits"); }
char *keys_roster(const char *site) { return keys_site(site, "roster"); }
char *keys_figures(const char *site) { return keys_site(site, "wallboard"); }
char *keys_outcomes_prefix(const char *site) { return keys_site(site, "outcomes:"); }
