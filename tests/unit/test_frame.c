/* test_frame.c -- frame header codec: round trips, vectors, validation. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "contract/frame.h"

static struct frame_hdr base_hdr(enum pixfmt fmt, uint32_t w, uint32_t h)
{
    struct frame_hdr hd;
    memset(&hd, 0, sizeof hd);
    hd.version = FRAME_SCHEMA_VERSION;
    strcpy(hd.stream, "cam1");
    hd.seq = 42;
    hd.t_real_ns = 1700000000123456789LL;
    hd.t_mono_ns = 123456789012LL;
    hd.width = w;
    hd.height = h;
    hd.stride = w * pixfmt_bpp(fmt);
    hd.fmt = fmt;
    hd.enc = ENC_RAW;
    hd.size = (uint64_t)hd.stride * h;
    return hd;
}

static void add_shm(struct frame_hdr *hd)
{
    hd->has_shm = true;
    strcpy(hd->shm.name, "/vidpipe-cam1.77");
    hd->shm.token = 0xfeedfacecafebeefULL;
    hd->shm.slot = 5;
    hd->shm.gen = 123456789;
}

static void assert_hdr_equal(const struct frame_hdr *a,
                             const struct frame_hdr *b)
{
    assert_int_equal(a->version, b->version);
    assert_string_equal(a->stream, b->stream);
    assert_true(a->seq == b->seq);
    assert_true(a->t_real_ns == b->t_real_ns);
    assert_true(a->t_mono_ns == b->t_mono_ns);
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    assert_int_equal(a->stride, b->stride);
    assert_int_equal(a->fmt, b->fmt);
    assert_int_equal(a->enc, b->enc);
    assert_true(a->size == b->size);
    assert_int_equal(a->has_shm, b->has_shm);
    if (a->has_shm) {
        assert_string_equal(a->shm.name, b->shm.name);
        assert_true(a->shm.token == b->shm.token);
        assert_int_equal(a->shm.slot, b->shm.slot);
        assert_true(a->shm.gen == b->shm.gen);
    }
}

/* Encodes hd, decodes it from an exact-size heap copy (so a sanitizer sees
 * any over-read), and checks the result equals hd. */
static void roundtrip(const struct frame_hdr *hd)
{
    uint8_t buf[FRAME_HDR_MAX];
    struct frame_hdr out;
    const uint8_t *data = (const uint8_t *)"x";
    size_t dlen = 99;
    const char *why = NULL;
    int n = frame_encode(hd, false, buf, sizeof buf);

    assert_true(n > 0);
    uint8_t *copy = malloc((size_t)n);
    assert_non_null(copy);
    memcpy(copy, buf, (size_t)n);
    int rc = frame_decode(copy, (size_t)n, &out, &data, &dlen, &why);
    if (rc != 0)
        print_error("decode: %s\n", why);
    assert_int_equal(rc, 0);
    assert_null(data);
    assert_int_equal(dlen, 0);
    assert_hdr_equal(hd, &out);
    /* The same without a data out-parameter. */
    assert_int_equal(frame_decode(copy, (size_t)n, &out, NULL, NULL, &why), 0);
    assert_hdr_equal(hd, &out);
    free(copy);
}

static void test_roundtrip_raw(void **state)
{
    (void)state;
    struct frame_hdr hd = base_hdr(PIXFMT_BGR24, 640, 480);
    roundtrip(&hd);
    hd = base_hdr(PIXFMT_RGB24, 3, 7);
    hd.stride = 16;
    hd.size = 16 * 7;
    roundtrip(&hd);
    hd = base_hdr(PIXFMT_GRAY, 1, 1);
    roundtrip(&hd);
}

static void test_roundtrip_jpeg(void **state)
{
    (void)state;
    struct frame_hdr hd = base_hdr(PIXFMT_BGR24, 1920, 1080);
    hd.enc = ENC_JPEG;
    hd.size = 123457;
    roundtrip(&hd);
}

