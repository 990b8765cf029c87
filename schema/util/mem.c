/* mem.c -- buffers grown to fit. */
#include <stdlib.h>

#include "util/mem.h"

uint8_t *mem_reserve(uint8_t **buf, size_t *cap, size_t n)
{
    if (n > *cap || !*buf) {
        free(*buf);
        *cap = 0;
        if (!(*buf = malloc(n ? n : 1)))
            return NULL;
        *cap = n;
    }
    return *buf;
}
