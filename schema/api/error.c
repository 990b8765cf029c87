/* error.c -- the reason for a thread's last failure (vp_errmsg()). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"

static _Thread_local char why[512];

int vp_fail(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return rc;
}

int vp_fail_why(int rc, const char *what, const char *why)
{
    if (rc == -EINVAL)
        return vp_fail(rc, "%s: %s", what, why);
    return vp_fail(rc, "%s: %s: %s", what, why, strerror(-rc));
}

const char *vp_errmsg(void)
{
    return why[0] ? why : "no error";
}
