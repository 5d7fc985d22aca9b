/* src/checks.c - the invariant checkers (BIMP_DEBUG; bimp_check_heap runs
 * them on demand). */

#include "internal.h"

/* ======================================================================== */
/* The checkers: every invariant, after every operation of the debug build  */
/* ======================================================================== */

/* `to`, read from a bin link of `from`: NULL or a block in Bimp's chunks. */
static block *bin_link(block *from, block *to)
{
    REQUIRE(!to || in_chunks(to), "bin link into Bimp's chunks", from);
    return to;
}

/* Invariants 1-4 and 6-8 of one chunk, and of 5 the remote marks, as far as
 * the chunk alone shows them;
 * the caller owns it.  Returns the bytes of its binned blocks. */
size_t check_chunk(chunk *c)
{
    if (c == &empty_chunk)
        return 0;
    heap *h = load_relaxed(&c->owner);
    REQUIRE(c->end <= chunk_end(c) && c->state != CH_FREE, "chunk header", c);
    char *at = first_of(c), *prev = NULL;
    bool prev_free = false;
    size_t binned = 0, prev_stride = 0;
    while (at < c->cursor) {
        block *b = (block *)at;
        uint32_t info = load_relaxed(&b->info);
        size_t stride = stride_of(info);
        bool is_free = !(info & B_INUSE);
        REQUIRE(stride >= MIN_STRIDE && stride % GRANULE == 0, "block stride", b);
        REQUIRE(((uintptr_t)payload_of(b) & (GRANULE - 1)) == 0, "payload alignment", b);
        REQUIRE(prev ? (b->prev & ~PREV_FREE) == (size_t)(at - prev) : b->prev == 0,
                "back distance", b);
        REQUIRE(!!(b->prev & PREV_FREE) == prev_free, "prev-free bit", b);
        REQUIRE(!(info & B_HUGE), "huge flag inside a chunk", b);
        REQUIRE(!(info & B_REMOTE) || (info & B_INUSE), "remote mark on a block in use only (invariant 5)", b);
        REQUIRE(is_free == !!(info & B_FREE), "the free flag exactly on free blocks", b);
        REQUIRE(!(is_free && prev_free) || stride <= QUICK_MAX || prev_stride <= QUICK_MAX ||
                    h->kind != HEAP_THREAD, "two large free neighbours", b);
        if (is_free && b != h->hole && h->kind == HEAP_THREAD) {
            block *next = bin_link(b, next_of(b)), *on_bin_before;
            REQUIRE(h->bins[bin_of(stride)] == b ||
                        ((on_bin_before = bin_link(b, prev_of(b))) && next_of(on_bin_before) == b &&
                         bin_of(stride_of(on_bin_before->info)) == bin_of(stride)),
                    "binned block on the bin of its class", b);
            REQUIRE(!next || prev_of(next) == b, "bin links", b);
        }
        if (is_free)
            binned += stride;
        prev_free = is_free;
        prev_stride = stride;
        prev = at;
        at += stride;
    }
    REQUIRE(at == c->cursor && c->cursor <= c->end, "walk ends at the cursor", c);
    REQUIRE(((block *)at)->prev == (prev ? (uint32_t)(at - prev) : 0), "cursor slot", c);
    if (prev)
        REQUIRE(load_relaxed(&((block *)prev)->info) & B_INUSE, "top in use", c);
    return binned;
}

/* Every structure of a heap; the caller owns it. */
void check_heap(heap *h)
{
    REQUIRE(h->cur == &empty_chunk || (load_relaxed(&h->cur->owner) == h && h->cur->state == CH_CURRENT),
            "current chunk", h->cur);
    REQUIRE(h != my_heap() || my_cur(h) == h->cur, "thread's copy of the current chunk", h->cur);
    size_t binned = 0;
    for (chunk *c = h->chunks; c; c = c->next_own) {
        REQUIRE(load_relaxed(&c->owner) == h && (!c->next_own || c->next_own->prev_own == c), "chunk list", c);
        REQUIRE(c->state != CH_CURRENT || c == h->cur, "one current chunk", c);
        if (c->kind == CK_STACK)
            binned += check_chunk(c);
    }
    check_pages(h);
    for (chunk *c = h->resume; c; c = c->next) {
        REQUIRE(load_relaxed(&c->owner) == h && c->state == CH_RESUME && !chunk_empty(c), "resume list", c);
        REQUIRE(!c->next || c->next->prev == c, "resume links", c);
    }
    size_t on_bins = 0;
    REQUIRE(!h->bins[MEDIUM_PROBE] == (next_bin(h, SMALL_BINS) == NBINS), "medium probe",
            h->bins[MEDIUM_PROBE]);
    for (unsigned i = MEDIUM_PROBE + 1; i < NBINS; i++) {
        bool bit = bin_marked(h, i);
        REQUIRE(bit == (h->bins[i] != NULL), "bin bitmap", h->bins[i]);
        for (block *b = h->bins[i]; b; b = bin_link(b, next_of(b))) {
            uint32_t info = load_relaxed(&b->info);
            REQUIRE(info & B_FREE && !(info & B_INUSE) && bin_of(stride_of(info)) == i,
                    "binned block's class", b);
            REQUIRE(load_relaxed(&chunk_of(b)->owner) == h, "binned block's heap", b);
            on_bins += stride_of(info);
            REQUIRE(on_bins <= binned, "a block on two bins", b);
        }
    }
    if (h->hole) {
        REQUIRE(load_relaxed(&chunk_of(h->hole)->owner) == h &&
                (load_relaxed(&h->hole->info) & (B_FREE | B_INUSE)) == B_FREE, "the hole", h->hole);
        on_bins += stride_of(load_relaxed(&h->hole->info));
    }
    if (h->kind == HEAP_THREAD) {
        REQUIRE(on_bins == binned && binned == h->binned, "binned bytes", h);
        return;
    }
    /* An arena's: nothing binned; its current chunk is its newest; its ring
     * holds marks (blocks of its chunks, in use) and its huge blocks. */
    REQUIRE(on_bins == 0 && !h->hole && h->cur == (h->chunks ? h->chunks : &empty_chunk),
            "an arena's chunks", h);
    for (arena_node *n = h->nodes.older; n != &h->nodes; n = n->older) {
        REQUIRE(n->older->newer == n && n->newer->older == n, "an arena's ring", n);
        block *b = header_of(n);
        if (huge_of_node(n))
            REQUIRE(huge_of_node(n)->arena == h, "an arena's huge block", n);
        else
            REQUIRE(in_chunks(b) && load_relaxed(&chunk_of(b)->owner) == h && (char *)b < chunk_of(b)->cursor &&
                        load_relaxed(&b->info) == info_make(MIN_STRIDE, B_INUSE), "an arena's mark", b);
    }
}

#ifdef BIMP_DEBUG
/* Debug builds: check every structure of the calling thread's heap (none
 * yet, or none any more, is a sentinel with nothing in it), and of the
 * arenas it created. */
EXPORT void bimp_check_heap(void)
{
    heap *h = my_heap();
    check_heap(h);
    for (heap *a = load_acquire(&g.all_heaps); a; a = a->next_all)
        if (a->kind == HEAP_ARENA && a->arena_thread == h)
            check_heap(a);
}
#endif
