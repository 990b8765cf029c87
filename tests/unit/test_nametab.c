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

    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "cam%d", i);
        added[i] = item_new(name, i);
        assert_int_equal(nametab_add(&t, added[i]), 0);
    }
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
