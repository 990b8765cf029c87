/* test_stats.c -- latency percentiles, drop accounting, the JSON report
 * and the figures one by one. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/stats.h"
#include "util/clock.h"
#include "vidpipe.h"

/* Bucket resolution: 32 buckets per power of two, so a reported value is
 * within 1/32 of the true one (midpoints: 1/64). */
static void assert_near(uint64_t got, uint64_t want, const char *what)
{
    double tol = (double)want / 32.0 + 1.0;
    if (fabs((double)got - (double)want) > tol)
        fail_msg("%s: got %llu, want %llu +- %.1f", what,
                 (unsigned long long)got, (unsigned long long)want, tol);
}

static struct vp_stats *new_stats(bool json)
{
    struct vp_stats *s = malloc(sizeof *s);
    assert_non_null(s);
    stats_init(s);
    (void)json;
    return s;
}

static void free_stats(struct vp_stats *s)
{
    stats_fini(s);
    free(s);
}

static void test_pct_empty(void **state)
{
    (void)state;
    struct vp_stats *s = new_stats(false);
    assert_int_equal(stats_hist_pct(&s->total, 50), 0);
    assert_int_equal(stats_hist_pct(&s->total, 99), 0);
    free_stats(s);
}

static void test_pct_exact_small(void **state)
{
    (void)state;
    struct vp_stats *s = new_stats(false);
    /* Below 32 us every value has its own bucket: exact. */
    for (uint64_t v = 1; v <= 31; v++)
        stats_latency(s, v);
    assert_int_equal(stats_hist_pct(&s->total, 0), 1);
    assert_int_equal(stats_hist_pct(&s->total, 50), 16);
    assert_int_equal(stats_hist_pct(&s->total, 100), 31);
    assert_int_equal(s->total.n, 31);
    assert_int_equal(s->total.max_us, 31);
    free_stats(s);
}

static void test_pct_uniform(void **state)
{
    (void)state;
    struct vp_stats *s = new_stats(false);
    for (uint64_t v = 1; v <= 100000; v++)
        stats_latency(s, v);
    assert_near(stats_hist_pct(&s->total, 50), 50000, "p50");
    assert_near(stats_hist_pct(&s->total, 90), 90000, "p90");
    assert_near(stats_hist_pct(&s->total, 99), 99000, "p99");
    assert_near(stats_hist_pct(&s->total, 1), 1000, "p1");
    assert_near(stats_hist_pct(&s->total, 100), 100000, "p100");
    assert_true(stats_hist_pct(&s->total, 100) <= 100000);
    /* Monotonic in p. */
    uint64_t last = 0;
    for (double p = 0; p <= 100; p += 0.5) {
        uint64_t v = stats_hist_pct(&s->total, p);
        assert_true(v >= last);
        last = v;
    }
    free_stats(s);
}

static void test_pct_bimodal(void **state)
{
    (void)state;
    struct vp_stats *s = new_stats(false);
    /* 98% at 2 ms, 2% at 250 ms: p50 is the body, p99 the tail. */
    for (int i = 0; i < 9800; i++)
        stats_latency(s, 2000);
    for (int i = 0; i < 200; i++)
        stats_latency(s, 250000);
    assert_near(stats_hist_pct(&s->total, 50), 2000, "p50");
    assert_near(stats_hist_pct(&s->total, 97), 2000, "p97");
    assert_near(stats_hist_pct(&s->total, 99), 250000, "p99");
    assert_near(stats_hist_pct(&s->total, 100), 250000, "p100");
    free_stats(s);
}

static void test_pct_constant_and_large(void **state)
{
    (void)state;
    struct vp_stats *s = new_stats(false);
    static const uint64_t vals[] = {32,      33,         63,        64,
                                    1000,    123456,     1048575,   1048576,
                                    7777777, 3000000000, 1ULL << 38};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        stats_fini(s);
        stats_init(s);
        for (int k = 0; k < 10; k++)
            stats_latency(s, vals[i]);
        uint64_t p = stats_hist_pct(&s->total, 50);
        assert_near(p, vals[i], "constant");
        assert_true(p <= vals[i]); /* never above the maximum seen */
    }
    /* Far beyond the last bucket: no crash, never above the max. */
    stats_fini(s);
    stats_init(s);
    stats_latency(s, UINT64_MAX / 2);
    assert_true(stats_hist_pct(&s->total, 50) <= UINT64_MAX / 2);
    free_stats(s);
}

