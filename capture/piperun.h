/* piperun.h -- capture's run loop for byte streams and recordings.
 *
 * Used when the output is stdout (`-o -`) or the input a recording
 * (`-i rec.vpk`, `-i -`).  Frames go one at a time through a single
 * buffer, paced by the source's rate or the recording's stamps, and out
 * through an emitter (emit.h); the pooled zero-copy loop in main.c is for
 * live sources publishing over ZeroMQ.
 */
#ifndef CAPTURE_PIPERUN_H
#define CAPTURE_PIPERUN_H

#include <stdbool.h>
#include <stdint.h>

#include "transport/endpoint.h"
#include "contract/frame.h"
#include "source.h"

struct piperun_cfg {
    struct source_spec spec;
    struct source_req req; /* req.fps < 0: the source's own rate */
    const char *output;    /* "-" or a ZeroMQ endpoint to bind */
    const char *stream;    /* NULL: a recording keeps its stream names */
    uint64_t frames;       /* 0: no limit */
    enum frame_enc codec;  /* of stdout */
    int quality;
    double speed;        /* recordings: 2 plays twice as fast */
    uint32_t ring_slots; /* of shm rings for ZeroMQ output; 0: none */
    bool stats_json;
};

/* Runs until the input ends, a stop is asked for, cfg->frames are out or
 * stdout's reader goes away (all EXIT_OK), or a failure (EXIT_RUNTIME;
 * EXIT_USAGE when the source or output cannot be opened). */
int piperun(const struct piperun_cfg *cfg);

#endif
