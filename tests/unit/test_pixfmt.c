/* test_pixfmt.c -- unit tests of pixel-format geometry (FRAME.md 2). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "contract/pixfmt.h"

static void test_names(void **state)
{
    (void)state;
    static const struct {
        enum pixfmt f;
        const char *name;
        unsigned bpp;
    } fm[] = {{PIXFMT_BGR24, "bgr24", 3}, {PIXFMT_RGB24, "rgb24", 3},
              {PIXFMT_GRAY, "gray", 1},   {PIXFMT_YUV420P, "yuv420p", 0},
              {PIXFMT_NV12, "nv12", 0},   {PIXFMT_YUYV422, "yuyv422", 2}};

    for (size_t i = 0; i < sizeof fm / sizeof fm[0]; i++) {
        assert_string_equal(pixfmt_name(fm[i].f), fm[i].name);
        assert_int_equal(pixfmt_parse(fm[i].name), fm[i].f);
        assert_int_equal(pixfmt_bpp(fm[i].f), fm[i].bpp);
    }
    assert_null(pixfmt_name(PIXFMT_NONE));
    assert_null(pixfmt_name((enum pixfmt)(PIXFMT_LAST + 1)));
    assert_null(pixfmt_name((enum pixfmt) - 1));
    assert_int_equal(pixfmt_bpp(PIXFMT_NONE), 0);
    assert_int_equal(pixfmt_bpp((enum pixfmt)77), 0);
    assert_int_equal(pixfmt_parse(""), PIXFMT_NONE);
    assert_int_equal(pixfmt_parse("BGR24"), PIXFMT_NONE);
    assert_int_equal(pixfmt_parse("bgr"), PIXFMT_NONE);
    assert_int_equal(pixfmt_parse("bgr24 "), PIXFMT_NONE);
    assert_int_equal(pixfmt_parse("yuv422p"), PIXFMT_NONE);
}

/* The raw size is stride * h only for one-plane formats: yuv420p and nv12
 * add half as much again for chroma. */
static void test_size(void **state)
{
    (void)state;
    assert_int_equal(pixfmt_size(PIXFMT_BGR24, 480, 1920), 1920 * 480);
    assert_int_equal(pixfmt_size(PIXFMT_GRAY, 3, 7), 21);
    assert_int_equal(pixfmt_size(PIXFMT_YUYV422, 2, 8), 16);
    assert_int_equal(pixfmt_size(PIXFMT_YUV420P, 480, 640), 640 * 480 * 3 / 2);
    assert_int_equal(pixfmt_size(PIXFMT_NV12, 480, 640), 640 * 480 * 3 / 2);
    assert_int_equal(pixfmt_size(PIXFMT_NONE, 480, 640), 0);
    /* No 32-bit overflow at the limits. */
    assert_int_equal(
        pixfmt_size(PIXFMT_YUV420P, PIXFMT_DIM_MAX, PIXFMT_STRIDE_MAX),
        (uint64_t)PIXFMT_STRIDE_MAX * PIXFMT_DIM_MAX * 3 / 2);
}

