/* array.c -- numpy arrays as vp_images: shapes, strides and checks, and
 * numpy's C API table (PY_ARRAY_UNIQUE_SYMBOL) for the whole binding. */
#define VPY_IMPORT_ARRAY
#include "binding.h"

#include <stdio.h>

int vpy_import_numpy(void)
{
    import_array1(-1);
    return 0;
}

/* The array's shape as text, for error messages. */
static void shape_text(PyArrayObject *a, char *buf, size_t cap)
{
    size_t n = 0;
    int nd = PyArray_NDIM(a);

    n += (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < nd && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%zd", i ? ", " : "",
                              (Py_ssize_t)PyArray_DIM(a, i));
    if (n < cap)
        snprintf(buf + n, cap - n, "%s)", nd == 1 ? "," : "");
}

int vpy_fmt_of(PyObject *name, enum vp_pixfmt *fmt)
{
    const char *n;

    *fmt = VP_PIX_NONE;
    if (!name || name == Py_None)
        return 0;
    if (!(n = PyUnicode_AsUTF8(name)))
        return -1;
    if (!(*fmt = vp_pixfmt_parse(n))) {
        PyErr_Format(PyExc_ValueError,
                     "fmt %R: expected bgr24, rgb24, gray, yuv420p, nv12 or "
                     "yuyv422",
                     name);
        return -1;
    }
    return 0;
}

int vpy_dims(enum vp_pixfmt fmt, uint32_t w, uint32_t h, npy_intp *d)
{
    d[0] = h;
    d[1] = w;
    switch (fmt) {
    case VP_PIX_GRAY:
        return 2;
    case VP_PIX_YUV420P:
    case VP_PIX_NV12:
        d[0] = (npy_intp)h * 3 / 2; /* the planes, one under the other */
        return 2;
    case VP_PIX_YUYV422:
        d[2] = 2;
        return 3;
    default:
        d[2] = 3;
        return 3;
    }
}

int vpy_view_strides(const struct vp_image *img, npy_intp *s)
{
    uint32_t h = img->height;

    s[0] = img->stride[0];
    s[1] = img->fmt == VP_PIX_GRAY || img->nplanes > 1
               ? 1
               : vp_pixfmt_bpp(img->fmt);
    s[2] = 1;
    /* Planes stacked as rows of the first plane's stride: yuv420p's
     * chroma rows are half as long, so only a tight one stacks. */
    if (img->fmt == VP_PIX_NV12)
        return img->stride[1] == img->stride[0] &&
                       img->data[1] == img->data[0] + (size_t)img->stride[0] * h
                   ? 0
                   : -1;
    if (img->fmt == VP_PIX_YUV420P)
        return img->stride[0] == img->width &&
                       img->data[1] == img->data[0] + (size_t)img->width * h &&
                       img->stride[1] == img->width / 2 &&
                       img->data[2] ==
                           img->data[1] + (size_t)img->width / 2 * (h / 2) &&
                       img->stride[2] == img->width / 2
                   ? 0
                   : -1;
    return 0;
}

/* What an array of fmt must look like, for messages. */
static const char *want_of(enum vp_pixfmt fmt)
{
    switch (fmt) {
    case VP_PIX_NONE:
        return "a numpy uint8 array of shape (height, width, 3) for bgr24 or "
               "(height, width) for gray, its pixels packed in each row";
    case VP_PIX_GRAY:
        return "a numpy uint8 array of shape (height, width), its pixels "
               "packed in each row";
    case VP_PIX_YUV420P:
        return "a numpy uint8 array of shape (height * 3 / 2, width), the Y, "
               "U and V planes one after another with no padding, height and "
               "width even";
    case VP_PIX_NV12:
        return "a numpy uint8 array of shape (height * 3 / 2, width), the Y "
               "plane then the U V rows, height and width even";
    case VP_PIX_YUYV422:
        return "a numpy uint8 array of shape (height, width, 2), its pixels "
               "packed in each row, width even";
    default:
        return "a numpy uint8 array of shape (height, width, 3), its pixels "
               "packed in each row";
    }
}

int vpy_image_of(PyObject *obj, const char *what, enum vp_pixfmt fmt,
                 struct vp_image *img)
{
    const char *want = want_of(fmt);
    PyArrayObject *a;
    char shape[96];

    if (!PyArray_Check(obj)) {
        PyErr_Format(PyExc_ValueError, "%s: expected %s, got %s", what, want,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    a = (PyArrayObject *)obj;
    shape_text(a, shape, sizeof shape);
    int nd = PyArray_NDIM(a);
    npy_intp ch = nd == 3 ? PyArray_DIM(a, 2) : 1;
    if (fmt == VP_PIX_NONE)
        fmt = ch == 3 ? VP_PIX_BGR24 : VP_PIX_GRAY;
    npy_intp want_dims[3] = {0, 0, 1};
    int want_nd = vpy_dims(fmt, 2, 2, want_dims);
    bool two_d = want_nd == 2;
    if (PyArray_TYPE(a) != NPY_UINT8 ||
        !(nd == want_nd || (two_d && nd == 3 && ch == 1)) ||
        (nd == 3 && !two_d && ch != want_dims[2])) {
        PyErr_Format(PyExc_ValueError, "%s: expected %s, got %s %s", what, want,
                     PyArray_DESCR(a)->typeobj->tp_name, shape);
        return -1;
    }
    npy_intp rows = PyArray_DIM(a, 0), w = PyArray_DIM(a, 1);
    npy_intp h =
        fmt == VP_PIX_YUV420P || fmt == VP_PIX_NV12 ? rows * 2 / 3 : rows;
    npy_intp *s = PyArray_STRIDES(a);
    if (h != rows && h * 3 != rows * 2) {
        PyErr_Format(PyExc_ValueError,
                     "%s: expected %s; %s has no such "
                     "number of rows",
                     what, want, shape);
        return -1;
    }
    if (h < 1 || w < 1 || h > VP_DIM_MAX || w > VP_DIM_MAX) {
        PyErr_Format(PyExc_ValueError, "%s: %s is not 1..%d pixels a side",
                     what, shape, VP_DIM_MAX);
        return -1;
    }
    /* Packed pixels, rows one after another (a crop of a wider picture
     * is fine: its rows are just further apart). */
    npy_intp px = two_d ? 1 : want_dims[2];
    if ((nd == 3 && s[2] != 1) || s[1] != px || s[0] < w * px ||
        s[0] > UINT32_MAX || (fmt == VP_PIX_YUV420P && s[0] != w)) {
        PyErr_Format(PyExc_ValueError,
                     "%s: expected %s; this %s array is not (use "
                     "numpy.ascontiguousarray)",
                     what, want, shape);
        return -1;
    }
    if (!vp_image_layout(img, (uint32_t)w, (uint32_t)h, fmt, (uint32_t)s[0],
                         PyArray_DATA(a))) {
        PyErr_Format(PyExc_ValueError, "%s: %s is not a size of %s%s", what,
                     shape, vp_pixfmt_name(fmt),
                     fmt == VP_PIX_YUYV422 ? " (an even width)"
                     : fmt == VP_PIX_YUV420P || fmt == VP_PIX_NV12
                         ? " (an even width and height)"
                         : "");
        return -1;
    }
    return 0;
}
