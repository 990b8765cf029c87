/* module.c -- vidpipe._vidpipe: errors, locks, the test pattern, and the
 * module's types. */
#define VPY_IMPORT_ARRAY
#include "binding.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

PyObject *vpy_raise(int rc)
{
    const char *msg = vp_errmsg();
    PyObject *args, *exc;

    switch (rc) {
    case -EINVAL:
        PyErr_SetString(PyExc_ValueError, msg);
        return NULL;
    case -ENOMEM:
        PyErr_SetString(PyExc_MemoryError, msg);
        return NULL;
    case -ENODATA:
        PyErr_SetString(PyExc_EOFError, msg);
        return NULL;
    }
    /* OSError(errno, text) is the subclass for that errno. */
    if (!(args = Py_BuildValue("(is)", -rc, msg)))
        return NULL;
    exc = PyObject_Call(PyExc_OSError, args, NULL);
    Py_DECREF(args);
    if (exc) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

int vpy_lock(PyThread_type_lock lk)
{
    if (PyThread_acquire_lock(lk, NOWAIT_LOCK))
        return 0;
    for (;;) {
        PyLockStatus st;
        Py_BEGIN_ALLOW_THREADS
            st = PyThread_acquire_lock_timed(lk, SLICE_MS * 1000, 0);
        Py_END_ALLOW_THREADS
        if (st == PY_LOCK_ACQUIRED)
            return 0;
        if (PyErr_CheckSignals() < 0)
            return -1;
    }
}

PyObject *vpy_json(const char *text)
{
    static PyObject *loads;

    if (!loads) {
        PyObject *json = PyImport_ImportModule("json");
        if (!json)
            return NULL;
        loads = PyObject_GetAttrString(json, "loads");
        Py_DECREF(json);
        if (!loads)
            return NULL;
    }
    return PyObject_CallFunction(loads, "s", text);
}

int vpy_stats_text(vp_stats *st, bool final, bool line, char *buf, size_t cap)
{
    vp_stats_tick(st);
    int n = line ? vp_stats_line(st, "python", final, buf, cap)
                 : vp_stats_json(st, "python", final, buf, cap);
    return n < 0 ? n : 0;
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

static PyObject *pattern_seq(PyObject *mod, PyObject *args, PyObject *kw)
{
    static char *names[] = {"array", "fmt", NULL};
    PyObject *arr, *fo = Py_None;
    enum vp_pixfmt fmt;
    struct vp_image img;
    uint64_t seq;

    (void)mod;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:pattern_seq", names, &arr,
                                     &fo) ||
        vpy_fmt_of(fo, &fmt) < 0 ||
        vpy_image_of(arr, "pattern_seq", fmt, &img) < 0)
        return NULL;
    if (vp_pattern_read(&img, &seq) < 0)
        Py_RETURN_NONE; /* too small, or the cells do not decode */
    return PyLong_FromUnsignedLongLong(seq);
}

/* The arguments of pattern_draw() and pattern_update() (fn, whose
 * PyArg format is format): the image of a writable array, and seq. */
static int pattern_args(PyObject *args, PyObject *kw, const char *format,
                        const char *fn, struct vp_image *img,
                        unsigned long long *seq)
{
    static char *names[] = {"array", "seq", "fmt", NULL};
    PyObject *arr, *fo = Py_None;
    enum vp_pixfmt fmt;

    if (!PyArg_ParseTupleAndKeywords(args, kw, format, names, &arr, seq, &fo) ||
        vpy_fmt_of(fo, &fmt) < 0 || vpy_image_of(arr, fn, fmt, img) < 0)
        return -1;
    if (!PyArray_ISWRITEABLE((PyArrayObject *)arr)) {
        PyErr_Format(PyExc_ValueError, "%s: the array is read-only", fn);
        return -1;
    }
    return 0;
}

static PyObject *pattern_draw(PyObject *mod, PyObject *args, PyObject *kw)
{
    struct vp_image img;
    unsigned long long seq;

    (void)mod;
    if (pattern_args(args, kw, "OK|O:pattern_draw", "pattern_draw", &img,
                     &seq) < 0)
        return NULL;
    int rc = vp_pattern_draw(&img, seq);
    if (rc < 0)
        return vpy_raise(rc);
    Py_RETURN_NONE;
}

