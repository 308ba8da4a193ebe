/* The supervisor's wallboard (docs/wallboard.md, docs/admin-api.md
 * "Wallboard"): the figures a wall display shows, kept beside the engine's.
 *
 * The engine keeps live figures and totals since start; the wallboard adds
 * what a wall needs and the engine has no reason to know: totals since local
 * midnight ("today", from the engine totals at midnight) and a sampled hour
 * of service level and waiting contacts per queue, both kept in Redis
 * across a restart (record/figures.h). The last SLA breaches
 * and expiries it shows are counted where they happen, with the metrics
 * (metrics_note).
 *
 * Owner: the admin module creates the one wallboard a server has
 * (wallboard_new), installs it and releases it (wallboard_free). */
#ifndef SB_WALLBOARD_H
#define SB_WALLBOARD_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

struct admin;
struct wallboard;
struct json_out;

/* Bounds: every ring has a fixed size. */
#define WALLBOARD_HISTORY 240        /* samples per queue: one hour ... */
#define WALLBOARD_SAMPLE_MS 15000    /* ... at one sample every 15 s */
/* "At risk" (amber): a waiting contact has used this share of its SLA
 * threshold (the whole rule: wallboard.c, wallboard_status). */
#define WALLBOARD_RISK_WAIT_PCT 80
/* Today's counts and the hour are saved in Redis this often, and read back
 * at start (record/figures.h); a crash loses at most this much of them. */
#define WALLBOARD_SAVE_MS 5000
#define WALLBOARD_SAVE_TTL_S (2 * 86400)

struct wallboard *wallboard_new(struct admin *adm, int64_t now);
void wallboard_free(struct wallboard *wb);

/* Rolls "today" over at local midnight and takes the history sample when
 * due; returns when it must next run. */
int64_t wallboard_tick(struct wallboard *wb, int64_t now);
/* The whole snapshot as one JSON object (docs/admin-api.md). */
void wallboard_write(struct wallboard *wb, struct json_out *j, int64_t now, size_t streams);
/* A cheap digest of what a viewer would see change (counts and states, not
 * clocks): a stream sends early when it moves. */
uint64_t wallboard_change_key(struct wallboard *wb);

#endif
