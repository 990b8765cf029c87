/* sub.c -- Sub: a subscriber (vidpipe.Subscriber and StreamReader are
 * its Python faces).
 *
 * recv() waits with the GIL released, in slices of at most SLICE_MS with
 * the lock given back between them, so other threads may use the
 * subscriber meanwhile (stats(), close()) and Ctrl-C raises in time.
 */
#include "binding.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define MAX_URLS 64

/* The C close.  Frames still out stay valid until released (vidpipe.h):
 * the release lock keeps their releases out of the close. */
static void close_c(SubObject *s)
{
    vp_sub *sub = s->sub;

    s->sub = NULL;
    Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(s->release_lock, WAIT_LOCK);
        vp_sub_close(sub); /* joins the receiver: up to one slice */
        PyThread_release_lock(s->release_lock);
    Py_END_ALLOW_THREADS
}

static PyObject *closed_error(void)
{
    PyErr_SetString(PyExc_ValueError, "the subscriber has been closed");
    return NULL;
}

/* Takes the lock of an open subscriber: 0, or -1 with an exception. */
static int enter(SubObject *s)
{
    if (!s->lock) {
        PyErr_SetString(PyExc_ValueError, "the subscriber is not open");
        return -1;
    }
    if (vpy_lock(s->lock) < 0)
        return -1;
    if (s->closed || !s->sub) {
        PyThread_release_lock(s->lock);
        closed_error();
        return -1;
    }
    return 0;
}

static void leave(SubObject *s)
{
    PyThread_release_lock(s->lock);
}

/* The strings of a sequence of str (or one str): n of them into v, which
 * point into seq (the caller keeps a reference).  0 or -1. */
static int strings(PyObject *obj, const char *what, PyObject **seq,
                   const char **v, unsigned *n)
{
    *seq = NULL;
    *n = 0;
    if (obj == Py_None)
        return 0;
    if (PyUnicode_Check(obj)) {
        if (!(v[0] = PyUnicode_AsUTF8(obj)))
            return -1;
        *n = 1;
        return 0;
    }
    if (!(*seq = PySequence_Fast(obj, what)))
        return -1;
    Py_ssize_t len = PySequence_Fast_GET_SIZE(*seq);
    if (len > MAX_URLS) {
        PyErr_Format(PyExc_ValueError, "%s: at most %d", what, MAX_URLS);
        return -1;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        PyObject *it = PySequence_Fast_GET_ITEM(*seq, i);
        if (!PyUnicode_Check(it)) {
            PyErr_Format(PyExc_ValueError, "%s: expected str, got %s", what,
                         Py_TYPE(it)->tp_name);
            return -1;
        }
        if (!(v[i] = PyUnicode_AsUTF8(it)))
            return -1;
    }
    *n = (unsigned)len;
    return 0;
}

static int sub_init(SubObject *s, PyObject *args, PyObject *kw)
{
    static char *names[] = {"urls",
                            "stream",
                            "codec",
                            "shm",
                            "fd",
                            "curve_secret",
                            "curve_server_keys",
                            "curve_allow",
                            NULL};
    PyObject *urls, *keys = Py_None, *useq = NULL, *kseq = NULL;
    const char *stream = NULL, *codec = "raw", *secret = NULL, *allow = NULL;
    const char *uv[MAX_URLS], *kv[MAX_URLS];
    unsigned nu, nk;
    int shm = 1, fd = -1, rc = -1;
    struct vp_sub_opts o;
    vp_sub *sub = NULL;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|zspizOz:Sub", names, &urls,
                                     &stream, &codec, &shm, &fd, &secret, &keys,
                                     &allow))
        return -1;
    if (s->lock) {
        PyErr_SetString(PyExc_RuntimeError, "the subscriber is open already");
        return -1;
    }
    vp_sub_opts_init(&o);
    if (vp_codec_parse(codec, &o.codec) < 0) {
        vpy_raise(-EINVAL);
        return -1;
    }
    if (strings(urls, "urls", &useq, uv, &nu) < 0 ||
        strings(keys, "curve_server_key", &kseq, kv, &nk) < 0)
        goto out;
    o.stream = stream;
    o.shm = shm ? VP_SHM_AUTO : VP_SHM_OFF;
    o.fd = fd;
    o.curve_secret = secret;
    o.curve_server_keys = nk ? kv : NULL;
    o.ncurve_server_keys = nk;
    o.curve_allow = allow;
    Py_BEGIN_ALLOW_THREADS
        rc = vp_sub_open(&sub, uv, nu, &o);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        vpy_raise(rc);
        rc = -1;
        goto out;
    }
    if (!(s->lock = PyThread_allocate_lock()) ||
        !(s->release_lock = PyThread_allocate_lock())) {
        vp_sub_close(sub);
        if (s->lock)
            PyThread_free_lock(s->lock);
        s->lock = NULL;
        PyErr_NoMemory();
        rc = -1;
        goto out;
    }
    s->sub = sub;
    s->stream = nu == 1 && strcmp(uv[0], "-") == 0;
    rc = 0;
