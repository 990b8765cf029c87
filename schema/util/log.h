/* log.h -- one-line diagnostics on stderr, prefixed with the program name. */
#ifndef VIDPIPE_LOG_H
#define VIDPIPE_LOG_H

#include <stdbool.h>
#include <stdint.h>

/* Sets the prefix of every line (the program's name). */
void log_init(const char *prog);
/* Quiet: warnings and errors only, no information lines. */
void log_quiet(bool on);
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A once-a-second limiter for messages caused by outside input: the first
 * call in each second logs (saying how many were suppressed since). */
struct log_limit {
    int64_t last_ns;
    uint64_t suppressed;
};
void log_limited(struct log_limit *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
