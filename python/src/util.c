/* util.c -- what every part of the binding uses: exceptions from vp_
 * errors, locks waited for without the GIL, JSON, stats text. */
#include "binding.h"

#include <errno.h>

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