static void test_roundtrip_shm(void **state)
{
    (void)state;
    struct frame_hdr hd = base_hdr(PIXFMT_GRAY, 320, 240);
    add_shm(&hd);
    roundtrip(&hd);
}

static void test_roundtrip_extremes(void **state)
{
    (void)state;
    struct frame_hdr hd = base_hdr(PIXFMT_BGR24, FRAME_DIM_MAX, FRAME_DIM_MAX);
    memset(hd.stream, 'S', FRAME_STREAM_MAX);
    hd.stream[FRAME_STREAM_MAX] = 0;
    hd.seq = UINT64_MAX;
    hd.t_real_ns = INT64_MIN;
    hd.t_mono_ns = INT64_MAX;
    hd.stride = FRAME_DIM_MAX * 4;
    hd.size = (uint64_t)hd.stride * hd.height;
    add_shm(&hd);
    memcpy(hd.shm.name, "/vidpipe-", 9);
    memset(hd.shm.name + 9, 'n', FRAME_SHM_NAME_MAX - 9);
    hd.shm.name[FRAME_SHM_NAME_MAX] = 0;
    hd.shm.token = UINT64_MAX;
    hd.shm.slot = UINT32_MAX;
    hd.shm.gen = UINT64_MAX;
    assert_int_equal(frame_hdr_check(&hd, &(const char *){NULL}), 0);
    roundtrip(&hd);

    /* Zero values and negative times. */
    hd = base_hdr(PIXFMT_GRAY, 2, 2);
    hd.seq = 0;
    hd.t_real_ns = -1;
    hd.t_mono_ns = 0;
    roundtrip(&hd);
}

/* with_data: the output ends with the bin head, the payload follows. */
static void check_with_data(struct frame_hdr *hd)
{
    size_t cap = FRAME_HDR_MAX + hd->size;
    uint8_t *buf = malloc(cap), *copy;
    struct frame_hdr out;
    const uint8_t *data = NULL;
    size_t dlen = 0;
    const char *why = NULL;

    assert_non_null(buf);
    int n = frame_encode(hd, true, buf, FRAME_HDR_MAX);
    assert_true(n > 0);
    for (uint64_t i = 0; i < hd->size; i++)
        buf[(size_t)n + i] = (uint8_t)(i * 7 + 1);
    size_t total = (size_t)n + hd->size;
    copy = malloc(total);
    assert_non_null(copy);
    memcpy(copy, buf, total);
    int rc = frame_decode(copy, total, &out, &data, &dlen, &why);
    if (rc)
        print_error("decode: %s\n", why);
    assert_int_equal(rc, 0);
    assert_hdr_equal(hd, &out);
    assert_ptr_equal(data, copy + n);
    assert_int_equal(dlen, hd->size);
    assert_memory_equal(data, buf + n, hd->size);

    /* A caller that expects no payload rejects it. */
    why = NULL;
    assert_int_equal(frame_decode(copy, total, &out, NULL, NULL, &why),
                     -EINVAL);
    assert_non_null(why);

    /* Header alone (payload missing) is not a well-formed object. */
    why = NULL;
    assert_int_equal(frame_decode(copy, (size_t)n, &out, &data, &dlen, &why),
                     -EINVAL);
    assert_non_null(why);
    assert_null(data);
    free(copy);
    free(buf);
}

static void test_roundtrip_with_data(void **state)
{
    (void)state;
    struct frame_hdr hd = base_hdr(PIXFMT_GRAY, 4, 2); /* bin8 */
    check_with_data(&hd);
    hd = base_hdr(PIXFMT_RGB24, 20, 10); /* 600 bytes: bin16 */
    check_with_data(&hd);
    hd = base_hdr(PIXFMT_BGR24, 100, 300); /* 90000 bytes: bin32 */
    check_with_data(&hd);
    hd = base_hdr(PIXFMT_BGR24, 64, 64);
    hd.enc = ENC_JPEG;
    hd.size = 777;
    check_with_data(&hd);
    hd = base_hdr(PIXFMT_GRAY, 8, 8);
    add_shm(&hd);
    check_with_data(&hd);
}