static struct frame_hdr hdr(const char *stream, uint64_t seq)
{
    struct frame_hdr h;
    memset(&h, 0, sizeof h);
    h.version = 1;
    strcpy(h.stream, stream);
    h.seq = seq;
    h.t_real_ns = clock_real_ns();
    return h;
}

static void feed(struct vp_stats *s, const char *stream, uint64_t seq)
{
    struct frame_hdr h = hdr(stream, seq);
    stats_frame(s, &h, 100);
}

static void test_drops(void **state)
{
    (void)state;
    struct vp_stats *s = new_stats(false);

    feed(s, "a", 10); /* first frame of a stream: no drop */
    assert_int_equal(s->drops, 0);
    feed(s, "a", 11);
    feed(s, "a", 12);
    assert_int_equal(s->drops, 0);
    feed(s, "a", 14); /* 13 lost */
    assert_int_equal(s->drops, 1);
    feed(s, "a", 20); /* 15..19 lost */
    assert_int_equal(s->drops, 6);
    feed(s, "a", 20); /* duplicate: not a drop */
    assert_int_equal(s->drops, 6);
    assert_int_equal(s->frames, 6);
    assert_int_equal(s->bytes, 600);
    free_stats(s);
}

static void test_restart_not_drop(void **state)
{
    (void)state;
    struct vp_stats *s = new_stats(false);

    for (uint64_t q = 1000; q < 1010; q++)
        feed(s, "cam", q);
    feed(s, "cam", 0); /* producer restarted: seq goes back */
    assert_int_equal(s->drops, 0);
    feed(s, "cam", 1);
    feed(s, "cam", 2);
    assert_int_equal(s->drops, 0);
    feed(s, "cam", 4); /* a real gap after the restart */
    assert_int_equal(s->drops, 1);
    feed(s, "cam", 4 + 5000000); /* a huge jump: a new producer */
    assert_int_equal(s->drops, 1);
    free_stats(s);
}

static void test_streams_independent(void **state)
{
    (void)state;
    struct vp_stats *s = new_stats(false);

    /* Interleaved streams each count their own seq. */
    for (uint64_t q = 0; q < 50; q++) {
        feed(s, "left", q);
        feed(s, "right", 1000 + q);
    }
    assert_int_equal(s->drops, 0);
    feed(s, "right", 1052);
    assert_int_equal(s->drops, 2);
    feed(s, "left", 50);
    assert_int_equal(s->drops, 2);
    free_stats(s);
}

/* Hundreds of streams each count their own gaps; past max_streams the
 * frames still count, their gaps do not; a frame in two variants is one
 * frame, whichever variant comes first. */
static void test_many_streams(void **state)
{
    (void)state;
    struct vp_stats *s = new_stats(false);
    char name[16];

    for (int q = 1; q <= 3; q += 2)
        for (int i = 0; i < 1000; i++) {
            snprintf(name, sizeof name, "cam%d", i);
            feed(s, name, (uint64_t)q); /* 1, then 3: one lost each */
        }
    assert_int_equal(s->frames, 2000);
    assert_int_equal(s->drops, 1000);
    assert_int_equal(s->streams.n, 1000);
    free_stats(s);

    s = new_stats(false);
    s->max_streams = 4;
    for (int q = 1; q <= 3; q += 2)
        for (int i = 0; i < 10; i++) {
            snprintf(name, sizeof name, "cam%d", i);
            feed(s, name, (uint64_t)q);
        }
    assert_int_equal(s->frames, 20);
    assert_int_equal(s->drops, 4);
    assert_int_equal(s->streams.n, 4);
    free_stats(s);

    s = new_stats(false);
    for (uint64_t q = 1; q <= 4; q++)
        for (int i = 0; i < 100; i++) {
            snprintf(name, sizeof name, "cam%d", i);
            struct frame_hdr raw = hdr(name, q), jpg = raw;
            jpg.enc = ENC_JPEG;
            /* Either variant may come first. */
            stats_frame(s, q % 2 ? &raw : &jpg, 10);
            stats_frame(s, q % 2 ? &jpg : &raw, 10);
        }
    assert_int_equal(s->frames, 400);
    assert_int_equal(s->drops, 0);
    free_stats(s);
}

