/* ring.c -- shared-memory frame ring (layout in RING.md). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contract/ring.h"
#include "util/wake.h"

#define PAGE 4096u
#define RING_SETUP_GRACE_S 10

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

struct ring {
    char name[FRAME_SHM_NAME_MAX + 1];
    struct ring_hdr *hdr;
    struct ring_slot *slots;
    uint8_t *base;
    size_t size;
    uint32_t next;
};

static uint64_t proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* Field 22, counted after the ")" that ends the command name. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    int field = 2;
    for (p++; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    return strtoull(p, NULL, 10);
}

static bool owner_alive(const struct ring_hdr *h)
{
    pid_t pid = (pid_t)h->owner_pid;
    if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
        return false;
    return proc_start_time(pid) == h->owner_start;
}

static uint64_t random_token(void)
{
    uint64_t t = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &t, sizeof t) != sizeof t)
            t = 0;
        close(fd);
    }
    if (t == 0) /* never 0: a zeroed segment must not match */
        t = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL) ^ 1;
    return t;
}

/* Maps the header of an existing segment read-only and checks whether its
 * owner is gone.  1 stale, 0 alive or not ours to judge, -errno. */
static int segment_stale(const char *name)
{
    struct stat st;
    int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid()) {
        close(fd);
        return 0;
    }
    /* A segment still being set up has no size or magic yet: only an old
     * one without them is a creator that died half way. */
    bool young = time(NULL) - st.st_mtim.tv_sec < RING_SETUP_GRACE_S;
    if ((size_t)st.st_size < sizeof(struct ring_hdr)) {
        close(fd);
        return !young;
    }
    struct ring_hdr *h = mmap(NULL, sizeof *h, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (h == MAP_FAILED)
        return -errno;
    if (atomic_load(&h->magic) != RING_MAGIC)
        rc = !young;
    else
        rc = !owner_alive(h);
    munmap(h, sizeof *h);
    return rc;
}

/* The next name of this process's rings: /vidpipe-<pid>-<n>. */
static void ring_name(char *buf, size_t cap)
{
    static _Atomic unsigned made;
    snprintf(buf, cap, "/vidpipe-%d-%u", (int)getpid(),
             atomic_fetch_add(&made, 1));
}

struct ring *ring_create(const char *name, uint32_t nslots, uint32_t width,
                         uint32_t height, uint32_t stride, enum pixfmt fmt,
                         char *err, size_t errlen)
{
    struct ring *r = NULL;
    int fd = -1;
    uint64_t frame = (uint64_t)stride * height;
    char made[FRAME_SHM_NAME_MAX + 1];

    if (!name) {
        ring_name(made, sizeof made);
        name = made;
    }

    if (nslots < RING_MIN_SLOTS || nslots > RING_MAX_SLOTS || frame == 0 ||
        strlen(name) > FRAME_SHM_NAME_MAX ||
        strncmp(name, "/vidpipe-", 9) != 0) {
        snprintf(err, errlen, "ring %s: bad parameters", name);
        return NULL;
    }
    uint64_t table =
        sizeof(struct ring_hdr) + (uint64_t)nslots * sizeof(struct ring_slot);
    uint64_t data_offset = (table + PAGE - 1) / PAGE * PAGE;
    uint64_t slot_size = (frame + PAGE - 1) / PAGE * PAGE;
    uint64_t total = data_offset + slot_size * nslots;

    for (int tries = 0; fd < 0 && tries < 2; tries++) {
        fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
        int stale = segment_stale(name);
        if (stale == 0) {
            snprintf(err, errlen, "shm %s is in use by a live producer", name);
            errno = EBUSY;
            return NULL;
        }
        shm_unlink(name); /* left by a producer that died */
    }
    if (fd < 0) {
        snprintf(err, errlen, "shm_open %s: %s", name, strerror(errno));
        return NULL;
    }
    if (ftruncate(fd, (off_t)total) < 0) {
        snprintf(err, errlen, "shm %s: size %llu: %s", name,
                 (unsigned long long)total, strerror(errno));
        goto fail;
    }
    if (!(r = calloc(1, sizeof *r)))
        goto fail;
    r->size = total;
    r->base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (r->base == MAP_FAILED) {
        snprintf(err, errlen, "mmap %s: %s", name, strerror(errno));
        r->base = NULL;
        goto fail;
    }
    close(fd);
    fd = -1;
    snprintf(r->name, sizeof r->name, "%s", name);
    r->hdr = (struct ring_hdr *)r->base;
    r->slots = (struct ring_slot *)(r->base + sizeof(struct ring_hdr));
    struct ring_hdr *h = r->hdr;
    h->version = RING_VERSION;
    h->token = random_token();
    h->nslots = nslots;
    h->fmt = fmt;
    h->width = width;
    h->height = height;
    h->stride = stride;
    h->hdr_size = sizeof *h;
    h->slot_size = slot_size;
    h->data_offset = data_offset;
    h->total_size = total;
    h->owner_pid = getpid();
    h->owner_start = proc_start_time(getpid());
    for (uint32_t i = 0; i < nslots; i++)
        atomic_init(&r->slots[i].gen, 2); /* 0 never names a frame */
    atomic_store_explicit(&h->magic, RING_MAGIC, memory_order_release);
    return r;
fail:
    if (fd >= 0)
        close(fd);
    shm_unlink(name);
    if (r && r->base)
        munmap(r->base, r->size);
    free(r);
    if (!*err)
        snprintf(err, errlen, "ring %s: out of memory", name);
    return NULL;
}