static void test_encode_enospc(void **state)
{
    (void)state;
    struct frame_hdr hd = base_hdr(PIXFMT_BGR24, 640, 480);
    uint8_t buf[FRAME_HDR_MAX], small[FRAME_HDR_MAX];

    add_shm(&hd);
    for (int with_data = 0; with_data < 2; with_data++) {
        int n = frame_encode(&hd, with_data, buf, sizeof buf);
        assert_true(n > 0 && n <= FRAME_HDR_MAX);
        for (int cap = 0; cap < n; cap++) {
            memset(small, 0xAA, sizeof small);
            assert_int_equal(frame_encode(&hd, with_data, small, (size_t)cap),
                             -ENOSPC);
            /* Nothing written past cap. */
            for (size_t i = (size_t)cap; i < sizeof small; i++)
                assert_int_equal(small[i], 0xAA);
        }
        assert_int_equal(frame_encode(&hd, with_data, small, (size_t)n), n);
        assert_memory_equal(small, buf, (size_t)n);
    }
    /* A payload too big for bin32 cannot be framed. */
    hd.has_shm = false;
    hd.size = (uint64_t)UINT32_MAX + 1;
    assert_int_equal(frame_encode(&hd, true, buf, sizeof buf), -ENOSPC);
}

static void test_encode_max_fits(void **state)
{
    (void)state;
    /* The largest header frame_encode can write fits FRAME_HDR_MAX. */
    struct frame_hdr hd = base_hdr(PIXFMT_BGR24, FRAME_DIM_MAX, FRAME_DIM_MAX);
    uint8_t buf[FRAME_HDR_MAX];
    memset(hd.stream, 'S', FRAME_STREAM_MAX);
    hd.seq = UINT64_MAX;
    hd.t_real_ns = INT64_MIN;
    hd.t_mono_ns = INT64_MIN;
    hd.stride = UINT32_MAX;
    hd.version = UINT32_MAX;
    hd.size = UINT32_MAX;
    add_shm(&hd);
    memset(hd.shm.name, 'n', FRAME_SHM_NAME_MAX);
    hd.shm.token = hd.shm.gen = UINT64_MAX;
    hd.shm.slot = UINT32_MAX;
    int n = frame_encode(&hd, true, buf, sizeof buf);
    assert_true(n > 0 && n <= FRAME_HDR_MAX);
}

static void test_decode_data_out_cleared(void **state)
{
    (void)state;
    struct frame_hdr hd = base_hdr(PIXFMT_GRAY, 4, 4), out;
    uint8_t buf[FRAME_HDR_MAX];
    const uint8_t *data = buf;
    size_t dlen = 5;
    const char *why = NULL;
    int n = frame_encode(&hd, false, buf, sizeof buf);

    /* Failure also clears the out-parameters. */
    assert_int_equal(frame_decode(buf, (size_t)n - 1, &out, &data, &dlen, &why),
                     -EINVAL);
    assert_null(data);
    assert_int_equal(dlen, 0);
    assert_non_null(why);
    why = NULL;
    assert_int_equal(frame_decode(buf, 0, &out, &data, &dlen, &why), -EINVAL);
    assert_non_null(why);
}

/* --- vectors ------------------------------------------------------------ */

static const char *vectors_dir(void)
{
    const char *d = getenv("VIDPIPE_VECTORS");
    return d && *d ? d : "schema/contract/vectors";
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0) {
        /* Exact size (at least 1 for malloc), so over-reads are caught. */
        b = malloc(n ? (size_t)n : 1);
        if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
            free(b);
            b = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return b;
}