static void test_latency_from_frame(void **state)
{
    (void)state;
    struct vp_stats *s = new_stats(false);
    struct frame_hdr h = hdr("a", 1);

    h.t_real_ns = clock_real_ns() - 20000000; /* captured 20 ms ago */
    stats_frame(s, &h, 0);
    uint64_t p = stats_hist_pct(&s->total, 50);
    assert_true(p >= 19000 && p < 20000 + 500000);
    /* A capture time in the future counts as zero latency. */
    stats_fini(s);
    stats_init(s);
    h.t_real_ns = clock_real_ns() + 1000000000;
    stats_frame(s, &h, 0);
    assert_int_equal(stats_hist_pct(&s->total, 50), 0);
    free_stats(s);
}

static void assert_one_json_object(const char *out)
{
    size_t n = strlen(out);
    assert_true(n > 2);
    assert_int_equal(out[0], '{');
    assert_int_equal(out[n - 1], '}');
    assert_null(memchr(out, '\n', n));
}

static void test_json_report(void **state)
{
    (void)state;
    struct vp_stats *s = new_stats(true);
    uint64_t widgets = 17, gizmos = 0, v;
    char out[2048];

    assert_int_equal(vp_stats_add(s, "widgets", &widgets), 0);
    assert_int_equal(vp_stats_add(s, "gizmos", &gizmos), 0);
    feed(s, "a", 1);
    feed(s, "a", 2);
    feed(s, "a", 5);
    s->bad = 3;
    s->torn = 4;
    s->path = "shm";
    gizmos = 99; /* read at report time, not when added */
    assert_true(vp_stats_json(s, "test", true, out, sizeof out) > 0);
    assert_one_json_object(out);
    assert_non_null(strstr(out, "\"prog\":\"test\""));
    assert_non_null(strstr(out, "\"event\":\"exit\""));
    assert_non_null(strstr(out, "\"frames\":3,"));
    assert_non_null(strstr(out, "\"drops\":2,"));
    assert_non_null(strstr(out, "\"bad\":3,"));
    assert_non_null(strstr(out, "\"torn\":4,"));
    assert_non_null(strstr(out, "\"bytes\":300,"));
    assert_non_null(strstr(out, "\"path\":\"shm\""));
    assert_non_null(strstr(out, "\"lat_p50_us\":"));
    assert_non_null(strstr(out, "\"lat_p99_us\":"));
    assert_non_null(strstr(out, "\"fps\":"));
    assert_non_null(strstr(out, "\"widgets\":17"));
    assert_non_null(strstr(out, "\"gizmos\":99"));
    /* The same figures by name, and the status line. */
    assert_int_equal(vp_stats_get(s, "drops", &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(vp_stats_get(s, "gizmos", &v), 0);
    assert_int_equal(v, 99);
    assert_int_equal(vp_stats_get(s, "nonesuch", &v), -ENOENT);
    assert_ptr_equal(vp_stats_ref(s, "widgets"), &widgets);
    assert_true(vp_stats_line(s, "test", false, out, sizeof out) > 0);
    assert_non_null(strstr(out, "frames 3"));
    assert_non_null(strstr(out, "widgets 17"));
    /* Too small a buffer is refused, never overrun. */
    assert_int_equal(vp_stats_json(s, "test", true, out, 40), -ENOSPC);

    assert_false(vp_stats_tick(s)); /* not a second yet */
    s->tick_ns -= 2000000000;       /* pretend a second and more has passed */
    assert_true(vp_stats_tick(s));
    assert_false(vp_stats_tick(s)); /* and not again right away */
    assert_true(vp_stats_json(s, "test", false, out, sizeof out) > 0);
    assert_one_json_object(out);
    assert_non_null(strstr(out, "\"event\":\"tick\""));
    assert_non_null(strstr(out, "\"widgets\":17"));
    free_stats(s);
}

static void test_json_counter_limit(void **state)
{
    (void)state;
    struct vp_stats *s = new_stats(true);
    static uint64_t v[STATS_MAX_EXTRA + 1];
    static char names[STATS_MAX_EXTRA + 1][24];
    char out[4096];

    for (int i = 0; i <= STATS_MAX_EXTRA; i++) {
        snprintf(names[i], sizeof names[i], "extra_%d", i);
        v[i] = (uint64_t)i + 1000;
        assert_int_equal(vp_stats_add(s, names[i], &v[i]),
                         i < STATS_MAX_EXTRA ? 0 : -ENOSPC);
    }
    assert_true(vp_stats_json(s, "test", true, out, sizeof out) > 0);
    assert_one_json_object(out);
    char want[32];
    snprintf(want, sizeof want, "\"extra_%d\":%d", STATS_MAX_EXTRA - 1,
             STATS_MAX_EXTRA - 1 + 1000);
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof want, "\"extra_%d\"", STATS_MAX_EXTRA);
    assert_null(strstr(out, want)); /* beyond the limit: left out */
    free_stats(s);
}

/* Figure f as the JSON report writes it: "name":value. */
static void figure_json(const struct vp_stat *f, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "\"%s\":", f->name);
    switch (f->type) {
    case VP_STAT_COUNTER:
    case VP_STAT_GAUGE:
        snprintf(buf + n, cap - (size_t)n, "%llu", (unsigned long long)f->u);
        break;
    case VP_STAT_FLAG:
        assert_true(f->u <= 1);
        snprintf(buf + n, cap - (size_t)n, "%s", f->u ? "true" : "false");
        break;
    case VP_STAT_SECONDS:
        snprintf(buf + n, cap - (size_t)n, "%.3f", f->d);
        break;
    case VP_STAT_RATE:
        snprintf(buf + n, cap - (size_t)n, "%.2f", f->d);
        break;
    case VP_STAT_TEXT:
        assert_non_null(f->s);
        snprintf(buf + n, cap - (size_t)n, "\"%s\"", f->s);
        break;
    }
}

