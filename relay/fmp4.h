/* fmp4.h -- H.264 access units into fragmented MP4, one fragment a frame.
 *
 * What the relay sends browsers (Media Source Extensions, and WebCodecs
 * after the page has read the boxes) and players as /stream/NAME.mp4: an
 * init segment (ftyp, moov with the avcC of the stream's SPS and PPS),
 * then one moof+mdat per access unit.  Times are in microseconds and a
 * fragment's decode time (tfdt) is its frame's capture time since the
 * epoch, so every client gets the same bytes and a page reads latency
 * straight from them.  Pure functions on caller's memory: no allocation.
 */
#ifndef VIDPIPE_RELAY_FMP4_H
#define VIDPIPE_RELAY_FMP4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FMP4_TIMESCALE 1000000               /* ticks a second: microseconds */
#define FMP4_PARAM_MAX 256                   /* an SPS or PPS we keep, bytes */
#define FMP4_INIT_MAX 1024                   /* an init segment, bytes */
#define FMP4_MOOF_SIZE 100                   /* a fragment's moof, bytes */
#define FMP4_FRAG_EXTRA (FMP4_MOOF_SIZE + 8) /* moof and mdat's header */

/* An access unit's parameter sets, as found by fmp4_scan(). */
struct fmp4_params {
    uint8_t sps[FMP4_PARAM_MAX], pps[FMP4_PARAM_MAX];
    size_t sps_len, pps_len;
};

/* Walks the Annex B access unit au: copies its first SPS and PPS into p
 * (those not present are left as they were) and returns the bytes of the
 * sample it makes, its other NAL units each behind a 4-byte length; 0 if
 * it holds none (or a parameter set too big to keep). */
size_t fmp4_scan(const uint8_t *au, size_t len, struct fmp4_params *p);

/* Where the first slice's NAL unit of the Annex B access unit au starts
 * (its start code), or len if it has none. */
size_t fmp4_first_slice(const uint8_t *au, size_t len);

/* Writes the sample of au (its NAL units but SPS, PPS and AUD, each
 * behind a 4-byte length) into out, which has fmp4_scan()'s bytes. */
void fmp4_sample(const uint8_t *au, size_t len, uint8_t *out);

/* Writes ftyp+moov for a w x h stream with parameter sets p into out
 * (FMP4_INIT_MAX bytes): its length, or 0 if p lacks one. */
size_t fmp4_init(const struct fmp4_params *p, uint32_t w, uint32_t h,
                 uint8_t *out);

/* Writes the moof and mdat header of fragment seq, decoding at dts
 * (microseconds) for dur, a sample of sample_len bytes, key or not, into
 * out (FMP4_FRAG_EXTRA bytes); the sample goes right after them. */
void fmp4_frag_head(uint32_t seq, uint64_t dts, uint32_t dur, bool key,
                    size_t sample_len, uint8_t *out);

#endif
