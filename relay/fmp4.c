/* fmp4.c -- H.264 access units into fragmented MP4 (fmp4.h).
 *
 * The boxes are those of ISO/IEC 14496-12 and -15 that a fragmented
 * stream needs and no more, written as go2rtc and libavformat's
 * frag_every_frame+empty_moov+default_base_moof write them: Chromium's
 * MSE, ffmpeg, mpv and VLC read them.
 */
#include <string.h>

#include "fmp4.h"

enum { NAL_AUD = 9, NAL_SPS = 7, NAL_PPS = 8 };

/* The next NAL unit of au from *pos: 0 with its start and length, *pos
 * past it; -1 at the end. */
static int next_nal(const uint8_t *au, size_t len, size_t *pos,
                    const uint8_t **nal, size_t *nlen)
{
    size_t i = *pos;

    while (i + 3 <= len && !(au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1))
        i++;
    if (i + 3 > len)
        return -1;
    size_t start = i + 3, j = start;
    while (j + 3 <= len && !(au[j] == 0 && au[j + 1] == 0 && au[j + 2] == 1))
        j++;
    size_t end = j + 3 <= len ? j : len;
    while (end > start && au[end - 1] == 0)
        end--; /* trailing zeros, or a 4-byte start code's first */
    *nal = au + start;
    *nlen = end - start;
    *pos = end;
    return 0;
}

static void keep(uint8_t *dst, size_t *dlen, const uint8_t *nal, size_t n)
{
    if (*dlen == 0 && n <= FMP4_PARAM_MAX) {
        memcpy(dst, nal, n);
        *dlen = n;
    }
}

size_t fmp4_scan(const uint8_t *au, size_t len, struct fmp4_params *p)
{
    struct fmp4_params found = {0};
    const uint8_t *nal;
    size_t pos = 0, n, out = 0;

    while (next_nal(au, len, &pos, &nal, &n) == 0) {
        if (n == 0)
            continue;
        switch (nal[0] & 0x1f) {
        case NAL_SPS:
            keep(found.sps, &found.sps_len, nal, n);
            break;
        case NAL_PPS:
            keep(found.pps, &found.pps_len, nal, n);
            break;
        case NAL_AUD:
            break;
        default:
            out += 4 + n;
        }
    }
    if (found.sps_len) {
        memcpy(p->sps, found.sps, found.sps_len);
        p->sps_len = found.sps_len;
    }
    if (found.pps_len) {
        memcpy(p->pps, found.pps, found.pps_len);
        p->pps_len = found.pps_len;
    }
    return out;
}

size_t fmp4_first_slice(const uint8_t *au, size_t len)
{
    const uint8_t *nal;
    size_t pos = 0, n;

    while (next_nal(au, len, &pos, &nal, &n) == 0) {
        unsigned t = n ? nal[0] & 0x1f : 0;
        if (t >= 1 && t <= 5) {
            size_t at = (size_t)(nal - au) - 3;
            return at > 0 && au[at - 1] == 0 ? at - 1 : at;
        }
    }
    return len;
}

void fmp4_sample(const uint8_t *au, size_t len, uint8_t *out)
{
    const uint8_t *nal;
    size_t pos = 0, n;

    while (next_nal(au, len, &pos, &nal, &n) == 0) {
        unsigned t = n ? nal[0] & 0x1f : NAL_AUD;
        if (t == NAL_SPS || t == NAL_PPS || t == NAL_AUD)
            continue;
        out[0] = (uint8_t)(n >> 24);
        out[1] = (uint8_t)(n >> 16);
        out[2] = (uint8_t)(n >> 8);
        out[3] = (uint8_t)n;
        memcpy(out + 4, nal, n);
        out += 4 + n;
    }
}

/* --- writing boxes ------------------------------------------------------ */

struct w {
    uint8_t *p;
    size_t n;
};

static void u8(struct w *w, unsigned v)
{
    w->p[w->n++] = (uint8_t)v;
}

static void u16(struct w *w, unsigned v)
{
    u8(w, v >> 8);
    u8(w, v);
}

static void u32(struct w *w, uint32_t v)
{
    u16(w, v >> 16);
    u16(w, v & 0xffff);
}

static void u64(struct w *w, uint64_t v)
{
    u32(w, (uint32_t)(v >> 32));
    u32(w, (uint32_t)v);
}

static void bytes(struct w *w, const void *b, size_t n)
{
    memcpy(w->p + w->n, b, n);
    w->n += n;
}

static void zeros(struct w *w, size_t n)
{
    memset(w->p + w->n, 0, n);
    w->n += n;
}

/* Opens a box: its offset, for end(). */
static size_t box(struct w *w, const char *type)
{
    size_t at = w->n;
    u32(w, 0);
    bytes(w, type, 4);
    return at;
}

static size_t fullbox(struct w *w, const char *type, unsigned ver,
                      uint32_t flags)
{
    size_t at = box(w, type);
    u32(w, (uint32_t)ver << 24 | flags);
    return at;
}

static void end(struct w *w, size_t at)
{
    struct w s = {w->p, at};
    u32(&s, (uint32_t)(w->n - at));
}

static void matrix(struct w *w)
{
    static const uint32_t m[9] = {0x10000, 0, 0, 0,         0x10000,
                                  0,       0, 0, 0x40000000};
    for (unsigned i = 0; i < 9; i++)
        u32(w, m[i]);
}

