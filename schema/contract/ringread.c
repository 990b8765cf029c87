/* ringread.c -- reading a shared-memory ring: descriptors checked against
 * the mapping, pixels in place, the doorbell (RING.md 3-5). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contract/pixfmt.h"
#include "contract/ring.h"
#include "contract/ringshm.h"
#include "util/guard.h"

/* Rings mapped at once: a relay or display on a gateway reads the rings
 * of every camera on its host, and a ring mapped anew for each frame
 * would cost an open, an mmap and an munmap a frame. */
#define READER_MAPS 64

/* One mapped ring.  The reader's cache holds a reference, and so does
 * every frame whose pixels point into it (ring_reader_get()), so a ring
 * the cache lets go of stays mapped while a frame still uses it. */
struct ring_map {
    _Atomic unsigned refs;
    char name[FRAME_SHM_NAME_MAX + 1];
    const uint8_t *base;
    size_t size;
    int fd;               /* kept, to notice the segment shrink (fstat) */
    int guard;            /* broken: zero pages back the mapping now */
    struct ring_hdr copy; /* validated once; never re-read from shm */
    const struct ring_slot *slots;
};

struct ring_reader {
    struct ring_map *maps[READER_MAPS];
    unsigned next_evict;
};

struct ring_reader *ring_reader_new(void)
{
    return calloc(1, sizeof(struct ring_reader));
}

void ring_map_put(struct ring_map *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    guard_release(m->guard);
    munmap((void *)m->base, m->size);
    close(m->fd);
    free(m);
}

/* One more reference to m, which the caller holds or the cache does. */
static struct ring_map *map_ref(struct ring_map *m)
{
    atomic_fetch_add(&m->refs, 1);
    return m;
}

/* Drops the cache's reference in slot i. */
static void evict(struct ring_reader *rr, unsigned i)
{
    ring_map_put(rr->maps[i]);
    rr->maps[i] = NULL;
}

void ring_reader_free(struct ring_reader *rr)
{
    if (!rr)
        return;
    for (unsigned i = 0; i < READER_MAPS; i++)
        evict(rr, i);
    free(rr);
}

/* The cache slot holding name, or -1. */
static int find(const struct ring_reader *rr, const char *name)
{
    for (unsigned i = 0; i < READER_MAPS; i++)
        if (rr->maps[i] && strcmp(rr->maps[i]->name, name) == 0)
            return (int)i;
    return -1;
}

/* True if m can no longer be trusted for a new frame: a fault broke it,
 * or its segment is now smaller than the mapping (pages cut off). */
static bool map_lost(const struct ring_map *m)
{
    struct stat st;
    return guard_broken(m->guard) || fstat(m->fd, &st) < 0 ||
           (uint64_t)st.st_size < m->size;
}

/* True if m's segment has lost its name: its producer freed it (exit, a
 * new geometry) or died and ring_gc() removed it, or it was made anew
 * under the name.  Nobody writes to it again (ring.c makes a new segment
 * once it sees its own unnamed), so a reader has no use for it. */
static bool map_unnamed(const struct ring_map *m)
{
    struct stat st;
    return fstat(m->fd, &st) < 0 || st.st_nlink == 0;
}

/* A cache slot for a ring about to be mapped.  The rings whose name is
 * gone are dropped first: a producer restarted again and again leaves one
 * each, and a mapping of one holds an fd and its pages (the segment's
 * memory is not freed while mapped).  Then a free slot, else the next in
 * turn, evicted.  Frames still holding a dropped ring keep it mapped. */
static unsigned make_room(struct ring_reader *rr)
{
    int room = -1;
    for (unsigned i = 0; i < READER_MAPS; i++) {
        if (rr->maps[i] && map_unnamed(rr->maps[i]))
            evict(rr, i);
        if (!rr->maps[i] && room < 0)
            room = (int)i;
    }
    if (room >= 0)
        return (unsigned)room;
    unsigned i = rr->next_evict;
    rr->next_evict = (rr->next_evict + 1) % READER_MAPS;
    evict(rr, i);
    return i;
}

/* Maps name and validates its header: a new mapping with one reference,
 * or NULL with *rc -ENOENT or -EBADMSG. */
