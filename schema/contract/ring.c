/* ring.c -- the shared-memory frame ring: creating it, writing frames,
 * and collecting rings whose owner died (layout in RING.md).  The
 * readers' side is ringread.c. */
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
#include <sys/statvfs.h>
#include <unistd.h>

#include "contract/pixfmt.h"
#include "contract/ring.h"
#include "contract/ringshm.h"
#include "util/clock.h"
#include "util/guard.h"
#include "util/log.h"
#include "util/wake.h"

#define RING_SETUP_GRACE_S 10
#define MIB (1024.0 * 1024.0)
/* A writer whose segment could not be made again tries again this often
 * (a try that statvfs shows cannot succeed costs nothing more). */
#define RING_REMAKE_NS 1000000000LL
/* Test control (RING.md 7): a decimal byte count; a reservation larger
 * than it fails with ENOSPC as if /dev/shm had no more room.  Unset in
 * production. */
#define RING_TEST_LIMIT_ENV "VIDPIPE_TEST_SHM_LIMIT"

/* --- the writer side. -------------------------------------------------- */

/* The memory a writer's frames go into: its segment, or private memory
 * while it has none. */
struct seg {
    int fd; /* kept, to notice the segment shrink or go; -1: private */
    int guard;
    uint8_t *base;
    size_t size;
    uint32_t nslots;
    uint64_t data_offset, token;
};

struct ring {
    char name[FRAME_SHM_NAME_MAX + 1];
    struct seg s;
    uint32_t next;
    /* The geometry, kept here: the segment's header is the readers' copy,
     * and the segment may be lost under us. */
    uint32_t wish; /* slots asked for; s.nslots may be fewer */
    uint32_t width, height, stride;
    enum pixfmt fmt;
    uint64_t slot_size;
    bool lost;         /* make a new segment before the next frame */
    bool told;         /* the line on why there is none has been logged */
    int64_t remake_ns; /* without a segment: when to try again */
    struct log_limit log;
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
    /* Truncated meanwhile, it reads as zeros: not initialised. */
    int g = guard_claim(h, sizeof *h, PROT_READ);
    if (g >= 0) {
        if (atomic_load(&h->magic) != RING_MAGIC)
            rc = !young;
        else
            rc = !owner_alive(h);
    }
    guard_release(g);
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

static uint64_t data_offset_for(uint32_t nslots)
{
    uint64_t table =
        sizeof(struct ring_hdr) + (uint64_t)nslots * sizeof(struct ring_slot);
    return (table + PAGE - 1) / PAGE * PAGE;
}

/* The size of r's segment with nslots slots. */
static uint64_t ring_bytes(const struct ring *r, uint32_t nslots)
{
    return data_offset_for(nslots) + r->slot_size * nslots;
}

static struct ring_hdr *hdr_of(const struct ring *r)
{
    return (struct ring_hdr *)r->s.base;
}

static struct ring_slot *slot_of(const struct ring *r, uint32_t i)
{
    return (struct ring_slot *)(r->s.base + sizeof(struct ring_hdr)) + i;
}

/* What /dev/shm can take now. */
struct shm_space {
    int64_t free;  /* bytes; -1 unknown */
    uint64_t used; /* bytes others hold */
};

static struct shm_space shm_space(void)
{
    struct shm_space sp = {-1, 0};
    struct statvfs v;

