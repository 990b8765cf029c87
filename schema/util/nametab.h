/* nametab.h -- items found by name: what a publisher and a stats object
 * keep per stream, for any number of streams.
 *
 * Each item is the caller's heap object and begins with its name (a
 * NUL-terminated char array at offset 0).  An open-addressing hash index
 * finds a name with one hash and a probe or two and allocates nothing;
 * adding a name may grow the index (kept at most half full) and the item
 * list.  Items never move, so pointers to them stay valid until
 * nametab_del() takes them out or nametab_fini(). */
#ifndef VIDPIPE_NAMETAB_H
#define VIDPIPE_NAMETAB_H

#include <stddef.h>
#include <stdint.h>

struct nametab {
    void **items;    /* in the order added */
    unsigned n, cap; /* items, and room for them */
    uint32_t *slots; /* 1 + an index into items, or 0: empty */
    unsigned nslots; /* 0, or a power of two */
};

/* The item called name, or NULL. */
void *nametab_find(const struct nametab *t, const char *name);
/* Adds item (a heap object beginning with a name not in t yet), which t
 * then owns: 0, or -ENOMEM (item is still the caller's). */
int nametab_add(struct nametab *t, void *item);
/* Takes the item called name out of t and returns it (the caller's to
 * free), or NULL.  The last item takes its place in the order; the
 * index is rebuilt (O(n): for items that come and go rarely). */
void *nametab_del(struct nametab *t, const char *name);
/* Bytes the table itself holds for n items (its lists, not the items). */
size_t nametab_bytes(const struct nametab *t);
/* The i-th item, i < t->n: in the order added, but for nametab_del(). */
static inline void *nametab_at(const struct nametab *t, unsigned i)
{
    return t->items[i];
}
/* Frees every item (with free()) and the table's own memory; t is then
 * empty and may be used again.  Accepts an empty table. */
void nametab_fini(struct nametab *t);

#endif
