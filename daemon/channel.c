#include "channel.h"

#include <string.h>

static const char *const channel_names[SB_CH_COUNT] = { "voice", "chat", "email", "social" };

const char *channel_name(enum sb_channel ch)
{
	return (unsigned)ch < SB_CH_COUNT ? channel_names[ch] : "?";
}

int channel_parse(const char *name)
{
	for (int i = 0; i < SB_CH_COUNT; i++)
		if (strcmp(name, channel_names[i]) == 0)
			return i;
	return -1;
}

int channel_from_wire(int wire)
{
	return wire >= 1 && wire <= SB_CH_COUNT ? wire - 1 : -1;
}

int channel_to_wire(enum sb_channel ch)
{
	return (int)ch + 1;
}