    if (statvfs("/dev/shm", &v) == 0) {
        sp.free = (int64_t)(v.f_bavail * v.f_frsize);
        sp.used = (v.f_blocks - v.f_bfree) * v.f_frsize;
    }
    return sp;
}

/* The test control's byte count, or UINT64_MAX when it is unset. */
static uint64_t test_limit(void)
{
    const char *s = getenv(RING_TEST_LIMIT_ENV);
    return s && *s ? strtoull(s, NULL, 10) : UINT64_MAX;
}

/* The one line that says why r got fewer slots than it wished (got), or
 * none (got 0), and how to give /dev/shm the room. */
static void explain(char *buf, size_t len, const struct ring *r, uint32_t got,
                    const struct shm_space *sp)
{
    uint64_t want = ring_bytes(r, r->wish), limit = test_limit();
    uint64_t step = 64u << 20; /* suggest a round size */
    int64_t room = sp->free;
    uint64_t used = sp->used;
    char free[32], has[64];

    if (limit != UINT64_MAX) { /* as if /dev/shm held only that */
        room = room >= 0 && (uint64_t)room < limit ? room : (int64_t)limit;
        used = 0;
    }
    unsigned long long grow = (used + want + step - 1) / step * (step >> 20);
    if (room >= 0)
        snprintf(free, sizeof free, "%.1f MiB", (double)room / MIB);
    else
        snprintf(free, sizeof free, "an unknown amount");
    if (got)
        snprintf(has, sizeof has, "using %u slots (%.1f MiB)", got,
                 (double)ring_bytes(r, got) / MIB);
    else
        snprintf(has, sizeof has, "not even %u slots (%.1f MiB) fit",
                 RING_MIN_SLOTS, (double)ring_bytes(r, RING_MIN_SLOTS) / MIB);
    snprintf(buf, len,
             "shm %s: %u slots of %ux%u %s need %.1f MiB of /dev/shm, %s is "
             "free: %s; to grow it: docker run --shm-size=%llum, or mount -o "
             "remount,size=%llum /dev/shm",
             r->name, r->wish, r->width, r->height, pixfmt_name(r->fmt),
             (double)want / MIB, free, has, grow, grow);
}

/* Warns that not even RING_MIN_SLOTS of r fit, and how to grow /dev/shm;
 * then what becomes of the frames (tail). */
static void advise(const struct ring *r, const char *tail)
{
    struct shm_space sp = shm_space();
    char line[512];
    explain(line, sizeof line, r, 0, &sp);
    log_warn("%s%s", line, tail);
}

/* Sizes fd for the most slots (up to r->wish) that /dev/shm can hold and
 * reserves their pages: on tmpfs ftruncate alone succeeds beyond the free
 * space and the first write into a page it cannot back raises SIGBUS,
 * while posix_fallocate allocates the pages or fails with ENOSPC.  The
 * slots, 0 if not even RING_MIN_SLOTS fit, or -errno. */
static int reserve(int fd, const struct ring *r, const struct shm_space *sp)
{
    uint32_t n = r->wish;

    while (sp->free >= 0 && n >= RING_MIN_SLOTS &&
           ring_bytes(r, n) > (uint64_t)sp->free)
        n--;
    for (; n >= RING_MIN_SLOTS; n--) {
        off_t total = (off_t)ring_bytes(r, n);
        int e = (uint64_t)total > test_limit() ? ENOSPC : EINTR;
        if (ftruncate(fd, total) < 0)
            return -errno;
        /* A signal handled meanwhile interrupts a large reservation. */
        for (int tries = 0; e == EINTR && tries < 10; tries++)
            e = posix_fallocate(fd, 0, total);
        if (e == 0)
            return (int)n;
        /* Out of room though statvfs showed it: another process took it,
         * or the test control: fewer slots, then. */
        if (e != ENOSPC && e != ENOMEM)
            return -e;
    }
    return 0;
}

/* Makes r's segment under r->name into s: as many slots as /dev/shm can
 * hold, reserved, mapped, guarded, its header written.  0, or -errno with
 * a static reason in *why (-ENOSPC: not even RING_MIN_SLOTS fit, see
 * advise()); nothing is left in /dev/shm then. */
static int segment_make(const struct ring *r, struct seg *s, const char **why)
{
    struct shm_space sp = shm_space();
    const char *name = r->name;
    int fd = -1, rc, n;
    uint64_t total = 0;
    void *p = MAP_FAILED;

    *why = "/dev/shm is too small";
    if (sp.free >= 0 && ring_bytes(r, RING_MIN_SLOTS) > (uint64_t)sp.free)
        return -ENOSPC; /* not worth a try */
    for (int tries = 0; fd < 0 && tries < 2; tries++) {
        fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
        int stale = segment_stale(name);
        if (stale == 0) {
            *why = "in use by a live producer";
            return -EBUSY;
        }
        shm_unlink(name); /* left by a producer that died */
    }
    if (fd < 0) {
        *why = "shm_open";
        return -errno;
    }
    if ((n = reserve(fd, r, &sp)) <= 0) {
        rc = n < 0 ? n : -ENOSPC;
        if (n < 0)
            *why = "reserving its memory";
        goto fail;
    }
    total = ring_bytes(r, (uint32_t)n);
    p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        rc = -errno;
        *why = "mmap";
        goto fail;
    }
    *s = (struct seg){.fd = fd,
                      .base = p,
                      .size = total,
                      .nslots = (uint32_t)n,
                      .data_offset = data_offset_for((uint32_t)n),
                      .token = random_token()};
    /* From here on a truncation by anyone cannot kill us (RING.md 7). */
    if ((s->guard = guard_claim(p, total, PROT_READ | PROT_WRITE)) < 0) {
        rc = -EMFILE;
        *why = "too many rings mapped";
        goto fail;
    }
    if ((uint32_t)n < r->wish) {
        char line[512];
        explain(line, sizeof line, r, (uint32_t)n, &sp);
        log_warn("%s", line);
    }
    struct ring_hdr *h = p;
    h->version = RING_VERSION;
    h->token = s->token;
    h->nslots = s->nslots;
    h->fmt = r->fmt;
    h->width = r->width;
    h->height = r->height;
    h->stride = r->stride;
    h->hdr_size = sizeof *h;
    h->slot_size = r->slot_size;
    h->data_offset = s->data_offset;
    h->total_size = total;
    h->owner_pid = getpid();
    h->owner_start = proc_start_time(getpid());
    struct ring_slot *slots = (struct ring_slot *)(h + 1);
    for (uint32_t i = 0; i < s->nslots; i++)
        atomic_init(&slots[i].gen, 2); /* 0 never names a frame */
    atomic_store_explicit(&h->magic, RING_MAGIC, memory_order_release);
    return 0;
fail:
    if (p != MAP_FAILED)
        munmap(p, total);
    close(fd);
    shm_unlink(name);
    return rc;
}

