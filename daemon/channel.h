/* The four contact channels. Their numbering matches the wire enum minus one,
 * so channel_from_wire/channel_to_wire are the only conversions needed. */
#ifndef SB_CHANNEL_H
#define SB_CHANNEL_H

enum sb_channel { SB_CH_VOICE, SB_CH_CHAT, SB_CH_EMAIL, SB_CH_SOCIAL, SB_CH_COUNT };

/* "voice", "chat", "email", "social". */
const char *channel_name(enum sb_channel ch);
/* Returns the channel for name, or -1. */
int channel_parse(const char *name);
/* Wire Channel number -> channel, or -1 for UNSPECIFIED/unknown. */
int channel_from_wire(int wire);
int channel_to_wire(enum sb_channel ch);

#endif
