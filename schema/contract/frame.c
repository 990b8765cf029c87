/* frame.c -- frame header codec over msgpack-c, with full validation. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "contract/frame.h"

static const char *const enc_names[] = {
    [ENC_RAW] = "raw",
    [ENC_JPEG] = "jpeg",
    [ENC_H264] = "h264",
};

const char *frame_enc_name(enum frame_enc enc)
{
    return (unsigned)enc <= ENC_H264 ? enc_names[enc] : NULL;
}

int frame_enc_parse(const char *name, enum frame_enc *enc)
{
    for (int e = ENC_RAW; e <= ENC_H264; e++) {
        if (strcmp(name, enc_names[e]) == 0) {
            *enc = (enum frame_enc)e;
            return 0;
        }
    }
    return -EINVAL;
}

static bool name_chars_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= max)
            return false;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return false;
    }
    return n > 0;
}

bool frame_stream_name_ok(const char *name)
{
    return name_chars_ok(name, FRAME_STREAM_MAX);
}

int frame_hdr_check(const struct frame_hdr *h, const char **why)
{
    const char *bad;

#define FAIL(msg)                                                              \
    do {                                                                       \
        *why = (msg);                                                          \
        return -EINVAL;                                                        \
    } while (0)
    if (h->version != FRAME_SCHEMA_VERSION)
        FAIL("unsupported schema version");
    if (!frame_stream_name_ok(h->stream))
        FAIL("bad stream name");
    if (pixfmt_geometry(h->fmt, h->width, h->height, h->stride, &bad) < 0)
        FAIL(bad);
    /* The frame's bytes: at most 65536 * 16384 * 1.5, no overflow. */
    uint64_t raw = pixfmt_size(h->fmt, h->height, h->stride);
    if (h->enc != ENC_RAW && h->enc != ENC_JPEG && h->enc != ENC_H264)
        FAIL("unknown encoding");
    if (h->enc == ENC_RAW && h->size != raw)
        FAIL("raw size is not the frame's bytes");
    if (h->enc != ENC_RAW && (h->size == 0 || h->size > raw * 2 + 4096))
        FAIL(h->enc == ENC_JPEG ? "jpeg size out of range"
                                : "h264 size out of range");
    if (h->key && h->enc != ENC_H264)
        FAIL("keyframe flag on a frame that is not h264");
    if (h->has_shm) {
        if (h->enc != ENC_RAW)
            FAIL("shm frames must be raw");
        if (strncmp(h->shm.name, "/vidpipe-", 9) != 0 ||
            !name_chars_ok(h->shm.name + 1, FRAME_SHM_NAME_MAX - 1))
            FAIL("shm name outside the vidpipe pattern");
    }
#undef FAIL
    return 0;
}

/* --- encoding: a msgpack_packer writing into a fixed buffer. ------------ */

struct fixbuf {
    char *p;
    size_t len, cap;
    bool overflow;
};

static int fixbuf_write(void *data, const char *buf, size_t len)
{
    struct fixbuf *fb = data;
    if (fb->overflow || len > fb->cap - fb->len) {
        fb->overflow = true;
        return -1;
    }
    memcpy(fb->p + fb->len, buf, len);
    fb->len += len;
    return 0;
}

static void pack_key(msgpack_packer *pk, const char *k)
{
    size_t n = strlen(k);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, k, n);
}

static void pack_kstr(msgpack_packer *pk, const char *k, const char *v)
{
    pack_key(pk, k);
    pack_key(pk, v);
}

static void pack_ku64(msgpack_packer *pk, const char *k, uint64_t v)
{
    pack_key(pk, k);
    msgpack_pack_uint64(pk, v);
}

static void pack_ki64(msgpack_packer *pk, const char *k, int64_t v)
{
    pack_key(pk, k);
    msgpack_pack_int64(pk, v);
}