out:
    Py_XDECREF(useq);
    Py_XDECREF(kseq);
    return rc;
}

/* The deadline of a timeout in seconds (None: for ever), in CLOCK_MONOTONIC
 * ns.  0 or -1. */
static int deadline_of(PyObject *timeout, int64_t *deadline)
{
    if (timeout == Py_None) {
        *deadline = INT64_MAX;
        return 0;
    }
    double t = PyFloat_AsDouble(timeout);
    if (t == -1.0 && PyErr_Occurred())
        return -1;
    if (!(t >= 0) || t > 1e9) {
        PyErr_SetString(PyExc_ValueError,
                        "timeout: seconds >= 0, or None to wait for ever");
        return -1;
    }
    *deadline = vp_clock_mono_ns() + (int64_t)ceil(t * 1e9);
    return 0;
}

/* The ms to wait now, of left ns: a slice at most. */
static int slice_ms(int64_t left)
{
    if (left <= 0)
        return 0;
    if (left >= SLICE_MS * 1000000LL)
        return SLICE_MS;
    return (int)((left + 999999) / 1000000);
}

/* The next frame before deadline: a new Frame, or Py_None once the
 * deadline has passed.  NULL with an exception, or at the end of a byte
 * stream with *eof set and no exception (where eof is given). */
static PyObject *next_frame(SubObject *s, int64_t deadline, bool *eof)
{
    for (;;) {
        vp_frame *f = NULL;
        int rc;

        if (enter(s) < 0)
            return NULL;
        int ms = slice_ms(deadline - vp_clock_mono_ns());
        Py_BEGIN_ALLOW_THREADS
            rc = vp_sub_next(s->sub, ms, &f);
            /* A JPEG is decoded here, once, without the GIL; one that does
             * not decode is counted bad and skipped like any bad input. */
            if (rc == 0 && vp_frame_info(f)->codec == VP_CODEC_JPEG) {
                struct vp_image img;
                if (vp_frame_image(f, &img) < 0) {
                    vp_frame_release(f);
                    f = NULL;
                    rc = -EAGAIN;
                }
            }
        Py_END_ALLOW_THREADS
        if (rc < 0 && rc != -ETIMEDOUT && rc != -EINTR && rc != -EAGAIN) {
            leave(s);
            if (rc == -ENODATA && eof) {
                *eof = true;
                return NULL;
            }
            return vpy_raise(rc);
        }
        leave(s);
        if (rc == 0) {
            PyObject *fr = vpy_frame_new(s, f);
            if (fr)
                vp_frame_shown(f); /* it has reached Python */
            return fr;
        }
        if (PyErr_CheckSignals() < 0)
            return NULL;
        if (vp_clock_mono_ns() >= deadline)
            Py_RETURN_NONE;
    }
}

static PyObject *sub_recv(SubObject *s, PyObject *args, PyObject *kw)
{
    static char *names[] = {"timeout", NULL};
    PyObject *timeout = Py_None;
    int64_t deadline;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:recv", names, &timeout) ||
        deadline_of(timeout, &deadline) < 0)
        return NULL;
    return next_frame(s, deadline, NULL);
}

static PyObject *sub_iternext(SubObject *s)
{
    bool eof = false;
    PyObject *f = next_frame(s, INT64_MAX, &eof);
    return f == Py_None ? (Py_DECREF(f), NULL) : f; /* eof: StopIteration */
}

static PyObject *sub_iter(SubObject *s)
{
    Py_INCREF(s);
    return (PyObject *)s;
}