static void summarize(char *s, size_t cap, const struct frame_hdr *h,
                      const uint8_t *data, size_t dlen)
{
    char shm[128] = "-";
    if (h->has_shm)
        snprintf(shm, sizeof shm, "%s:%" PRIu64 ":%" PRIu32 ":%" PRIu64,
                 h->shm.name, h->shm.token, h->shm.slot, h->shm.gen);
    snprintf(s, cap,
             "stream=%s seq=%" PRIu64 " t_real=%" PRId64 " t_mono=%" PRId64
             " %" PRIu32 "x%" PRIu32 " stride=%" PRIu32 " %s %s size=%" PRIu64
             " shm=%s data=%lld%s",
             h->stream, h->seq, h->t_real_ns, h->t_mono_ns, h->width, h->height,
             h->stride, pixfmt_name(h->fmt), frame_enc_name(h->enc), h->size,
             shm, data ? (long long)dlen : -1LL, h->key ? " key" : "");
}

struct listed {
    char file[128];
    int seen;
};

/* Every strict prefix of a valid encoding is rejected, without a crash. */
static int check_prefixes(const uint8_t *b, size_t len, const char *name)
{
    int bad = 0;
    for (size_t k = 0; k < len; k++) {
        uint8_t *p = malloc(k ? k : 1);
        struct frame_hdr out;
        const uint8_t *data;
        size_t dlen;
        const char *why = NULL;
        assert_non_null(p);
        memcpy(p, b, k);
        if (frame_decode(p, k, &out, &data, &dlen, &why) != -EINVAL || !why) {
            print_error("%s: prefix of %zu bytes not rejected\n", name, k);
            bad++;
        }
        free(p);
    }
    return bad;
}

static int check_vector(const char *dir, const char *file, const char *expect)
{
    char path[PATH_MAX], got[512];
    size_t len = 0;
    uint8_t *b;
    struct frame_hdr out;
    const uint8_t *data = NULL;
    size_t dlen = 0;
    const char *why = NULL;
    int rc, bad = 0;

    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (!(b = read_file(path, &len))) {
        print_error("%s: cannot read\n", path);
        return 1;
    }
    rc = frame_decode(b, len, &out, &data, &dlen, &why);
    if (strncmp(file, "valid/", 6) == 0) {
        if (rc != 0) {
            print_error("%s: rejected: %s\n", file, why ? why : "(no why)");
            free(b);
            return 1;
        }
        summarize(got, sizeof got, &out, data, dlen);
        if (strcmp(got, expect) != 0) {
            print_error("%s:\n  got    %s\n  expect %s\n", file, got, expect);
            bad++;
        }
        if (data && (data < b || data + dlen != b + len)) {
            print_error("%s: data not inside the buffer, at its end\n", file);
            bad++;
        }
        /* Re-encoding what was decoded gives an equal header. */
        uint8_t enc[FRAME_HDR_MAX];
        struct frame_hdr again;
        int n = frame_encode(&out, false, enc, sizeof enc);
        if (n <= 0 ||
            frame_decode(enc, (size_t)n, &again, NULL, NULL, &why) != 0) {
            print_error("%s: re-encode failed\n", file);
            bad++;
        } else {
            assert_hdr_equal(&out, &again);
        }
        bad += check_prefixes(b, len, file);
    } else {
        if (rc != -EINVAL || !why) {
            print_error("%s: rc %d (want -EINVAL), why %s\n", file, rc,
                        why ? why : "NULL");
            bad++;
        } else if (strcmp(why, expect) != 0) {
            print_error("%s: rejected for \"%s\", expected \"%s\"\n", file, why,
                        expect);
            bad++;
        }
        if (data || dlen) {
            print_error("%s: data set on failure\n", file);
            bad++;
        }
        /* Without a data out-parameter it is rejected too. */
        why = NULL;
        if (frame_decode(b, len, &out, NULL, NULL, &why) != -EINVAL || !why) {
            print_error("%s: accepted without data out-parameter\n", file);
            bad++;
        }
    }
    free(b);
    return bad;
}