void ring_free(struct ring *r)
{
    if (!r)
        return;
    shm_unlink(r->name);
    munmap(r->base, r->size);
    free(r);
}

bool ring_fits(const struct ring *r, uint32_t width, uint32_t height,
               uint32_t stride, enum pixfmt fmt)
{
    const struct ring_hdr *h = r->hdr;
    return h->width == width && h->height == height && h->stride == stride &&
           h->fmt == (uint32_t)fmt;
}

uint8_t *ring_write_begin(struct ring *r, uint32_t *slot)
{
    uint32_t i = r->next;
    struct ring_slot *s = &r->slots[i];
    uint64_t g = atomic_load_explicit(&s->gen, memory_order_relaxed);

    r->next = (i + 1) % r->hdr->nslots;
    atomic_store_explicit(&s->gen, g + 1, memory_order_relaxed);
    /* The odd generation is visible before any pixel changes. */
    atomic_thread_fence(memory_order_release);
    *slot = i;
    return r->base + r->hdr->data_offset + (uint64_t)i * r->hdr->slot_size;
}

void ring_write_abort(struct ring *r, uint32_t slot)
{
    struct ring_slot *s = &r->slots[slot];
    uint64_t g = atomic_load_explicit(&s->gen, memory_order_relaxed) + 1;

    /* Even again, but a generation no descriptor names: readers of the
     * frame the slot held see it torn, and nobody is told of a new one.
     * The slot is the next one written. */
    atomic_store_explicit(&s->gen, g, memory_order_release);
    r->next = slot;
}

void ring_write_end(struct ring *r, uint32_t slot, const struct frame_hdr *h,
                    struct frame_shm *d)
{
    struct ring_slot *s = &r->slots[slot];
    uint64_t g = atomic_load_explicit(&s->gen, memory_order_relaxed) + 1;

    atomic_store_explicit(&s->seq, h->seq, memory_order_relaxed);
    atomic_store_explicit(&s->t_real_ns, h->t_real_ns, memory_order_relaxed);
    atomic_store_explicit(&s->t_mono_ns, h->t_mono_ns, memory_order_relaxed);
    atomic_store_explicit(&s->gen, g, memory_order_release);
    snprintf(d->name, sizeof d->name, "%s", r->name);
    d->token = r->hdr->token;
    d->slot = slot;
    d->gen = g;
    /* Readers asleep on the doorbell take the frame without waiting for
     * its descriptor. */
    atomic_store_explicit(&r->hdr->latest, slot + 1, memory_order_release);
    atomic_fetch_add_explicit(&r->hdr->bell, 1, memory_order_release);
    wake_all(&r->hdr->bell, true);
}

