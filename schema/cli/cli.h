/* cli.h -- what every vidpipe program's command line shares: the options
 * several programs take, parsed (and their --help written) by one piece
 * of code; number parsing; signals; exit statuses; and the stats report
 * (--stats-json lines and the terminal's status line).
 *
 * Program-side code: it uses the public API (vidpipe.h) and nothing of
 * the library's insides.
 */
#ifndef VIDPIPE_CLI_H
#define VIDPIPE_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vidpipe.h"

/* Exit statuses (README "Exit status"). */
enum {
    EXIT_OK = 0,      /* done, or stopped by SIGINT/SIGTERM, or input ended */
    EXIT_RUNTIME = 1, /* a runtime failure: e.g. --timeout expired */
    EXIT_USAGE = 2,   /* bad arguments, or a source/sink/endpoint unusable */
};

/* The shared options a program takes. */
enum {
    CLI_INPUT = 1 << 0,                /* -i (repeatable with CLI_INPUTS) */
    CLI_INPUTS = 1 << 1,               /* -i may be given any number of times */
    CLI_OUTPUT = 1 << 2,               /* -o */
    CLI_STREAM = 1 << 3,               /* -s, --stream NAME */
    CLI_VARIANT = 1 << 4,              /* --variant raw|jpeg|h264 */
    CLI_FRAMES = 1 << 5,               /* -n, --frames N */
    CLI_RING = 1 << 6,                 /* --ring N */
    CLI_NO_SHM = 1 << 7,               /* --no-shm */
    CLI_CURVE_SERVER = 1 << 8,         /* --curve-secret, --curve-allow */
    CLI_CURVE_CLIENT = 1 << 9,         /* --curve-server-key, --curve-secret */
    CLI_STATS = 1 << 10,               /* --stats-json, -q/--quiet */
    CLI_CURVE_CLIENT_SECRET = 1 << 11, /* --curve-client-secret (a relay) */
    CLI_MAX_SUBS = 1 << 12,     /* --max-subs N, --max-subs-per-client N */
    CLI_CURVE_LISTEN = 1 << 13, /* --curve-allow-publishers (bound inputs) */
};

/* What the shared options said; defaults where they were not given.  The
 * arrays have room for one more than given (a program's default input)
 * and are valid until the next cli_parse(). */
struct cli_common {
    const char **inputs;
    unsigned ninputs;
    const char *output;
    const char *stream;
    enum vp_codec variant; /* the payload to ask the publisher for */
    bool variant_set;
    uint64_t frames; /* 0: no limit */
    unsigned ring_slots;
    bool ring_set;
    bool no_shm;
    const char *curve_secret, *curve_allow, *curve_client_secret;
    const char *curve_allow_publishers; /* for bound inputs */
    const char **curve_servers;
    unsigned ncurve_servers;
    bool stats_json, quiet;
    unsigned max_subs, max_subs_per_client; /* 0: the library's default */
    char **args; /* the positional arguments prog->args asked for */
};

/* One option of a program's own: id is its short letter, or a value from
 * 256 up for a long-only one. */
struct cli_opt {
    const char *name;
    int id;
    const char *arg;  /* the argument's name, or NULL for a flag */
    const char *help; /* lines after the first start with "\n" */
};

/* A program's command line. */
struct cli_prog {
    const char *name;  /* "vidpipe-capture" */
    const char *usage; /* after the name: "[-i SOURCE] [-o EP] [options]" */
    const char *about; /* what it does, a sentence or two */
    unsigned common;   /* the CLI_* options it takes */
    /* Its own words for the shared options that mean something of its
     * own (NULL: the shared text). */
    const char *input_arg, *input_help, *output_arg, *output_help;
    const char *stream_help, *variant_help, *frames_help, *curve_key_help;
    const struct cli_opt *opts; /* its own, ending with {0} */
    /* Takes one of its own options; 0, or -1 after logging why. */
    int (*take)(void *ctx, int id, const char *arg);
    void *ctx;
    const char *epilog; /* printed after the options, or NULL */
    const char *args;   /* one positional argument of this name, or NULL */
};

