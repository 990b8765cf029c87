/* frame.c -- Frame: one received frame, and the Hold under its views.
 *
 * A Frame refers to a Hold, and so does every numpy view of its pixels
 * (as the array's base).  The Hold owns the vp_frame and gives it back
 * (vp_frame_release) when the last of them goes: a view can never point
 * into a ring mapping or message that is gone.  Frame.release() lets go
 * of the Frame's own references and marks it released: its attributes
 * raise from then on, and views already taken keep the C frame until
 * they go too.
 */
#include "binding.h"

#include <errno.h>
#include <stdio.h>

struct vpy_hold {
    PyObject_HEAD vp_frame *f;
    SubObject *sub; /* strong: its release lock outlives the frame */
    /* Made by the first call on the frame that runs without the GIL
     * (copy(), a byte stream's write()); every call takes it from then
     * on.  Until then the GIL alone keeps calls one at a time. */
    PyThread_type_lock lock;
    bool held; /* by the caller of vpy_frame_enter() */
};

typedef struct {
    PyObject_HEAD HoldObject *hold; /* NULL once released */
    PyObject *array; /* the view of the pixels, made on first use */
} FrameObject;

/* --- Hold --------------------------------------------------------------- */

/* Gives f back to s, open or closed.  Without the GIL: a byte stream's
 * reader may hold the lock the release takes while it reads, and a
 * close holds s's release lock while it joins the receiver. */
static void give_back(SubObject *s, vp_frame *f)
{
    Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(s->release_lock, WAIT_LOCK);
        vp_frame_release(f);
        PyThread_release_lock(s->release_lock);
    Py_END_ALLOW_THREADS
}

static void hold_dealloc(HoldObject *h)
{
    SubObject *s = h->sub;

    if (h->f)
        give_back(s, h->f);
    if (h->lock)
        PyThread_free_lock(h->lock);
    Py_DECREF(s);
    PyObject_Free(h);
}

PyTypeObject VpyHold_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "vidpipe._vidpipe._Hold",
    .tp_basicsize = sizeof(HoldObject),
    .tp_dealloc = (destructor)hold_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The C frame under a Frame and its views.",
};

/* --- Frame -------------------------------------------------------------- */

PyObject *vpy_frame_new(SubObject *s, vp_frame *f)
{
    HoldObject *h = PyObject_New(HoldObject, &VpyHold_Type);
    FrameObject *fr;

    if (!h) {
        give_back(s, f);
        return NULL;
    }
    Py_INCREF(s);
    h->sub = s;
    h->f = f;
    h->lock = NULL;
    h->held = false;
    if (!(fr = PyObject_New(FrameObject, &VpyFrame_Type))) {
        Py_DECREF(h);
        return NULL;
    }
    fr->hold = h;
    fr->array = NULL;
    return (PyObject *)fr;
}

/* The C frame of fr, or NULL with ValueError once it is released (its
 * subscriber's close does not: the frame outlives it).  Reading its
 * info needs no lock: nothing changes it. */
static vp_frame *frame_c(FrameObject *fr)
{
    if (!fr->hold) {
        PyErr_SetString(PyExc_ValueError, "the frame has been released");
        return NULL;
    }
    return fr->hold->f;
}