int ring_gc(void)
{
    DIR *dir = opendir("/dev/shm");
    struct dirent *e;
    char name[FRAME_SHM_NAME_MAX + 2];
    int n = 0;

    if (!dir)
        return 0;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "vidpipe-", 8) != 0 ||
            len > FRAME_SHM_NAME_MAX - 1)
            continue;
        name[0] = '/';
        memcpy(name + 1, e->d_name, len + 1);
        if (segment_stale(name) == 1 && shm_unlink(name) == 0)
            n++;
    }
    closedir(dir);
    return n;
}

/* --- the reader side. -------------------------------------------------- */

#define READER_MAPS 8

/* One mapped ring.  The reader's cache holds a reference, and so does
 * every frame whose pixels point into it (ring_reader_get()), so a ring
 * the cache lets go of stays mapped while a frame still uses it. */
struct ring_map {
    _Atomic unsigned refs;
    char name[FRAME_SHM_NAME_MAX + 1];
    const uint8_t *base;
    size_t size;
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
    munmap((void *)m->base, m->size);
    free(m);
}

struct ring_map *ring_map_ref(struct ring_map *m)
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
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
        (uint64_t)st.st_size < sizeof(struct ring_hdr)) {
        close(fd);
        *why = "ring is not ours or too small";
        return NULL;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        *why = "cannot map the ring";
        return NULL;
    }
    if (!(m = calloc(1, sizeof *m))) {
        munmap(p, (size_t)st.st_size);
        *why = "out of memory";
        return NULL;
    }
    atomic_init(&m->refs, 1);
    m->base = p;
    m->size = (size_t)st.st_size;
    *rc = -EBADMSG;
    if (atomic_load_explicit(&((const struct ring_hdr *)p)->magic,
                             memory_order_acquire) != RING_MAGIC) {
        *why = "ring header not initialised";
        goto bad;
    }
    memcpy(&m->copy, p, sizeof m->copy);
    const struct ring_hdr *h = &m->copy;
    unsigned bpp = pixfmt_bpp((enum pixfmt)h->fmt);
    uint64_t table = sizeof(struct ring_hdr) +
                     (uint64_t)h->nslots * sizeof(struct ring_slot);
    /* Every number that locates memory is checked against the mapping. */
    if (h->version != RING_VERSION || h->hdr_size != sizeof *h ||
        h->nslots < RING_MIN_SLOTS || h->nslots > RING_MAX_SLOTS || bpp == 0 ||
        h->width < 1 || h->width > FRAME_DIM_MAX || h->height < 1 ||
        h->height > FRAME_DIM_MAX || h->stride < (uint64_t)h->width * bpp ||
        h->stride > (uint64_t)FRAME_DIM_MAX * 4 ||
        h->slot_size < (uint64_t)h->stride * h->height ||
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
    if (i >= 0 && rr->maps[i]->copy.token != h->shm.token) {
        evict(rr, (unsigned)i); /* a new ring under the same name */
        i = -1;
    }
    if (i < 0) {
        i = (int)rr->next_evict;
        rr->next_evict = (rr->next_evict + 1) % READER_MAPS;
        evict(rr, (unsigned)i);
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
 * the descriptor was checked against. */
static struct ring_map *mapped(const struct ring_reader *rr,
                               const struct frame_hdr *h)
{
    int i = find(rr, h->shm.name);
    return i >= 0 && rr->maps[i]->copy.token == h->shm.token ? rr->maps[i]
                                                             : NULL;
}

struct ring_map *ring_reader_get(struct ring_reader *rr,
                                 const struct frame_hdr *h)
{
    struct ring_map *m = mapped(rr, h);
    return m ? ring_map_ref(m) : NULL;
}

const uint8_t *ring_map_read_begin(const struct ring_map *m,
                                   const struct frame_hdr *h)
{
    if (h->shm.slot >= m->copy.nslots)
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
    return atomic_load_explicit(&m->slots[h->shm.slot].gen,
                                memory_order_relaxed) == h->shm.gen;
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
