/* pub.c -- Pub: a publisher (vidpipe.Publisher and StreamWriter are its
 * Python faces), and the Loan under a loaned buffer's array.
 *
 * loan() hands out the next ring slot or payload buffer itself as a
 * writable array whose base is a Loan.  The memory stays the
 * publisher's: commit() and cancel() make that array read-only, and while
 * any array of a loan is referenced the publisher neither takes frames
 * of another geometry (which would make its ring or buffers anew) nor
 * closes its C object (close() then finishes when the last one goes).
 */
#include "binding.h"

#include <errno.h>
#include <string.h>

typedef struct {
    PyObject_HEAD vp_pub *pub; /* NULL once closed for good */
    PyThread_type_lock lock;
    bool closed;
    bool stream;        /* writing a byte stream ("-") */
    Py_ssize_t loans;   /* Loan objects alive (under the GIL) */
    PyObject *loan_ref; /* weak reference to the loan in progress's array */
    uint32_t lw, lh;    /* the geometry of the last loan */
    enum vp_pixfmt lfmt;
} PubObject;

typedef struct {
    PyObject_HEAD PubObject
        *pub; /* strong: the loaned memory is the publisher's */
} LoanObject;

static void close_c(PubObject *p)
{
    vp_pub *pub = p->pub;

    p->pub = NULL;
    Py_BEGIN_ALLOW_THREADS
        vp_pub_close(pub);
    Py_END_ALLOW_THREADS
}

/* --- Loan --------------------------------------------------------------- */

static void loan_dealloc(LoanObject *l)
{
    PubObject *p = l->pub;

    if (--p->loans == 0 && p->closed && p->pub)
        close_c(p);
    Py_DECREF(p);
    PyObject_Free(l);
}

PyTypeObject VpyLoan_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "vidpipe._vidpipe._Loan",
    .tp_basicsize = sizeof(LoanObject),
    .tp_dealloc = (destructor)loan_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The publisher's memory under a loaned array.",
};

/* --- Pub ---------------------------------------------------------------- */

static int enter(PubObject *p)
{
    if (!p->lock) {
        PyErr_SetString(PyExc_ValueError, "the publisher is not open");
        return -1;
    }
    if (vpy_lock(p->lock) < 0)
        return -1;
    if (p->closed || !p->pub) {
        PyThread_release_lock(p->lock);
        PyErr_SetString(PyExc_ValueError, "the publisher has been closed");
        return -1;
    }
    return 0;
}

static void leave(PubObject *p)
{
    PyThread_release_lock(p->lock);
}

static int pub_init(PubObject *p, PyObject *args, PyObject *kw)
{
    static char *names[] = {
        "url",   "stream", "ring",         "shm",         "quality",
        "codec", "fd",     "curve_secret", "curve_allow", "curve_server_key",
        NULL};
    const char *url, *stream = "cam0", *codec = "raw", *secret = NULL,
                     *allow = NULL, *server_key = NULL;
    unsigned ring = 8;
    int shm = 1, quality = 80, fd = -1, rc;
    struct vp_pub_opts o;
    vp_pub *pub;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|sIpisizzz:Pub", names, &url,
                                     &stream, &ring, &shm, &quality, &codec,
                                     &fd, &secret, &allow, &server_key))
        return -1;
    if (p->lock) {
        PyErr_SetString(PyExc_RuntimeError, "the publisher is open already");
        return -1;
    }
    vp_pub_opts_init(&o);
    if (vp_codec_parse(codec, &o.codec) < 0) {
        vpy_raise(-EINVAL);
        return -1;
    }
    if (ring == 0 || quality == 0) {
        /* 0 is the library's "default": not what a caller means. */
        PyErr_SetString(PyExc_ValueError,
                        "ring slots 2..64 and JPEG quality 1..100");
        return -1;
    }
    o.stream = stream;
    o.ring_slots = ring;
    o.no_shm = !shm;
    o.jpeg_quality = quality;
    if (fd >= 0)
        o.fd = fd;
    o.curve_secret = secret;
    o.curve_allow = allow;
    o.curve_server_key = server_key;
    Py_BEGIN_ALLOW_THREADS
        rc = vp_pub_open(&pub, url, &o);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        vpy_raise(rc);
        return -1;
    }
    if (!(p->lock = PyThread_allocate_lock())) {
        vp_pub_close(pub);
        PyErr_NoMemory();
        return -1;
    }
    p->pub = pub;
    p->stream = strcmp(url, "-") == 0;
    return 0;
}

/* Frames of another geometry than the last loan's may make the ring or
 * buffers anew, and so unmap what earlier loaned arrays point to: not
 * while one is referenced.  0, or -1 with BufferError. */