static void scan_dir(const char *dir, const char *sub, struct listed *l, int nl,
                     int *bad)
{
    char path[PATH_MAX];
    DIR *d;
    struct dirent *e;
    int files = 0;

    snprintf(path, sizeof path, "%s/%s", dir, sub);
    d = opendir(path);
    if (!d) {
        print_error("%s: cannot open (set VIDPIPE_VECTORS?)\n", path);
        (*bad)++;
        return;
    }
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        char file[300];
        int i;
        if (n < 4 || strcmp(e->d_name + n - 4, ".mpk") != 0)
            continue;
        files++;
        snprintf(file, sizeof file, "%s/%s", sub, e->d_name);
        for (i = 0; i < nl; i++)
            if (strcmp(l[i].file, file) == 0)
                break;
        if (i == nl) {
            print_error("%s: not listed in expect.tsv\n", file);
            (*bad)++;
        } else {
            l[i].seen = 1;
        }
    }
    closedir(d);
    if (files == 0) {
        print_error("%s: no vectors\n", path);
        (*bad)++;
    }
}

static void test_vectors(void **state)
{
    (void)state;
    const char *dir = vectors_dir();
    char path[PATH_MAX], line[1024];
    static struct listed l[512];
    int nl = 0, bad = 0, nvalid = 0, ninvalid = 0;
    FILE *f;

    snprintf(path, sizeof path, "%s/expect.tsv", dir);
    f = fopen(path, "r");
    if (!f)
        fail_msg("%s: cannot open (run from the repo root or set "
                 "VIDPIPE_VECTORS)",
                 path);
    while (fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t'), *nl_ch = strchr(line, '\n');
        if (line[0] == '#' || !tab)
            continue;
        if (nl_ch)
            *nl_ch = 0;
        *tab = 0;
        assert_true(nl < (int)(sizeof l / sizeof l[0]));
        assert_true(strlen(line) < sizeof l[nl].file);
        memcpy(l[nl].file, line, strlen(line) + 1);
        l[nl].seen = 0;
        bad += check_vector(dir, line, tab + 1);
        if (strncmp(line, "valid/", 6) == 0)
            nvalid++;
        else
            ninvalid++;
        nl++;
    }
    fclose(f);
    scan_dir(dir, "valid", l, nl, &bad);
    scan_dir(dir, "invalid", l, nl, &bad);
    for (int i = 0; i < nl; i++)
        if (!l[i].seen) {
            print_error("%s: listed but missing\n", l[i].file);
            bad++;
        }
    print_message("vectors: %d valid, %d invalid\n", nvalid, ninvalid);
    assert_true(nvalid >= 10);
    assert_true(ninvalid >= 40);
    assert_int_equal(bad, 0);
}

/* Random mutations of a valid encoding: decoding never crashes, and what
 * it accepts passes frame_hdr_check. */
static void test_decode_mutations(void **state)
{
    (void)state;
    struct frame_hdr hd = base_hdr(PIXFMT_GRAY, 8, 4), out;
    uint8_t good[FRAME_HDR_MAX + 32], *m;
    uint32_t rnd = 12345;
    const char *why;
    int accepted = 0;

    add_shm(&hd);
    int n = frame_encode(&hd, true, good, FRAME_HDR_MAX);
    assert_true(n > 0);
    memset(good + n, 0x5A, (size_t)hd.size);
    n += (int)hd.size;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = (size_t)n;
        m = malloc(len);
        assert_non_null(m);
        memcpy(m, good, len);
        int flips = 1 + iter % 4;
        for (int k = 0; k < flips; k++) {
            rnd = rnd * 1103515245u + 12345u;
            size_t at = (rnd >> 8) % len;
            rnd = rnd * 1103515245u + 12345u;
            m[at] =
                (iter & 1) ? (uint8_t)(rnd >> 16) : m[at] ^ (1u << (rnd % 8));
        }
        const uint8_t *data = NULL;
        size_t dlen = 0;
        why = NULL;
        int rc = frame_decode(m, len, &out, &data, &dlen, &why);
        if (rc == 0) {
            accepted++;
            assert_int_equal(frame_hdr_check(&out, &why), 0);
            if (data) {
                assert_true(data >= m && data + dlen <= m + len);
                assert_int_equal(dlen, out.size);
            }
        } else {
            assert_int_equal(rc, -EINVAL);
            assert_non_null(why);
        }
        free(m);
    }
    /* Some flips land in payload bytes or seq: those still decode. */
    assert_true(accepted > 0);
}