/* Parses argv: the shared options into c (defaults first), the program's
 * own through prog->take, and refuses a trailing argument.  The CURVE
 * options are checked here, for every program: a secret key goes with
 * --curve-allow (an output) or --curve-server-key (an input), and neither
 * works alone.  -h prints the help and -V the version on stdout and exit
 * 0.  0, or -1 after logging one line (exit EXIT_USAGE then). */
int cli_parse(const struct cli_prog *prog, int argc, char **argv,
              struct cli_common *c);

/* Prints the help of prog on f. */
void cli_help(const struct cli_prog *prog, FILE *f);

/* Warns that option opt has no effect, and why (a flag given where it
 * does nothing is never silent). */
void cli_no_effect(const char *opt, const char *why);

/* The subscriber and publisher options the shared ones give. */
void cli_sub_opts(const struct cli_common *c, struct vp_sub_opts *o);
void cli_pub_opts(const struct cli_common *c, struct vp_pub_opts *o);

/* Set by SIGINT and SIGTERM. */
extern volatile sig_atomic_t cli_stop;

/* Installs the SIGINT/SIGTERM handler (without SA_RESTART, so blocking
 * calls return EINTR) and ignores SIGPIPE (writes then fail with EPIPE). */
void cli_signals(void);

/* Keeps the memory of freed frames for the next ones.  Frames arrive in
 * buffers libzmq allocates per message, megabytes each, and frees once
 * they are handed on; glibc would give that memory back to the kernel
 * at once and fault it in again, a page at a time, for the next frame
 * (5 % of a relay's I/O thread at 1080p).  Kept, it is reused: memory
 * stays at the most the process has needed.  For programs, not for a
 * library's callers: it sets the process's malloc policy. */
void cli_keep_frame_memory(void);
/* Gives the free heap back to the system (malloc_trim): for a process
 * that kept it (above) after what needed it has gone for good, such as
 * a relay's clients that left. */
void cli_give_back_memory(void);

/* Parses an unsigned integer in [min, max]; 0 or -EINVAL. */
int cli_uint(const char *s, uint64_t min, uint64_t max, uint64_t *v);
/* Parses a positive number (e.g. fps, seconds) up to max; 0 or -EINVAL. */
int cli_double(const char *s, double min, double max, double *v);
/* Parses a bit rate: digits with an optional k or M (1000s), e.g. 4M,
 * 800k, 2500000, in [min, max] bit/s; 0 or -EINVAL. */
int cli_rate(const char *s, uint64_t min, uint64_t max, uint64_t *v);
/* Parses raw, jpeg or h264 given to option opt; 0, or -EINVAL after
 * logging why. */
int cli_codec(const char *opt, const char *s, enum vp_codec *c);
/* Parses "WxH" with each side 1..16384; 0 or -EINVAL. */
int cli_size(const char *s, uint32_t *w, uint32_t *h);

/* Prints "PROG VERSION" on stdout. */
void cli_version(const char *prog);

/* The once-a-second report of a vp_stats: with json, a --stats-json line
 * on stderr; otherwise, on a terminal, a status line.
 */
struct cli_report {
    const char *prog; /* the JSON "prog": "capture", "display", ... */
    vp_stats *st;
    bool json, tty;
    char json_line[2048]; /* the last report's JSON, printed or not */
};

/* vp_stats_add(), and a warning naming the counter if there is no room
 * for it (it is then not reported): 0 or -ENOSPC. */
int cli_stats_add(vp_stats *st, const char *name, const uint64_t *v);
/* Shows from's figure name (a counter or a gauge) in to's report too,
 * with the same warning: 0, -ENOENT (from has none) or -ENOSPC. */
int cli_stats_share(vp_stats *to, const vp_stats *from, const char *name);

void cli_report_init(struct cli_report *r, const char *prog, vp_stats *st,
                     const struct cli_common *c);
/* Call often: reports once a second, and then returns true (json_line
 * holds the report, for the relay's /metrics too). */
bool cli_report_tick(struct cli_report *r);
/* The final report (JSON "event":"exit", and a last status line). */
void cli_report_final(struct cli_report *r);

#endif