static int geometry_ok(PubObject *p, uint32_t w, uint32_t h, enum vp_pixfmt fmt)
{
    if (p->loans == 0 || (w == p->lw && h == p->lh && fmt == p->lfmt))
        return 0;
    PyErr_Format(PyExc_BufferError,
                 "an array from an earlier loan of %ux%u %s is still "
                 "referenced: del it before publishing %ux%u %s frames",
                 (unsigned)p->lw, (unsigned)p->lh, vp_pixfmt_name(p->lfmt),
                 (unsigned)w, (unsigned)h, vp_pixfmt_name(fmt));
    return -1;
}

/* Ends the loan in progress on the Python side: its array turns
 * read-only.  Under the lock. */
static void end_loan(PubObject *p)
{
    PyObject *arr;

    if (!p->loan_ref)
        return;
    arr = PyWeakref_GetObject(p->loan_ref);
    if (arr && arr != Py_None)
        PyArray_CLEARFLAGS((PyArrayObject *)arr, NPY_ARRAY_WRITEABLE);
    Py_CLEAR(p->loan_ref);
}

static int seq_of(PyObject *obj, uint64_t *seq)
{
    if (obj == Py_None) {
        *seq = VP_SEQ_NEXT;
        return 0;
    }
    *seq = PyLong_AsUnsignedLongLong(obj);
    if (*seq == (uint64_t)-1 && PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "seq: an int 0..2**64-2, or None");
        return -1;
    }
    return 0;
}

static PyObject *pub_loan(PubObject *p, PyObject *args, PyObject *kw)
{
    static char *names[] = {"height", "width", "channels", "fmt", NULL};
    unsigned w, h;
    int ch = -1, rc; /* -1: not given */
    struct vp_image img;
    npy_intp dims[3], strides[3];
    LoanObject *loan;
    PyObject *arr, *fo = Py_None;
    enum vp_pixfmt fmt;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "II|iO:loan", names, &h, &w, &ch,
                                     &fo) ||
        vpy_fmt_of(fo, &fmt) < 0)
        return NULL;
    if (fmt && ch != -1) {
        PyErr_SetString(PyExc_ValueError,
                        "loan: give channels or fmt, not both");
        return NULL;
    }
    if (!fmt && ch != -1 && ch != 1 && ch != 3) {
        PyErr_Format(PyExc_ValueError,
                     "loan: channels 3 (bgr24) or 1 (gray), not %d", ch);
        return NULL;
    }
    if (!fmt)
        fmt = ch == 1 ? VP_PIX_GRAY : VP_PIX_BGR24;
    if (enter(p) < 0)
        return NULL;
    if (p->loan_ref) {
        leave(p);
        PyErr_SetString(PyExc_ValueError,
                        "loan: a frame is on loan already: commit() or "
                        "cancel() it first");
        return NULL;
    }
    if (geometry_ok(p, w, h, fmt) < 0) {
        leave(p);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
        rc = vp_pub_loan(p->pub, w, h, fmt, &img);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        vpy_raise(rc); /* -EAGAIN: BlockingIOError, the frame is dropped */
        leave(p);
        return NULL;
    }
    if (!(loan = PyObject_New(LoanObject, &VpyLoan_Type)))
        goto fail;
    Py_INCREF(p);
    loan->pub = p;
    p->loans++;
    int nd = vpy_dims(fmt, w, h, dims);
    vpy_view_strides(&img, strides); /* a loan is laid out tight */
    arr = PyArray_NewFromDescr(&PyArray_Type, PyArray_DescrFromType(NPY_UINT8),
                               nd, dims, strides, img.data[0],
                               NPY_ARRAY_WRITEABLE, NULL);
    if (!arr) {
        Py_DECREF(loan);
        goto fail;
    }
    if (PyArray_SetBaseObject((PyArrayObject *)arr, (PyObject *)loan) < 0) {
        Py_DECREF(arr);
        goto fail;
    }
    if (!(p->loan_ref = PyWeakref_NewRef(arr, NULL))) {
        Py_DECREF(arr);
        goto fail;
    }
    p->lw = w;
    p->lh = h;
    p->lfmt = fmt;
    leave(p);
    return arr;
fail:
    vp_pub_cancel(p->pub);
    leave(p);
    return NULL;
}

