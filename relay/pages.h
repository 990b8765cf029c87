/* pages.h -- the relay's web pages, built into the binary: nothing is
 * read from the filesystem and nothing is loaded from elsewhere, so the
 * pages work offline. */
#ifndef VIDPIPE_RELAY_PAGES_H
#define VIDPIPE_RELAY_PAGES_H

/* "/": the streams with live thumbnails (polls /api/streams). */
extern const char page_index[];
/* "/view/NAME": the viewer; "%%STREAM%%" stands for the stream's name. */
extern const char page_view[];

#endif
