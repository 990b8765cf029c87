/* test_fault.c -- fault points: the VIDPIPE_FAULTS grammar, counting
 * every Nth pass, and steps read from a FIFO. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/fault.h"

static const char *why;

static void test_nothing_armed(void **state)
{
    (void)state;
    assert_int_equal(fault_parse("", &why), 0);
    assert_false(fault_any);
    for (int p = 0; p < FAULT_POINTS; p++) {
        assert_false(FAULT(p));
        assert_false(FAULT_EVERY(p));
        assert_null(fault_arg(p));
    }
    assert_int_equal(fault_step(FAULT_CAPTURE_STEP, 0), -ENOENT);
}

static void test_grammar(void **state)
{
    (void)state;
    assert_int_equal(
        fault_parse("copy_torn=3,exit_stop,display_step=/x/y", &why), 0);
    assert_true(fault_any);
    assert_true(FAULT(FAULT_COPY_TORN));
    assert_true(FAULT(FAULT_EXIT_STOP));
    assert_true(FAULT(FAULT_DISPLAY_STEP));
    assert_false(FAULT(FAULT_CAPTURE_STEP));
    assert_string_equal(fault_arg(FAULT_COPY_TORN), "3");
    assert_string_equal(fault_arg(FAULT_DISPLAY_STEP), "/x/y");
    assert_string_equal(fault_arg(FAULT_EXIT_STOP), "");
    /* Empty entries are nothing. */
    assert_int_equal(fault_parse(",pace_trace,,", &why), 0);
    assert_true(FAULT(FAULT_PACE_TRACE));
    assert_false(FAULT(FAULT_COPY_TORN));

    const char *bad[] = {
        "nosuch",       "copy_torn=0",       "copy_torn=x",
        "copy_torn=-1", "copy_torn=2000000", "exit_stop=1",
        "capture_step", "capture_step=",     "copy_torn,bogus=1",
        "COPY_TORN",    "copy_torn =2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        assert_int_equal(fault_parse(bad[i], &why), -EINVAL);
        assert_non_null(why);
        /* A bad spec arms nothing, not even its good part. */
        assert_false(fault_any);
        assert_false(FAULT(FAULT_COPY_TORN));
    }
}

static void test_every_nth(void **state)
{
    (void)state;
    assert_int_equal(fault_parse("copy_torn=3", &why), 0);
    int hits = 0;
    for (int i = 1; i <= 12; i++) {
        bool hit = FAULT_EVERY(FAULT_COPY_TORN);
        assert_true(hit == (i % 3 == 0));
        hits += hit;
    }
    assert_int_equal(hits, 4);
    /* No value: every pass. */
    assert_int_equal(fault_parse("copy_torn", &why), 0);
    for (int i = 0; i < 5; i++)
        assert_true(FAULT_EVERY(FAULT_COPY_TORN));
    /* Not armed: never. */
    assert_false(FAULT_EVERY(FAULT_EXIT_STOP));
}

static void test_steps(void **state)
{
    (void)state;
    char path[64], spec[96];
    snprintf(path, sizeof path, "/tmp/vidpipe-test-fault-%d", (int)getpid());
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(spec, sizeof spec, "capture_step=%s", path);
    assert_int_equal(fault_parse(spec, &why), 0);
    /* No step yet: none taken, at once or after a wait. */
    assert_int_equal(fault_step(FAULT_CAPTURE_STEP, 0), -EAGAIN);
    assert_int_equal(fault_step(FAULT_CAPTURE_STEP, 10), -EAGAIN);
    int w = open(path, O_WRONLY | O_NONBLOCK);
    assert_true(w >= 0);
    assert_int_equal(write(w, "sss", 3), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(fault_step(FAULT_CAPTURE_STEP, 1000), 0);
    assert_int_equal(fault_step(FAULT_CAPTURE_STEP, 0), -EAGAIN);
    /* The writer gone is no end: the point keeps its FIFO open. */
    close(w);
    assert_int_equal(fault_step(FAULT_CAPTURE_STEP, 10), -EAGAIN);
    unlink(path);

    /* A path that is not there: an error, said once, every time. */
    assert_int_equal(fault_parse("display_step=/nonexistent/fifo", &why), 0);
    assert_int_equal(fault_step(FAULT_DISPLAY_STEP, 0), -EBADF);
    assert_int_equal(fault_step(FAULT_DISPLAY_STEP, 0), -EBADF);
    assert_int_equal(fault_parse("", &why), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_armed),
        cmocka_unit_test(test_grammar),
        cmocka_unit_test(test_every_nth),
        cmocka_unit_test(test_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