/* --- frame_hdr_check ---------------------------------------------------- */

static void check_hdr(const struct frame_hdr *hd, int ok, int line)
{
    const char *why = NULL;
    int rc = frame_hdr_check(hd, &why);
    if (ok && rc != 0)
        fail_msg("line %d: rejected: %s", line, why);
    if (!ok && (rc != -EINVAL || !why || !*why))
        fail_msg("line %d: accepted (rc %d)", line, rc);
}
#define OK(h) check_hdr(&(h), 1, __LINE__)
#define BAD(h) check_hdr(&(h), 0, __LINE__)

static void test_hdr_check_dims(void **state)
{
    (void)state;
    struct frame_hdr h;

    h = base_hdr(PIXFMT_BGR24, 1, 1), OK(h);
    h = base_hdr(PIXFMT_BGR24, FRAME_DIM_MAX, FRAME_DIM_MAX), OK(h);
    h = base_hdr(PIXFMT_BGR24, 0, 1), h.stride = 3, h.size = 3, BAD(h);
    h = base_hdr(PIXFMT_BGR24, 1, 0), BAD(h);
    h = base_hdr(PIXFMT_BGR24, FRAME_DIM_MAX + 1, 1), BAD(h);
    h = base_hdr(PIXFMT_GRAY, 1, FRAME_DIM_MAX + 1), BAD(h);
    h = base_hdr(PIXFMT_GRAY, UINT32_MAX, 1), h.stride = 1, h.size = 1, BAD(h);
}

static void test_hdr_check_stride(void **state)
{
    (void)state;
    struct frame_hdr h;
    static const enum pixfmt fmts[] = {PIXFMT_BGR24, PIXFMT_RGB24, PIXFMT_GRAY};

    for (size_t i = 0; i < 3; i++) {
        unsigned bpp = pixfmt_bpp(fmts[i]);
        h = base_hdr(fmts[i], 101, 3), OK(h);
        h.stride = 101 * bpp - 1, h.size = (uint64_t)h.stride * 3, BAD(h);
        h.stride = 101 * bpp + 29, h.size = (uint64_t)h.stride * 3, OK(h);
    }
    h = base_hdr(PIXFMT_GRAY, 1, 2);
    h.stride = FRAME_DIM_MAX * 4, h.size = (uint64_t)h.stride * 2, OK(h);
    h.stride = FRAME_DIM_MAX * 4 + 1, h.size = (uint64_t)h.stride * 2, BAD(h);
    h.stride = UINT32_MAX, h.size = (uint64_t)h.stride * 2, BAD(h);
    /* Largest raw frame: no overflow in stride * height. */
    h = base_hdr(PIXFMT_GRAY, FRAME_DIM_MAX, FRAME_DIM_MAX);
    h.stride = FRAME_DIM_MAX * 4, h.size = (uint64_t)h.stride * h.height;
    OK(h);
}

