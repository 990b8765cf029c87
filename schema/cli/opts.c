/* opts.c -- the options the programs share, their --help, and the stats
 * report. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/fault.h"
#include "util/log.h"

/* Ids of the shared long-only options (programs' own start at 256). */
enum {
    OPT_VARIANT = 200,
    OPT_RING,
    OPT_NO_SHM,
    OPT_CURVE_SECRET,
    OPT_CURVE_ALLOW,
    OPT_CURVE_SERVER_KEY,
    OPT_CURVE_CLIENT_SECRET,
    OPT_STATS_JSON,
    OPT_MAX_SUBS,
    OPT_MAX_SUBS_PER_CLIENT,
    OPT_CURVE_ALLOW_PUBLISHERS,
};

#define MAX_OPTS 48
#define HELP_COL 23

/* The shared options, with the flag that enables each. */
static const struct {
    unsigned flag;
    struct cli_opt opt;
} shared[] = {
    {CLI_INPUT, {"input", 'i', "EP", "publisher to connect to"}},
    {CLI_OUTPUT,
     {"output", 'o', "EP",
      "tcp://HOST:PORT or ipc://PATH to "
      "bind, or - for a frame\nstream on "
      "stdout"}},
    {CLI_STREAM, {"stream", 's', "NAME", "stream name"}},
    {CLI_VARIANT,
     {"variant", OPT_VARIANT, "V",
      "raw (default), jpeg or h264: the variant of the stream\nto ask the "
      "publisher for"}},
    {CLI_FRAMES, {"frames", 'n', "N", "exit 0 after N frames"}},
    {CLI_RING,
     {"ring", OPT_RING, "N", "shared-memory ring slots (2..64, default 8)"}},
    {CLI_NO_SHM,
     {"no-shm", OPT_NO_SHM, NULL,
      "never use shared memory (payloads over "
      "ZeroMQ)"}},
    {CLI_CURVE_SERVER | CLI_CURVE_CLIENT,
     {"curve-secret", OPT_CURVE_SECRET, "FILE",
      "encrypt with CURVE; FILE is this process's .key"}},
    {CLI_CURVE_SERVER,
     {"curve-allow", OPT_CURVE_ALLOW, "DIR",
      "with --curve-secret: let in only clients whose .pub\nis in DIR "
      "(docs/GATEWAY.md)"}},
    {CLI_CURVE_CLIENT,
     {"curve-server-key", OPT_CURVE_SERVER_KEY, "FILE",
      "the publisher's .pub: use CURVE (once for every -i it\nconnects to, "
      "or once per such -i in order; with\n--curve-secret)"}},
    {CLI_CURVE_LISTEN,
     {"curve-allow-publishers", OPT_CURVE_ALLOW_PUBLISHERS, "DIR",
      "with --curve-secret: let only publishers whose .pub\nis in DIR dial "
      "in to a bound input (refusals counted)"}},
    {CLI_CURVE_CLIENT_SECRET,
     {"curve-client-secret", OPT_CURVE_CLIENT_SECRET, "FILE",
      "the .key to use on -i instead of --curve-secret's\n"
      "(docs/GATEWAY.md)"}},
    {CLI_MAX_SUBS,
     {"max-subs", OPT_MAX_SUBS, "N",
      "subscriptions kept for all clients (default 4096);\none past it is "
      "refused and counted (subs_refused)"}},
    {CLI_MAX_SUBS,
     {"max-subs-per-client", OPT_MAX_SUBS_PER_CLIENT, "N",
      "subscriptions one connection may add (default 1024)"}},
    {CLI_STATS,
     {"stats-json", OPT_STATS_JSON, NULL,
      "print a JSON stats line a second on stderr"}},
    {CLI_STATS,
     {"quiet", 'q', NULL,
      "no status line, no information lines: warnings and\nerrors only"}},
};

/* The shared option's text as prog words it. */
static struct cli_opt worded(const struct cli_prog *p, struct cli_opt o)
{
    const char *arg = NULL, *help = NULL;
    switch (o.id) {
    case 'i':
        arg = p->input_arg, help = p->input_help;
        break;
    case 'o':
        arg = p->output_arg, help = p->output_help;
        break;
    case 's':
        help = p->stream_help;
        break;
    case OPT_VARIANT:
        help = p->variant_help;
        break;
    case 'n':
        help = p->frames_help;
        break;
    case OPT_CURVE_SERVER_KEY:
        help = p->curve_key_help;
        break;
    }
    if (arg)
        o.arg = arg;
    if (help)
        o.help = help;
    return o;
}