int frame_encode(const struct frame_hdr *h, bool with_data, void *buf,
                 size_t cap)
{
    struct fixbuf fb = {.p = buf, .cap = cap};
    msgpack_packer pk;

    msgpack_packer_init(&pk, &fb, fixbuf_write);
    msgpack_pack_map(&pk, 11 + h->has_shm + with_data + (h->enc == ENC_H264));
    pack_ku64(&pk, "v", h->version);
    pack_kstr(&pk, "stream", h->stream);
    pack_ku64(&pk, "seq", h->seq);
    pack_ki64(&pk, "t_real", h->t_real_ns);
    pack_ki64(&pk, "t_mono", h->t_mono_ns);
    pack_ku64(&pk, "w", h->width);
    pack_ku64(&pk, "h", h->height);
    pack_ku64(&pk, "stride", h->stride);
    pack_kstr(&pk, "fmt", pixfmt_name(h->fmt) ? pixfmt_name(h->fmt) : "?");
    pack_kstr(&pk, "enc",
              frame_enc_name(h->enc) ? frame_enc_name(h->enc) : "?");
    pack_ku64(&pk, "size", h->size);
    if (h->enc == ENC_H264) {
        pack_key(&pk, "key");
        if (h->key)
            msgpack_pack_true(&pk);
        else
            msgpack_pack_false(&pk);
    }
    if (h->has_shm) {
        pack_key(&pk, "shm");
        msgpack_pack_map(&pk, 4);
        pack_kstr(&pk, "name", h->shm.name);
        pack_ku64(&pk, "token", h->shm.token);
        pack_ku64(&pk, "slot", h->shm.slot);
        pack_ku64(&pk, "gen", h->shm.gen);
    }
    if (with_data) {
        pack_key(&pk, "data");
        if (h->size > UINT32_MAX)
            return -ENOSPC;
        msgpack_pack_bin(&pk, (size_t)h->size);
    }
    return fb.overflow ? -ENOSPC : (int)fb.len;
}

/* --- decoding. -----------------------------------------------------------
 *
 * msgpack-c sizes its allocations from the counts an input declares, so a
 * five-byte "array of 4 billion" would make it ask for gigabytes.  Before
 * msgpack-c sees the bytes, frame_measure() walks them: containers may
 * declare at most SHAPE_MAX_ITEMS objects, nesting is bounded, and every
 * length is checked against the bytes there are.  Then the unpacker's zone
 * stays small and reused, with no allocation per frame.  The same walk
 * tells a byte-stream reader how many bytes a map needs before they have
 * all arrived.
 */

#define SHAPE_MAX_DEPTH 8
#define SHAPE_MAX_ITEMS 256

struct walk {
    const uint8_t *b;
    size_t len, pos;
    unsigned items;
    uint64_t need;   /* incomplete: at least this many bytes in all */
    const char *why; /* malformed: what */
};

enum { WALK_BAD = -1, WALK_SHORT = 0, WALK_DONE = 1 };

static uint64_t rd_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static int walk_bad(struct walk *w, const char *why)
{
    w->why = why;
    return WALK_BAD;
}

static int walk_short(struct walk *w, uint64_t need)
{
    w->need = need;
    return WALK_SHORT;
}

/* Steps over one msgpack object at w->pos. */
static int walk_obj(struct walk *w, int depth)
{
    size_t p = w->pos;
    uint64_t n = 0, skip = 0;
    int nlen = 0, kind = 0; /* kind: 0 scalar, 1 array, 2 map */

    if (depth > SHAPE_MAX_DEPTH)
        return walk_bad(w, "objects nested too deep");
    if (++w->items > SHAPE_MAX_ITEMS)
        return walk_bad(w, "too many objects in one header");
    if (p >= w->len)
        return walk_short(w, (uint64_t)p + 1);
    uint8_t c = w->b[p++];
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
        /* fixint, nil, bool */
    } else if ((c & 0xf0) == 0x80) {
        kind = 2, n = c & 0x0f;
    } else if ((c & 0xf0) == 0x90) {
        kind = 1, n = c & 0x0f;
    } else if ((c & 0xe0) == 0xa0) {
        skip = c & 0x1f;
    } else {
        switch (c) {
        case 0xc4:
        case 0xd9:
            nlen = 1;
            break; /* bin8, str8 */
        case 0xc5:
        case 0xda:
            nlen = 2;
            break; /* bin16, str16 */
        case 0xc6:
        case 0xdb:
            nlen = 4;
            break; /* bin32, str32 */
        case 0xcc:
        case 0xd0:
            skip = 1;
            break;
        case 0xcd:
        case 0xd1:
            skip = 2;
            break;
        case 0xca:
        case 0xce:
        case 0xd2:
            skip = 4;
            break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
            skip = 8;
            break;
        case 0xd4:
            skip = 2;
            break; /* fixext 1 */
        case 0xd5:
            skip = 3;
            break;
        case 0xd6:
            skip = 5;
            break;
        case 0xd7:
            skip = 9;
            break;
        case 0xd8:
            skip = 17;
            break;
        case 0xc7:
            nlen = 1, skip = 1;
            break; /* ext8 + type */
        case 0xc8:
            nlen = 2, skip = 1;
            break;
        case 0xc9:
            nlen = 4, skip = 1;
            break;
        case 0xdc:
            kind = 1, nlen = 2;
            break;
        case 0xdd:
            kind = 1, nlen = 4;
            break;
        case 0xde:
            kind = 2, nlen = 2;
            break;
        case 0xdf:
            kind = 2, nlen = 4;
            break;
        default:
            return walk_bad(w, "byte 0xc1 is not msgpack");
        }
        if (nlen) {
            if (w->len - p < (size_t)nlen)
                return walk_short(w, (uint64_t)p + (size_t)nlen);
            n = rd_be(w->b + p, nlen);
            p += (size_t)nlen;
            if (kind == 0)
                skip += n;
        }
    }
    if (kind == 0) {
        if (w->len - p < skip)
            return walk_short(w, (uint64_t)p + skip);
        w->pos = p + skip;
        return WALK_DONE;
    }
    /* Counts are judged before their elements arrive. */
    if (n > SHAPE_MAX_ITEMS)
        return walk_bad(w, "container declares too many objects");
    if (kind == 2)
        n *= 2;
    w->pos = p;
    for (uint64_t i = 0; i < n; i++) {
        int rc = walk_obj(w, depth + 1);
        if (rc != WALK_DONE)
            return rc;
    }
    return WALK_DONE;
}

