/* ring.h -- the shared-memory frame ring: zero-copy frames on one host.
 *
 * A producer (capture, or a relay whose upstream is remote) owns one POSIX
 * shm segment per stream: a header, a slot table, and N page-aligned pixel
 * slots (layout in RING.md).  It writes each frame once, straight into the
 * next slot, and publishes a small descriptor (frame_hdr.shm) over ZeroMQ.
 * A subscriber on the same host maps the segment read-only and uses the
 * pixels in place.
 *
 * The writer never waits: each slot has a generation counter used as a
 * seqlock (odd while written).  A reader checks it before and after using
 * the pixels; a change means the slot was overwritten meanwhile and the
 * frame is torn.  Descriptors are untrusted: every field is checked
 * against the mapping before anything is touched.
 *
 * No process dies through a ring's memory (RING.md 7): a ring's pages are
 * reserved when it is made, with fewer slots or none if /dev/shm is
 * short, and a SIGBUS from a segment cut short under a mapping maps zero
 * pages over it, after which its frames read as torn and the mapping is
 * made anew.
 */
#ifndef VIDPIPE_RING_H
#define VIDPIPE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contract/frame.h"

#define RING_MAGIC 0x31525056u /* "VPR1" little-endian */
#define RING_VERSION 1
#define RING_MIN_SLOTS 2
#define RING_MAX_SLOTS 64
#define RING_DEFAULT_SLOTS 8 /* 130 ms at 60 fps */

struct ring;

/* Creates the segment name ("/vidpipe-..."; NULL: the next of this
 * process's names, "/vidpipe-<pid>-<n>"), mode 0600, for frames of the
 * given geometry, its memory reserved: nslots slots, or as many down to
 * RING_MIN_SLOTS as /dev/shm has room for (logging one line on how to
 * grow it).  0 with it in *out, or -errno with a static reason in *why:
 * -EBUSY for a segment of that name whose owner lives (one left by a dead
 * owner is replaced); -ENOSPC if not even RING_MIN_SLOTS fit, after a
 * warning on how to grow /dev/shm.  Installs the SIGBUS handler (RING.md 7). */
int ring_create(struct ring **out, const char *name, uint32_t nslots,
                uint32_t width, uint32_t height, uint32_t stride,
                enum pixfmt fmt, const char **why);
/* Unmaps and unlinks the segment; accepts NULL. */
void ring_free(struct ring *r);
/* The slots r has in shared memory now: at most the nslots asked for, 0
 * while its segment was lost and could not be made again. */
uint32_t ring_slots(const struct ring *r);
/* Bytes of shared memory r's segment holds now (0 without one). */
size_t ring_held(const struct ring *r);

/* Starts writing the next slot: returns its pixels (pixfmt_size()
 * bytes) and marks the slot busy.  Readers of that slot now see it torn. */
uint8_t *ring_write_begin(struct ring *r, uint32_t *slot);
/* Ends the write of slot for the frame h (its seq and timestamps are
 * kept in the slot), fills the descriptor d and rings the doorbell.  If
 * the segment shrank or was lost meanwhile, d names no frame (gen 0:
 * readers refuse it) and the next ring_write_begin() makes a new one. */
void ring_write_end(struct ring *r, uint32_t slot, const struct frame_hdr *h,
                    struct frame_shm *d);
/* Ends the write of slot without a frame (the source had none): the slot
 * holds no frame any more, no reader is told of one, and it is the next
 * one written. */
void ring_write_abort(struct ring *r, uint32_t slot);
/* True if r's geometry is this (else the producer makes a new ring). */
bool ring_fits(const struct ring *r, uint32_t width, uint32_t height,
               uint32_t stride, enum pixfmt fmt);

/* Unlinks vidpipe segments of this user whose owner process is gone.
 * Returns how many it removed. */
int ring_gc(void);

/* A subscriber's view: the rings it has mapped, by name. */
struct ring_reader;

struct ring_reader *ring_reader_new(void);
void ring_reader_free(struct ring_reader *rr);

/* Validates a descriptor header h against the ring it names, mapping the
 * ring first if needed (or again, if the token says it was replaced, or
 * its segment was cut short); before it maps one, drops the mappings of
 * rings whose segment has lost its name (RING.md 4).  0: usable.
 * -ENOENT: the ring cannot be opened here (another host, or another
 * user): use payloads instead.  -EBADMSG: the descriptor does not fit
 * the ring (forged or stale, or the ring cut short); *why says what. */
int ring_reader_check(struct ring_reader *rr, const struct frame_hdr *h,
                      const char **why);

/* The pixels of h (checked by ring_reader_check), or NULL if the slot has
 * already been overwritten.  Valid until ring_read_end(). */
const uint8_t *ring_read_begin(struct ring_reader *rr,
                               const struct frame_hdr *h);
/* True if the pixels read since ring_read_begin() were intact. */
bool ring_read_end(struct ring_reader *rr, const struct frame_hdr *h);

/* One ring as a reader has mapped it, counted: it stays mapped until its
 * last reference is put, even after the reader has let go of it. */
struct ring_map;

/* A new reference to the mapping of the ring descriptor h names (h
 * checked by ring_reader_check, and the ring still the one checked); NULL
 * if there is none.  Any thread may put it. */
struct ring_map *ring_reader_get(struct ring_reader *rr,
                                 const struct frame_hdr *h);
/* Drops a reference (the last one unmaps); accepts NULL. */
void ring_map_put(struct ring_map *m);
/* ring_read_begin() and ring_read_end() on a mapping held. */
const uint8_t *ring_map_read_begin(const struct ring_map *m,
                                   const struct frame_hdr *h);
bool ring_map_read_end(const struct ring_map *m, const struct frame_hdr *h);

/* The doorbell of the ring descriptor h names (h checked, the ring still
 * mapped with h's token; else NULL): a word in the ring that the writer
 * bumps after every frame, to sleep on with wake_wait() (shared).  Valid
 * until the next ring_reader_check(). */
const _Atomic uint32_t *ring_reader_bell(struct ring_reader *rr,
                                         const struct frame_hdr *h);
/* The ring's newest frame, as the descriptor its writer published: *out
 * is h (checked, as above) with the slot, generation, seq and timestamps
 * of that frame.  0, -EAGAIN if there is none yet or it is being
 * overwritten, -ENOENT if the ring is no longer mapped. */
int ring_reader_latest(struct ring_reader *rr, const struct frame_hdr *h,
                       struct frame_hdr *out);
/* A key that orders one ring's descriptors by when they were written (the
 * writer goes round the slots in turn, so by generation, then slot);
 * UINT64_MAX for a descriptor that cannot name a written frame, so that
 * it is never taken for an old one and goes on to be checked. */
uint64_t ring_order(const struct frame_hdr *h);

#endif