static void help_line(FILE *f, const struct cli_opt *o)
{
    char left[64];
    int n;

    if (o->id < 128 && o->id > ' ')
        n = snprintf(left, sizeof left, "  -%c, --%s%s%s", o->id, o->name,
                     o->arg ? " " : "", o->arg ? o->arg : "");
    else
        n = snprintf(left, sizeof left, "      --%s%s%s", o->name,
                     o->arg ? " " : "", o->arg ? o->arg : "");
    if (n >= HELP_COL - 1)
        fprintf(f, "%s\n%*s", left, HELP_COL, "");
    else
        fprintf(f, "%-*s", HELP_COL, left);
    for (const char *h = o->help; *h; h++) {
        fputc(*h, f);
        if (*h == '\n')
            fprintf(f, "%*s", HELP_COL, "");
    }
    fputc('\n', f);
}

void cli_help(const struct cli_prog *p, FILE *f)
{
    fprintf(f, "usage: %s %s\n%s\n\n", p->name, p->usage, p->about);
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) {
        if (!(p->common & shared[i].flag))
            continue;
        struct cli_opt o = worded(p, shared[i].opt);
        help_line(f, &o);
        /* A program's own options go after the shared input/output. */
        if (o.id == 'o' || (o.id == 'i' && !(p->common & CLI_OUTPUT)))
            for (const struct cli_opt *q = p->opts; q && q->name; q++)
                help_line(f, q);
    }
    if (!(p->common & (CLI_INPUT | CLI_OUTPUT)))
        for (const struct cli_opt *q = p->opts; q && q->name; q++)
            help_line(f, q);
    help_line(f, &(struct cli_opt){"help", 'h', NULL, "this help"});
    help_line(f, &(struct cli_opt){"version", 'V', NULL, "print the version"});
    if (p->epilog)
        fprintf(f, "%s", p->epilog);
}

/* Adds o to the getopt tables. */
static void add(struct option *lo, unsigned *n, char *so, size_t *sn,
                const struct cli_opt *o)
{
    lo[*n] = (struct option){o->name, o->arg ? required_argument : no_argument,
                             0, o->id};
    ++*n;
    if (o->id < 128 && o->id > ' ') {
        so[(*sn)++] = (char)o->id;
        if (o->arg)
            so[(*sn)++] = ':';
    }
}

/* True if id is a shared option prog takes. */
static bool is_shared(const struct cli_prog *p, int id)
{
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++)
        if (shared[i].opt.id == id && (p->common & shared[i].flag))
            return true;
    return false;
}

/* Takes a shared option; 0, 1 if id is not one prog takes, or -1 after
 * logging. */
static int take_shared(const struct cli_prog *p, struct cli_common *c, int id,
                       const char *arg)
{
    uint64_t u;

    if (!is_shared(p, id))
        return 1;
    switch (id) {
    case 'i':
        if (c->ninputs == 1 && !(p->common & CLI_INPUTS)) {
            log_err("at most 1 input");
            return -1;
        }
        c->inputs[c->ninputs++] = arg; /* room: see cli_parse() */
        return 0;
    case 'o':
        c->output = arg;
        return 0;
    case 's':
        if (!vp_stream_name_ok(arg)) {
            log_err("--stream %s: use 1..63 of A-Z a-z 0-9 _ . -", arg);
            return -1;
        }
        c->stream = arg;
        return 0;
    case OPT_VARIANT:
        if (cli_codec("--variant", arg, &c->variant) < 0)
            return -1;
        c->variant_set = true;
        return 0;
    case 'n':
        if (cli_uint(arg, 1, UINT64_MAX, &c->frames) < 0) {
            log_err("--frames %s: expected a positive integer", arg);
            return -1;
        }
        return 0;
    case OPT_RING:
        if (cli_uint(arg, 2, 64, &u) < 0) {
            log_err("--ring %s: expected 2..64", arg);
            return -1;
        }
        c->ring_slots = (unsigned)u;
        c->ring_set = true;
        return 0;
    case OPT_NO_SHM:
        c->no_shm = true;
        return 0;
    case OPT_CURVE_SECRET:
        c->curve_secret = arg;
        return 0;
    case OPT_CURVE_ALLOW:
        c->curve_allow = arg;
        return 0;
    case OPT_CURVE_SERVER_KEY:
        c->curve_servers[c->ncurve_servers++] = arg;
        return 0;
    case OPT_CURVE_ALLOW_PUBLISHERS:
        c->curve_allow_publishers = arg;
        return 0;
    case OPT_CURVE_CLIENT_SECRET:
        c->curve_client_secret = arg;
        return 0;
    case OPT_STATS_JSON:
        c->stats_json = true;
        return 0;
    case OPT_MAX_SUBS:
    case OPT_MAX_SUBS_PER_CLIENT:
        if (cli_uint(arg, 1, 1000000, &u) < 0) {
            log_err("--%s %s: expected 1..1000000",
                    id == OPT_MAX_SUBS ? "max-subs" : "max-subs-per-client",
                    arg);
            return -1;
        }
        *(id == OPT_MAX_SUBS ? &c->max_subs : &c->max_subs_per_client) =
            (unsigned)u;
        return 0;
    case 'q':
        c->quiet = true;
        vp_log_quiet(true);
        return 0;
    default:
        return 1; /* not a shared one */
    }
}