int frame_measure(const void *buf, size_t len, uint64_t *n, const char **why)
{
    struct walk w = {.b = buf, .len = len};
    int rc = walk_obj(&w, 0);

    if (rc == WALK_BAD) {
        *n = w.pos;
        *why = w.why;
        return -EINVAL;
    }
    *n = rc == WALK_DONE ? w.pos : w.need;
    return rc == WALK_DONE ? 0 : -EAGAIN;
}

static bool key_is(const msgpack_object *k, const char *s)
{
    size_t n = strlen(s);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, s, n) == 0;
}

static bool get_u64(const msgpack_object *o, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *v = o->via.u64;
    return true;
}

static bool get_i64(const msgpack_object *o, int64_t *v)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *v = o->via.i64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *v = (int64_t)o->via.u64;
        return true;
    }
    return false;
}

static bool get_u32(const msgpack_object *o, uint32_t *v)
{
    uint64_t u;
    if (!get_u64(o, &u) || u > UINT32_MAX)
        return false;
    *v = (uint32_t)u;
    return true;
}

/* Copies a msgpack str into dst (cap bytes with NUL); false if too long. */
static bool get_str(const msgpack_object *o, char *dst, size_t cap)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap ||
        memchr(o->via.str.ptr, 0, o->via.str.size))
        return false;
    memcpy(dst, o->via.str.ptr, o->via.str.size);
    dst[o->via.str.size] = 0;
    return true;
}

enum {
    K_V = 1 << 0,
    K_STREAM = 1 << 1,
    K_SEQ = 1 << 2,
    K_TREAL = 1 << 3,
    K_TMONO = 1 << 4,
    K_W = 1 << 5,
    K_H = 1 << 6,
    K_STRIDE = 1 << 7,
    K_FMT = 1 << 8,
    K_ENC = 1 << 9,
    K_SIZE = 1 << 10,
    K_REQUIRED = (1 << 11) - 1,
};

static int decode_shm(const msgpack_object *o, struct frame_shm *s,
                      const char **why)
{
    unsigned seen = 0;

    if (o->type != MSGPACK_OBJECT_MAP) {
        *why = "shm is not a map";
        return -EINVAL;
    }
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        const msgpack_object *v = &o->via.map.ptr[i].val;
        bool ok = true;
        if (key_is(k, "name"))
            ok = get_str(v, s->name, sizeof s->name), seen |= 1;
        else if (key_is(k, "token"))
            ok = get_u64(v, &s->token), seen |= 2;
        else if (key_is(k, "slot"))
            ok = get_u32(v, &s->slot), seen |= 4;
        else if (key_is(k, "gen"))
            ok = get_u64(v, &s->gen), seen |= 8;
        if (!ok) {
            *why = "shm descriptor field has the wrong type";
            return -EINVAL;
        }
    }
    if (seen != 15) {
        *why = "shm descriptor misses a field";
        return -EINVAL;
    }
    return 0;
}

/* A thread's zone is freed when the thread ends (a display's receiver
 * thread would otherwise leak it). */
static pthread_key_t zone_key;
static pthread_once_t zone_once = PTHREAD_ONCE_INIT;

static void zone_free(void *zone)
{
    msgpack_zone_free(zone);
}

static void zone_key_make(void)
{
    pthread_key_create(&zone_key, zone_free);
}