/* The layout rule of FRAME.md 2, plane by plane. */
static void test_planes(void **state)
{
    struct pixfmt_planes pl;
    const char *why;
    (void)state;

    pixfmt_planes(PIXFMT_YUV420P, 6, 4, 8, &pl);
    assert_int_equal(pl.n, 3);
    assert_int_equal(pl.offset[1], 32);
    assert_int_equal(pl.offset[2], 32 + 8);
    assert_int_equal(pl.stride[1], 4);
    assert_int_equal(pl.rows[2], 2);
    assert_int_equal(pl.row_bytes[1], 3);
    assert_int_equal(pixfmt_size(PIXFMT_YUV420P, 4, 8), 48);

    pixfmt_planes(PIXFMT_NV12, 6, 4, 8, &pl);
    assert_int_equal(pl.n, 2);
    assert_int_equal(pl.offset[1], 32);
    assert_int_equal(pl.stride[1], 8);
    assert_int_equal(pl.row_bytes[1], 6);
    assert_int_equal(pl.rows[1], 2);
    assert_int_equal(pixfmt_size(PIXFMT_NV12, 4, 8), 48);

    pixfmt_planes(PIXFMT_YUYV422, 6, 3, 12, &pl);
    assert_int_equal(pl.n, 1);
    assert_int_equal(pl.row_bytes[0], 12);
    assert_int_equal(pixfmt_size(PIXFMT_YUYV422, 3, 12), 36);

    pixfmt_planes(PIXFMT_BGR24, 5, 3, 16, &pl);
    assert_int_equal(pl.n, 1);
    assert_int_equal(pl.row_bytes[0], 15);
    assert_int_equal(pixfmt_size(PIXFMT_BGR24, 3, 16), 48);

    assert_int_equal(pixfmt_min_stride(PIXFMT_YUV420P, 6), 6);
    assert_int_equal(pixfmt_min_stride(PIXFMT_YUYV422, 6), 12);
    assert_int_equal(pixfmt_min_stride(PIXFMT_NONE, 6), 0);
    assert_int_equal(pixfmt_geometry(PIXFMT_YUV420P, 16384, 16384, 65536, &why),
                     0);
    assert_int_equal(pixfmt_geometry(PIXFMT_YUV420P, 6, 4, 7, &why), -EINVAL);
    assert_int_equal(pixfmt_geometry(PIXFMT_NV12, 6, 3, 6, &why), -EINVAL);
    assert_int_equal(pixfmt_geometry(PIXFMT_NV12, 6, 4, 7, &why),
                     0); /* UV rows of 7 */
    assert_int_equal(pixfmt_geometry(PIXFMT_YUYV422, 5, 3, 10, &why), -EINVAL);
    assert_int_equal(pixfmt_geometry(PIXFMT_YUYV422, 6, 3, 12, &why), 0);
    assert_int_equal(pixfmt_geometry(PIXFMT_GRAY, 5, 3, 5, &why), 0);
    assert_int_equal(pixfmt_geometry(PIXFMT_NONE, 5, 3, 5, &why), -EINVAL);
}

/* The ranges pixfmt_geometry() enforces, at their edges. */
static void test_geometry_limits(void **state)
{
    const char *why = NULL;
    (void)state;
    assert_int_equal(pixfmt_geometry(PIXFMT_BGR24, 1, 1, 3, &why), 0);
    assert_int_equal(pixfmt_geometry(PIXFMT_BGR24, PIXFMT_DIM_MAX, 1,
                                     PIXFMT_DIM_MAX * 3, &why),
                     0);
    assert_int_equal(pixfmt_geometry(PIXFMT_GRAY, 0, 1, 1, &why), -EINVAL);
    assert_int_equal(pixfmt_geometry(PIXFMT_GRAY, 1, 0, 1, &why), -EINVAL);
    assert_int_equal(pixfmt_geometry(PIXFMT_GRAY, PIXFMT_DIM_MAX + 1, 1,
                                     PIXFMT_DIM_MAX + 1, &why),
                     -EINVAL);
    assert_int_equal(pixfmt_geometry(PIXFMT_BGR24, 4, 1, 11, &why), -EINVAL);
    assert_int_equal(
        pixfmt_geometry(PIXFMT_GRAY, 4, 1, PIXFMT_STRIDE_MAX, &why), 0);
    assert_int_equal(
        pixfmt_geometry(PIXFMT_GRAY, 4, 1, PIXFMT_STRIDE_MAX + 1, &why),
        -EINVAL);
    assert_int_equal(pixfmt_geometry(PIXFMT_YUV420P, 3, 2, 4, &why), -EINVAL);
    assert_string_equal(why, "yuv420p and nv12 need an even width and height");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_planes),
        cmocka_unit_test(test_geometry_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