static struct ring_map *map_ring(const char *name, int *rc, const char **why)
{
    struct stat st;
    struct ring_map *m;
    int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);

    *rc = -ENOENT;
    if (fd < 0) {
        *why = "cannot open the ring on this host";
        return NULL;
    }
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid()) {
        close(fd);
        *why = "ring is not ours";
        return NULL;
    }
    /* Ours but cut short (by its writer's death or by anyone): bad, not a
     * reason to leave shared memory. */
    if ((uint64_t)st.st_size < sizeof(struct ring_hdr)) {
        close(fd);
        *rc = -EBADMSG;
        *why = "ring is smaller than its header";
        return NULL;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED || !(m = calloc(1, sizeof *m))) {
        if (p != MAP_FAILED)
            munmap(p, (size_t)st.st_size);
        close(fd);
        *why = p == MAP_FAILED ? "cannot map the ring" : "out of memory";
        return NULL;
    }
    atomic_init(&m->refs, 1);
    m->base = p;
    m->size = (size_t)st.st_size;
    m->fd = fd;
    /* Before the first touch: a truncation from now on reads as zeros. */
    if ((m->guard = guard_claim(p, m->size, PROT_READ)) < 0) {
        *why = "too many rings mapped";
        goto bad;
    }
    *rc = -EBADMSG;
    if (atomic_load_explicit(&((const struct ring_hdr *)p)->magic,
                             memory_order_acquire) != RING_MAGIC) {
        *why = "ring header not initialised";
        goto bad;
    }
    memcpy(&m->copy, p, sizeof m->copy);
    if (guard_broken(m->guard)) {
        *why = "ring shrank while its header was read";
        goto bad;
    }
    const struct ring_hdr *h = &m->copy;
    enum pixfmt fmt = h->fmt <= PIXFMT_LAST ? (enum pixfmt)h->fmt : PIXFMT_NONE;
    uint64_t table = sizeof(struct ring_hdr) +
                     (uint64_t)h->nslots * sizeof(struct ring_slot);
    /* Every number that locates memory is checked against the mapping. */
    if (h->version != RING_VERSION || h->hdr_size != sizeof *h ||
        h->nslots < RING_MIN_SLOTS || h->nslots > RING_MAX_SLOTS ||
        pixfmt_geometry(fmt, h->width, h->height, h->stride, NULL) ||
        h->slot_size < pixfmt_size(fmt, h->height, h->stride) ||
        h->data_offset < table || h->total_size > m->size ||
        h->slot_size > (m->size - h->data_offset) / h->nslots ||
        h->data_offset > m->size) {
        *why = "ring header is inconsistent";
        goto bad;
    }
    snprintf(m->name, sizeof m->name, "%s", name);
    m->slots = (const struct ring_slot *)(m->base + sizeof(struct ring_hdr));
    *rc = 0;
    return m;
bad:
    ring_map_put(m);
    return NULL;
}

int ring_reader_check(struct ring_reader *rr, const struct frame_hdr *h,
                      const char **why)
{
    const char *name = h->shm.name;
    int i, rc;

    if (!h->has_shm) {
        *why = "no shm descriptor";
        return -EBADMSG;
    }
    i = find(rr, name);
    if (i >= 0 &&
        (rr->maps[i]->copy.token != h->shm.token || map_lost(rr->maps[i]))) {
        evict(rr, (unsigned)i); /* a new ring under the same name, or */
        i = -1;                 /* the old one cut short */
    }
    if (i < 0) {
        i = (int)make_room(rr);
        if (!(rr->maps[i] = map_ring(name, &rc, why)))
            return rc;
        if (rr->maps[i]->copy.token != h->shm.token) {
            evict(rr, (unsigned)i);
            *why = "descriptor token does not match the ring";
            return -EBADMSG;
        }
    }
    const struct ring_hdr *rh = &rr->maps[i]->copy;
    if (h->shm.slot >= rh->nslots) {
        *why = "slot out of range";
        return -EBADMSG;
    }
    if (h->width != rh->width || h->height != rh->height ||
        h->stride != rh->stride || (uint32_t)h->fmt != rh->fmt ||
        h->size > rh->slot_size) {
        *why = "descriptor geometry does not fit the ring";
        return -EBADMSG;
    }
    if (h->shm.gen == 0 || (h->shm.gen & 1)) {
        *why = "descriptor generation is not a written frame";
        return -EBADMSG;
    }
    return 0;
}