size_t fmp4_init(const struct fmp4_params *p, uint32_t width, uint32_t height,
                 uint8_t *out)
{
    struct w w = {out, 0};
    size_t a, b, c, d, e, f, g;

    if (p->sps_len < 4 || p->pps_len == 0)
        return 0;
    a = box(&w, "ftyp");
    bytes(&w, "isom", 4);
    u32(&w, 0x200);
    bytes(&w, "isomiso6avc1mp41", 16);
    end(&w, a);

    a = box(&w, "moov");
    b = fullbox(&w, "mvhd", 0, 0);
    u32(&w, 0);              /* creation time */
    u32(&w, 0);              /* modification time */
    u32(&w, FMP4_TIMESCALE); /* timescale */
    u32(&w, 0);              /* duration: unknown */
    u32(&w, 0x10000);        /* rate 1.0 */
    u16(&w, 0x100);          /* volume 1.0 */
    zeros(&w, 10);           /* reserved */
    matrix(&w);
    zeros(&w, 24); /* pre_defined */
    u32(&w, 2);    /* next track ID */
    end(&w, b);

    b = box(&w, "trak");
    c = fullbox(&w, "tkhd", 0, 3); /* enabled, in movie */
    u32(&w, 0);
    u32(&w, 0);
    u32(&w, 1); /* track ID */
    u32(&w, 0);
    u32(&w, 0); /* duration */
    zeros(&w, 8);
    u16(&w, 0); /* layer */
    u16(&w, 0); /* alternate group */
    u16(&w, 0); /* volume */
    u16(&w, 0);
    matrix(&w);
    u32(&w, width << 16);
    u32(&w, height << 16);
    end(&w, c);

    c = box(&w, "mdia");
    d = fullbox(&w, "mdhd", 0, 0);
    u32(&w, 0);
    u32(&w, 0);
    u32(&w, FMP4_TIMESCALE);
    u32(&w, 0);
    u16(&w, 0x55c4); /* "und" */
    u16(&w, 0);
    end(&w, d);
    d = fullbox(&w, "hdlr", 0, 0);
    u32(&w, 0);
    bytes(&w, "vide", 4);
    zeros(&w, 12);
    bytes(&w, "vidpipe\0", 8);
    end(&w, d);

    d = box(&w, "minf");
    e = fullbox(&w, "vmhd", 0, 1);
    zeros(&w, 8);
    end(&w, e);
    e = box(&w, "dinf");
    f = fullbox(&w, "dref", 0, 0);
    u32(&w, 1);
    g = fullbox(&w, "url ", 0, 1); /* in this file */
    end(&w, g);
    end(&w, f);
    end(&w, e);

    e = box(&w, "stbl");
    f = fullbox(&w, "stsd", 0, 0);
    u32(&w, 1);
    g = box(&w, "avc1");
    zeros(&w, 6);
    u16(&w, 1); /* data reference index */
    zeros(&w, 16);
    u16(&w, width);
    u16(&w, height);
    u32(&w, 0x480000); /* 72 dpi */
    u32(&w, 0x480000);
    u32(&w, 0);
    u16(&w, 1);    /* frames per sample */
    zeros(&w, 32); /* compressor name */
    u16(&w, 0x18); /* depth */
    u16(&w, 0xffff);
    size_t h = box(&w, "avcC");
    u8(&w, 1);
    u8(&w, p->sps[1]); /* profile */
    u8(&w, p->sps[2]); /* its compatibility */
    u8(&w, p->sps[3]); /* level */
    u8(&w, 0xff);      /* 4-byte NAL lengths */
    u8(&w, 0xe1);      /* one SPS */
    u16(&w, (unsigned)p->sps_len);
    bytes(&w, p->sps, p->sps_len);
    u8(&w, 1); /* one PPS */
    u16(&w, (unsigned)p->pps_len);
    bytes(&w, p->pps, p->pps_len);
    end(&w, h);
    end(&w, g);
    end(&w, f);
    static const char *empty[] = {"stts", "stsc", "stco"};
    for (unsigned i = 0; i < 3; i++) {
        f = fullbox(&w, empty[i], 0, 0);
        u32(&w, 0);
        end(&w, f);
    }
    f = fullbox(&w, "stsz", 0, 0);
    u32(&w, 0);
    u32(&w, 0);
    end(&w, f);
    end(&w, e); /* stbl */
    end(&w, d); /* minf */
    end(&w, c); /* mdia */
    end(&w, b); /* trak */

    b = box(&w, "mvex");
    c = fullbox(&w, "trex", 0, 0);
    u32(&w, 1); /* track ID */
    u32(&w, 1); /* sample description */
    u32(&w, 0);
    u32(&w, 0);
    u32(&w, 0);
    end(&w, c);
    end(&w, b);
    end(&w, a); /* moov */
    return w.n;
}

void fmp4_frag_head(uint32_t seq, uint64_t dts, uint32_t dur, bool key,
                    size_t sample_len, uint8_t *out)
{
    struct w w = {out, 0};

    size_t a = box(&w, "moof");
    size_t b = fullbox(&w, "mfhd", 0, 0);
    u32(&w, seq);
    end(&w, b);
    b = box(&w, "traf");
    size_t c = fullbox(&w, "tfhd", 0, 0x020000); /* default-base-is-moof */
    u32(&w, 1);
    end(&w, c);
    c = fullbox(&w, "tfdt", 1, 0);
    u64(&w, dts);
    end(&w, c);
    /* data offset, and each sample's duration, size and flags */
    c = fullbox(&w, "trun", 0, 0x000701);
    u32(&w, 1);
    u32(&w, FMP4_FRAG_EXTRA);
    u32(&w, dur);
    u32(&w, (uint32_t)sample_len);
    /* a keyframe depends on no other; any other is not a sync sample */
    u32(&w, key ? 0x02000000 : 0x01010000);
    end(&w, c);
    end(&w, b);
    end(&w, a);
    u32(&w, (uint32_t)(8 + sample_len));
    bytes(&w, "mdat", 4);
}
