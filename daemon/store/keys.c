#include "store/keys.h"

#include "xalloc.h"

char *keys_contact(const char *site, const char *contact_id)
{
	return xasprintf("sb:{%s}:contact:%s", site, contact_id);
}

char *keys_contact_prefix(const char *site)
{
	return xasprintf("sb:{%s}:contact:", site);
}

char *keys_queue(const char *site, const char *queue)
{
	return xasprintf("sb:{%s}:queue:%s", site, queue);
}

char *keys_agent(const char *site, const char *agent_id)
{
	return xasprintf("sb:{%s}:agent:%s", site, agent_id);
}

/* Gateway ids cannot contain ':' (config validates them), so the first ':'
 * after the gateway id ends it whatever the external id holds. */
char *keys_external(const char *site, const char *gateway_id, const char *external_id)
{
	return xasprintf("sb:{%s}:ext:%s:%s", site, gateway_id, external_id);
}

char *keys_events(const char *site)
{
	return xasprintf("sb:{%s}:events", site);
}

char *keys_open(const char *site)
{
	return xasprintf("sb:{%s}:open", site);
}

char *keys_leader(const char *site)
{
	return xasprintf("sb:{%s}:leader", site);
}

char *keys_epoch(const char *site)
{
	return xasprintf("sb:{%s}:epoch", site);
}

char *keys_roster(const char *site)
{
	return xasprintf("sb:{%s}:roster", site);
}