static void test_hdr_check_fields(void **state)
{
    (void)state;
    struct frame_hdr h;

    h = base_hdr(PIXFMT_GRAY, 4, 4), h.version = 0, BAD(h);
    h = base_hdr(PIXFMT_GRAY, 4, 4), h.version = 2, BAD(h);
    h = base_hdr(PIXFMT_GRAY, 4, 4), h.fmt = PIXFMT_NONE, BAD(h);
    h = base_hdr(PIXFMT_GRAY, 4, 4), h.fmt = (enum pixfmt)99, BAD(h);
    h = base_hdr(PIXFMT_GRAY, 4, 4), h.enc = (enum frame_enc)3, BAD(h);
    h = base_hdr(PIXFMT_GRAY, 4, 4), h.key = true, BAD(h);
    h = base_hdr(PIXFMT_GRAY, 4, 4), h.size++, BAD(h);
    h = base_hdr(PIXFMT_GRAY, 4, 4), h.size--, BAD(h);
    h = base_hdr(PIXFMT_GRAY, 4, 4), h.size = 0, BAD(h);
    h = base_hdr(PIXFMT_GRAY, 4, 4), h.stream[0] = 0, BAD(h);
    h = base_hdr(PIXFMT_GRAY, 4, 4), strcpy(h.stream, "a b"), BAD(h);
    h = base_hdr(PIXFMT_GRAY, 4, 4), strcpy(h.stream, "a/b"), BAD(h);
    h = base_hdr(PIXFMT_GRAY, 4, 4), strcpy(h.stream, "a:b"), BAD(h);
    h = base_hdr(PIXFMT_GRAY, 4, 4), strcpy(h.stream, "\xc3\xa9"), BAD(h);
    h = base_hdr(PIXFMT_GRAY, 4, 4), strcpy(h.stream, "Az09_.-"), OK(h);
    h = base_hdr(PIXFMT_GRAY, 4, 4);
    memset(h.stream, 'x', FRAME_STREAM_MAX), OK(h);
}

static void test_hdr_check_jpeg(void **state)
{
    (void)state;
    struct frame_hdr h = base_hdr(PIXFMT_BGR24, 10, 10);
    uint64_t max = (uint64_t)h.stride * h.height * 2 + 4096;

    h.enc = ENC_JPEG;
    h.size = 0, BAD(h);
    h.size = 1, OK(h);
    h.size = max, OK(h);
    h.size = max + 1, BAD(h);
    h.size = UINT64_MAX, BAD(h);
}

static void test_hdr_check_shm(void **state)
{
    (void)state;
    struct frame_hdr h = base_hdr(PIXFMT_GRAY, 4, 4);
    static const char *const good[] = {"/vidpipe-a", "/vidpipe-cam1.123",
                                       "/vidpipe-A_b-c.d"};
    static const char *const bad[] = {"",
                                      "/",
                                      "/vidpipe",
                                      "vidpipe-a",
                                      "/vidpipeXa",
                                      "/VIDPIPE-a",
                                      "/vidpipe-a/b",
                                      "/vidpipe-a b",
                                      "//vidpipe-a",
                                      "/vidpipe-\xc3\xa9",
                                      "/other-a"};

    add_shm(&h), OK(h);
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        strcpy(h.shm.name, good[i]);
        OK(h);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        strcpy(h.shm.name, bad[i]);
        const char *why = NULL;
        if (frame_hdr_check(&h, &why) != -EINVAL)
            fail_msg("shm name \"%s\" accepted", bad[i]);
    }
    memcpy(h.shm.name, "/vidpipe-", 9);
    memset(h.shm.name + 9, 'z', FRAME_SHM_NAME_MAX - 9);
    h.shm.name[FRAME_SHM_NAME_MAX] = 0;
    OK(h);
    add_shm(&h);
    h.enc = ENC_JPEG, h.size = 100, BAD(h);
}

static void test_payload_check(void **state)
{
    (void)state;
    struct frame_hdr h = base_hdr(PIXFMT_BGR24, 10, 10);
    const char *why = NULL;

    assert_int_equal(frame_payload_check(&h, 300, &why), 0);
    assert_int_equal(frame_payload_check(&h, 299, &why), -EINVAL);
    assert_non_null(why);
    why = NULL;
    assert_int_equal(frame_payload_check(&h, 301, &why), -EINVAL);
    assert_non_null(why);
    assert_int_equal(frame_payload_check(&h, 0, &why), -EINVAL);
    h.enc = ENC_JPEG;
    h.size = 1234;
    assert_int_equal(frame_payload_check(&h, 1234, &why), 0);
    why = NULL;
    assert_int_equal(frame_payload_check(&h, 300, &why), -EINVAL);
    assert_non_null(why);
    assert_int_equal(frame_payload_check(&h, SIZE_MAX, &why), -EINVAL);
}