/* The CURVE pairs: a secret key with what it is for, in one place and
 * with one message.  An output (server) needs --curve-secret with
 * --curve-allow; an input (client) --curve-server-key with a secret key,
 * --curve-secret's or --curve-client-secret's.  0, or -1 after logging. */
static int curve_check(const struct cli_prog *p, const struct cli_common *c)
{
    bool server = p->common & CLI_CURVE_SERVER;
    bool client = p->common & CLI_CURVE_CLIENT;
    const char *client_key =
        c->curve_client_secret ? c->curve_client_secret : c->curve_secret;

    /* Bound inputs use the inputs' key, as connected ones do. */
    bool secret_used =
        c->curve_allow || ((c->ncurve_servers || c->curve_allow_publishers) &&
                           !c->curve_client_secret);
    bool client_used = c->ncurve_servers || c->curve_allow_publishers;

    if (!(c->curve_allow && !c->curve_secret) &&
        !(client_used && !client_key) &&
        !(c->curve_client_secret && !client_used) &&
        !(c->curve_secret && !secret_used))
        return 0;
    log_err("CURVE options go in pairs: %s%s%s%s (docs/GATEWAY.md)",
            server ? "--curve-secret with --curve-allow (to encrypt -o)" : "",
            server && client ? "; " : "",
            !client ? ""
            : p->common & CLI_CURVE_CLIENT_SECRET
                ? "--curve-server-key with --curve-secret or "
                  "--curve-client-secret (to encrypt -i)"
            : p->common & CLI_INPUTS || !(p->common & CLI_CURVE_SERVER)
                ? "--curve-server-key with --curve-secret (to encrypt -i)"
                : "--curve-server-key with --curve-secret (to encrypt -o "
                  "connect:)",
            p->common & CLI_CURVE_LISTEN
                ? "; --curve-allow-publishers with --curve-secret (to encrypt "
                  "--listen)"
                : "");
    return -1;
}

int cli_parse(const struct cli_prog *p, int argc, char **argv,
              struct cli_common *c)
{
    struct option lo[MAX_OPTS + 1];
    char so[2 * MAX_OPTS + 2];
    unsigned n = 0;
    size_t sn = 0;
    int id;

    /* argv bounds how many -i and --curve-server-key there are: room for
     * all of them, and a default input, kept (reachable) until the next
     * call. */
    static const char **room;
    free(room);
    if (!(room = calloc(2 * ((size_t)argc + 1), sizeof *room))) {
        log_err("out of memory");
        return -1;
    }
    *c = (struct cli_common){.variant = VP_CODEC_RAW,
                             .ring_slots = 8,
                             .inputs = room,
                             .curve_servers = room + argc + 1};
    so[sn++] = ':'; /* a missing argument is ':', an unknown option '?' */
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++)
        if (p->common & shared[i].flag)
            add(lo, &n, so, &sn, &shared[i].opt);
    for (const struct cli_opt *q = p->opts; q && q->name && n < MAX_OPTS - 2;
         q++)
        add(lo, &n, so, &sn, q);
    add(lo, &n, so, &sn, &(struct cli_opt){"help", 'h', NULL, ""});
    add(lo, &n, so, &sn, &(struct cli_opt){"version", 'V', NULL, ""});
    lo[n] = (struct option){0, 0, 0, 0};
    so[sn] = 0;
    opterr = 0;
    while ((id = getopt_long(argc, argv, so, lo, NULL)) != -1) {
        if (id == 'h') {
            cli_help(p, stdout);
            exit(EXIT_OK);
        }
        if (id == 'V') {
            cli_version(p->name);
            exit(EXIT_OK);
        }
        if (id == '?' || id == ':') {
            const char *o = argv[optind - 1];
            if (id == ':')
                log_err("%s needs an argument (see --help)", o);
            else if (optopt && optopt < 128)
                log_err("unknown option -%c (see --help)", optopt);
            else
                log_err("unknown option %s (see --help)", o);
            return -1;
        }
        int rc = take_shared(p, c, id, optarg);
        if (rc == 1)
            rc = p->take ? p->take(p->ctx, id, optarg) : -1;
        if (rc < 0)
            return -1;
    }
    if (p->args && optind == argc) {
        log_err("%s is missing (see --help)", p->args);
        return -1;
    }
    c->args = argv + optind;
    if (optind + (p->args ? 1 : 0) < argc) {
        log_err("unexpected argument '%s' (see --help)",
                argv[optind + (p->args ? 1 : 0)]);
        return -1;
    }
    return curve_check(p, c);
}