static PyObject *stats_of(SubObject *s, PyObject *args, PyObject *kw, bool line)
{
    static char *names[] = {"final", NULL};
    char buf[4096];
    int final = 0, rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|p", names, &final) ||
        enter(s) < 0)
        return NULL;
    rc = vpy_stats_text(vp_sub_stats(s->sub), final, line, buf, sizeof buf);
    leave(s);
    if (rc < 0) {
        PyErr_SetString(PyExc_RuntimeError, "stats: too long");
        return NULL;
    }
    return line ? PyUnicode_FromString(buf) : vpy_json(buf);
}

static PyObject *sub_stats(SubObject *s, PyObject *args, PyObject *kw)
{
    return stats_of(s, args, kw, false);
}

static PyObject *sub_stats_line(SubObject *s, PyObject *args, PyObject *kw)
{
    return stats_of(s, args, kw, true);
}

static PyObject *sub_tick(SubObject *s, PyObject *unused)
{
    (void)unused;
    if (enter(s) < 0)
        return NULL;
    bool closed = vp_stats_tick(vp_sub_stats(s->sub));
    leave(s);
    return PyBool_FromLong(closed);
}

static PyObject *sub_close(SubObject *s, PyObject *unused)
{
    (void)unused;
    if (!s->lock || s->closed)
        Py_RETURN_NONE;
    if (vpy_lock(s->lock) < 0)
        return NULL;
    if (!s->closed) {
        s->closed = true;
        close_c(s);
    }
    leave(s);
    Py_RETURN_NONE;
}

static PyObject *sub_enter(SubObject *s, PyObject *unused)
{
    (void)unused;
    Py_INCREF(s);
    return (PyObject *)s;
}

static PyObject *sub_exit(SubObject *s, PyObject *args)
{
    (void)args;
    PyObject *r = sub_close(s, NULL);
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *get_closed(SubObject *s, void *unused)
{
    (void)unused;
    return PyBool_FromLong(s->closed || !s->lock);
}

static void sub_dealloc(SubObject *s)
{
    /* No frame can be out: each holds a reference. */
    if (s->sub)
        close_c(s);
    if (s->lock)
        PyThread_free_lock(s->lock);
    if (s->release_lock)
        PyThread_free_lock(s->release_lock);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyMethodDef sub_methods[] = {
    {"recv", (PyCFunction)(void (*)(void))sub_recv,
     METH_VARARGS | METH_KEYWORDS,
     "recv(timeout=None) -> Frame or None\n\nThe newest frame, waiting up "
     "to timeout seconds (None: for ever); None when none came."},
    {"stats", (PyCFunction)(void (*)(void))sub_stats,
     METH_VARARGS | METH_KEYWORDS,
     "stats(final=False) -> dict\n\nThe --stats-json figures: of the last "
     "full second, or (final) of the whole run."},
    {"stats_line", (PyCFunction)(void (*)(void))sub_stats_line,
     METH_VARARGS | METH_KEYWORDS,
     "stats_line(final=False) -> str\n\nThe same as a status line."},
    {"tick", (PyCFunction)sub_tick, METH_NOARGS,
     "tick() -> bool\n\nCloses the stats window once a second: True when "
     "one just closed (print stats() then)."},
    {"close", (PyCFunction)sub_close, METH_NOARGS,
     "close()\n\nCloses the subscriber and its connection: recv() raises "
     "from now on; frames still out stay readable until released."},
    {"__enter__", (PyCFunction)sub_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)sub_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef sub_getset[] = {
    {"closed", (getter)get_closed, NULL, "True once closed", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject VpySub_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "vidpipe._vidpipe.Sub",
    .tp_basicsize = sizeof(SubObject),
    .tp_dealloc = (destructor)sub_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Sub(urls, stream=None, codec='raw', shm=True, fd=-1, "
              "curve_secret=None, curve_server_keys=None, curve_allow=None): "
              "the C subscriber under vidpipe.Subscriber and "
              "vidpipe.StreamReader.",
    .tp_iter = (getiterfunc)sub_iter,
    .tp_iternext = (iternextfunc)sub_iternext,
    .tp_methods = sub_methods,
    .tp_getset = sub_getset,
    .tp_init = (initproc)sub_init,
    .tp_new = PyType_GenericNew,
};
