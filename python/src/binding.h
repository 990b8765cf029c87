/* binding.h -- what the files of the Python binding share.
 *
 * The binding is a client of vidpipe.h and nothing below it: a Sub owns a
 * vp_sub, a Pub a vp_pub, and a Frame one vp_frame through a Hold.  Three
 * rules make it safe to use from Python:
 *
 *  - Each Sub and Pub has a lock: the C objects are one-thread-at-a-time.
 *    Every wait releases the GIL and runs in slices of SLICE_MS, so
 *    Ctrl-C (PyErr_CheckSignals) gets through within that.
 *  - A numpy view of a frame's pixels has the frame's Hold as its base,
 *    and the Hold owns the vp_frame: the C frame (and so the ring mapping
 *    or message under the view) is given back only when the last view
 *    and the Frame are gone.  Frames outlive their Sub's close(), as
 *    vidpipe.h promises: the Sub closes its vp_sub at once, and frames
 *    still out stay readable until released, on any thread.
 *  - Likewise a loaned buffer's array has a Loan as its base, which keeps
 *    the Pub (and the memory of the loan) alive.
 *
 * The files call downwards only (tools/check-layers checks it): module.c
 * registers the types of frame.c, sub.c and pub.c; those use array.c and
 * util.c; sub.c makes Frames, pub.c reads them.
 */
#ifndef VIDPIPE_BINDING_H
#define VIDPIPE_BINDING_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#include <stdbool.h>

#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL vpy_array_api
#ifndef VPY_IMPORT_ARRAY
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

#include "vidpipe.h"

/* The longest a call waits without checking for signals. */
#define SLICE_MS 100

/* --- util.c ------------------------------------------------------------ */

/* Raises the exception for a failed vp_ call's rc (a -errno), with
 * vp_errmsg()'s text: ValueError for -EINVAL, MemoryError for -ENOMEM,
 * EOFError for -ENODATA, else OSError(errno) (so TimeoutError,
 * BlockingIOError, BrokenPipeError ... by errno).  Call it before any
 * other vp_ call on this thread.  Returns NULL. */
PyObject *vpy_raise(int rc);

/* Takes lk, waiting with the GIL released in slices.  0, or -1 with an
 * exception when a signal handler raised meanwhile. */
int vpy_lock(PyThread_type_lock lk);

/* json.loads(text), or NULL with an exception. */
PyObject *vpy_json(const char *text);

/* Formats st into buf as vp_stats_json() (or, with line, as
 * vp_stats_line()) does: the last window's figures, after closing the
 * window if a second has passed, or (final) the whole run's.  Under the
 * lock of st's owner.  0, or -ENOSPC. */
int vpy_stats_text(vp_stats *st, bool final, bool line, char *buf, size_t cap);

/* --- array.c ----------------------------------------------------------- */

/* Loads numpy's C API for the binding's files: 0, or -1 with an
 * exception.  Before any other numpy call. */
int vpy_import_numpy(void);

/* The format named by a str (None: VP_PIX_NONE).  0, or -1 with a
 * ValueError. */
int vpy_fmt_of(PyObject *name, enum vp_pixfmt *fmt);

/* The numpy shape of a w x h picture of fmt: (h, w, 3) for bgr24 and
 * rgb24, (h, w) for gray, (h * 3 / 2, w) for yuv420p and nv12 (the planes
 * one under the other, as OpenCV's COLOR_YUV2BGR_I420 and _NV12 take
 * them), (h, w, 2) for yuyv422.  Returns the number of dimensions. */
int vpy_dims(enum vp_pixfmt fmt, uint32_t w, uint32_t h, npy_intp *dims);

/* The strides of a numpy view of img in that shape; -1 if its planes do
 * not stack into one (a padded yuv420p). */
int vpy_view_strides(const struct vp_image *img, npy_intp *strides);

/* A picture of fmt in a numpy array of that shape (VP_PIX_NONE: bgr24 for
 * (h, w, 3), gray for (h, w) or (h, w, 1)), pixels packed within each
 * row.  0, or -1 with a ValueError naming what (a function name)
 * expected that. */
int vpy_image_of(PyObject *arr, const char *what, enum vp_pixfmt fmt,
                 struct vp_image *img);

/* --- frame.c ----------------------------------------------------------- */

typedef struct vpy_sub SubObject;

extern PyTypeObject VpyFrame_Type;
extern PyTypeObject VpyHold_Type;

/* A new Frame owning f (taken by s, which counts it out). */
PyObject *vpy_frame_new(SubObject *s, vp_frame *f);

/* The Hold of a Frame still in use, and its C frame, for one call on
 * it (given back with vpy_frame_leave()); nogil: the call releases the
 * GIL.  NULL with ValueError for something else or a released Frame. */
typedef struct vpy_hold HoldObject;
HoldObject *vpy_frame_enter(PyObject *frame, vp_frame **f, bool nogil);
void vpy_frame_leave(HoldObject *h);

/* --- sub.c ------------------------------------------------------------- */

struct vpy_sub {
    PyObject_HEAD vp_sub *sub; /* NULL once closed */
    PyThread_type_lock lock;
    /* Taken, without the GIL, around each vp_frame_release() of its
     * frames and around vp_sub_close(): the library counts a frame back
     * in more than one step, and a release overlapping the close (or
     * another release after it) could free the subscriber under it. */
    PyThread_type_lock release_lock;
    bool closed; /* close() was called */
    bool stream; /* reading a byte stream ("-") */
};

extern PyTypeObject VpySub_Type;

/* --- pub.c ------------------------------------------------------------- */

extern PyTypeObject VpyPub_Type;
extern PyTypeObject VpyLoan_Type;

#endif