void cli_no_effect(const char *opt, const char *why)
{
    log_warn("%s has no effect: %s", opt, why);
}

void cli_sub_opts(const struct cli_common *c, struct vp_sub_opts *o)
{
    vp_sub_opts_init(o);
    o->stream = c->stream;
    o->codec = c->variant;
    o->shm = c->no_shm ? VP_SHM_OFF : VP_SHM_AUTO;
    if (c->ncurve_servers || c->curve_allow_publishers) {
        o->curve_secret =
            c->curve_client_secret ? c->curve_client_secret : c->curve_secret;
        o->curve_server_keys = c->curve_servers;
        o->ncurve_server_keys = c->ncurve_servers;
        o->curve_allow = c->curve_allow_publishers;
    }
}

void cli_pub_opts(const struct cli_common *c, struct vp_pub_opts *o)
{
    vp_pub_opts_init(o);
    if (c->stream)
        o->stream = c->stream;
    o->ring_slots = c->ring_slots;
    o->no_shm = c->no_shm;
    if (c->max_subs)
        o->max_subs = c->max_subs;
    if (c->max_subs_per_client)
        o->max_subs_per_client = c->max_subs_per_client;
    if (c->curve_allow) {
        o->curve_secret = c->curve_secret;
        o->curve_allow = c->curve_allow;
    }
}

/* --- the report ---------------------------------------------------------- */

int cli_stats_add(vp_stats *st, const char *name, const uint64_t *v)
{
    int rc = vp_stats_add(st, name, v);
    if (rc < 0)
        log_warn("stats: no room for the counter %s: it is not reported", name);
    return rc;
}

int cli_stats_share(vp_stats *to, const vp_stats *from, const char *name)
{
    const uint64_t *v = vp_stats_ref(from, name);
    bool gauge = false;
    struct vp_stat f;

    if (!v)
        return -ENOENT;
    for (unsigned i = 0; i < vp_stats_count(from); i++)
        if (vp_stats_at(from, i, true, &f) == 0 && strcmp(f.name, name) == 0)
            gauge = f.type == VP_STAT_GAUGE;
    if (!gauge)
        return cli_stats_add(to, name, v);
    int rc = vp_stats_add_gauge(to, name, v);
    if (rc < 0)
        log_warn("stats: no room for the gauge %s: it is not reported", name);
    return rc;
}

void cli_report_init(struct cli_report *r, const char *prog, vp_stats *st,
                     const struct cli_common *c)
{
    r->prog = prog;
    r->st = st;
    r->json = c->stats_json;
    r->tty = !c->stats_json && !c->quiet && isatty(STDERR_FILENO);
}

static void print(struct cli_report *r, bool final)
{
    char line[2048];

    if (vp_stats_json(r->st, r->prog, final, r->json_line,
                      sizeof r->json_line) < 0)
        r->json_line[0] = 0;
    if (r->json && r->json_line[0])
        fprintf(stderr, "%s\n", r->json_line);
    if (r->tty && vp_stats_line(r->st, r->prog, final, line, sizeof line) > 0)
        fprintf(stderr, "\r%s\033[K%s", line, final ? "\n" : "");
}

bool cli_report_tick(struct cli_report *r)
{
    if (!vp_stats_tick(r->st))
        return false;
    print(r, false);
    return true;
}

void cli_report_final(struct cli_report *r)
{
    print(r, true);
    /* Fault exit_stop: a test reads what only a live process shows (its
     * peak RSS in /proc) before it goes (docs/TESTING.md). */
    if (FAULT(FAULT_EXIT_STOP)) {
        fflush(stderr);
        raise(SIGSTOP);
    }
}
