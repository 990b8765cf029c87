/* endpoint.c -- parsing of transport endpoints. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "transport/endpoint.h"

static int copy_arg(char *dst, const char *s, const char **why)
{
    size_t n = strlen(s);
    if (n == 0) {
        *why = "empty";
        return -EINVAL;
    }
    if (n >= ENDPOINT_MAX) {
        *why = "too long";
        return -EINVAL;
    }
    memcpy(dst, s, n + 1);
    return 0;
}

static int tcp_check(const char *hostport, const char **why)
{
    const char *colon = strrchr(hostport, ':');
    char *end;

    if (!colon || colon == hostport) {
        *why = "tcp endpoint needs HOST:PORT";
        return -EINVAL;
    }
    if (hostport[0] == '[' && colon[-1] != ']') {
        *why = "bad IPv6 address, use [ADDR]:PORT";
        return -EINVAL;
    }
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 1 || port > 65535) {
        *why = "tcp port must be 1..65535";
        return -EINVAL;
    }
    return 0;
}

int endpoint_parse(const char *s, struct endpoint *ep, const char **why)
{
    memset(ep, 0, sizeof *ep);
    if (strcmp(s, "-") == 0) {
        ep->kind = EP_STDIO;
        return copy_arg(ep->url, s, why);
    }
    if (s[0] == '@' || s[0] == '>') {
        *why = "for CZMQ's @ and >, write bind: or connect: before the "
               "endpoint";
        return -EINVAL;
    }
    if (strncmp(s, "bind:", 5) == 0) {
        ep->dir = EP_DIR_BIND;
        s += 5;
    } else if (strncmp(s, "connect:", 8) == 0) {
        ep->dir = EP_DIR_CONNECT;
        s += 8;
    }
    if (strncmp(s, "tcp://", 6) == 0) {
        if (tcp_check(s + 6, why) < 0)
            return -EINVAL;
        if (ep->dir == EP_DIR_CONNECT && s[6] == '*') {
            *why = "connect: needs a host to connect to, not *";
            return -EINVAL;
        }
    } else if (strncmp(s, "ipc://", 6) == 0) {
        if (s[6] == 0) {
            *why = "ipc endpoint needs a path";
            return -EINVAL;
        }
    } else {
        *why = ep->dir ? "bind: and connect: go before tcp://HOST:PORT or "
                         "ipc://PATH"
                       : "expected tcp://HOST:PORT, ipc://PATH (maybe after "
                         "bind: or connect:) or -";
        return -EINVAL;
    }
    ep->kind = EP_ZMQ;
    return copy_arg(ep->url, s, why);
}