HoldObject *vpy_frame_enter(PyObject *obj, vp_frame **f, bool nogil)
{
    FrameObject *fr = (FrameObject *)obj;
    HoldObject *h;

    if (!PyObject_TypeCheck(obj, &VpyFrame_Type)) {
        PyErr_Format(PyExc_ValueError, "expected a vidpipe.Frame, got %s",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    if (!(*f = frame_c(fr)))
        return NULL;
    h = fr->hold;
    if (nogil && !h->lock && !(h->lock = PyThread_allocate_lock())) {
        PyErr_NoMemory();
        return NULL;
    }
    Py_INCREF(h); /* alive while used, even if released meanwhile */
    if (h->lock) {
        if (vpy_lock(h->lock) < 0) {
            Py_DECREF(h);
            return NULL;
        }
        h->held = true;
    }
    return h;
}

void vpy_frame_leave(HoldObject *h)
{
    if (h->held) {
        h->held = false;
        PyThread_release_lock(h->lock);
    }
    Py_DECREF(h);
}

static void frame_release_refs(FrameObject *fr)
{
    Py_CLEAR(fr->array);
    Py_CLEAR(fr->hold);
}

static void frame_dealloc(FrameObject *fr)
{
    frame_release_refs(fr);
    PyObject_Free(fr);
}

static const struct vp_frame_info *info_of(FrameObject *fr)
{
    vp_frame *f = frame_c(fr);
    return f ? vp_frame_info(f) : NULL;
}

static PyObject *frame_array(FrameObject *fr, void *unused)
{
    struct vp_image img;
    npy_intp dims[3], strides[3];
    vp_frame *f;
    HoldObject *h;
    PyObject *arr;
    int rc;

    (void)unused;
    if (!frame_c(fr))
        return NULL;
    if (fr->array) {
        Py_INCREF(fr->array);
        return fr->array;
    }
    if (!(h = vpy_frame_enter((PyObject *)fr, &f, false)))
        return NULL;
    rc = vp_frame_image(f, &img);
    if (rc < 0) {
        vpy_raise(rc);
        vpy_frame_leave(h);
        return NULL;
    }
    vpy_frame_leave(h);
    int nd = vpy_dims(img.fmt, img.width, img.height, dims);
    if (vpy_view_strides(&img, strides) < 0) {
        PyErr_SetString(PyExc_ValueError,
                        "array: this frame's yuv420p planes are padded and "
                        "make no one array; use copy()");
        return NULL;
    }
    /* Read-only: a ring slot is the producer's (and mapped read-only),
     * a message is the frame's; copy() gives an array of one's own. */
    arr = PyArray_NewFromDescr(&PyArray_Type, PyArray_DescrFromType(NPY_UINT8),
                               nd, dims, strides, img.data[0], 0, NULL);
    if (!arr)
        return NULL;
    Py_INCREF(fr->hold);
    if (PyArray_SetBaseObject((PyArrayObject *)arr, (PyObject *)fr->hold) < 0) {
        Py_DECREF(arr);
        return NULL;
    }
    fr->array = arr;
    Py_INCREF(arr);
    return arr;
}

static PyObject *frame_copy(FrameObject *fr, PyObject *unused)
{
    const struct vp_frame_info *in;
    npy_intp dims[3];
    vp_frame *f;
    HoldObject *h;
    PyObject *arr;
    int rc;

    (void)unused;
    if (!(in = info_of(fr)))
        return NULL;
    int nd = vpy_dims(in->fmt, in->width, in->height, dims);
    if (!(arr = PyArray_SimpleNew(nd, dims, NPY_UINT8)))
        return NULL;
    struct vp_image dst;
    vp_image_layout(&dst, in->width, in->height, in->fmt, 0,
                    PyArray_DATA((PyArrayObject *)arr));
    if (!(h = vpy_frame_enter((PyObject *)fr, &f, true))) {
        Py_DECREF(arr);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
        rc = vp_frame_copy(f, &dst);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        vpy_raise(rc); /* -ESTALE: overwritten while copied */
        Py_CLEAR(arr);
    }
    vpy_frame_leave(h);
    return arr;
}

static PyObject *frame_intact(FrameObject *fr, PyObject *unused)
{
    vp_frame *f;
    HoldObject *h;

    (void)unused;
    if (!(h = vpy_frame_enter((PyObject *)fr, &f, false)))
        return NULL;
    bool ok = vp_frame_intact(f);
    vpy_frame_leave(h);
    return PyBool_FromLong(ok);
}

static PyObject *frame_shown(FrameObject *fr, PyObject *unused)
{
    vp_frame *f;
    HoldObject *h;

    (void)unused;
    if (!(h = vpy_frame_enter((PyObject *)fr, &f, false)))
        return NULL;
    vp_frame_shown(f);
    vpy_frame_leave(h);
    Py_RETURN_NONE;
}

static PyObject *frame_header(FrameObject *fr, PyObject *unused)
{
    char buf[1024];
    vp_frame *f;

    (void)unused;
    if (!(f = frame_c(fr)))
        return NULL;
    if (vp_frame_json(f, buf, sizeof buf) < 0) {
        PyErr_SetString(PyExc_RuntimeError, "header: too long");
        return NULL;
    }
    return vpy_json(buf);
}

static PyObject *frame_release(FrameObject *fr, PyObject *unused)
{
    (void)unused;
    frame_release_refs(fr);
    Py_RETURN_NONE;
}

static PyObject *frame_enter(FrameObject *fr, PyObject *unused)
{
    (void)unused;
    Py_INCREF(fr);
    return (PyObject *)fr;
}

static PyObject *frame_exit(FrameObject *fr, PyObject *args)
{
    (void)args;
    frame_release_refs(fr);
    Py_RETURN_FALSE;
}

static PyObject *frame_repr(FrameObject *fr)
{
    if (!fr->hold)
        return PyUnicode_FromString("<vidpipe.Frame, released>");
    const struct vp_frame_info *in = vp_frame_info(fr->hold->f);
    static const char *paths[] = {"?", "shm", "tcp", "pipe"};
    return PyUnicode_FromFormat("<vidpipe.Frame %s #%llu %ux%u %s %s>",
                                in->stream, (unsigned long long)in->seq,
                                (unsigned)in->width, (unsigned)in->height,
                                vp_pixfmt_name(in->fmt),
                                paths[in->path <= VP_PATH_PIPE ? in->path : 0]);
}

/* --- attributes --------------------------------------------------------- */

#define INFO_GETTER(name, conv, expr)                                          \
    static PyObject *get_##name(FrameObject *fr, void *unused)                 \
    {                                                                          \
        const struct vp_frame_info *in = info_of(fr);                          \
        (void)unused;                                                          \
        return in ? conv(expr) : NULL;                                         \
    }

INFO_GETTER(seq, PyLong_FromUnsignedLongLong, in->seq)
INFO_GETTER(stream, PyUnicode_FromString, in->stream)
INFO_GETTER(width, PyLong_FromUnsignedLong, in->width)
INFO_GETTER(height, PyLong_FromUnsignedLong, in->height)
INFO_GETTER(fmt, PyUnicode_FromString, vp_pixfmt_name(in->fmt))
INFO_GETTER(codec, PyUnicode_FromString, vp_codec_name(in->codec))
INFO_GETTER(t_real_ns, PyLong_FromLongLong, in->t_real_ns)
INFO_GETTER(t_mono_ns, PyLong_FromLongLong, in->t_mono_ns)
INFO_GETTER(latency_us, PyLong_FromLongLong, in->latency_us)
INFO_GETTER(size, PyLong_FromUnsignedLongLong, in->size)
INFO_GETTER(path, PyUnicode_FromString,
            in->path == VP_PATH_SHM   ? "shm"
            : in->path == VP_PATH_TCP ? "tcp"
                                      : "pipe")

static PyObject *get_released(FrameObject *fr, void *unused)
{
    (void)unused;
    return PyBool_FromLong(!fr->hold);
}

static PyGetSetDef frame_getset[] = {
    {"array", (getter)frame_array, NULL,
     "The pixels: a read-only uint8 view of the ring slot or message "
     "itself (no copy): (height, width, 3) for bgr24 and rgb24, (height, "
     "width) for gray, (height * 3 / 2, width) for yuv420p and nv12, "
     "(height, width, 2) for yuyv422.",
     NULL},
    {"seq", (getter)get_seq, NULL, "sequence number", NULL},
    {"stream", (getter)get_stream, NULL, "stream name", NULL},
    {"width", (getter)get_width, NULL, "pixels", NULL},
    {"height", (getter)get_height, NULL, "pixels", NULL},
    {"fmt", (getter)get_fmt, NULL,
     "bgr24, rgb24, gray, yuv420p, nv12 or yuyv422", NULL},
    {"codec", (getter)get_codec, NULL, "raw, jpeg or h264, as it travelled",
     NULL},
    {"t_real_ns", (getter)get_t_real_ns, NULL,
     "capture time, CLOCK_REALTIME ns (time.time_ns())", NULL},
    {"t_mono_ns", (getter)get_t_mono_ns, NULL,
     "capture time, CLOCK_MONOTONIC ns (time.monotonic_ns())", NULL},
    {"latency_us", (getter)get_latency_us, NULL,
     "capture to its arrival here, us", NULL},
    {"size", (getter)get_size, NULL, "payload bytes (0 for shm)", NULL},
    {"path", (getter)get_path, NULL, "how it came: shm, tcp or pipe", NULL},
    {"released", (getter)get_released, NULL, "True once released", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef frame_methods[] = {
    {"intact", (PyCFunction)frame_intact, METH_NOARGS,
     "intact() -> bool\n\nFalse once the producer has overwritten the "
     "frame's ring slot: what was read from .array must be discarded.  "
     "Always True for payloads."},
    {"copy", (PyCFunction)frame_copy, METH_NOARGS,
     "copy() -> numpy array of one's own\n\nRaises OSError(ESTALE) if the "
     "slot was overwritten while copied."},
    {"shown", (PyCFunction)frame_shown, METH_NOARGS,
     "shown()\n\nNotes the frame reached its destination now: its latency "
     "in stats() counts to here (recv() notes it on arrival)."},
    {"header", (PyCFunction)frame_header, METH_NOARGS,
     "header() -> dict\n\nThe frame's header, every field."},
    {"release", (PyCFunction)frame_release, METH_NOARGS,
     "release()\n\nDone with the frame: its attributes raise from now on, "
     "and the C frame goes back once no view of it is left."},
    {"__enter__", (PyCFunction)frame_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)frame_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

PyTypeObject VpyFrame_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "vidpipe.Frame",
    .tp_basicsize = sizeof(FrameObject),
    .tp_dealloc = (destructor)frame_dealloc,
    .tp_repr = (reprfunc)frame_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A received frame (Subscriber.recv()); see docs/PYTHON.md.",
    .tp_methods = frame_methods,
    .tp_getset = frame_getset,
};