int frame_decode(const void *buf, size_t len, struct frame_hdr *h,
                 const uint8_t **data, size_t *data_len, const char **why)
{
    /* One zone per thread, cleared after each use: with the bounds
     * frame_measure() enforces, its first chunk holds any header we accept,
     * so decoding allocates nothing per frame. */
    static _Thread_local msgpack_zone *zone;
    msgpack_object root;
    size_t off = 0;
    uint64_t end;
    unsigned seen = 0;
    const uint8_t *payload = NULL;
    size_t payload_len = 0;
    char fmt[16], enc[16];
    int rc = -EINVAL;

    memset(h, 0, sizeof *h);
    if (data) {
        *data = NULL;
        *data_len = 0;
    }
    int m = frame_measure(buf, len, &end, why);
    if (m == -EAGAIN) {
        *why = "truncated msgpack object";
        return -EINVAL;
    }
    if (m < 0)
        return -EINVAL;
    if (end != len) {
        *why = "trailing bytes after the header map";
        return -EINVAL;
    }
    if (!zone) {
        zone = msgpack_zone_new(SHAPE_MAX_ITEMS * sizeof(msgpack_object));
        if (!zone) {
            *why = "out of memory";
            return -ENOMEM;
        }
        if (pthread_once(&zone_once, zone_key_make) == 0)
            pthread_setspecific(zone_key, zone);
    }
    if (msgpack_unpack(buf, len, &off, zone, &root) != MSGPACK_UNPACK_SUCCESS) {
        *why = "msgpack decode failed";
        goto out;
    }
    if (root.type != MSGPACK_OBJECT_MAP) {
        *why = "frame is not a map";
        goto out;
    }
    for (uint32_t i = 0; i < root.via.map.size; i++) {
        const msgpack_object *k = &root.via.map.ptr[i].key;
        const msgpack_object *v = &root.via.map.ptr[i].val;
        bool ok = true;
        if (key_is(k, "v"))
            ok = get_u32(v, &h->version), seen |= K_V;
        else if (key_is(k, "stream"))
            ok = get_str(v, h->stream, sizeof h->stream), seen |= K_STREAM;
        else if (key_is(k, "seq"))
            ok = get_u64(v, &h->seq), seen |= K_SEQ;
        else if (key_is(k, "t_real"))
            ok = get_i64(v, &h->t_real_ns), seen |= K_TREAL;
        else if (key_is(k, "t_mono"))
            ok = get_i64(v, &h->t_mono_ns), seen |= K_TMONO;
        else if (key_is(k, "w"))
            ok = get_u32(v, &h->width), seen |= K_W;
        else if (key_is(k, "h"))
            ok = get_u32(v, &h->height), seen |= K_H;
        else if (key_is(k, "stride"))
            ok = get_u32(v, &h->stride), seen |= K_STRIDE;
        else if (key_is(k, "fmt"))
            ok = get_str(v, fmt, sizeof fmt), seen |= K_FMT;
        else if (key_is(k, "enc"))
            ok = get_str(v, enc, sizeof enc), seen |= K_ENC;
        else if (key_is(k, "size"))
            ok = get_u64(v, &h->size), seen |= K_SIZE;
        else if (key_is(k, "key"))
            ok = v->type == MSGPACK_OBJECT_BOOLEAN &&
                 ((h->key = v->via.boolean), 1);
        else if (key_is(k, "shm")) {
            if ((rc = decode_shm(v, &h->shm, why)) < 0)
                goto out;
            rc = -EINVAL;
            h->has_shm = true;
        } else if (key_is(k, "data")) {
            ok = v->type == MSGPACK_OBJECT_BIN;
            if (ok) {
                payload = (const uint8_t *)v->via.bin.ptr;
                payload_len = v->via.bin.size;
            }
        }
        if (!ok) {
            *why = "header field has the wrong type or length";
            goto out;
        }
    }
    if ((seen & K_REQUIRED) != K_REQUIRED) {
        *why = "header misses a required field";
        goto out;
    }
    h->fmt = pixfmt_parse(fmt);
    if (frame_enc_parse(enc, &h->enc) < 0) {
        *why = "unknown encoding";
        goto out;
    }
    if (frame_hdr_check(h, why) < 0)
        goto out;
    if (payload) {
        if (!data) {
            *why = "unexpected payload in header";
            goto out;
        }
        if (frame_payload_check(h, payload_len, why) < 0)
            goto out;
        *data = payload;
        *data_len = payload_len;
    }
    rc = 0;
out:
    msgpack_zone_clear(zone);
    return rc;
}

int frame_payload_check(const struct frame_hdr *h, size_t len, const char **why)
{
    if ((uint64_t)len != h->size) {
        *why = h->enc == ENC_RAW ? "payload length does not match geometry"
                                 : "payload length does not match size";
        return -EINVAL;
    }
    return 0;
}

void frame_stamp(struct frame_hdr *h)
{
    struct timespec r, m;
    clock_gettime(CLOCK_REALTIME, &r);
    clock_gettime(CLOCK_MONOTONIC, &m);
    h->t_real_ns = (int64_t)r.tv_sec * 1000000000 + r.tv_nsec;
    h->t_mono_ns = (int64_t)m.tv_sec * 1000000000 + m.tv_nsec;
}
