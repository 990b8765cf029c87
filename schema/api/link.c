/* link.c -- vp_pub_link(): a publisher below a subscriber, as in a relay.
 *
 * Linked, the publisher passes its subscribers' subscriptions upstream
 * as they come, so the relay asks for exactly what its viewers ask for;
 * and it re-hosts a stream whose producer's ring is on another host: it
 * subscribes that stream's raw payload while somebody here wants
 * descriptors, and forward.c writes each frame once into a ring of its
 * own.  The two objects learn of each other only through the hooks set
 * here (struct sub_link, vp_pub's on_sub).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/publish.h"
#include "api/recv.h"
#include "contract/ring.h"
#include "contract/topic.h"
#include "util/clock.h"

/* For a remote stream, holds a raw subscription upstream exactly while
 * somebody here wants its descriptors. */
static void update_remote(struct vp_pub *p, struct pstream *s)
{
    bool want = s->remote && pub_wants(p, VAR_SHM, s->name);
    if (want != s->raw_added) {
        sub_subscribe_variant(p->up, VAR_RAW, s->name, want);
        s->raw_added = want;
    }
}

/* True if a subscription prefix can select a topic or asks for a
 * keyframe: "" (everything), a variant's "raw/", a stream's
 * "raw/NAME/", or "key/NAME/NONCE".  Anything else selects nothing here
 * and would only take room in the table of every publisher upstream. */
static bool passable(const char *prefix, size_t len)
{
    char stream[FRAME_STREAM_MAX + 1], t[TOPIC_MAX];
    enum variant v;

    if (len == 0 || topic_is_key_request(prefix, len, stream) ||
        topic_parse(prefix, len, &v, stream) == 0)
        return true;
    for (int i = 0; i < VAR_COUNT; i++) {
        size_t tl = topic_make(t, sizeof t, (enum variant)i, NULL);
        if (len == tl && memcmp(prefix, t, tl) == 0)
            return true;
    }
    return false;
}

/* A downstream subscription (or its end) is passed upstream as is, if it
 * can select a topic: junk stays in this publisher's table, bounded per
 * client there, and never reaches the publishers upstream. */
static void pass_upstream(struct vp_pub *p, const char *prefix, size_t len,
                          bool on)
{
    if (!passable(prefix, len)) {
        p->subs_not_passed += on;
        return;
    }
    sub_subscribe(p->up, prefix, len, on);
    for (unsigned i = 0; i < p->streams.n; i++)
        update_remote(p, pub_stream_at(p, i));
}

static void serve(void *arg)
{
    pub_serve(arg);
}

/* A descriptor of stream's ring that cannot be mapped here came in. */
static void stream_remote(void *arg, const char *stream)
{
    struct vp_pub *p = arg;
    struct pstream *s = pub_stream(p, stream);
    if (s && !s->remote) {
        log_info("stream %s comes from another host", stream);
        s->remote = true;
        update_remote(p, s);
    }
}

int vp_pub_link(vp_pub *p, vp_sub *s)
{
    int rc;

    if (s->mode == SUB_LATEST)
        return vp_fail(-EINVAL, "a linked subscriber takes every frame: "
                                "open it with every_frame");
    if (!pub_socket(p))
        return 0; /* "-": nobody downstream to ask, the sub keeps its own */
    rc = vp_stats_add(&p->st, "shm_forwarded", &p->shm_forwarded);
    if (rc == 0)
        rc = vp_stats_add(&p->st, "ring_writes", &p->ring_writes);
    if (rc == 0)
        rc = vp_stats_add(&p->st, "subs_not_passed", &p->subs_not_passed);
    if (rc < 0)
        return vp_fail(rc, "stats: no room for the link's counters");
    /* Its own subscriptions give way to the downstream's. */
    sub_policy_yield(s);
    s->link = (struct sub_link){pub_socket(p), serve, stream_remote, p};
    p->up = s;
    p->on_sub = pass_upstream;
    pub_serve(p);
    return 0;
}

/* Bytes held for one stream's entry beyond its struct: its ring. */
static size_t stream_extra(const struct pstream *s)
{
    return s->ring ? ring_held(s->ring) : 0;
}

/* Forgets stream s: its raw subscription upstream (link.c's), its ring,
 * encoder and entry, and its seq tracking here and upstream. */
static void forget(struct vp_pub *p, struct pstream *s)
{
    if (s->raw_added)
        sub_subscribe_variant(p->up, VAR_RAW, s->name, false);
    stats_forget(&p->st, s->name);
    if (p->up) {
        pthread_mutex_lock(&p->up->mu);
        stats_forget(&p->up->st, s->name);
        pthread_mutex_unlock(&p->up->mu);
    }
    log_info("stream %s: no frame for a while: forgotten", s->name);
    ring_free(s->ring);
    keyframer_fini(&s->kf);
    free(nametab_del(&p->streams, s->name));
}

unsigned vp_pub_drop_idle(vp_pub *p, unsigned idle_ms)
{
    int64_t now = clock_mono_ns();
    unsigned dropped = 0, stalled = 0;
    size_t bytes = 0;

    for (unsigned i = 0; i < p->streams.n;) {
        struct pstream *s = pub_stream_at(p, i);
        int64_t idle = now - s->last_ns;
        if (s != p->own && idle_ms && idle >= (int64_t)idle_ms * 1000000) {
            forget(p, s); /* the last entry moved to i */
            dropped++;
            continue;
        }
        bool st = s != p->own && idle > STATS_STALL_NS;
        if (st != s->stalled)
            log_info("stream %s: %s", s->name,
                     st ? "no frame for 2 s: stalled" : "frames again");
        s->stalled = st;
        stalled += st;
        bytes += sizeof *s + stream_extra(s);
        i++;
    }
    bytes += nametab_bytes(&p->streams) + stats_stream_bytes(&p->st);
    if (p->up) {
        pthread_mutex_lock(&p->up->mu);
        bytes += stats_stream_bytes(&p->up->st);
        pthread_mutex_unlock(&p->up->mu);
    }
    p->nstreams = p->streams.n;
    p->streams_dropped += dropped;
    p->streams_stalled = stalled;
    p->stream_bytes = bytes;
    return dropped;
}