/* Private memory for r's frames while it has no segment: one slot, so
 * that the caller still draws its frame somewhere and makes its payloads
 * from it. */
static int private_make(const struct ring *r, struct seg *s)
{
    uint64_t total = ring_bytes(r, 1);
    void *p = mmap(NULL, total, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    *s = (struct seg){.fd = -1,
                      .guard = -1,
                      .base = p,
                      .size = total,
                      .nslots = 1,
                      .data_offset = data_offset_for(1)};
    atomic_init(&((struct ring_slot *)((struct ring_hdr *)p + 1))->gen, 2);
    return 0;
}

/* True if name still names the segment open as fd (nobody removed it or
 * made another one under its name). */
static bool still_named(const char *name, int fd)
{
    struct stat a, b;
    char path[FRAME_SHM_NAME_MAX + 16];

    snprintf(path, sizeof path, "/dev/shm%s", name);
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

/* Unmaps s and closes it, unlinking its name if it is still its own. */
static void seg_free(const char *name, struct seg *s)
{
    guard_release(s->guard);
    if (s->base)
        munmap(s->base, s->size);
    if (s->fd >= 0) {
        if (still_named(name, s->fd))
            shm_unlink(name);
        close(s->fd);
    }
    memset(s, 0, sizeof *s);
    s->fd = s->guard = -1;
}

/* Replaces r's lost segment by a new one under the same name (a new token:
 * readers map it again), or by private memory while none can be had. */
static void remake(struct ring *r)
{
    struct seg s;
    const char *why;
    int rc;

    if (r->s.fd >= 0) {
        /* Somewhere for the frames to go first, whatever happens next. */
        if (private_make(r, &s) < 0)
            return; /* out of memory: again at the next frame */
        /* Its pages (what a cut left) and its name, for the new one. */
        seg_free(r->name, &r->s);
        r->s = s;
        r->next = 0;
    }
    r->lost = false;
    if ((rc = segment_make(r, &s, &why)) == 0) {
        seg_free(r->name, &r->s);
        r->s = s;
        r->told = false;
        log_limited(&r->log,
                    "shm %s: the segment was cut short or removed; made "
                    "a new one",
                    r->name);
        return;
    }
    r->remake_ns = clock_mono_ns() + RING_REMAKE_NS;
    if (!r->told && rc == -ENOSPC)
        advise(r, "; its frames go without shared memory");
    else if (!r->told)
        log_warn("shm %s: %s: %s; its frames go without shared memory", r->name,
                 why, strerror(-rc));
    r->told = true;
}

int ring_create(struct ring **out, const char *name, uint32_t nslots,
                uint32_t width, uint32_t height, uint32_t stride,
                enum pixfmt fmt, const char **why)
{
    struct ring *r;
    uint64_t frame = pixfmt_geometry(fmt, width, height, stride, NULL)
                         ? 0
                         : pixfmt_size(fmt, height, stride);
    char made[FRAME_SHM_NAME_MAX + 1];

    *out = NULL;
    if (!name) {
        ring_name(made, sizeof made);
        name = made;
    }
    if (nslots < RING_MIN_SLOTS || nslots > RING_MAX_SLOTS || frame == 0 ||
        strlen(name) > FRAME_SHM_NAME_MAX ||
        strncmp(name, "/vidpipe-", 9) != 0) {
        *why = "bad parameters";
        return -EINVAL;
    }
    if (!(r = calloc(1, sizeof *r))) {
        *why = "out of memory";
        return -ENOMEM;
    }
    snprintf(r->name, sizeof r->name, "%s", name);
    r->wish = nslots;
    r->width = width;
    r->height = height;
    r->stride = stride;
    r->fmt = fmt;
    r->slot_size = (frame + PAGE - 1) / PAGE * PAGE;
    int rc = segment_make(r, &r->s, why);
    if (rc == -ENOSPC)
        advise(r, "");
    if (rc < 0) {
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void ring_free(struct ring *r)
{
    if (!r)
        return;
    seg_free(r->name, &r->s);
    free(r);
}

uint32_t ring_slots(const struct ring *r)
{
    return r->s.fd >= 0 ? r->s.nslots : 0;
}

size_t ring_held(const struct ring *r)
{
    return r->s.fd >= 0 ? r->s.size : 0;
}

bool ring_fits(const struct ring *r, uint32_t width, uint32_t height,
               uint32_t stride, enum pixfmt fmt)
{
    return r->width == width && r->height == height && r->stride == stride &&
           r->fmt == fmt;
}

uint8_t *ring_write_begin(struct ring *r, uint32_t *slot)
{
    if (r->lost || guard_broken(r->s.guard) ||
        (r->s.fd < 0 && clock_mono_ns() >= r->remake_ns))
        remake(r);

    uint32_t i = r->next;
    struct ring_slot *s = slot_of(r, i);
    uint64_t g = atomic_load_explicit(&s->gen, memory_order_relaxed);

    r->next = (i + 1) % r->s.nslots;
    atomic_store_explicit(&s->gen, g + 1, memory_order_relaxed);
    /* The odd generation is visible before any pixel changes. */
    atomic_thread_fence(memory_order_release);
    *slot = i;
    return r->s.base + r->s.data_offset + (uint64_t)i * r->slot_size;
}

void ring_write_abort(struct ring *r, uint32_t slot)
{
    struct ring_slot *s = slot_of(r, slot);
    uint64_t g = atomic_load_explicit(&s->gen, memory_order_relaxed) + 1;

    /* Even again, but a generation no descriptor names: readers of the
     * frame the slot held see it torn, and nobody is told of a new one.
     * The slot is the next one written. */
    atomic_store_explicit(&s->gen, g, memory_order_release);
    r->next = slot;
}

/* After a frame's write: true if all its pixels are in the segment.  Not
 * if a fault hit the mapping or the segment shrank meanwhile (pages cut
 * off are lost, even those written before), or there is no segment.  A
 * segment that shrank or lost its name is made again before the next
 * frame; one fstat a frame. */
static bool frame_landed(struct ring *r)
{
    struct stat st;

    if (r->s.fd < 0)
        return false;
    if (guard_broken(r->s.guard) || fstat(r->s.fd, &st) < 0 ||
        (uint64_t)st.st_size < r->s.size) {
        r->lost = true;
        return false;
    }
    /* Removed: readers that have it mapped still read it, new ones cannot
     * open it. */
    if (st.st_nlink == 0)
        r->lost = true;
    return true;
}

void ring_write_end(struct ring *r, uint32_t slot, const struct frame_hdr *h,
                    struct frame_shm *d)
{
    struct ring_slot *s = slot_of(r, slot);
    uint64_t g = atomic_load_explicit(&s->gen, memory_order_relaxed) + 1;

    atomic_store_explicit(&s->seq, h->seq, memory_order_relaxed);
    atomic_store_explicit(&s->t_real_ns, h->t_real_ns, memory_order_relaxed);
    atomic_store_explicit(&s->t_mono_ns, h->t_mono_ns, memory_order_relaxed);
    atomic_store_explicit(&s->gen, g, memory_order_release);
    snprintf(d->name, sizeof d->name, "%s", r->name);
    d->token = r->s.token;
    d->slot = slot;
    d->gen = g;
    if (!frame_landed(r)) {
        d->gen = 0; /* names no frame: readers refuse it (RING.md 7) */
        return;
    }
    /* Readers asleep on the doorbell take the frame without waiting for
     * its descriptor. */
    struct ring_hdr *rh = hdr_of(r);
    atomic_store_explicit(&rh->latest, slot + 1, memory_order_release);
    atomic_fetch_add_explicit(&rh->bell, 1, memory_order_release);
    wake_all(&rh->bell, true);
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