/* Every figure vp_stats_at() gives is in the JSON report, with the same
 * value, in the same order, and nothing else is but prog and event.
 * Times and rates until now (not a closed window's) move between the
 * two calls: only their names are compared (exact false). */
static void assert_figures_are_json(const struct vp_stats *s, bool final,
                                    bool exact)
{
    char out[2048], want[128];
    struct vp_stat f;

    assert_true(vp_stats_json(s, "test", final, out, sizeof out) > 0);
    const char *at = strstr(out, "\"event\":");
    assert_non_null(at);
    unsigned keys = 0;
    for (const char *p = out; (p = strstr(p, "\":")); p += 2)
        keys++;
    assert_int_equal(keys, vp_stats_count(s) + 2);
    for (unsigned i = 0; i < vp_stats_count(s); i++) {
        assert_int_equal(vp_stats_at(s, i, final, &f), 0);
        figure_json(&f, want, sizeof want);
        if (!exact && (f.type == VP_STAT_SECONDS || f.type == VP_STAT_RATE))
            strchr(want, ':')[1] = 0;
        const char *p = strstr(at, want);
        if (!p)
            fail_msg("%s not in order in %s", want, out);
        at = p + strlen(want);
    }
    assert_int_equal(vp_stats_at(s, vp_stats_count(s), final, &f), -ERANGE);
}

static void test_figures(void **state)
{
    (void)state;
    struct vp_stats *s = new_stats(true);
    uint64_t widgets = 17, v;
    struct vp_stat f;
    const char *fixed[] = {"t",          "uptime_s",   "frames",     "fps",
                           "lat_p50_us", "lat_p99_us", "lat_max_us", "drops",
                           "bad",        "torn",       "bytes",      "path",
                           "stalled"};
    const unsigned nfixed = sizeof fixed / sizeof fixed[0];

    assert_int_equal(vp_stats_count(s), nfixed);
    for (unsigned i = 0; i < nfixed; i++) {
        assert_int_equal(vp_stats_at(s, i, true, &f), 0);
        assert_string_equal(f.name, fixed[i]);
    }
    assert_int_equal(vp_stats_add(s, "widgets", &widgets), 0);
    assert_int_equal(vp_stats_count(s), nfixed + 1);
    feed(s, "a", 1);
    feed(s, "a", 4);
    s->bad = 3;
    s->path = "tcp";
    /* Before any window closed, and for the whole run. */
    assert_figures_are_json(s, false, false);
    assert_figures_are_json(s, true, false);

    assert_int_equal(vp_stats_at(s, nfixed, true, &f), 0);
    assert_string_equal(f.name, "widgets");
    assert_int_equal(f.type, VP_STAT_COUNTER);
    assert_int_equal(f.u, 17);
    widgets = 18; /* read when asked for */
    assert_int_equal(vp_stats_at(s, nfixed, false, &f), 0);
    assert_int_equal(f.u, 18);
    assert_int_equal(vp_stats_at(s, 2, true, &f), 0);
    assert_int_equal(f.type, VP_STAT_COUNTER);
    assert_int_equal(f.u, 2);
    assert_int_equal(vp_stats_at(s, 7, true, &f), 0);
    assert_string_equal(f.name, "drops");
    assert_int_equal(f.u, 2);
    assert_int_equal(vp_stats_at(s, 11, true, &f), 0);
    assert_int_equal(f.type, VP_STAT_TEXT);
    assert_string_equal(f.s, "tcp");

    /* The getter agrees, for the figures that are whole numbers. */
    for (unsigned i = 0; i < vp_stats_count(s); i++) {
        assert_int_equal(vp_stats_at(s, i, true, &f), 0);
        int rc = vp_stats_get(s, f.name, &v);
        if (f.type == VP_STAT_COUNTER || f.type == VP_STAT_GAUGE) {
            assert_int_equal(rc, 0);
            assert_int_equal(v, f.u);
        } else {
            assert_int_equal(rc, -ENOENT);
        }
    }
    free_stats(s);
}

