/* test_cli.c -- command-line number and size parsing, signals. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"

static void uint_ok(const char *s, uint64_t min, uint64_t max, uint64_t want)
{
    uint64_t v = 12345;
    if (cli_uint(s, min, max, &v) != 0)
        fail_msg("cli_uint(\"%s\") rejected", s);
    assert_true(v == want);
}

static void uint_bad(const char *s, uint64_t min, uint64_t max)
{
    uint64_t v = 12345;
    if (cli_uint(s, min, max, &v) != -EINVAL)
        fail_msg("cli_uint(\"%s\", %llu, %llu) accepted: %llu", s ? s : "NULL",
                 (unsigned long long)min, (unsigned long long)max,
                 (unsigned long long)v);
    assert_true(v == 12345); /* untouched on failure */
}

static void test_uint(void **state)
{
    (void)state;
    uint_ok("0", 0, 10, 0);
    uint_ok("10", 0, 10, 10);
    uint_ok("1", 1, 1, 1);
    uint_ok("007", 0, 10, 7);
    uint_ok("18446744073709551615", 0, UINT64_MAX, UINT64_MAX);
    uint_bad("0", 1, 10);
    uint_bad("11", 0, 10);
    uint_bad("18446744073709551616", 0, UINT64_MAX);
    uint_bad("99999999999999999999999", 0, UINT64_MAX);
    uint_bad("", 0, 10);
    uint_bad(NULL, 0, 10);
    uint_bad("-1", 0, UINT64_MAX);
    uint_bad("+1", 0, 10);
    uint_bad("1a", 0, 100);
    uint_bad("0x10", 0, 100);
    uint_bad("1.0", 0, 100);
    uint_bad("1 ", 0, 100);
    uint_bad("1e3", 0, 10000);
}

/* strtoull skips leading blanks and then accepts a sign: " -1" must not
 * slip past the sign check as 2^64 - 1 (e.g. --frames " -1"). */
static void test_uint_blank_sign(void **state)
{
    (void)state;
    uint_bad(" -1", 1, UINT64_MAX);
    uint_bad("\t-5", 0, UINT64_MAX);
    uint_bad(" +5", 0, 10);
}

static void dbl_ok(const char *s, double min, double max, double want)
{
    double v = -7;
    if (cli_double(s, min, max, &v) != 0)
        fail_msg("cli_double(\"%s\") rejected", s);
    assert_true(v == want);
}

static void dbl_bad(const char *s, double min, double max)
{
    double v = -7;
    if (cli_double(s, min, max, &v) != -EINVAL)
        fail_msg("cli_double(\"%s\", %g, %g) accepted: %g", s ? s : "NULL", min,
                 max, v);
    assert_true(v == -7);
}

static void test_double(void **state)
{
    (void)state;
    dbl_ok("30", 0, 1000, 30);
    dbl_ok("29.97", 0, 1000, 29.97);
    dbl_ok("0", 0, 1000, 0);
    dbl_ok("1000", 0, 1000, 1000);
    dbl_ok("1e3", 0, 1000, 1000);
    dbl_ok("0.001", 0.001, 1e6, 0.001);
    dbl_ok(".5", 0, 1, 0.5);
    dbl_bad("1000.0001", 0, 1000);
    dbl_bad("0.0009", 0.001, 1e6);
    dbl_bad("-1", 0, 1000);
    dbl_bad("", 0, 1000);
    dbl_bad(NULL, 0, 1000);
    dbl_bad("nan", 0, 1000);
    dbl_bad("NaN", -1e9, 1e9);
    dbl_bad("inf", 0, 1e308);
    dbl_bad("-inf", -1e308, 0);
    dbl_bad("1e400", 0, 1e308);
    dbl_bad("30fps", 0, 1000);
    dbl_bad("30 ", 0, 1000);
    dbl_bad("3,5", 0, 1000);
}

static void size_ok(const char *s, uint32_t w, uint32_t h)
{
    uint32_t a = 7, b = 7;
    if (cli_size(s, &a, &b) != 0)
        fail_msg("cli_size(\"%s\") rejected", s);
    assert_int_equal(a, w);
    assert_int_equal(b, h);
}

static void size_bad(const char *s)
{
    uint32_t a = 7, b = 7;
    if (cli_size(s, &a, &b) != -EINVAL)
        fail_msg("cli_size(\"%s\") accepted: %ux%u", s, a, b);
    assert_int_equal(a, 7);
    assert_int_equal(b, 7);
}

static void test_size(void **state)
{
    (void)state;
    char s[64];

    size_ok("640x480", 640, 480);
    size_ok("1x1", 1, 1);
    size_ok("16384x16384", 16384, 16384);
    size_ok("0640x0480", 640, 480);
    size_bad("16385x1");
    size_bad("1x16385");
    size_bad("0x480");
    size_bad("640x0");
    size_bad("x480");
    size_bad("640x");
    size_bad("640");
    size_bad("");
    size_bad("x");
    size_bad("640X480");
    size_bad("640*480");
    size_bad("640x480x2");
    size_bad("-640x480");
    size_bad("640x-480");
    size_bad("640 x480");
    size_bad("640x480 ");
    size_bad("4294967936x480"); /* 2^32 + 640 must not wrap */
    memset(s, '1', 40);
    strcpy(s + 40, "x1");
    size_bad(s);
    memset(s, '0', 40);
    strcpy(s + 40, "1x1"); /* long but small: rejected by length */
    size_bad(s);
}

static void test_signals(void **state)
{
    (void)state;
    cli_signals();
    cli_stop = 0;
    raise(SIGINT);
    assert_int_equal(cli_stop, 1);
    cli_stop = 0;
    raise(SIGTERM);
    assert_int_equal(cli_stop, 1);
    cli_stop = 0;
    raise(SIGPIPE); /* ignored: we are still here */
    assert_int_equal(cli_stop, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uint),    cmocka_unit_test(test_uint_blank_sign),
        cmocka_unit_test(test_double),  cmocka_unit_test(test_size),
        cmocka_unit_test(test_signals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
