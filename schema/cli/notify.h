/* notify.h -- telling a service manager how a program is doing.
 *
 * Under systemd (Type=notify, WatchdogSec=) a program says when it is
 * ready, feeds the watchdog from its main loop, and says when it stops,
 * with sd_notify(3) from libsystemd: datagrams to $NOTIFY_SOCKET.  With
 * that variable unset (not started by a notify-aware supervisor) every
 * call does nothing.  Main thread only: the watchdog is fed from the loop
 * whose progress it vouches for, so a loop that stops stops feeding it.
 */
#ifndef VIDPIPE_CLI_NOTIFY_H
#define VIDPIPE_CLI_NOTIFY_H

/* READY=1, with a STATUS= line made of fmt: once the program's endpoints
 * are open and its loop is about to run.  Reads $WATCHDOG_USEC. */
void cli_notify_ready(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Call on every pass of the main loop: sends WATCHDOG=1 at the first
 * pass, then every half of $WATCHDOG_USEC.  One clock read otherwise. */
void cli_notify_watchdog(void);

/* STOPPING=1: the loop has ended and the program is shutting down. */
void cli_notify_stopping(void);

#endif