/* A tick's figures describe its window as it closed: read later, they
 * are the same, so a copy taken after the JSON line was printed (the
 * relay's /metrics) shows that line's figures. */
static void test_figures_of_a_window(void **state)
{
    (void)state;
    struct vp_stats *s = new_stats(true);
    struct vp_stat f, g;
    char a[2048], b[2048];

    stats_latency(s, 5000); /* the first window: 5 ms */
    s->tick_ns -= 2000000000;
    assert_true(vp_stats_tick(s));
    assert_true(vp_stats_json(s, "test", false, a, sizeof a) > 0);
    struct vp_stat t0, up0;
    assert_int_equal(vp_stats_at(s, 0, false, &t0), 0);
    assert_int_equal(t0.type, VP_STAT_SECONDS);
    assert_int_equal(vp_stats_at(s, 1, false, &up0), 0);
    stats_latency(s, 100000); /* the next, still open: 100 ms */
    usleep(20000);
    assert_int_equal(vp_stats_at(s, 0, false, &f), 0);
    assert_true(f.d == t0.d);
    assert_int_equal(vp_stats_at(s, 1, false, &f), 0);
    assert_true(f.d == up0.d);
    assert_true(vp_stats_json(s, "test", false, b, sizeof b) > 0);
    assert_string_equal(a, b);
    assert_figures_are_json(s, false, true);
    assert_int_equal(vp_stats_at(s, 4, false, &g), 0);
    assert_string_equal(g.name, "lat_p50_us");
    assert_near(g.u, 5000, "the window's p50");
    /* The whole run's figures are until now, both windows in them. */
    assert_int_equal(vp_stats_at(s, 6, true, &g), 0);
    assert_near(g.u, 100000, "the run's max");
    assert_int_equal(vp_stats_at(s, 1, true, &g), 0);
    assert_true(g.d >= up0.d + 0.02); /* the run's uptime is until now */
    assert_figures_are_json(s, true, false);
    free_stats(s);
}

static void test_stalled(void **state)
{
    (void)state;
    struct vp_stats *s = new_stats(false);
    assert_false(stats_stalled(s));
    s->last_frame_ns -= STATS_STALL_NS + 1000000;
    assert_true(stats_stalled(s));
    feed(s, "a", 1);
    assert_false(stats_stalled(s));
    free_stats(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pct_empty),
        cmocka_unit_test(test_pct_exact_small),
        cmocka_unit_test(test_pct_uniform),
        cmocka_unit_test(test_pct_bimodal),
        cmocka_unit_test(test_pct_constant_and_large),
        cmocka_unit_test(test_drops),
        cmocka_unit_test(test_restart_not_drop),
        cmocka_unit_test(test_streams_independent),
        cmocka_unit_test(test_many_streams),
        cmocka_unit_test(test_latency_from_frame),
        cmocka_unit_test(test_json_report),
        cmocka_unit_test(test_json_counter_limit),
        cmocka_unit_test(test_figures),
        cmocka_unit_test(test_figures_of_a_window),
        cmocka_unit_test(test_stalled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
