/* test_subs.c -- the subscription table: thousands of entries, its
 * bounds, what each connection is charged, removal, matching. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "transport/subs.h"

/* subs_add() as one number: 1 a new entry, 0 one there already, or the
 * -errno. */
static int add(struct subs *t, const char *prefix, size_t len, int conn)
{
    bool added;
    int rc = subs_add(t, prefix, len, conn, &added);
    return rc < 0 ? rc : added;
}
static size_t name(char *buf, size_t cap, const char *kind, unsigned i)
{
    return (size_t)snprintf(buf, cap, "%s/absent%u/", kind, i);
}

static void test_thousands(void **state)
{
    (void)state;
    struct subs *t = subs_new(20000, 0);
    char b[64], topic[64];

    assert_non_null(t);
    for (unsigned i = 0; i < 10000; i++) {
        size_t l = name(b, sizeof b, i % 2 ? "raw" : "shm", i);
        assert_int_equal(add(t, b, l, 7), 1);
    }
    assert_int_equal(subs_count(t), 10000);
    assert_int_equal(subs_conn_count(t, 7), 10000);
    /* Again: known, not charged twice. */
    assert_int_equal(add(t, "raw/absent1/", 12, 8), 0);
    assert_int_equal(subs_conn_count(t, 8), 0);
    for (unsigned i = 0; i < 10000; i++) {
        name(b, sizeof b, i % 2 ? "raw" : "shm", i);
        size_t tl = (size_t)snprintf(topic, sizeof topic, "%s", b);
        assert_true(subs_match(t, topic, tl));
    }
    /* The closing '/' keeps absent1 from matching absent10... */
    assert_false(subs_match(t, "raw/absent10000/", 16));
    assert_false(subs_match(t, "jpg/absent1/", 12));
    assert_false(subs_match(t, "raw/absent2/", 12)); /* even: shm only */
    /* Remove every third, and everything else is still found. */
    for (unsigned i = 0; i < 10000; i += 3) {
        size_t l = name(b, sizeof b, i % 2 ? "raw" : "shm", i);
        assert_true(subs_remove(t, b, l));
        assert_false(subs_remove(t, b, l));
    }
    for (unsigned i = 0; i < 10000; i++) {
        size_t l = name(b, sizeof b, i % 2 ? "raw" : "shm", i);
        assert_int_equal(subs_match(t, b, l), i % 3 != 0);
    }
    assert_int_equal(subs_count(t), 10000 - 3334);
    assert_int_equal(subs_conn_count(t, 7), 10000 - 3334);
    subs_free(t);
}

static void test_prefixes(void **state)
{
    (void)state;
    struct subs *t = subs_new(16, 0);

    assert_non_null(t);
    assert_false(subs_match(t, "raw/cam1/", 9));
    assert_int_equal(add(t, "raw/", 4, 3), 1);
    assert_true(subs_match(t, "raw/cam1/", 9));
    assert_true(subs_match(t, "raw/", 4));
    assert_false(subs_match(t, "raw", 3)); /* longer than the topic */
    assert_false(subs_match(t, "shm/cam1/", 9));
    assert_true(subs_overlap(t, "raw/cam1/", 9)); /* raw/ selects it */
    assert_true(subs_overlap(t, "r", 1));         /* raw/ starts with it */
    assert_false(subs_overlap(t, "shm/", 4));
    assert_true(subs_remove(t, "raw/", 4));
    assert_false(subs_match(t, "raw/cam1/", 9));
    /* The empty prefix is everything. */
    assert_int_equal(add(t, "", 0, 3), 1);
    assert_true(subs_match(t, "jpg/x/", 6));
    assert_true(subs_remove(t, "", 0));
    assert_false(subs_match(t, "jpg/x/", 6));
    /* Longer than any topic can be: refused as meaningless. */
    char big[SUBS_PREFIX_MAX + 1];
    memset(big, 'a', sizeof big);
    assert_int_equal(add(t, big, sizeof big, 3), -EINVAL);
    assert_int_equal(add(t, big, SUBS_PREFIX_MAX, 3), 1);
    assert_true(subs_match(t, big, sizeof big));
    subs_free(t);
}

static void test_bounds(void **state)
{
    (void)state;
    struct subs *t = subs_new(100, 30);
    char b[64];

    assert_non_null(t);
    /* Connection 5 floods: 30 taken, the rest refused for it alone. */
    for (unsigned i = 0; i < 1000; i++) {
        size_t l = name(b, sizeof b, "junk", i);
        assert_int_equal(add(t, b, l, 5), i < 30 ? 1 : -EDQUOT);
    }
    assert_int_equal(subs_conn_count(t, 5), 30);
    /* A prefix connection 5 already made costs it nothing. */
    name(b, sizeof b, "junk", 3);
    assert_int_equal(add(t, b, strlen(b), 5), 0);
    /* Others still get in... */
    assert_int_equal(add(t, "shm/live/", 9, 6), 1);
    assert_int_equal(subs_conn_count(t, 6), 1);
    /* ...up to the total, whichever connection asks. */
    for (unsigned i = 0; i < 69; i++) {
        size_t l = name(b, sizeof b, "other", i);
        assert_int_equal(add(t, b, l, 100 + (int)i / 20), 1);
    }
    assert_int_equal(subs_count(t), 100);
    assert_int_equal(add(t, "raw/new/", 8, 200), -ENOSPC);
    assert_int_equal(add(t, "raw/new/", 8, -1), -ENOSPC);
    /* Removal credits the connection that made the entry. */
    name(b, sizeof b, "junk", 0);
    assert_true(subs_remove(t, b, strlen(b)));
    assert_int_equal(subs_conn_count(t, 5), 29);
    assert_int_equal(add(t, "raw/new/", 8, 200), 1);
    assert_int_equal(subs_conn_count(t, 200), 1);
    /* An unknown connection (-1) is bounded by the total only. */
    assert_true(subs_remove(t, "raw/new/", 8));
    assert_int_equal(add(t, "raw/new/", 8, -1), 1);
    assert_int_equal(subs_count(t), 100);
    subs_free(t);
}

/* Removing entries in every order keeps the others reachable (the
 * backward shift of open addressing, across the table's wrap). */
static void test_churn(void **state)
{
    (void)state;
    struct subs *t = subs_new(4096, 0);
    char b[64];
    unsigned x = 1;

    assert_non_null(t);
    for (unsigned round = 0; round < 20; round++) {
        for (unsigned i = 0; i < 500; i++) {
            x = x * 1103515245 + 12345;
            size_t l = name(b, sizeof b, "c", x % 2000);
            int rc = add(t, b, l, (int)(x % 7));
            assert_true(rc == 0 || rc == 1);
            x = x * 1103515245 + 12345;
            l = name(b, sizeof b, "c", x % 2000);
            subs_remove(t, b, l);
        }
        unsigned n = 0, per = 0;
        for (unsigned i = 0; i < 2000; i++) {
            size_t l = name(b, sizeof b, "c", i);
            n += subs_match(t, b, l);
        }
        for (int c = 0; c < 7; c++)
            per += subs_conn_count(t, c);
        assert_int_equal(n, subs_count(t));
        assert_int_equal(per, subs_count(t));
    }
    subs_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thousands),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
