/* systemd's service notification protocol (sd_notify(3)), spoken directly:
 * one datagram of "KEY=value" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or '@' for the abstract namespace). The only file
 * that knows this protocol. Without $NOTIFY_SOCKET (not run by systemd, or
 * not Type=notify) every call is a no-op, so the daemon runs the same from a
 * terminal, a test or a unit.
 *
 * Failures to send are logged once per kind and otherwise ignored: a daemon
 * must not stop routing because its supervisor's socket went away. */
#ifndef SB_SDNOTIFY_H
#define SB_SDNOTIFY_H

#include <stdint.h>

struct event_base;
struct sdnotify_loop;

/* Sends msg (newline-separated assignments) as one datagram. Returns 1 when
 * sent, 0 when $NOTIFY_SOCKET is unset, -1 on error (errno set). */
int sdnotify_send(const char *msg);

/* READY=1: start-up (or a reload) is complete. */
void sdnotify_ready(void);
/* RELOADING=1 with MONOTONIC_USEC: a reload has begun; follow with
 * sdnotify_ready() when it is over, whatever its outcome. */
void sdnotify_reloading(void);
/* STOPPING=1: the drain has begun. */
void sdnotify_stopping(void);
/* STATUS=<text>, shown by `systemctl status`. Sent only when the text
 * differs from the last one sent, so callers may call it freely. */
void sdnotify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The watchdog interval systemd asks for, in microseconds: $WATCHDOG_USEC
 * when set, positive, and (if $WATCHDOG_PID is set) meant for this
 * process; 0 otherwise. */
uint64_t sdnotify_watchdog_usec(void);

/* Called on each tick of the notification timer: refreshes the status line
 * (typically with sdnotify_status). */
typedef void (*sdnotify_tick_fn)(void *arg);

/* Starts a timer on the daemon's own loop that sends WATCHDOG=1 at half the
 * watchdog interval (so a stuck loop is noticed by systemd) and calls tick
 * to refresh the status. Without a watchdog it still ticks, every
 * SDNOTIFY_STATUS_MS, for the status. Returns NULL, doing nothing, when
 * $NOTIFY_SOCKET is unset. Owner: the caller, released with
 * sdnotify_loop_free (NULL is fine). */
struct sdnotify_loop *sdnotify_loop_start(struct event_base *base, sdnotify_tick_fn tick,
					  void *arg);
void sdnotify_loop_free(struct sdnotify_loop *l);

#define SDNOTIFY_STATUS_MS 5000

#endif