static PyObject *pub_commit(PubObject *p, PyObject *args, PyObject *kw)
{
    static char *names[] = {"seq", NULL};
    PyObject *so = Py_None;
    uint64_t seq;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:commit", names, &so) ||
        seq_of(so, &seq) < 0 || enter(p) < 0)
        return NULL;
    if (!p->loan_ref) {
        leave(p);
        PyErr_SetString(PyExc_ValueError, "commit: no frame on loan");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
        rc = vp_pub_commit(p->pub, seq);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        vpy_raise(rc);
    end_loan(p);
    leave(p);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *pub_cancel(PubObject *p, PyObject *unused)
{
    (void)unused;
    if (enter(p) < 0)
        return NULL;
    if (p->loan_ref) {
        vp_pub_cancel(p->pub);
        end_loan(p);
    }
    leave(p);
    Py_RETURN_NONE;
}

static PyObject *pub_send(PubObject *p, PyObject *args, PyObject *kw)
{
    static char *names[] = {"array", "seq", "fmt", NULL};
    PyObject *arr, *so = Py_None, *fo = Py_None;
    enum vp_pixfmt fmt;
    struct vp_image img;
    uint64_t seq;
    int rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OO:send", names, &arr, &so,
                                     &fo) ||
        seq_of(so, &seq) < 0 || vpy_fmt_of(fo, &fmt) < 0 ||
        vpy_image_of(arr, "send", fmt, &img) < 0 || enter(p) < 0)
        return NULL;
    if (p->loan_ref) {
        leave(p);
        PyErr_SetString(PyExc_ValueError, "send: a frame is on loan: "
                                          "commit() or cancel() it first");
        return NULL;
    }
    if (geometry_ok(p, img.width, img.height, img.fmt) < 0) {
        leave(p);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS /* arr is the caller's: alive meanwhile */
        rc = vp_pub_send(p->pub, &img, seq);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        vpy_raise(rc);
    leave(p);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *pub_forward(PubObject *p, PyObject *frame)
{
    const struct vp_frame_info *in;
    HoldObject *h;
    vp_frame *f;
    int rc;

    if (!p->stream) {
        /* Over ZeroMQ a forwarded frame's message moves to the socket,
         * under the feet of its views. */
        PyErr_SetString(PyExc_ValueError,
                        "write(frame) is for a StreamWriter; a Publisher "
                        "publishes frame.array with send()");
        return NULL;
    }
    if (!(h = vpy_frame_enter(frame, &f, true)))
        return NULL;
    in = vp_frame_info(f);
    if (enter(p) < 0) {
        vpy_frame_leave(h);
        return NULL;
    }
    if (geometry_ok(p, in->width, in->height, in->fmt) < 0) {
        leave(p);
        vpy_frame_leave(h);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
        rc = vp_pub_forward(p->pub, f, NULL);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        vpy_raise(rc); /* -ESTALE, -EPIPE (BrokenPipeError) */
    leave(p);
    vpy_frame_leave(h);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *pub_wanted(PubObject *p, PyObject *unused)
{
    (void)unused;
    if (enter(p) < 0)
        return NULL;
    bool w = vp_pub_wanted(p->pub);
    leave(p);
    return PyBool_FromLong(w);
}

static PyObject *pub_wait_until(PubObject *p, PyObject *args)
{
    long long deadline;

    if (!PyArg_ParseTuple(args, "L:wait_until", &deadline))
        return NULL;
    for (;;) {
        int64_t now = vp_clock_mono_ns(), d = deadline;
        int rc;

        if (now >= deadline)
            Py_RETURN_NONE;
        if (d - now > SLICE_MS * 1000000LL)
            d = now + SLICE_MS * 1000000LL;
        if (enter(p) < 0)
            return NULL;
        Py_BEGIN_ALLOW_THREADS
            rc = vp_pub_wait_until(p->pub, d);
        Py_END_ALLOW_THREADS
        if (rc < 0 && rc != -EINTR)
            vpy_raise(rc);
        leave(p);
        if (rc < 0 && rc != -EINTR)
            return NULL;
        if (PyErr_CheckSignals() < 0)
            return NULL;
    }
}

static PyObject *stats_of(PubObject *p, PyObject *args, PyObject *kw, bool line)
{
    static char *names[] = {"final", NULL};
    char buf[4096];
    int final = 0, rc;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "|p", names, &final) ||
        enter(p) < 0)
        return NULL;
    rc = vpy_stats_text(vp_pub_stats(p->pub), final, line, buf, sizeof buf);
    leave(p);
    if (rc < 0) {
        PyErr_SetString(PyExc_RuntimeError, "stats: too long");
        return NULL;
    }
    return line ? PyUnicode_FromString(buf) : vpy_json(buf);
}

static PyObject *pub_stats(PubObject *p, PyObject *args, PyObject *kw)
{
    return stats_of(p, args, kw, false);
}

static PyObject *pub_stats_line(PubObject *p, PyObject *args, PyObject *kw)
{
    return stats_of(p, args, kw, true);
}

static PyObject *pub_tick(PubObject *p, PyObject *unused)
{
    (void)unused;
    if (enter(p) < 0)
        return NULL;
    bool closed = vp_stats_tick(vp_pub_stats(p->pub));
    leave(p);
    return PyBool_FromLong(closed);
}

static PyObject *pub_close(PubObject *p, PyObject *unused)
{
    (void)unused;
    if (!p->lock || p->closed)
        Py_RETURN_NONE;
    if (vpy_lock(p->lock) < 0)
        return NULL;
    if (!p->closed) {
        p->closed = true;
        if (p->loan_ref) {
            vp_pub_cancel(p->pub);
            end_loan(p);
        }
        if (p->loans == 0 && p->pub)
            close_c(p);
    }
    leave(p);
    Py_RETURN_NONE;
}

static PyObject *pub_enter(PubObject *p, PyObject *unused)
{
    (void)unused;
    Py_INCREF(p);
    return (PyObject *)p;
}

static PyObject *pub_exit(PubObject *p, PyObject *args)
{
    (void)args;
    PyObject *r = pub_close(p, NULL);
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *get_closed(PubObject *p, void *unused)
{
    (void)unused;
    return PyBool_FromLong(p->closed || !p->lock);
}

static void pub_dealloc(PubObject *p)
{
    /* No loan can be alive: each holds a reference. */
    Py_CLEAR(p->loan_ref);
    if (p->pub)
        close_c(p);
    if (p->lock)
        PyThread_free_lock(p->lock);
    Py_TYPE(p)->tp_free((PyObject *)p);
}

static PyMethodDef pub_methods[] = {
    {"send", (PyCFunction)(void (*)(void))pub_send,
     METH_VARARGS | METH_KEYWORDS,
     "send(array, seq=None, fmt=None)\n\nPublishes a uint8 array of fmt "
     "(None: (h, w, 3) bgr24 or (h, w) gray; yuv420p and nv12 are (h * 3 / "
     "2, w), yuyv422 (h, w, 2)) with one copy; seq None: one more than the "
     "last."},
    {"loan", (PyCFunction)(void (*)(void))pub_loan,
     METH_VARARGS | METH_KEYWORDS,
     "loan(height, width, channels=3, fmt=None) -> writable array\n\nThe "
     "next ring slot or payload buffer itself, shaped as send() takes fmt "
     "(None: bgr24, or gray for channels=1; channels or fmt, not both): "
     "make the frame in it, then commit()."},
    {"commit", (PyCFunction)(void (*)(void))pub_commit,
     METH_VARARGS | METH_KEYWORDS,
     "commit(seq=None)\n\nPublishes the loaned frame; its array turns "
     "read-only."},
    {"cancel", (PyCFunction)pub_cancel, METH_NOARGS,
     "cancel()\n\nGives the loaned buffer back unpublished."},
    {"_forward", (PyCFunction)pub_forward, METH_O,
     "_forward(frame): StreamWriter.write()."},
    {"wanted", (PyCFunction)pub_wanted, METH_NOARGS,
     "wanted() -> bool\n\nTrue while somebody subscribes to the stream."},
    {"wait_until", (PyCFunction)pub_wait_until, METH_VARARGS,
     "wait_until(deadline_ns)\n\nSleeps until time.monotonic_ns() reaches "
     "deadline_ns, keeping up with subscribers meanwhile."},
    {"stats", (PyCFunction)(void (*)(void))pub_stats,
     METH_VARARGS | METH_KEYWORDS,
     "stats(final=False) -> dict\n\nThe --stats-json figures: of the last "
     "full second, or (final) of the whole run."},
    {"stats_line", (PyCFunction)(void (*)(void))pub_stats_line,
     METH_VARARGS | METH_KEYWORDS,
     "stats_line(final=False) -> str\n\nThe same as a status line."},
    {"tick", (PyCFunction)pub_tick, METH_NOARGS,
     "tick() -> bool\n\nCloses the stats window once a second: True when "
     "one just closed."},
    {"close", (PyCFunction)pub_close, METH_NOARGS,
     "close()\n\nCloses the endpoint and removes the rings (once no array "
     "of a loan is left)."},
    {"__enter__", (PyCFunction)pub_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)pub_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef pub_getset[] = {
    {"closed", (getter)get_closed, NULL, "True once closed", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject VpyPub_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "vidpipe._vidpipe.Pub",
    .tp_basicsize = sizeof(PubObject),
    .tp_dealloc = (destructor)pub_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Pub(url, stream='cam0', ring=8, shm=True, quality=80, "
              "codec='raw', fd=-1, curve_secret=None, curve_allow=None, "
              "curve_server_key=None): the C publisher under "
              "vidpipe.Publisher and vidpipe.StreamWriter.",
    .tp_methods = pub_methods,
    .tp_getset = pub_getset,
    .tp_init = (initproc)pub_init,
    .tp_new = PyType_GenericNew,
};
