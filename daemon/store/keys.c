#include "store/keys.h"

#include "xalloc.h"

char *keys_contact_prefix(const char *site)
{
	return xasprintf("sb:{%s}:contact:", site);
}

char *keys_queue_prefix(const char *site)
{
	return xasprintf("sb:{%s}:queue:", site);
}

char *keys_agent_prefix(const char *site)
{
	return xasprintf("sb:{%s}:agent:", site);
}

char *keys_external_prefix(const char *site)
{
	return xasprintf("sb:{%s}:ext:", site);
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
