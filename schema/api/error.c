/* error.c -- the reason for a thread's last failure (vp_errmsg()). */
#include <stdarg.h>
#include <stdio.h>

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

const char *vp_errmsg(void)
{
    return why[0] ? why : "no error";
}
