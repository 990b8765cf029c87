/* guard.h -- mappings of shared memory that a SIGBUS cannot kill us
 * through.
 *
 * A file mapping whose file shrinks (another process truncates it, a
 * tmpfs runs out of pages) raises SIGBUS at the next access past the new
 * end.  Pixels in a shm ring are used in place by callers that cannot
 * check every access, so the fault itself is made harmless: a
 * process-wide handler, installed with the first guard, maps zero pages
 * over a guarded mapping that faults and marks it broken; execution goes
 * on, and the owner sees guard_broken() and treats what it read as lost.
 * Any other SIGBUS goes to the handler we displaced, or kills as it
 * would have.  The handler reads the guards with lock-free atomics only.
 */
#ifndef VIDPIPE_GUARD_H
#define VIDPIPE_GUARD_H

#include <stdbool.h>
#include <stddef.h>

/* Guards the mapping [base, base + size), mapped with prot, before it is
 * first touched: the guard's index, or -EMFILE if every guard is taken. */
int guard_claim(const void *base, size_t size, int prot);
/* Releases guard i (before its mapping is unmapped); accepts -1. */
void guard_release(int i);
/* True if a fault hit guard i's mapping (it holds zero pages now). */
bool guard_broken(int i);

#endif
