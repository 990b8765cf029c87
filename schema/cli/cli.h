/* cli.h -- what every vidpipe program's command line shares: signals,
 * argument parsing helpers, and the exit statuses. */
#ifndef VIDPIPE_CLI_H
#define VIDPIPE_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Exit statuses (README "Exit status"). */
enum {
    EXIT_OK = 0,      /* done, or stopped by SIGINT/SIGTERM, or input ended */
    EXIT_RUNTIME = 1, /* a runtime failure: e.g. --timeout expired */
    EXIT_USAGE = 2,   /* bad arguments, or a source/sink/endpoint unusable */
};

/* Set by SIGINT and SIGTERM. */
extern volatile sig_atomic_t cli_stop;

/* Installs the SIGINT/SIGTERM handler (without SA_RESTART, so blocking
 * calls return EINTR) and ignores SIGPIPE (writes then fail with EPIPE). */
void cli_signals(void);

/* Parses an unsigned integer in [min, max]; 0 or -EINVAL. */
int cli_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v);
/* Parses a positive number (e.g. fps, seconds) up to max; 0 or -EINVAL. */
int cli_double(const char *s, double min, double max, double *v);
/* Parses "WxH" with each side 1..16384; 0 or -EINVAL. */
int cli_size(const char *s, uint32_t *w, uint32_t *h);

/* Prints "PROG VERSION" on stdout. */
void cli_version(const char *prog);

#endif
