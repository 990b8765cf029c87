/* nametab.c -- items found by name, in a hash index. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/nametab.h"

#define NAMETAB_MIN_SLOTS 16

/* FNV-1a: names are short; this is a few cycles a byte. */
static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

void *nametab_find(const struct nametab *t, const char *name)
{
    if (!t->nslots)
        return NULL;
    unsigned mask = t->nslots - 1;
    for (unsigned i = hash(name) & mask;; i = (i + 1) & mask) {
        uint32_t s = t->slots[i];
        if (!s)
            return NULL;
        if (strcmp(t->items[s - 1], name) == 0)
            return t->items[s - 1];
    }
}

/* Puts item number idx in the index (which has an empty slot). */
static void place(uint32_t *slots, unsigned nslots, const char *name,
                  unsigned idx)
{
    unsigned mask = nslots - 1, i = hash(name) & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = idx + 1;
}

int nametab_add(struct nametab *t, void *item)
{
    if (t->n == t->cap) {
        unsigned cap = t->cap ? 2 * t->cap : NAMETAB_MIN_SLOTS / 2;
        void **items = realloc(t->items, cap * sizeof *items);
        if (!items)
            return -ENOMEM;
        t->items = items;
        t->cap = cap;
    }
    if (2 * (t->n + 1) > t->nslots) {
        unsigned ns = t->nslots ? 2 * t->nslots : NAMETAB_MIN_SLOTS;
        uint32_t *slots = calloc(ns, sizeof *slots);
        if (!slots)
            return -ENOMEM;
        for (unsigned i = 0; i < t->n; i++)
            place(slots, ns, t->items[i], i);
        free(t->slots);
        t->slots = slots;
        t->nslots = ns;
    }
    t->items[t->n] = item;
    place(t->slots, t->nslots, item, t->n);
    t->n++;
    return 0;
}

void *nametab_del(struct nametab *t, const char *name)
{
    void *item = nametab_find(t, name);
    if (!item)
        return NULL;
    for (unsigned i = 0; i < t->n; i++)
        if (t->items[i] == item) {
            t->items[i] = t->items[--t->n];
            break;
        }
    memset(t->slots, 0, t->nslots * sizeof *t->slots);
    for (unsigned i = 0; i < t->n; i++)
        place(t->slots, t->nslots, t->items[i], i);
    return item;
}

size_t nametab_bytes(const struct nametab *t)
{
    return t->cap * sizeof *t->items + t->nslots * sizeof *t->slots;
}

void nametab_fini(struct nametab *t)
{
    for (unsigned i = 0; i < t->n; i++)
        free(t->items[i]);
    free(t->items);
    free(t->slots);
    memset(t, 0, sizeof *t);
}
