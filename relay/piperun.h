/* piperun.h -- the relay's loop when either end is a byte stream.
 *
 * `-i -` reads frame maps from stdin as fast as they come (a recording
 * goes through at full speed) and publishes each in the variants its
 * subscribers want (emit.h: shm, raw, JPEG), or writes it on as it is;
 * `-o -` writes what a ZeroMQ input delivers to stdout.  Frames are
 * validated on the way in.
 */
#ifndef RELAY_PIPERUN_H
#define RELAY_PIPERUN_H

#include <stdbool.h>

#include "contract/topic.h"

struct piperun_cfg {
    const char *const *inputs; /* {"-"} or ZeroMQ endpoints */
    unsigned ninputs;
    const char *output;   /* "-" or a ZeroMQ endpoint */
    enum variant variant; /* what a ZeroMQ input subscribes to */
    uint32_t ring_slots;  /* of shm rings for ZeroMQ output; 0: none */
    bool stats_json;
};

/* Runs until the input ends, a stop is asked for, or stdout's reader
 * goes (EXIT_OK), or a failure: bad input on stdin (EXIT_RUNTIME), an
 * endpoint that cannot be opened (EXIT_USAGE). */
int piperun(const struct piperun_cfg *cfg);

#endif
