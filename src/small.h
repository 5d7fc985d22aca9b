/* src/small.h - malloc's fast path for small blocks, inlined into the
 * entry points; the layout, invariants P1-P6 and the types are in
 * internal.h ("Small blocks"), the rest of the tier (free's paths among
 * them) in src/small.c. */
#ifndef BIMP_SMALL_H
#define BIMP_SMALL_H

#include "internal.h"

/* A request of n bytes goes to the tier (a build whose GRANULE is above 256
 * has none: every block is headered). */
static inline bool is_small(size_t n)
{
    return GRANULE <= PAGE_STRIDE_SPLIT && n <= SMALL_TIER_MAX;
}

/* malloc's fast path: a freed bit of the hinted word of the class's current
 * page, else a push; neither reads nor writes a block. */
static ALWAYS_INLINE void *small_alloc(heap *h, size_t n)
{
    page *pg = h->pages[small_class(n)];
    size_t k = pg->scan;
    uint64_t w = pg->freed[k];
    if (LIKELY(w)) {
        pg->freed[k] = w & (w - 1);
        count(h->n.small_reused, 1);
        return pg->base + (k * 64 + (size_t)__builtin_ctzll(w)) * pg->stride;
    }
    size_t top = pg->top;
    if (LIKELY(top < pg->cap)) {
        pg->top = (uint16_t)(top + 1);
        count(h->n.small_bumped, 1);
        return pg->base + top * pg->stride;
    }
    return small_slow(n);
}

#endif
