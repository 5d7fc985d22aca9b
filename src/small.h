/* src/small.h - malloc's fast path for small blocks, inlined into the
 * entry points; the layout, invariants P1-P6 and the types are in
 * internal.h ("Small blocks"), the rest of the tier (free's paths among
 * them) in src/small.c. */
#ifndef BIMP_SMALL_H
#define BIMP_SMALL_H

#include "internal.h"

/* A request of n bytes goes to the tier (in a build with it, and whose
 * GRANULE is 256 at most: else every block is headered). */
static inline bool is_small(size_t n)
{
    return SMALL_TIER && GRANULE <= PAGE_STRIDE_SPLIT && n <= SMALL_TIER_MAX;
}

/* malloc's fast path: the class's hot block (P7), else a freed bit of the
 * current page's word `scan`, else a push; neither reads nor writes a
 * block. */
static ALWAYS_INLINE void *small_alloc(heap *h, size_t n)
{
    size_t cls = small_class(n);
    page *hp = h->hot_page[cls];
    if (UNLIKELY(hp != NULL)) { /* the block freed last, if it still is (P7) */
        size_t i = h->hot_index[cls];
        uint64_t *w = &hp->freed[i >> 6], bit = (uint64_t)1 << (i & 63);
        h->hot_page[cls] = NULL;
        if (LIKELY((*w & bit) && hp->cls == cls)) {
            *w &= ~bit;
            stat_add(h->n.small_reused, 1);
            return hp->base + i * hp->stride;
        }
    }
    page *pg = h->pages[cls];
    size_t k = pg->scan;
    uint64_t w = pg->freed[k];
    if (LIKELY(w)) {
        pg->freed[k] = w & (w - 1);
        stat_add(h->n.small_reused, 1);
        return pg->base + (k * 64 + (size_t)__builtin_ctzll(w)) * pg->stride;
    }
    size_t top = load_relaxed(&pg->top);
    if (LIKELY(top < pg->cap)) {
        store_relaxed(&pg->top, (uint16_t)(top + 1));
        stat_add(h->n.small_bumped, 1);
        return pg->base + top * pg->stride;
    }
    return small_slow(n);
}

/* free's fast path for p, in page chunk pc: the owner's free of the top
 * pops it; anything else (a block below the top, the freed blocks behind
 * the top, another thread's block, misuse) goes to small_free_other.  The
 * top is recognised by its offset alone (its bit is never set, P2):
 * off + stride == top * stride, and top is not 0. */
static ALWAYS_INLINE void small_free(page_chunk *pc, void *p, const char *function)
{
    heap *h = my_heap();
    page *pg = page_of(pc, p);
    if (UNLIKELY(load_relaxed(&pc->c.owner) != h)) { /* first: other threads never read top */
        small_free_other(p, function);
        return;
    }
    size_t off = (size_t)((char *)p - pg->base), top = load_relaxed(&pg->top), end = top * pg->stride;
    if (UNLIKELY(off + pg->stride != end || !end)) {
        small_free_other(p, function);
        return;
    }
    store_relaxed(&pg->top, (uint16_t)--top);
    /* More to do if the block below is freed, or the page is empty and not
     * current: one branch (LIFO code pops pages to empty often, and which
     * of the two it is was a mispredicted branch of its own).  With top 0
     * the word read is some word of the page, with no bit set (P1). */
    uint64_t below = pg->freed[((top - 1) >> 6) & (PAGE_WORDS - 1)] >> ((top - 1) & 63);
    if (UNLIKELY((below & 1) | ((top == 0) & (pg->state != PG_CURRENT))))
        small_popped(h, pg);
    if (DEBUG_CHECKS)
        check_page(pg);
}

#endif