static void test_enc_names(void **state)
{
    (void)state;
    assert_string_equal(frame_enc_name(ENC_RAW), "raw");
    assert_string_equal(frame_enc_name(ENC_JPEG), "jpeg");
    assert_string_equal(frame_enc_name(ENC_H264), "h264");
    assert_null(frame_enc_name((enum frame_enc)3));
    enum frame_enc e = ENC_JPEG;
    assert_int_equal(frame_enc_parse("h264", &e), 0);
    assert_int_equal(e, ENC_H264);
    assert_int_equal(frame_enc_parse("raw", &e), 0);
    assert_int_equal(e, ENC_RAW);
    assert_int_equal(frame_enc_parse("jpeg", &e), 0);
    assert_int_equal(e, ENC_JPEG);
    assert_int_equal(frame_enc_parse("jpg", &e), -EINVAL);
    assert_int_equal(frame_enc_parse("JPEG", &e), -EINVAL);
    assert_int_equal(frame_enc_parse("", &e), -EINVAL);
    assert_int_equal(e, ENC_JPEG); /* untouched on failure */
}

static void test_stream_name_ok(void **state)
{
    (void)state;
    char s[FRAME_STREAM_MAX + 2];

    assert_true(frame_stream_name_ok("a"));
    assert_true(frame_stream_name_ok("cam-1_left.v2"));
    assert_false(frame_stream_name_ok(""));
    assert_false(frame_stream_name_ok("a/b"));
    assert_false(frame_stream_name_ok("a b"));
    assert_false(frame_stream_name_ok("a*"));
    assert_false(frame_stream_name_ok("\x7f"));
    memset(s, 'x', FRAME_STREAM_MAX);
    s[FRAME_STREAM_MAX] = 0;
    assert_true(frame_stream_name_ok(s));
    s[FRAME_STREAM_MAX] = 'x';
    s[FRAME_STREAM_MAX + 1] = 0;
    assert_false(frame_stream_name_ok(s));
}

static void test_stamp(void **state)
{
    (void)state;
    struct frame_hdr h;
    struct timespec r, m;

    memset(&h, 0, sizeof h);
    clock_gettime(CLOCK_REALTIME, &r);
    clock_gettime(CLOCK_MONOTONIC, &m);
    frame_stamp(&h);
    int64_t r0 = (int64_t)r.tv_sec * 1000000000 + r.tv_nsec;
    int64_t m0 = (int64_t)m.tv_sec * 1000000000 + m.tv_nsec;
    assert_true(h.t_real_ns >= r0 && h.t_real_ns - r0 < 1000000000);
    assert_true(h.t_mono_ns >= m0 && h.t_mono_ns - m0 < 1000000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_raw),
        cmocka_unit_test(test_roundtrip_jpeg),
        cmocka_unit_test(test_roundtrip_shm),
        cmocka_unit_test(test_roundtrip_extremes),
        cmocka_unit_test(test_roundtrip_with_data),
        cmocka_unit_test(test_encode_enospc),
        cmocka_unit_test(test_encode_max_fits),
        cmocka_unit_test(test_decode_data_out_cleared),
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_decode_mutations),
        cmocka_unit_test(test_hdr_check_dims),
        cmocka_unit_test(test_hdr_check_stride),
        cmocka_unit_test(test_hdr_check_fields),
        cmocka_unit_test(test_hdr_check_jpeg),
        cmocka_unit_test(test_hdr_check_shm),
        cmocka_unit_test(test_payload_check),
        cmocka_unit_test(test_enc_names),
        cmocka_unit_test(test_stream_name_ok),
        cmocka_unit_test(test_stamp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