/* vp_pattern_update() where the array's picture reads back as a pattern
 * (True), else a drawing (False). */
static PyObject *pattern_update(PyObject *mod, PyObject *args, PyObject *kw)
{
    struct vp_image img;
    unsigned long long seq;
    uint64_t shown;

    (void)mod;
    if (pattern_args(args, kw, "OK|O:pattern_update", "pattern_update", &img,
                     &seq) < 0)
        return NULL;
    bool update = vp_pattern_read(&img, &shown) == 0;
    int rc = update ? vp_pattern_update(&img, seq) : vp_pattern_draw(&img, seq);
    if (rc < 0)
        return vpy_raise(rc);
    return PyBool_FromLong(update);
}

static PyObject *version(PyObject *mod, PyObject *unused)
{
    (void)mod, (void)unused;
    return PyUnicode_FromString(vp_version());
}

static PyObject *set_log(PyObject *mod, PyObject *args, PyObject *kw)
{
    static char *names[] = {"prefix", "quiet", NULL};
    static char prefix[64]; /* the library borrows it for good */
    const char *p = NULL;
    int quiet = -1;

    (void)mod;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|zp:set_log", names, &p,
                                     &quiet))
        return NULL;
    if (p) {
        snprintf(prefix, sizeof prefix, "%s", p);
        vp_log_prefix(prefix);
    }
    if (quiet >= 0)
        vp_log_quiet(quiet);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"pattern_seq", (PyCFunction)(void (*)(void))pattern_seq,
     METH_VARARGS | METH_KEYWORDS,
     "pattern_seq(array, fmt=None) -> int or None\n\nThe sequence number a "
     "test: frame shows in its pixels, or None if the picture has no "
     "readable code.  fmt None: bgr24 or gray, from the array's shape."},
    {"pattern_draw", (PyCFunction)(void (*)(void))pattern_draw,
     METH_VARARGS | METH_KEYWORDS,
     "pattern_draw(array, seq, fmt=None)\n\nDraws the test: picture of "
     "frame seq into a writable uint8 array (at least 64x48) of fmt (None: "
     "bgr24 or gray, from the array's shape)."},
    {"pattern_update", (PyCFunction)(void (*)(void))pattern_update,
     METH_VARARGS | METH_KEYWORDS,
     "pattern_update(array, seq, fmt=None) -> bool\n\npattern_draw() into "
     "an array that holds a picture pattern_draw() or pattern_update() "
     "made there (same shape and fmt, any seq: a loaned buffer lent again), "
     "writing only the bytes that change, about a quarter of the frame.  "
     "True if it did; False if the array's picture did not read back as a "
     "pattern and was drawn whole.  Given anything else that still reads "
     "back, what it leaves is not the pattern."},
    {"version", version, METH_NOARGS, "version() -> libvidpipe's version"},
    {"set_log", (PyCFunction)(void (*)(void))set_log,
     METH_VARARGS | METH_KEYWORDS,
     "set_log(prefix=None, quiet=None)\n\nThe prefix of the library's "
     "diagnostic lines on stderr, and whether information lines are "
     "left out (warnings and errors only)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "vidpipe._vidpipe",
    .m_doc = "The C side of the vidpipe package: see vidpipe and "
             "docs/PYTHON.md.",
    .m_size = -1,
    .m_methods = methods,
};

static int add_type(PyObject *m, PyTypeObject *t, const char *name)
{
    if (PyType_Ready(t) < 0)
        return -1;
    if (!name)
        return 0;
    Py_INCREF(t);
    if (PyModule_AddObject(m, name, (PyObject *)t) < 0) {
        Py_DECREF(t);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit__vidpipe(void)
{
    PyObject *m;

    import_array();
    if (!(m = PyModule_Create(&module)))
        return NULL;
    if (add_type(m, &VpyHold_Type, NULL) < 0 ||
        add_type(m, &VpyLoan_Type, NULL) < 0 ||
        add_type(m, &VpyFrame_Type, "Frame") < 0 ||
        add_type(m, &VpySub_Type, "Sub") < 0 ||
        add_type(m, &VpyPub_Type, "Pub") < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
