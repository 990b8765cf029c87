/* ringshm.h -- the shm ring's layout in memory, for ring.c (the writer)
 * and ringread.c (the readers) only: RING.md section 2, pinned here. */
#ifndef VIDPIPE_RINGSHM_H
#define VIDPIPE_RINGSHM_H

#include <stdatomic.h>
#include <stdint.h>

#define PAGE 4096u

/* The segment header, shared between processes: fixed-width fields only. */
struct ring_hdr {
    _Atomic uint32_t magic; /* written last: a reader sees a whole header */
    uint32_t version;
    uint64_t token;
    uint32_t nslots;
    uint32_t fmt;
    uint32_t width, height, stride;
    uint32_t hdr_size;    /* sizeof(struct ring_hdr) */
    uint64_t slot_size;   /* bytes from one slot's pixels to the next */
    uint64_t data_offset; /* where slot 0's pixels start */
    uint64_t total_size;
    int64_t owner_pid;
    uint64_t owner_start;    /* /proc/PID/stat start time, against PID reuse */
    char stream[64];         /* informational */
    _Atomic uint32_t bell;   /* doorbell: bumped after every frame */
    _Atomic uint32_t latest; /* 1 + the slot of the newest frame; 0 none */
    uint8_t reserved[40];
};

/* One cache line per slot, so writer and readers of different slots do
 * not share lines. */
struct ring_slot {
    _Atomic uint64_t gen; /* even: stable; odd: being written */
    /* The frame's header fields a reader cannot know from the ring's
     * geometry, guarded by gen like the pixels. */
    _Atomic uint64_t seq;
    _Atomic int64_t t_real_ns, t_mono_ns;
    uint8_t reserved[32];
};

_Static_assert(sizeof(struct ring_hdr) == 192, "shm ABI: ring header");
_Static_assert(sizeof(struct ring_slot) == 64, "shm ABI: ring slot");

#endif