/* The mapping of the ring h's descriptor names, if it is still the one
 * the descriptor was checked against and no fault has broken it. */
static struct ring_map *mapped(const struct ring_reader *rr,
                               const struct frame_hdr *h)
{
    int i = find(rr, h->shm.name);
    return i >= 0 && rr->maps[i]->copy.token == h->shm.token &&
                   !guard_broken(rr->maps[i]->guard)
               ? rr->maps[i]
               : NULL;
}

struct ring_map *ring_reader_get(struct ring_reader *rr,
                                 const struct frame_hdr *h)
{
    struct ring_map *m = mapped(rr, h);
    return m ? map_ref(m) : NULL;
}

const uint8_t *ring_map_read_begin(const struct ring_map *m,
                                   const struct frame_hdr *h)
{
    if (h->shm.slot >= m->copy.nslots || guard_broken(m->guard))
        return NULL;
    uint64_t g =
        atomic_load_explicit(&m->slots[h->shm.slot].gen, memory_order_acquire);
    if (g != h->shm.gen)
        return NULL;
    return m->base + m->copy.data_offset +
           (uint64_t)h->shm.slot * m->copy.slot_size;
}

bool ring_map_read_end(const struct ring_map *m, const struct frame_hdr *h)
{
    if (h->shm.slot >= m->copy.nslots)
        return false;
    /* Pixel reads above may not move below this load. */
    atomic_thread_fence(memory_order_acquire);
    bool same = atomic_load_explicit(&m->slots[h->shm.slot].gen,
                                     memory_order_relaxed) == h->shm.gen;
    /* Pixels read after a fault were zeros, whatever gen says now. */
    return same && !guard_broken(m->guard);
}

const uint8_t *ring_read_begin(struct ring_reader *rr,
                               const struct frame_hdr *h)
{
    const struct ring_map *m = mapped(rr, h);
    return m ? ring_map_read_begin(m, h) : NULL;
}

bool ring_read_end(struct ring_reader *rr, const struct frame_hdr *h)
{
    const struct ring_map *m = mapped(rr, h);
    return m && ring_map_read_end(m, h);
}

const _Atomic uint32_t *ring_reader_bell(struct ring_reader *rr,
                                         const struct frame_hdr *h)
{
    const struct ring_map *m = mapped(rr, h);
    return m ? &((const struct ring_hdr *)m->base)->bell : NULL;
}

int ring_reader_latest(struct ring_reader *rr, const struct frame_hdr *h,
                       struct frame_hdr *out)
{
    const struct ring_map *m = mapped(rr, h);
    if (!m)
        return -ENOENT;
    /* latest is the writer's word in shared memory: checked before use. */
    uint32_t i = atomic_load_explicit(
        &((const struct ring_hdr *)m->base)->latest, memory_order_acquire);
    if (i == 0 || i > m->copy.nslots)
        return -EAGAIN;
    const struct ring_slot *s = &m->slots[i - 1];
    uint64_t g = atomic_load_explicit(&s->gen, memory_order_acquire);
    if (g == 0 || (g & 1))
        return -EAGAIN;
    *out = *h;
    out->shm.slot = i - 1;
    out->shm.gen = g;
    out->seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    out->t_real_ns = atomic_load_explicit(&s->t_real_ns, memory_order_relaxed);
    out->t_mono_ns = atomic_load_explicit(&s->t_mono_ns, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&s->gen, memory_order_relaxed) != g)
        return -EAGAIN; /* overwritten while read: a newer one is coming */
    return 0;
}

_Static_assert(RING_MAX_SLOTS <= 64, "ring_order: a slot fits 6 bits");

uint64_t ring_order(const struct frame_hdr *h)
{
    if (h->shm.gen == 0 || (h->shm.gen & 1) || h->shm.slot >= RING_MAX_SLOTS ||
        h->shm.gen >= UINT64_MAX >> 6)
        return UINT64_MAX; /* names no frame: never "older" than one */
    return h->shm.gen << 6 | h->shm.slot;
}
