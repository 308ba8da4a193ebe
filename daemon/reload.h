/* Configuration reload (SIGHUP): the file is read and checked again; a valid
 * one is applied to the running daemon without dropping a contact or a
 * connection, an invalid one is refused with its errors logged and the old
 * one kept.
 *
 * Applying (router_reload) builds a new engine from the new configuration and
 * moves the live state into it — every contact where it stands (waiting in its place,
 * offered under the same offer id and expiry, held by its agent), every
 * agent's presence and state, each queue's SLA figures — then swaps it in.
 * A queue the new file removes keeps serving the contacts it holds (no new
 * ones) until they drain. Refused: removing an agent that holds contacts.
 * Kept from the running configuration, with a warning, because they need a
 * restart: site, listen addresses, redis.*, ha.*. */
#ifndef SB_RELOAD_H
#define SB_RELOAD_H

struct router;
struct sb_config;

/* Reads running's file again and applies it to r. Returns 0 when the new
 * configuration is in force: *installed is it, the caller's now (running
 * is no longer the router's and may be freed). Whatever a restart needs
 * is copied from running. The applied line names what changed
 * (config_diff). */
int reload_config(struct sb_config *running, struct router *r, struct sb_config **installed);

#endif
