/* api.h -- what every file of libvidpipe's API layer shares, not exported.
 *
 * The API layer turns the layers below (contract, transport, codec) into
 * the vp_ objects of vidpipe.h.  Its files call each other in one
 * direction only, from the public entry points down to a core that calls
 * nothing else here; tools/check-layers holds them to it from the
 * objects' symbols.  Bottom to top:
 *
 *   error.c stats.c misc.c    vp_errmsg(), counters, names, images
 *   keyframe.c                a stream's H.264 encoder and when it makes
 *                             keyframes: takes pixels, returns packets
 *   decode.c                  a subscriber's H.264 decoder and keyframe
 *                             requests (recv.h)
 *   recv.c                    the receive core (recv.h): reading and
 *                             checking messages, what to subscribe to,
 *                             holding a ring's mapping, the frame pool and
 *                             its one release point, the counters
 *   latest.c                  the newest-frame mode's receiver thread
 *   sub.c  frame.c            vp_sub_* and vp_frame_*
 *   pub.c                     vp_pub_*: loan, commit, every variant made
 *                             once (publish.h)
 *   forward.c                 vp_pub_forward(): received frames republished
 *   link.c                    vp_pub_link(): a publisher below a subscriber
 *
 * A lower file reaches a higher one only through a function pointer it
 * was handed: the link lends the subscriber its socket to poll and what
 * to do when it has input (struct sub_link), and lends the publisher what
 * to do with each subscription change (pub->on_sub).  So the core has no
 * idea a relay exists, and a relay is the two objects plus one file.
 *
 * Internal functions fail as everything in the library does: 0 or -errno
 * and a reason.  Below this layer the reason is a static string (const
 * char **why) that the caller completes with what it knows (a URL, a
 * file); here, where the caller is a vp_ function, vp_fail() makes it the
 * thread's vp_errmsg().
 */
#ifndef VIDPIPE_API_H
#define VIDPIPE_API_H

#include "vidpipe.h"

/* Sets the calling thread's vp_errmsg() and returns rc (a -errno). */
int vp_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* vp_fail() for a lower layer's rc and static *why about what (a url, a
 * file): "what: why", then strerror(-rc) unless rc is -EINVAL, whose why
 * says it all. */
int vp_fail_why(int rc, const char *what, const char *why);

struct planes_ref;
/* 0 if img is a valid picture (format, geometry, every plane's pixels and
 * stride), else -EINVAL with vp_errmsg() beginning "what: ". */
int api_image_check(const struct vp_image *img, const char *what);
/* Copies src's pixels into dst: two checked images of one format and
 * size. */
void api_copy(const struct vp_image *src, const struct vp_image *dst);
/* img's planes as the codec layer takes them. */
void api_planes(struct planes_ref *p, const struct vp_image *img);

#endif
