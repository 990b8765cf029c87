/* subs.h -- a publisher's subscription prefixes, bounded in total and per
 * connection.
 *
 * Each prefix somebody subscribed is one entry, charged to the
 * connection that made it (the one whose subscription created it; later
 * subscribers of the same prefix share it for free).  A table holds at
 * most max entries, and a connection may create at most per_conn of
 * them: one client with thousands of junk subscriptions fills its own
 * share and is refused past it, and the others' subscriptions still find
 * room.  Matching a topic costs one hash probe per distinct prefix length
 * in the table (at most the topic's length), never a scan of the entries,
 * and allocates nothing.  Used from one thread.
 */
#ifndef VIDPIPE_SUBS_H
#define VIDPIPE_SUBS_H

#include <stdbool.h>
#include <stddef.h>

/* Longest prefix an entry holds: longer subscriptions mean nothing to a
 * vidpipe publisher (a topic is at most TOPIC_MAX bytes). */
#define SUBS_PREFIX_MAX 128

struct subs;

/* A table of at most max entries, at most per_conn made by one
 * connection (0: max).  NULL with errno set. */
struct subs *subs_new(unsigned max, unsigned per_conn);
void subs_free(struct subs *t);

/* Adds prefix (len <= SUBS_PREFIX_MAX bytes) for connection conn (a
 * descriptor, or -1 when unknown: such entries are bounded by max only).
 * 0, *added saying whether the entry is new (one there already is not
 * charged again); -ENOSPC: the table is full; -EDQUOT: conn has made
 * per_conn entries; -EINVAL: too long; -ENOMEM. */
int subs_add(struct subs *t, const char *prefix, size_t len, int conn,
             bool *added);
/* Removes prefix's entry, crediting the connection that made it: true if
 * there was one. */
bool subs_remove(struct subs *t, const char *prefix, size_t len);

/* True while some entry is a prefix of topic (tlen bytes). */
bool subs_match(const struct subs *t, const char *topic, size_t tlen);
/* True while some entry is a prefix of prefix or starts with it (a scan:
 * not for every frame). */
bool subs_overlap(const struct subs *t, const char *prefix, size_t len);

/* How many entries there are, and how many conn made. */
unsigned subs_count(const struct subs *t);
unsigned subs_conn_count(const struct subs *t, int conn);

#endif
