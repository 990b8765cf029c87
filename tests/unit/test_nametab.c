/* test_nametab.c -- items found by name: many names, growth, collisions
 * and stable pointers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/nametab.h"

struct item {
    char name[64];
    int value;
};

static struct item *item_new(const char *name, int value)
{
    struct item *it = calloc(1, sizeof *it);
    assert_non_null(it);
    snprintf(it->name, sizeof it->name, "%s", name);
    it->value = value;
    return it;
}

/* Adds n items called cam0, cam1, ... with their index as value. */
static void fill(struct nametab *t, struct item **added, int n)
{
    char name[64];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "cam%d", i);
        added[i] = item_new(name, i);
        assert_int_equal(nametab_add(t, added[i]), 0);
    }
}

static void test_empty(void **state)
{
    (void)state;
    struct nametab t = {0};
    assert_null(nametab_find(&t, "cam0"));
    nametab_fini(&t);
    nametab_fini(&t); /* an empty table again */
}

/* Thousands of names: each found, in the order added, at the address it
 * was added at (growth moves no item); absent names are not found. */
static void test_many(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct nametab t = {0};
    static struct item *added[N];
    char name[64];

    fill(&t, added, N);
    assert_int_equal(t.n, N);
    assert_true(t.nslots >= 2 * t.n); /* at most half full */
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "cam%d", i);
        struct item *it = nametab_find(&t, name);
        assert_ptr_equal(it, added[i]);
        assert_int_equal(it->value, i);
        assert_ptr_equal(nametab_at(&t, (unsigned)i), added[i]);
    }
    assert_null(nametab_find(&t, "cam5000"));
    assert_null(nametab_find(&t, "cam"));
    assert_null(nametab_find(&t, ""));
    nametab_fini(&t);
    assert_int_equal(t.n, 0);
    assert_null(nametab_find(&t, "cam1"));
}

/* Names taken out: gone, the others still found at their addresses,
 * a name taken out can come back, and what is absent is not taken. */
static void test_del(void **state)
{
    (void)state;
    enum { N = 300 };
    struct nametab t = {0};
    static struct item *added[N];
    char name[64];

    fill(&t, added, N);
    assert_null(nametab_del(&t, "cam300"));
    for (int i = 0; i < N; i += 3) {
        snprintf(name, sizeof name, "cam%d", i);
        assert_ptr_equal(nametab_del(&t, name), added[i]);
        assert_null(nametab_del(&t, name));
        free(added[i]);
    }
    assert_int_equal(t.n, N - N / 3);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "cam%d", i);
        if (i % 3 == 0)
            assert_null(nametab_find(&t, name));
        else
            assert_ptr_equal(nametab_find(&t, name), added[i]);
    }
    struct item *back = item_new("cam0", -1);
    assert_int_equal(nametab_add(&t, back), 0);
    assert_ptr_equal(nametab_find(&t, "cam0"), back);
    assert_true(nametab_bytes(&t) > 0);
    nametab_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_del),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
