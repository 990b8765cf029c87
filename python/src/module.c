/* module.c -- vidpipe._vidpipe: the test pattern, the log, and the
 * module's types. */
#include "binding.h"

#include <stdio.h>

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

    if (vpy_import_numpy() < 0 || !(m = PyModule_Create(&module)))
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
