/* mem.h -- a buffer kept from frame to frame, grown when a frame needs
 * more: what every converter and decoder holds, so that nothing is
 * allocated per frame once the sizes are known. */
#ifndef VIDPIPE_MEM_H
#define VIDPIPE_MEM_H

#include <stddef.h>
#include <stdint.h>

/* *buf (of *cap bytes) holds at least n afterwards; a buffer too small is
 * replaced (its contents are not kept).  *buf, or NULL when out of memory
 * (*buf is then NULL and *cap 0). */
uint8_t *mem_reserve(uint8_t **buf, size_t *cap, size_t n);

#endif
