/* fault.h -- fault points: test-only controls, off unless asked for.
 *
 * A test that needs a race, an overwrite or a timing window forces it
 * instead of waiting for it: it starts the program with
 *
 *     VIDPIPE_FAULTS="name[=value],..."
 *
 * and the points named there act where the race is (a reader held in
 * its read window until the writer has overwritten its slot, a writer
 * that makes a frame when the test says, ...).  The variable is read once,
 * before main; an unknown name or a bad value ends the program with
 * status 2 and one line, and armed points say so on stderr.  With nothing
 * armed a point costs one load and one predictable branch (FAULT()).
 * docs/TESTING.md lists every point, where it is and what tests use it.
 */
#ifndef VIDPIPE_FAULT_H
#define VIDPIPE_FAULT_H

#include <stdbool.h>
#include <stddef.h>

enum fault_point {
    FAULT_COPY_TORN,    /* =N  api/frame.c: every Nth copy of a shm frame
                           is held until its slot is overwritten */
    FAULT_CAPTURE_STEP, /* =FIFO  capture: a frame per byte read */
    FAULT_DISPLAY_STEP, /* =FIFO  display: after each frame's sink, wait
                           for a byte before taking the next frame */
    FAULT_EXIT_STOP,    /* cli: SIGSTOP itself after the final report */
    FAULT_PACE_TRACE,   /* capture: says when each replayed frame is due */
    FAULT_RELEASE_STEP, /* =FIFO  api/recv.c: a frame being released waits
                           for a byte before its subscriber's lock */
    FAULT_LOOP_STALL,   /* =FIFO  relay: its main loop hangs, as a stuck
                           one would, once a byte is read */
    FAULT_POINTS
};

/* True while any point is armed: the one test on a hot path. */
extern bool fault_any;

#define FAULT(p) (__builtin_expect(fault_any, 0) && fault_on(p))
/* True on every Nth pass through an armed point (N its value). */
#define FAULT_EVERY(p) (__builtin_expect(fault_any, 0) && fault_every(p))

/* Arms the points spec names ("name[=value],...", "" disarms them all),
 * as the environment variable does before main.  0, or -EINVAL with a
 * static reason in *why (nothing is armed then); the caller names spec. */
int fault_parse(const char *spec, const char **why);

bool fault_on(enum fault_point p);
/* The point's value as given, or NULL. */
const char *fault_arg(enum fault_point p);
/* Counts a pass through p: true on every Nth (thread-safe); false when p
 * is not armed. */
bool fault_every(enum fault_point p);

/* A step of a point whose value names a FIFO (opened at the first call,
 * read and write, so that it never reads end-of-file): waits up to
 * timeout_ms (0: not at all) for one byte and takes it.  0: a step was
 * taken; -EAGAIN: none came; another -errno: the FIFO cannot be used
 * (logged once) or a signal came (-EINTR). */
int fault_step(enum fault_point p, int timeout_ms);

/* Point p stops the calling thread here for good, after one line saying
 * so: signals run their handlers and it sleeps on (a stuck loop). */
_Noreturn void fault_hang(enum fault_point p);

#endif
