/* bimp.c - Bimp's portable core: a bump allocator that replaces malloc.
 *
 * Quick start: `make`, then `LD_PRELOAD=$PWD/libbimp.so program`.
 *
 * The idea.  Memory comes in chunks; each chunk is a stack of headered blocks.
 * malloc pushes a block on top of the current chunk's stack (a bump of the
 * cursor).  free of the top block pops it, and pops the free blocks right
 * behind it too, so code that frees in LIFO order returns all of its memory
 * at once.  A block freed below the top is put on a bin: small strides each
 * have a bin of their own, larger ones share a bin per quarter of a
 * doubling.  A small one is binned as it is while its bin holds fewer than
 * 16 blocks (so that the next request of its size takes it back at once,
 * and the free touches no neighbour's bin links); others are merged with
 * their free neighbours first, and consolidate merges the small ones when
 * memory runs short.  malloc takes an exact-size block
 * from its bin first, then bumps, then splits a larger binned block (or
 * carves the heap's "hole", what is left of a large free run), and only
 * then takes another chunk.  A chunk whose last block is freed goes back
 * to a process-wide pool, where its pages are given back to the OS after a
 * short delay; a chunk whose top has popped far down is resumed as a bump
 * area.  Requests above the huge threshold get their own mapping.
 *
 * Threads.  Each thread owns a heap: a current chunk, bins, and a list of
 * chunks to resume.  The owner's malloc and free take no lock and no atomic.  A block
 * freed by another thread is marked (one atomic OR on its header) and joins
 * that thread's batch for the owner; a batch goes onto the owner's inbox
 * with one atomic, and the owner drains the inbox when it next needs memory.
 * An exiting thread orphans its heap; the next new thread adopts it.  Frees
 * into an orphaned heap are applied at once under that heap's lock.
 *
 * The platform (memory, break, thread exit, environment, error output) is
 * reached only through platform.h.
 *
 * Arenas (bimp_arena_*) are heaps that no thread's malloc uses, with marks
 * to release to: "Core: arenas".
 *
 * Files.  This one is the per-heap allocator: what a heap does with its
 * chunks (validation, bins, push and pop, remote frees, a thread's heap
 * from attach to exit, allocation and release, arenas, trimming) and the
 * entry points.  Where chunks come from is src/pool.c; the data model it
 * shares with src/ is src/internal.h (after src/glue.h: configuration,
 * compiler, threading layer); the rest of src/ is one file per concern
 * (small blocks, huge blocks, fork, options, statistics, diagnostics, the
 * address map, the heap profile, the check mode, guard sampling, the
 * debug build's checkers).  README.md, "Where to change what", says which
 * file owns what.
 */

#include "src/small.h"

/* ======================================================================== */
/* State (what each part means: src/internal.h)                             */
/* ======================================================================== */

#define EMPTY_PAGES_INIT .pages = { [0 ... SMALL_CLASSES - 1] = &empty_page }
#define EMPTY_HEAP_INIT { EMPTY_PAGES_INIT, .cur = &empty_chunk, .state = H_OWNED }

struct globals g;
uintptr_t link_secret;

chunk empty_chunk = {
    .cursor = (char *)&empty_chunk, .end = (char *)&empty_chunk,
    .state = CH_CURRENT,
};
heap unattached_heap = EMPTY_HEAP_INIT;
heap exited_heap = EMPTY_HEAP_INIT;
heap late_heap = { EMPTY_PAGES_INIT, .cur = &empty_chunk, .state = H_ORPHAN };

#ifdef BIMP_SINGLE_THREADED
heap the_heap = EMPTY_HEAP_INIT;
ptrdiff_t the_countdown;
#else
TLS_INITIAL_EXEC int locks_held;
TLS_INITIAL_EXEC struct mine mine = { &unattached_heap, &empty_chunk, 0 };
#endif

/* ======================================================================== */
/* Core: layout and bin helpers that only this file uses                    */
/* ======================================================================== */

/* A chunk whose free tail is at least this large is worth resuming. */
#define RESUME_MIN (CHUNK / 4)

/* A small bin holds at most this many blocks binned unmerged (QUICK_MAX). */
#define QUICK_CAP 16 /* phase: unbounded, 1.8x the time (its nodes end up scattered) */

/* The stride that holds n bytes of payload; n must be below PTRDIFF_MAX. */
static inline size_t stride_for(size_t n)
{
    size_t s = (n + HEADER + GRANULE - 1) & ~(GRANULE - 1);
    return s < MIN_STRIDE ? MIN_STRIDE : s;
}

/* Block b of c, `stride` bytes, is the top block. */
static inline bool is_top(chunk *c, block *b, size_t stride)
{
    return (char *)b + stride == c->cursor;
}

/* The link of a block freed by another thread, in its batch or its owner's
 * inbox (plain pointers: remote_block checks what they lead to). */
static inline block **link_of(block *b)
{
    return (block **)payload_of(b);
}

/* Set and clear bin i's bit in h's bitmap of non-empty bins. */
static inline void mark_bin(heap *h, unsigned i)
{
    h->nonempty[i / 64] |= (uint64_t)1 << (i % 64);
}

static inline void unmark_bin(heap *h, unsigned i)
{
    h->nonempty[i / 64] &= ~((uint64_t)1 << (i % 64));
}

/* The bin malloc's fast path probes for a stride: its own if small, else
 * MEDIUM_PROBE. */
static inline unsigned probe_of(size_t stride)
{
    /* stride <= SMALL_MAX ? stride / GRANULE : MEDIUM_PROBE, as a mask that
     * the compiler cannot turn back into a branch */
    _Static_assert(MEDIUM_PROBE == 0, "the mask makes MEDIUM_PROBE");
    return small_bin(stride) & -(unsigned)(stride <= SMALL_MAX);
}

/* ======================================================================== */
/* Validation: what is checked before metadata is followed                  */
/* ======================================================================== */

/* What a program can overwrite (the headers next to its blocks, the links
 * inside the blocks it freed) is checked where Bimp follows it, against
 * what the rest of the heap says (boundary tags are double bookkeeping);
 * what fails a check stops the program (corrupt), before any pointer read
 * from it is followed.  Every such check of the chunks' blocks is here:
 * the bins' and free's (follow to remote_block), what a pointer given to
 * free, realloc or malloc_usable_size is (examine, checked), and an
 * arena's handle, marks and huge blocks (arena_checked to
 * arena_huge_checked).  Elsewhere: a small block's bits (src/small.c,
 * small_free_slow, fold_page), a huge block's mapping (src/huge.c, huge_free), a
 * guarded block (src/guard.c).  The reports: fatal and corrupt
 * (src/diagnostics.c); the invariants a debug build checks: src/checks.c. */

/* `to`, read from a bin link of `from`: NULL or a block in Bimp's chunks. */
static inline block *follow(block *from, block *to)
{
    if (to && UNLIKELY(!in_chunks(to)))
        corrupt(from, OVERWRITTEN_LINK, NULL);
    return to;
}

/* b's neighbours on its bin (the head's predecessor is NULL): each is NULL
 * or a block in Bimp's chunks that points back at b (safe unlinking). */
static inline block *bin_next(block *b)
{
    block *next = follow(b, next_of(b));
    if (next && UNLIKELY(prev_of(next) != b))
        corrupt(b, OVERWRITTEN_LINK, NULL);
    return next;
}

static inline block *bin_prev(block *b)
{
    block *prev = follow(b, prev_of(b));
    if (UNLIKELY(!prev || next_of(prev) != b))
        corrupt(b, OVERWRITTEN_LINK, NULL);
    return prev;
}

/* b, the head of a small bin, is a free block of that bin's stride (the
 * fast path's check of a reused block). */
static ALWAYS_INLINE void check_bin_head(block *b, size_t stride)
{
    if (UNLIKELY(load_relaxed(&b->info) != info_make(stride, B_FREE)))
        corrupt(b, OVERWRITTEN_FREE, "malloc");
}

/* b, the top of c, really is its top: the word at the cursor holds its
 * stride (invariant 8). */
static ALWAYS_INLINE void check_top(chunk *c, block *b, uint32_t info)
{
    if (UNLIKELY(((block *)c->cursor)->prev != stride_of(info)))
        corrupt(b, OVERWRITTEN_TOP, NULL);
}

/* b, on bin i, is a free block of that bin: its stride. */
static inline size_t binned_stride(block *b, unsigned i, const char *function)
{
    uint32_t info = load_relaxed(&b->info);
    size_t stride = stride_of(info);
    if (UNLIKELY(info != info_make(stride, B_FREE) || bin_of(stride) != i || stride < MIN_STRIDE))
        corrupt(b, OVERWRITTEN_FREE, function);
    return stride;
}

/* The block before b of c, which b's prev says is free: it lies in c and
 * is a free block of exactly the back distance. */
static inline block *free_before(chunk *c, block *b)
{
    size_t back = b->prev & ~PREV_FREE;
    block *p = (block *)((char *)b - back);
    if (UNLIKELY(back < MIN_STRIDE || back % GRANULE || back > (size_t)((char *)b - first_of(c)) ||
                 load_relaxed(&p->info) != info_make(back, B_FREE)))
        corrupt(b, OVERWRITTEN_HEADER, NULL);
    return p;
}

/* The stride of b, a block of c below its cursor that follows a free one,
 * if b is free too, else 0: a free b lies below the cursor, and the block
 * after it points back at it. */
static inline size_t free_stride(chunk *c, block *b)
{
    uint32_t info = load_relaxed(&b->info);
    if (info & B_INUSE)
        return 0;
    size_t stride = stride_of(info);
    if (UNLIKELY(info != info_make(stride, B_FREE) || stride < MIN_STRIDE ||
                 stride > (size_t)(c->cursor - (char *)b) ||
                 (after(b, stride)->prev & ~PREV_FREE) != stride))
        corrupt(b, OVERWRITTEN_FREE, NULL);
    return stride;
}

/* Block b of c, in use and not the top, really is a block: the next block
 * points back at it. */
static inline bool linked(chunk *c, block *b, uint32_t info)
{
    size_t stride = stride_of(info);
    block *next = after(b, stride);
    return (char *)next < c->cursor && (next->prev & ~PREV_FREE) == stride && stride >= MIN_STRIDE;
}

/* b of c, owned by the caller, failed linked(): if a walk of c from its
 * first block lands on b, b's header was overwritten (or one before it
 * was); if the walk steps over b, b was never a block. */
static COLD _Noreturn void not_a_block(chunk *c, block *b, const char *function)
{
    char *at = first_of(c);
    while (at < (char *)b && at < c->cursor) {
        size_t stride = stride_of(load_relaxed(&((block *)at)->info));
        if (stride < MIN_STRIDE || stride % GRANULE || stride > (size_t)(c->cursor - at) ||
            (((block *)(at + stride))->prev & ~PREV_FREE) != stride)
            corrupt(at, OVERWRITTEN_HEADER, function);
        at += stride;
    }
    if (at == (char *)b && at < c->cursor)
        corrupt(b, OVERWRITTEN_HEADER, function);
    fatal("invalid pointer", payload_of(b), function);
}

/* b, reached through a remote free's link, is a block of h freed by
 * another thread and not yet applied. */
static inline block *remote_block(heap *h, block *b)
{
    if (UNLIKELY(!in_chunks(b) || load_relaxed(&chunk_of(b)->owner) != h ||
                 (load_relaxed(&b->info) & (B_INUSE | B_REMOTE | B_HUGE)) != (B_INUSE | B_REMOTE)))
        corrupt(b, OVERWRITTEN_LINK, "free");
    return b;
}

/* The calling thread may change the blocks of heap h (not NULL): h is its
 * heap, or an arena it created. */
static inline bool changed_here(heap *h)
{
    heap *me = my_heap();
    return h == me || (h->kind == HEAP_ARENA && h->arena_thread == me);
}

typedef enum { LIVE, FREED, INVALID } pointer_kind; /* what examine() finds a pointer to be */

static pointer_kind examine_huge(block *b)
{
    uint32_t info = load_relaxed(&b->info);
    if (!(info & B_HUGE))
        return INVALID;
    char *map = huge_map(b);
    if (!huge_starts_at(map) || huge_words_of(map)->offset != b->prev)
        return INVALID;
    return (info & B_INUSE) ? LIVE : FREED;
}

/* What p, a pointer into page chunk pc, is: the owner knows its pages;
 * another thread knows only whether a block starts there, and whether its
 * remote bit is set (the owner may be changing the rest). */
static pointer_kind examine_small(page_chunk *pc, void *p)
{
    heap *owner = load_relaxed(&pc->c.owner);
    page *pg = page_of(pc, p);
    if (!owner) /* a chunk in the pool: only a stale pointer points here */
        return FREED;
    if (!changed_here(owner)) {
        size_t idx = block_index(pg, (size_t)((char *)p - pg->base));
        if (idx >= pg->cap)
            return INVALID;
        return load_relaxed(&pg->remote[idx >> 6]) >> (idx & 63) & 1 ? FREED : LIVE;
    }
    size_t idx = block_index(pg, (size_t)((char *)p - pg->base));
    if (idx >= pg->cap)
        return pg->state == PG_UNUSED ? FREED : INVALID;
    if (idx >= load_relaxed(&pg->top) || (pg->freed[idx >> 6] >> (idx & 63) & 1) ||
        (load_relaxed(&pg->remote[idx >> 6]) >> (idx & 63) & 1))
        return FREED;
    return LIVE;
}

/* What p is to Bimp: a live block, a freed one, or not one of Bimp's,
 * judged without reading memory that Bimp does not own. */
static pointer_kind examine(void *p)
{
    uintptr_t a = (uintptr_t)p;
    if ((a & (GRANULE - 1)) || a < CHUNK)
        return INVALID;
    block *b = header_of(p);
    unsigned kind = in_break(p) ? U_CHUNK : unit_kind(a - HEADER);
    if (kind == U_REGION) {
        unsigned state = region_state(b);
        if (state == RG_FREE || state == RG_FREED)
            return FREED;
        return state == RG_START || state == RG_BODY ? examine_huge(b) : INVALID;
    }
    if (kind == U_HUGE_FREED)
        return FREED;
    if (kind == U_HUGE_START || kind == U_HUGE)
        return examine_huge(b);
    if (kind != U_CHUNK || !(a & (CHUNK - 1))) /* a chunk's start is no block */
        return INVALID;
    if (page_chunk_of(p)->c.kind == CK_PAGES)
        return examine_small(page_chunk_of(p), p);
    chunk *c = chunk_of(b);
    uint32_t info = load_relaxed(&b->info);
    size_t stride = stride_of(info);
    if ((char *)b < first_of(c) || (info & B_HUGE) || stride < MIN_STRIDE ||
        (char *)b + stride > (char *)c + CHUNK)
        return INVALID;
    heap *owner = load_relaxed(&c->owner);
    if (!owner) /* a chunk in the pool: only a stale pointer points here */
        return (info & B_INUSE) ? INVALID : FREED;
    if (!changed_here(owner)) /* its owner may be changing its chunk: the header only */
        return (info & (B_INUSE | B_REMOTE)) == B_INUSE ? LIVE : FREED;
    if ((char *)b >= c->cursor) /* popped: only a stale pointer points here */
        return (info & B_INUSE) ? INVALID : FREED;
    if (!(info & B_INUSE))
        return (info & B_FREE) ? FREED : INVALID;
    if (!is_top(c, b, stride_of(info)) && !linked(c, b, info))
        return INVALID;
    return (info & B_REMOTE) ? FREED : LIVE; /* freed by another thread, not yet applied */
}

/* The header of live block p, or a fatal error: `freed_what` for a freed
 * block, "invalid pointer" for anything that never was one of Bimp's. */
static block *checked(void *p, const char *freed_what, const char *function)
{
    pointer_kind v = examine(p);
    if (v == FREED)
        fatal(freed_what, p, function);
    if (v == INVALID) {
        block *b = header_of(p);
        chunk *c = chunk_of(b);
        if (in_chunks(b) && load_relaxed(&c->owner) == my_heap() && (char *)b < c->cursor)
            not_a_block(c, b, function); /* a block of ours whose header was overwritten? */
        fatal("invalid pointer", p, function);
    }
    return header_of(p);
}

/* The page of small block p, live, or a fatal error as checked() gives. */
static page *checked_small(void *p, const char *freed_what, const char *function)
{
    pointer_kind v = examine(p);
    if (v != LIVE)
        fatal(v == FREED ? freed_what : "invalid pointer", p, function);
    return page_of(page_chunk_of(p), p);
}

/* Arena a, which the calling thread may use, or a fatal error. */
static heap *arena_checked(bimp_arena *a, const char *function)
{
    heap *h = (heap *)a;
    if (!h || h->kind != HEAP_ARENA)
        fatal(h && h->kind == HEAP_DESTROYED ? "use of destroyed arena" : "not an arena", a, function);
    if (h->arena_thread != my_heap())
        fatal("arena used by a thread that did not create it", a, function);
    return h;
}

/* Mark m's node in arena h's ring, or a fatal error that says why not. */
static arena_node *mark_node(heap *h, bimp_mark *m, const char *function)
{
    block *b = (block *)m;
    arena_node *want = (arena_node *)payload_of(b);
    for (arena_node *n = h->nodes.older; n != &h->nodes; n = n->older)
        if (n == want)
            return n;
    heap *owner = b && in_chunks(b) ? load_relaxed(&chunk_of(b)->owner) : NULL;
    if (owner && owner != h && owner->kind == HEAP_ARENA)
        fatal("mark of another arena", m, function);
    fatal("mark newer than the arena's top, or not a mark", m, function);
}

/* The words of huge block b of arena h, whose node is in h's ring: its
 * neighbours there point back at it. */
static huge_words *arena_huge_checked(heap *h, block *b, const char *function)
{
    huge_words *w = huge_words_of(huge_map(b));
    if (UNLIKELY(w->arena != h || w->node.older->newer != &w->node || w->node.newer->older != &w->node))
        corrupt(b, OVERWRITTEN_HEADER, function);
    return w;
}

/* ======================================================================== */
/* Core: bins                                                               */
/* ======================================================================== */

static void bin_block(heap *h, block *b, size_t stride)
{
    unsigned i = bin_of(stride);
    store_relaxed(&b->info, info_make(stride, B_FREE));
    block *head = h->bins[i];
    set_link(&links_of(b)->next, head);
    if (head)
        set_link(&links_of(head)->prev, b);
    h->bins[i] = b;
    mark_bin(h, i);
    if (i >= SMALL_BINS)
        h->bins[MEDIUM_PROBE] = b;
    else
        h->on_bin[i]++;
    stat_add(h->binned, stride);
}

/* h's hole, `stride` bytes, is taken. */
static inline void take_hole(heap *h, size_t stride)
{
    h->hole = NULL;
    stat_add(h->binned, -stride);
}

static void unbin(heap *h, block *b)
{
    size_t stride = stride_of(load_relaxed(&b->info));
    if (b == h->hole) {
        take_hole(h, stride);
        return;
    }
    unsigned i = bin_of(stride);
    if (i < SMALL_BINS)
        h->on_bin[i]--;
    block *next = bin_next(b), *prev = NULL;
    if (h->bins[i] != b) {
        prev = bin_prev(b);
        set_link(&links_of(prev)->next, next);
    } else {
        h->bins[i] = next;
        if (!next) {
            unmark_bin(h, i);
            if (i >= SMALL_BINS && next_bin(h, SMALL_BINS) == NBINS)
                h->bins[MEDIUM_PROBE] = NULL;
        }
    }
    if (next)
        set_link(&links_of(next)->prev, prev);
    stat_add(h->binned, -stride);
}

/* Block b heads a run of `have` bytes, unbinned: b keeps `stride` bytes,
 * and the rest, if it can be a block, goes on its bin (unmerged with a small
 * free block after it, as invariant 3 allows), or becomes h's hole if
 * `hole`.  Returns the stride b keeps. */
static size_t split_run(heap *h, block *b, size_t have, size_t stride, bool hole)
{
    block *beyond = after(b, have);
    if (have - stride < MIN_STRIDE) {
        beyond->prev = (uint32_t)have;
        return have;
    }
    block *rest = after(b, stride);
    rest->prev = (uint32_t)stride;
    beyond->prev = (uint32_t)(have - stride) | PREV_FREE;
    if (hole) {
        store_relaxed(&rest->info, info_make(have - stride, B_FREE));
        stat_add(h->binned, have - stride);
        h->hole = rest;
    } else {
        bin_block(h, rest, have - stride);
    }
    return stride;
}

/* Hand out free block b (unbinned, `have` bytes) for `stride` bytes, the
 * rest as split_run leaves it. */
static void *carve(heap *h, block *b, size_t have, size_t stride, bool hole)
{
    stride = split_run(h, b, have, stride, hole);
    store_relaxed(&b->info, info_make(stride, B_INUSE));
    stat_add(h->handed_out, stride);
    stat_add(h->n.refit, 1);
    return payload_of(b);
}

/* The hole: a free run that was too big for one request.  It stays off the
 * bins, and the requests that follow are carved from its front, one after
 * the other (as dlmalloc does with its "designated victim"), instead of its
 * remainder moving from bin to bin at every request. */
#define HOLE_MIN ((size_t)SMALL_MAX)

/* h's hole, if it has one, goes back on its bin. */
static void drop_hole(heap *h)
{
    block *b = h->hole;
    if (b) {
        size_t stride = stride_of(load_relaxed(&b->info));
        unbin(h, b);
        bin_block(h, b, stride);
    }
}

/* A block of `stride` bytes from the front of h's hole, whose rest stays the
 * hole; NULL if the hole is smaller. */
static inline void *carve_hole(heap *h, size_t stride)
{
    block *b = h->hole;
    size_t have = stride_of(load_relaxed(&b->info));
    if (have < stride)
        return NULL;
    take_hole(h, have);
    return carve(h, b, have, stride, true);
}

/* A binned block of h with room for `stride`, split to size; NULL if none.
 * The order: a block of the request's class, the smallest block of a larger
 * class, where the hole counts as the block of its class (what is left of a
 * block much bigger than the request becomes the hole). */
static void *take_binned(heap *h, size_t stride)
{
    unsigned i = bin_of(stride);
    if (stride > SMALL_MAX) { /* the class's own bin may hold smaller blocks */
        int tries = 0;
        for (block *b = h->bins[i]; b && tries < 8; b = follow(b, next_of(b)), tries++) {
            size_t have = binned_stride(b, i, "malloc");
            if (have >= stride) {
                unbin(h, b);
                return carve(h, b, have, stride, false);
            }
        }
        i++;
    }
    i = next_bin(h, i);
    if (i >= SMALL_BINS && h->hole && bin_of(stride_of(load_relaxed(&h->hole->info))) <= i) {
        void *p = carve_hole(h, stride); /* no smaller block fits than the hole */
        if (p)
            return p;
    }
    if (i == NBINS)
        return NULL;
    block *b = h->bins[i];
    size_t have = binned_stride(b, i, "malloc");
    unbin(h, b);
    bool hole = have - stride >= HOLE_MIN;
    if (hole)
        drop_hole(h);
    return carve(h, b, have, stride, hole);
}

/* The fast path's exact fit: the head of a small bin. */
static ALWAYS_INLINE void *take_exact(heap *h, block *b, size_t stride)
{
    unsigned i = small_bin(stride);
    check_bin_head(b, stride);
    block *next = follow(b, next_of(b));
    h->bins[i] = next; /* next's prev link is stale now, and unused while it heads the bin */
    h->on_bin[i]--;
    if (!next)
        unmark_bin(h, i);
    stat_add(h->binned, -stride);
    store_relaxed(&b->info, info_make(stride, B_INUSE));
    after(b, stride)->prev &= ~PREV_FREE; /* a free block is never the top */
    stat_add(h->handed_out, stride);
    stat_add(h->n.exact, 1);
    if (DEBUG_CHECKS)
        check_chunk(chunk_of(b));
    return payload_of(b);
}

/* ======================================================================== */
/* Core: push and pop                                                       */
/* ======================================================================== */

/* Malloc's fast path: c has room for `stride` bytes below its end. */
static inline bool fits_below_end(chunk *c, size_t stride)
{
    return c->cursor + stride <= c->end;
}

/* c's free tail, from the cursor to the chunk's end, holds `need` bytes
 * (below `end` or not: raise_end_for moves `end` up to them). */
static inline bool tail_holds(chunk *c, size_t need)
{
    return need <= (size_t)(chunk_end(c) - c->cursor);
}

/* Pushes may go up to this many bytes past the end of memory written so far
 * before the slow path raises `end` again. */
#define END_STEP ((size_t)16384)

/* Make room for `need` bytes below c's end, if c has it at all. */
static bool raise_end_for(chunk *c, size_t need)
{
    if (c == &empty_chunk || !tail_holds(c, need))
        return false;
    char *to = c->cursor + need;
    if (to > c->end) {
        char *step = (char *)align_up((uintptr_t)to, END_STEP);
        c->end = step < chunk_end(c) ? step : chunk_end(c);
    }
    return true;
}

/* Push a block of `stride` bytes on c, which has room for it; its `prev`
 * is in place already (invariant 8). */
static inline block *push(chunk *c, size_t stride, uint32_t flags)
{
    block *b = (block *)c->cursor;
    move_cursor(c, (char *)b + stride, stride);
    store_relaxed(&b->info, info_make(stride, flags));
    return b;
}

static inline void *push_live(heap *h, chunk *c, size_t stride)
{
    block *b = push(c, stride, B_INUSE);
    stat_add(h->handed_out, stride);
    stat_add(h->n.bumped, 1);
    if (DEBUG_CHECKS)
        check_chunk(c);
    return payload_of(b);
}

static void settle(heap *h, chunk *c);

/* A pop is done: a chunk other than the current one may need settling. */
static inline void popped(heap *h, chunk *c)
{
    if (DEBUG_CHECKS)
        check_chunk(c);
    if (UNLIKELY(c != h->cur))
        settle(h, c);
}

/* The pop reached free block p: it goes too, and so do the free blocks
 * right behind it (small ones are not merged when freed, invariant 3); the
 * slot of each holds its back distance already, as every block's does. */
static NOINLINE void pop_free(heap *h, chunk *c, block *p)
{
    for (;;) {
        if (h->kind == HEAP_THREAD) /* an arena's free blocks are on no bin */
            unbin(h, p);
        stat_add(h->n.swept, 1);
        c->cursor = (char *)p;
        if (!(p->prev & PREV_FREE))
            break;
        p = free_before(c, p);
    }
    popped(h, c);
}

/* The top block b was just freed: pop it, and the free block behind it.
 * Every call here is a tail call, so the fast path saves no registers. */
static inline void pop_top(heap *h, chunk *c, block *b, uint32_t info)
{
    check_top(c, b, info);
    store_relaxed(&b->info, info & ~(uint32_t)(B_INUSE | B_REMOTE));
    c->cursor = (char *)b;
    if (UNLIKELY(b->prev & PREV_FREE)) {
        pop_free(h, c, free_before(c, b));
        return;
    }
    popped(h, c);
}

/* Free block b, unbinned, `stride` bytes, is merged with the free blocks
 * next to it on either side and binned.  `*keep`, a block the caller
 * walks to next, is moved past any neighbour merged away. */
static void merge_free(heap *h, block *b, size_t stride, block **keep)
{
    chunk *c = chunk_of(b);
    store_relaxed(&b->info, info_make(stride, B_FREE)); /* stays so if merged into p */
    while (b->prev & PREV_FREE) {
        block *p = free_before(c, b);
        if (p == *keep)
            *keep = next_of(p);
        unbin(h, p);
        stride += stride_of(load_relaxed(&p->info));
        b = p;
    }
    block *next = after(b, stride);
    size_t more;
    while ((more = free_stride(c, next))) {
        if (next == *keep)
            *keep = next_of(next);
        unbin(h, next);
        stride += more;
        next = after(b, stride);
    }
    next->prev = (uint32_t)stride | PREV_FREE;
    bin_block(h, b, stride);
}

/* Block b (`stride` bytes) below the top was just freed: a small one is
 * binned as it is while its bin holds fewer than QUICK_CAP blocks, others
 * are merged with their free neighbours (which takes in the unmerged ones
 * too, so a burst of frees in address order leaves runs, which the next
 * burst of requests carves in address order). */
static void free_below(heap *h, block *b, size_t stride)
{
    stat_add(h->n.below, 1);
    stat_add(h->n.below_bytes, stride);
    if (stride <= QUICK_MAX && h->on_bin[small_bin(stride)] < QUICK_CAP) {
        bin_block(h, b, stride);
        after(b, stride)->prev |= PREV_FREE;
        stat_add(h->unmerged, stride);
        return;
    }
    block *none = NULL;
    merge_free(h, b, stride, &none);
}

/* Merge every small free block with its free neighbours: bins are walked
 * from the smallest class up, and a merged run goes to a larger bin, where
 * the walk may merge it again. */
static void consolidate(heap *h)
{
    for (unsigned i = MIN_STRIDE / GRANULE; i < SMALL_BINS; i++) {
        block *b = h->bins[i], *next;
        for (; b; b = next) {
            binned_stride(b, i, NULL);
            next = follow(b, next_of(b));
            if (!(b->prev & PREV_FREE) && (load_relaxed(&after(b, i * GRANULE)->info) & B_INUSE))
                continue;
            unbin(h, b);
            merge_free(h, b, i * GRANULE, &next);
        }
    }
    h->unmerged = 0;
    if (DEBUG_CHECKS)
        check_heap(h);
}

/* A binned block for `stride` once every small free block is merged. */
static void *take_consolidated(heap *h, size_t stride)
{
    consolidate(h);
    return take_binned(h, stride);
}

/* consolidate is worth its walk: a quarter of the binned bytes at least
 * came unmerged since the last one, so its cost is a few steps per free. */
static inline bool worth_consolidating(heap *h)
{
    return h->unmerged >= 4096 && h->unmerged >= h->binned / 4;
}

/* c, not h's current chunk, has a free tail worth bumping into again.
 * Never an arena's: its chunks are a stack in the order it took them. */
static inline bool worth_resuming(heap *h, chunk *c)
{
    return h->kind == HEAP_THREAD && tail_holds(c, RESUME_MIN);
}

static void resume_add(heap *h, chunk *c)
{
    c->state = CH_RESUME;
    LIST_PUSH(h->resume, c, next, prev);
}

static void resume_remove(heap *h, chunk *c)
{
    LIST_UNLINK(h->resume, c, next, prev);
    c->next = c->prev = NULL;
}

/* A pop happened in c, which is not h's current chunk: release c if it is
 * empty, offer it for resuming if its free tail has grown large. */
static NOINLINE void settle(heap *h, chunk *c)
{
    if (chunk_empty(c)) {
        if (c->state == CH_RESUME)
            resume_remove(h, c);
        int saved = errno; /* free keeps errno; purging may set it */
        return_chunk(h, c);
        errno = saved;
    } else if (c->state == CH_FULL && worth_resuming(h, c)) {
        resume_add(h, c);
    }
}

/* Free block b of chunk c, owned by h (the caller is h's owner or holds
 * the lock of the orphaned h). */
static ALWAYS_INLINE void free_local(heap *h, chunk *c, block *b, uint32_t info, const char *function)
{
    size_t stride = stride_of(info);
    if (!is_top(c, b, stride)) {
        if (UNLIKELY(!linked(c, b, info)))
            not_a_block(c, b, function);
        free_below(h, b, stride);
        if (DEBUG_CHECKS)
            check_chunk(c);
        return;
    }
    pop_top(h, c, b, info);
}

static void arena_apply_remote(heap *h, block *b);

/* Apply every remote free waiting in h's inbox (an arena's too). */
static void drain(heap *h)
{
    if (!load_relaxed(&h->inbox))
        return;
    block *b = exchange_acquire(&h->inbox, NULL);
    if (UNLIKELY(h->kind != HEAP_THREAD)) {
        arena_apply_remote(h, b);
        return;
    }
    while (b) {
        block *next = *link_of(b); /* the links of free_remote's batches */
        free_local(h, chunk_of(b), remote_block(h, b), load_relaxed(&b->info), "free");
        b = next;
    }
}

/* h's current chunk cannot hold `need` bytes: make current a chunk that can hold them. */
static chunk *switch_chunk(heap *h, size_t need)
{
    chunk *c = h->resume;
    for (int tries = 0; c && tries < 4 && !tail_holds(c, need); tries++)
        c = c->next;
    if (c && tail_holds(c, need))
        resume_remove(h, c);
    else if (!(c = take_chunk(h)))
        return NULL;
    chunk *old = h->cur;
    if (old != &empty_chunk) {
        if (chunk_empty(old))
            return_chunk(h, old);
        else if (worth_resuming(h, old))
            resume_add(h, old);
        else
            old->state = CH_FULL;
    }
    c->state = CH_CURRENT;
    c->end_then = c->end;
    set_cur(h, c);
    if (DEBUG_CHECKS)
        check_heap(h);
    return c;
}

/* Room for `need` bytes at the top of a chunk of h: the current one, after
 * applying remote frees, or another. */
static chunk *chunk_with_room(heap *h, size_t need)
{
    if (raise_end_for(h->cur, need))
        return h->cur;
    drain(h);
    if (raise_end_for(h->cur, need))
        return h->cur;
    chunk *c = switch_chunk(h, need);
    return c && raise_end_for(c, need) ? c : NULL;
}

/* A block of `stride` bytes from h: a binned one, else bumped. */
static void *alloc_in(heap *h, size_t stride)
{
    void *p = take_binned(h, stride);
    if (p)
        return p;
    if (fits_below_end(h->cur, stride))
        return push_live(h, h->cur, stride);
    if (load_relaxed(&h->inbox)) {
        drain(h);
        if ((p = take_binned(h, stride)))
            return p;
    }
    if (worth_consolidating(h) && (p = take_consolidated(h, stride)))
        return p;
    chunk *c = chunk_with_room(h, stride);
    if (!c && h->unmerged) { /* out of memory: every free byte counts */
        if ((p = take_consolidated(h, stride)))
            return p;
        c = chunk_with_room(h, stride);
    }
    return c ? push_live(h, c, stride) : NULL;
}

/* A block of an arena's chunk, `stride` bytes, is free: on no bin
 * ("loose", invariant 3) until a pop, a release or a reset takes it. */
static inline void leave_loose(block *b, size_t stride)
{
    store_relaxed(&b->info, info_make(stride, B_FREE));
    after(b, stride)->prev |= PREV_FREE;
}

/* Place a block of `stride` bytes whose payload is aligned to `align`
 * (> GRANULE) in h: a free pad block in front makes up the difference,
 * binned (loose in an arena's chunk). */
static void *push_aligned(heap *h, size_t stride, size_t align)
{
    size_t worst = align + MIN_STRIDE + stride;
    chunk *c = chunk_with_room(h, worst);
    if (!c)
        return NULL;
    uintptr_t at = (uintptr_t)c->cursor + HEADER;
    size_t gap = align_up(at, align) - at;
    while (gap != 0 && gap < MIN_STRIDE)
        gap += align;
    if (!gap)
        return push_live(h, c, stride);
    block *pad = push(c, gap, B_INUSE); /* until the top above it is in place */
    void *p = push_live(h, c, stride);
    if (h->kind == HEAP_THREAD) {
        bin_block(h, pad, gap); /* its neighbours: the old top, in use, and ours */
        header_of(p)->prev |= PREV_FREE;
    } else {
        leave_loose(pad, gap);
    }
    if (DEBUG_CHECKS)
        check_chunk(c);
    return p;
}

/* ======================================================================== */
/* Core: threads and heaps                                                  */
/* ======================================================================== */

static void orphan_heap(heap *h)
{
    lock(&h->lock);
    store_relaxed(&h->state, H_ORPHAN);
    unlock(&h->lock);
    lock(&g.lock);
    h->next_orphan = g.orphans;
    g.orphans = h;
    unlock(&g.lock);
}

static void flush_remote(heap *h);

/* The thread exit hook: hand the heap to whoever comes next. */
static void on_thread_exit(void *arg)
{
    heap *h = arg;
    flush_remote(h);
    drain(h);
    small_trim(h, true);
    if (h->cur != &empty_chunk && chunk_empty(h->cur)) {
        return_chunk(h, h->cur);
        set_cur(h, &empty_chunk);
    }
    set_my_heap(&exited_heap);
    orphan_heap(h);
}

static void register_heap(heap *h)
{
    h->next_all = load_relaxed(&g.all_heaps);
    while (!compare_exchange(&g.all_heaps, &h->next_all, h))
        ;
}

static void initialise(void)
{
    lock(&g.lock);
    if (!g.initialised) {
        g.initialised = true;
        os_page_size();
        link_secret = (uintptr_t)os_random(); /* before any block is binned */
        small_classes_init(); /* before any page */
        register_heap(THREADED ? &late_heap : my_heap()); /* the_heap, single-threaded */
    }
    unlock(&g.lock);
    take_options();
}

/* Give the calling thread a heap: an orphan if there is one, else a new one.
 * Thread hooks are set up once the heap exists, since that may allocate. */
static heap *attach_heap(void)
{
    initialise();
    lock(&g.lock);
    heap *h = g.orphans;
    if (h)
        g.orphans = h->next_orphan;
    unlock(&g.lock);
    if (h) {
        lock(&h->lock);
        store_relaxed(&h->state, H_OWNED);
        unlock(&h->lock);
        fetch_add(&rare.heaps_adopted, 1);
    } else {
        h = new_heap();
        if (!h)
            return NULL;
        fetch_add(&rare.heaps_made, 1);
        h->cur = &empty_chunk; /* the rest is zero: fresh mapping */
        small_init_heap(h);
        register_heap(h);
    }
    set_my_heap(h);
    if (THREADED) {
        int expected = 0;
        bool first;
        while (!(first = compare_exchange(&g.threads_ready, &expected, 1)) && expected == 0)
            ; /* a weak compare-exchange may fail spuriously */
        if (first) { /* the first thread sets the hooks up; the others wait for them */
            os_thread_init(on_thread_exit, before_fork, after_fork_parent, after_fork_child);
            store_relaxed(&g.threads_ready, 2);
        }
        while (load_relaxed(&g.threads_ready) != 2)
            os_yield();
        os_thread_arm(h);
    }
    return h;
}

/* The heap malloc should use, when my_heap() may not be a real one yet.
 * NULL means the caller must use late_heap under its lock. */
static heap *usable_heap(void)
{
    heap *h = my_heap();
    if (h == &unattached_heap)
        return attach_heap();
    if (h == &exited_heap)
        return NULL;
    if (!THREADED && !g.initialised)
        initialise();
    return h;
}

/* Remote frees batched per owner before they are sent: one atomic serves
 * this many blocks.  A batch also goes when a free for another owner comes,
 * when its thread takes malloc's slow path, and when its thread exits; so a
 * thread that stops freeing holds back at most this many blocks. */
#define REMOTE_BATCH 32

/* Blocks first..last, linked through their payloads and marked REMOTE, go to
 * owner: applied at once if it is orphaned, else put in its inbox. */
static void send_remote(heap *owner, block *first, block *last)
{
    if (load_relaxed(&owner->state) == H_ORPHAN) {
        lock(&owner->lock);
        if (load_relaxed(&owner->state) == H_ORPHAN) {
            drain(owner);
            for (block *b = first, *next; b; b = next) {
                next = b == last ? NULL : *link_of(b);
                free_local(owner, chunk_of(b), remote_block(owner, b), load_relaxed(&b->info), "free");
            }
            unlock(&owner->lock);
            return;
        }
        unlock(&owner->lock);
    }
    block **link = link_of(last);
    *link = load_relaxed(&owner->inbox);
    while (!compare_exchange(&owner->inbox, link, first))
        ;
}

static void arena_free(heap *h, chunk *c, block *b, const char *function);

/* Mark b freed by a thread that does not own it (invariant 5): its info
 * before, or a fatal error if it was not in use. */
static uint32_t mark_remote(block *b, const char *function)
{
    uint32_t old = fetch_or(&b->info, (uint32_t)B_REMOTE);
    if (!(old & B_INUSE) || (old & B_REMOTE))
        fatal("double free of", payload_of(b), function);
    return old;
}

/* Send h's batch of remote frees. */
static NOINLINE void flush_remote(heap *h)
{
    if (!h->out_first)
        return;
    block *first = h->out_first;
    h->out_first = NULL;
    h->out_count = 0;
    send_remote(h->out_to, first, h->out_last);
}

/* Free b, owned by another heap: mark it, then batch it for its owner (a
 * thread without a heap of its own sends it at once). */
static NOINLINE void free_remote(chunk *c, block *b, const char *function)
{
    heap *owner = load_relaxed(&c->owner);
    if (!owner)
        fatal("invalid pointer", payload_of(b), function);
    if (owner->kind != HEAP_THREAD) {
        arena_free(owner, c, b, function);
        return;
    }
    uint32_t old = mark_remote(b, function);
    heap *me = my_heap();
    if (me == &unattached_heap || me == &exited_heap) {
        send_remote(owner, b, b);
        return;
    }
    stat_add(me->n.remote, 1);
    stat_add(me->n.remote_bytes, stride_of(old));
    if (me->out_first && me->out_to != owner)
        flush_remote(me);
    *link_of(b) = me->out_first;
    if (!me->out_first)
        me->out_last = b;
    me->out_first = b;
    me->out_to = owner;
    if (++me->out_count == REMOTE_BATCH)
        flush_remote(me);
}

/* ======================================================================== */
/* Core: allocation and release                                             */
/* ======================================================================== */

/* Allocate in a heap of the calling thread: `align` is 0 for GRANULE. */
static void *alloc_slow(size_t n, size_t align)
{
    if (n > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    if (UNLIKELY(!load_relaxed(&g.options_read)))
        take_options();
    bool aligned = align > GRANULE;
    if (n > opt.huge_threshold || (aligned && (align > CHUNK / 8 || n + align > opt.huge_threshold)))
        return huge_alloc(n, align, false, false);
    size_t stride = stride_for(n);
    heap *h = usable_heap();
    bool late = !h;
    if (late) {
        h = &late_heap;
        lock(&h->lock);
        drain(h);
    } else if (h->out_first) {
        flush_remote(h);
    }
    void *p = aligned ? push_aligned(h, stride, align) : alloc_in(h, stride);
    if (DEBUG_CHECKS && p)
        check_chunk(chunk_of(header_of(p)));
    if (late)
        unlock(&h->lock);
    if (!p)
        errno = ENOMEM;
    return p;
}

/* malloc's third choice, before the slow path: the front of h's hole (as
 * dlmalloc's designated victim comes before the larger bins). */
static NOINLINE void *from_hole(heap *h, size_t n, size_t stride)
{
    void *p;
    if (h->hole && (p = carve_hole(h, stride)))
        return p;
    return alloc_slow(n, 0);
}

/* The small tier's slow path, for a request that its class's current page
 * had no room for (or a thread without a heap yet). */
NOINLINE void *small_slow(size_t n)
{
    if (UNLIKELY(!load_relaxed(&g.options_read)))
        take_options();
    heap *h = usable_heap();
    if (!h) /* a thread past its exit hook: late_heap's headered blocks */
        return alloc_slow(n, 0);
    if (h->out_first)
        flush_remote(h);
    void *p = page_alloc(h, small_class(n));
    if (!p)
        errno = ENOMEM;
    return p;
}

/* A headered block: an exact fit from a small bin, else a bump, else the
 * hole, else the slow path.  A larger block is bumped at once when no
 * medium bin holds a block, which is what alloc_in would do.  Which of the
 * two a request is decides no branch here: request sizes are data, and a
 * mispredicted branch costs more than the rest of a push. */
static ALWAYS_INLINE void *alloc_headered(size_t n)
{
    heap *h = my_heap();
    if (UNLIKELY(n > opt.huge_threshold))
        return alloc_slow(n, 0);
    size_t stride = stride_for(n);
    block *b = h->bins[probe_of(stride)];
    if (UNLIKELY(b)) {
        if (LIKELY(stride <= SMALL_MAX))
            return take_exact(h, b, stride);
        return alloc_slow(n, 0);
    }
    chunk *c = my_cur(h);
    if (LIKELY(fits_below_end(c, stride)))
        return push_live(h, c, stride);
    return from_hole(h, n, stride);
}

/* malloc without the profile's countdown: the small tier, else headered. */
static ALWAYS_INLINE void *alloc_unsampled(size_t n)
{
    if (LIKELY(is_small(n))) {
        void *p = small_alloc(my_heap(), n);
        if (DEBUG_CHECKS && p && page_chunk_of(p)->c.kind == CK_PAGES)
            check_page(page_of(page_chunk_of(p), p));
        return p;
    }
    return alloc_headered(n);
}

/* The allocation watch() asked more of: the unwinder's, aside from the
 * heaps (capture_stack); the check mode's, every one; a
 * guarded block (when the guard pool has room); the profile's sample, which
 * is headered (its header says so) and recorded; or the first allocation
 * of a thread while sizes are counted, counted once its heap exists. */
static NOINLINE void *alloc_special(size_t n, unsigned what)
{
    void *p;
    if (what & WATCH_ASIDE)
        return huge_alloc(n, GRANULE, false, false);
    if (what & WATCH_CHECK)
        p = check_alloc(n, 0);
    else if (!(what & WATCH_GUARD) || !(p = guard_alloc(n)))
        p = what & WATCH_SAMPLE ? alloc_headered(n) : alloc_unsampled(n);
    if (p && (what & WATCH_SAMPLE))
        profile_record(p, n);
    if (p && (what & WATCH_COUNT_AFTER))
        count_size(my_heap(), n);
    return p;
}

/* The allocation that crosses the countdown: src/watch.c counts it. */
static NOINLINE void *alloc_watched(size_t n)
{
    unsigned what = watch(n);
    if (LIKELY(what == WATCH_PLAIN))
        return alloc_unsampled(n);
    return alloc_special(n, what);
}

/* malloc: the countdown of bytes (src/watch.c), then the allocation. */
static ALWAYS_INLINE void *alloc(size_t n)
{
    ptrdiff_t *countdown = my_countdown(); /* 0 at first: each thread's first allocation is watched */
    *countdown = (ptrdiff_t)((uintptr_t)*countdown - n); /* wraps for absurd n, which fail anyway */
    if (UNLIKELY(*countdown < 0))
        return alloc_watched(n);
    return alloc_unsampled(n);
}


/* The arena block b (its info) belongs to, or NULL. */
static heap *arena_of(block *b, uint32_t info)
{
    heap *h = (info & B_HUGE) ? huge_words_of(huge_map(b))->arena : load_relaxed(&chunk_of(b)->owner);
    return h && h->kind == HEAP_ARENA ? h : NULL;
}

static bool arena_resize(heap *h, chunk *c, block *b, uint32_t info, size_t n);

/* Block b (its info) is the check mode's: its free, realloc and usable
 * size are src/check.c's. */
static inline bool check_mode_block(uint32_t info)
{
    return (info & B_SAMPLED) && opt.check;
}

/* free for anything the fast path would not take: huge blocks, chunks
 * outside the break, and every kind of misuse. */
static COLD void release_checked(void *p, const char *function)
{
    block *b = checked(p, "double free of", function);
    uint32_t info = load_relaxed(&b->info);
    chunk *c = chunk_of(b);
    heap *h = my_heap();
    int saved = errno;
    if (check_mode_block(info)) { /* held back */
        check_free(p, function);
        errno = saved;
        return;
    }
    if (info & B_SAMPLED) {
        bool below = !(info & B_HUGE) && load_relaxed(&c->owner) == h && !is_top(c, b, stride_of(info));
        info = unsample(b, below);
    }
    heap *arena = (info & B_HUGE) ? huge_words_of(huge_map(b))->arena : NULL;
    if (arena)
        arena_free(arena, NULL, b, function);
    else if (info & B_HUGE)
        huge_free(b, function);
    else if (load_relaxed(&c->owner) == h)
        free_local(h, c, b, info, function);
    else
        free_remote(c, b, function);
    errno = saved;
}

/* free of p, which lies in one of Bimp's chunks: a small block of a page,
 * or a headered one. */
static ALWAYS_INLINE void release_headered(void *p, const char *function);

/* release_headered out of line: a build with the small tier calls it, so
 * that the tier's fast path, inlined into free, keeps no stack frame. */
static NOINLINE void release_headered_call(void *p, const char *function)
{
    release_headered(p, function);
}

/* free of p, which lies in one of Bimp's chunks: a small block of a page,
 * or a headered one. */
static ALWAYS_INLINE void release_in_chunk(void *p, const char *function)
{
    page_chunk *pc = page_chunk_of(p);
    if (!SMALL_TIER)
        release_headered(p, function);
    else if (pc->c.kind == CK_PAGES)
        small_free(pc, p, function);
    else
        release_headered_call(p, function);
}

/* free of p, a headered block of one of Bimp's chunks. */
static ALWAYS_INLINE void release_headered(void *p, const char *function)
{
    block *b = header_of(p);
    uint32_t info = load_relaxed(&b->info);
    if (UNLIKELY((info & (B_INUSE | B_REMOTE | B_HUGE | B_SAMPLED)) != B_INUSE)) {
        release_checked(p, function);
        return;
    }
    chunk *c = chunk_of(b);
    heap *h = my_heap();
    if (LIKELY(load_relaxed(&c->owner) == h))
        free_local(h, c, b, info, function);
    else
        free_remote(c, b, function);
}

/* free of p outside the break: NULL, a chunk mapped elsewhere, a huge
 * block, or not Bimp's.  Out of line, so that free's fast path keeps no
 * stack frame and tests no NULL. */
static NOINLINE void release_outside(void *p, const char *function)
{
    if (!p)
        return;
    if (in_mapped_chunk(p))
        release_in_chunk(p, function);
    else if (in_guard_pool(p))
        guard_free(p, function);
    else
        release_checked(p, function);
}

static ALWAYS_INLINE void release(void *p, const char *function)
{
    if (UNLIKELY(!in_break(p)))
        release_outside(p, function);
    else
        release_in_chunk(p, function);
}

/* A live block's header, or a fatal error naming `function`. */
static block *live_block(void *p, const char *function)
{
    return checked(p, "use of freed block", function);
}

/* free_sized and free_aligned_sized: the size (and alignment) must be the
 * ones the block was allocated with. */
/* p lies in a page chunk of Bimp's: it is a small block, if any. */
static inline bool in_page_chunk(void *p)
{
    return (in_break(p) || in_mapped_chunk(p)) && page_chunk_of(p)->c.kind == CK_PAGES;
}

/* A small block of `stride` bytes and class cls keeps its place for a
 * request of n bytes: n is of its class, or above half of its stride (what
 * realloc leaves in place, so that free_sized may name either). */
static inline bool small_fits(size_t stride, size_t cls, size_t n)
{
    return n <= stride && (n > stride / 2 || small_class(n) == cls);
}

static void release_sized(void *p, size_t align, size_t size, const char *function)
{
    bool fits_size;
    if (in_guard_pool(p)) {
        guard_sized(p, size, function);
        fits_size = true;
    } else if (in_page_chunk(p)) {
        page *pg = checked_small(p, "double free of", function);
        fits_size = small_fits(pg->stride, pg->cls, size);
    } else {
        block *b = checked(p, "double free of", function);
        uint32_t info = load_relaxed(&b->info);
        if (info & B_HUGE)
            fits_size = size <= PTRDIFF_MAX &&
                        huge_length(b->prev, size, huge_grain(huge_map(b))) == huge_words_of(huge_map(b))->length;
        else
            fits_size = size <= stride_of(info) - HEADER && stride_for(size) + MIN_STRIDE > stride_of(info);
    }
    if (!fits_size)
        fatal("wrong size for", p, function);
    if (align && ((align & (align - 1)) || ((uintptr_t)p & (align - 1))))
        fatal("wrong alignment for", p, function);
    release(p, function);
}

static size_t usable_size(block *b)
{
    uint32_t info = load_relaxed(&b->info);
    return (info & B_HUGE) ? huge_usable(b) : stride_of(info) - HEADER;
}

/* Resize b's block where it stands if that is possible: a top block grows or
 * shrinks with the cursor; others take in a free next block or split off
 * their tail. */
static bool resize_in_place(block *b, size_t n)
{
    uint32_t info = load_relaxed(&b->info);
    size_t old = stride_of(info);
    chunk *c = chunk_of(b);
    heap *h = my_heap(), *owner = load_relaxed(&c->owner);
    if (owner && owner != h && changed_here(owner))
        return arena_resize(owner, c, b, info, n);
    if (n > opt.huge_threshold)
        return false;
    size_t stride = stride_for(n);
    if (owner != h) /* another thread's: only its owner may split it */
        return stride <= old && old - stride < MIN_STRIDE;
    if (is_top(c, b, old)) {
        if (stride > old && !raise_end_for(c, stride - old))
            return false;
        move_cursor(c, (char *)b + stride, stride);
    } else {
        block *next = after(b, old);
        uint32_t next_info = load_relaxed(&next->info);
        bool next_free = !(next_info & B_INUSE);
        size_t have = old + (next_free ? stride_of(next_info) : 0);
        if (stride > have)
            return false;
        if (stride <= old) { /* the tail goes, merged with what is free after it */
            if (old - stride < MIN_STRIDE)
                return true; /* nothing worth splitting off */
            block *tail = after(b, stride), *none = NULL;
            tail->prev = (uint32_t)stride;
            merge_free(h, tail, old - stride, &none);
        } else {
            if (next_free)
                unbin(h, next);
            stride = split_run(h, b, have, stride, false);
        }
    }
    store_relaxed(&b->info, info_make(stride, B_INUSE));
    stat_add(h->handed_out, stride - old);
    if (DEBUG_CHECKS)
        check_chunk(c);
    return true;
}

/* realloc of small block p: in place within its class, else moved. */
static void *resize_small(void *p, size_t n, const char *function)
{
    page *pg = checked_small(p, "use of freed block", function);
    size_t stride = pg->stride;
    if (small_fits(stride, pg->cls, n))
        return p;
    if (n > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    void *q = n > opt.huge_threshold ? huge_alloc(n, GRANULE, false, true) : alloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, stride < n ? stride : n);
    release(p, function);
    return q;
}

static void *resize(void *p, size_t n, const char *function)
{
    if (in_page_chunk(p))
        return resize_small(p, n, function);
    if (in_guard_pool(p))
        return guard_resize(p, n, function);
    block *b = live_block(p, function);
    uint32_t info = load_relaxed(&b->info);
    if (check_mode_block(info))
        return check_resize(p, n, function);
    if (n > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    if (info & B_SAMPLED) /* the profile follows a block only until it is resized */
        info = unsample(b, false);
    if (info & B_HUGE) {
        /* an arena's stays where it is: it keeps its place in the ring */
        if (n > opt.huge_threshold / 2 && !huge_words_of(huge_map(b))->arena) {
            void *q = huge_resize(b, n);
            if (q)
                return q;
        }
    } else if (resize_in_place(b, n)) {
        return p;
    }
    bool growing = n > usable_size(b);
    heap *arena = arena_of(b, info);
    void *q;
    if (arena && changed_here(arena)) /* moved within its arena, to its top */
        q = bimp_arena_alloc((bimp_arena *)arena, n);
    else
        q = growing && n > opt.huge_threshold ? huge_alloc(n, GRANULE, false, true) : alloc(n);
    if (!q)
        return NULL;
    size_t keep = usable_size(b);
    memcpy(q, p, keep < n ? keep : n);
    release(p, function);
    return q;
}

/* glibc's memalign: alignments up to GRANULE are malloc's, others round up
 * to a power of two; absurd ones are EINVAL. */
static void *alloc_aligned(size_t align, size_t n)
{
    if (align <= GRANULE)
        return alloc(n);
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    if (align & (align - 1))
        align = (size_t)1 << (sizeof(size_t) * CHAR_BIT - (size_t)__builtin_clzl(align));
    return UNLIKELY(opt.check) ? check_alloc(n, align) : alloc_slow(n, align);
}

/* calloc: what its push placed at or above the chunk's old end is still
 * zero (invariant 6).  The push went on the current chunk, or on the one
 * malloc switched to, whose end then was end_then. */
static void *alloc_zeroed(size_t n)
{
    if (is_small(n) || UNLIKELY(opt.check)) { /* the check mode fills new blocks */
        void *p = alloc(n);
        if (p)
            memset(p, 0, n);
        return p;
    }
    if (n > opt.huge_threshold)
        return huge_alloc(n, GRANULE, true, false);
    heap *h = my_heap();
    chunk *cur = h->cur;
    char *cur_end = cur->end;
    void *p = alloc(n);
    if (!p || in_guard_pool(p)) /* a guarded block: its page held other blocks */
        return p ? memset(p, 0, n) : NULL;
    block *b = header_of(p);
    chunk *c = chunk_of(b);
    char *clean = (char *)p + n; /* zero from here on: nothing is, unless pushed */
    if (h == my_heap() && load_relaxed(&c->owner) == h && is_top(c, b, stride_of(load_relaxed(&b->info))))
        clean = c == cur ? cur_end : c->end_then;
    if (clean > (char *)p)
        memset(p, 0, (size_t)(clean - (char *)p) < n ? (size_t)(clean - (char *)p) : n);
    /* An overflow from the old top runs up from the cursor: if it reached
     * the part left unzeroed, its first word is not zero any more. */
    char *unzeroed = clean > (char *)p ? clean : (char *)p;
    if (unzeroed + sizeof(uint64_t) <= (char *)p + n && *(uint64_t *)unzeroed != 0)
        corrupt(b, OVERWRITTEN_TOP, "calloc");
    return p;
}

/* realloc of p by moving it: a new block of n bytes from malloc, the first
 * `keep` bytes copied, p freed; NULL with p left as it was if there is no
 * memory (the check mode's and guard sampling's realloc). */
void *move_block(void *p, size_t keep, size_t n, const char *function)
{
    if (n > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    void *q = alloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, keep < n ? keep : n);
    release(p, function);
    return q;
}

/* For the check mode and guard sampling: a block as malloc or memalign makes
 * it; its release, no longer the check mode's; its usable size. */
void *alloc_plain(size_t n, size_t align)
{
    return align > GRANULE ? alloc_slow(n, align) : alloc_headered(n);
}

void release_plain(void *p, const char *function)
{
    fetch_and(&header_of(p)->info, ~B_SAMPLED);
    release(p, function);
}

size_t usable_plain(void *p)
{
    return usable_size(header_of(p));
}

static bool mul_overflows(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

/* ======================================================================== */
/* Core: arenas                                                             */
/* ======================================================================== */

/* An arena (bimp_arena) is a heap that no thread's malloc uses: a stack of
 * chunks in the order it took them (its list of chunks, newest first; the
 * newest is its current one), and a ring of its marks and huge blocks,
 * newest first (h->nodes.older).
 *  - Allocation pushes on the current chunk, or on a new one.  It never
 *    reuses a block freed below a top and never resumes an older chunk, so
 *    an arena's blocks lie in the order they were made.
 *  - A free below a top leaves the block free on no bin, "loose"
 *    (invariant 3), for a pop, a release or a reset to take.
 *  - A mark is a block of its own, in use (so no pop goes below it), whose
 *    payload is its node in the ring.  Releasing to it drops the nodes newer
 *    than it (freeing the huge blocks among them), returns the chunks newer
 *    than its chunk to the pool whole, and moves its chunk's cursor down to
 *    just above it: time in proportion to chunks and huge blocks, not blocks.
 *  - The arena's thread frees its blocks at once.  Other threads' frees go
 *    to the arena's inbox one by one (not batched, so that a release applies
 *    every free that happened before it), and are applied at its next call
 *    that takes its slow path, marks, releases, resets or destroys. */

/* Larger requests from an arena get a mapping of their own, whatever the
 * huge threshold says: an arena's chunk holds any block up to this. */
#define ARENA_HUGE HUGE_THRESHOLD_MAX

_Static_assert(sizeof(arena_node) <= MIN_STRIDE - HEADER, "a mark block holds its node");

static void node_push(heap *h, arena_node *n)
{
    n->older = h->nodes.older;
    n->newer = &h->nodes;
    h->nodes.older->newer = n;
    h->nodes.older = n;
}

static void node_unlink(arena_node *n)
{
    n->older->newer = n->newer;
    n->newer->older = n->older;
}

/* Free block b of chunk c of arena h, for its thread: the top pops, a block
 * below it is left loose. */
static void arena_free_here(heap *h, chunk *c, block *b, uint32_t info, const char *function)
{
    size_t stride = stride_of(info);
    if (is_top(c, b, stride)) {
        pop_top(h, c, b, info);
        return;
    }
    if (UNLIKELY(!linked(c, b, info)))
        not_a_block(c, b, function);
    stat_add(h->n.below, 1);
    stat_add(h->n.below_bytes, stride);
    leave_loose(b, stride);
    if (DEBUG_CHECKS)
        check_chunk(c);
}

/* Free huge block b of arena h, for its thread. */
static void arena_free_huge(heap *h, block *b, const char *function)
{
    huge_words *w = arena_huge_checked(h, b, function);
    node_unlink(&w->node);
    w->arena = NULL;
    huge_free(b, function);
}

/* free of b, a block of arena h (of chunk c, or huge if c is NULL), by any
 * thread: at once by the arena's, through its inbox by others. */
static NOINLINE void arena_free(heap *h, chunk *c, block *b, const char *function)
{
    if (h->arena_thread == my_heap()) {
        if (c)
            arena_free_here(h, c, b, load_relaxed(&b->info), function);
        else
            arena_free_huge(h, b, function);
        return;
    }
    mark_remote(b, function);
    send_remote(h, b, b);
}

/* Apply the frees other threads made of arena h's blocks, first..., taken
 * from its inbox (drain). */
static void arena_apply_remote(heap *h, block *first)
{
    for (block *b = first, *next; b; b = next) {
        next = *link_of(b);
        uint32_t info = load_relaxed(&b->info);
        if ((info & (B_HUGE | B_INUSE | B_REMOTE)) == (B_HUGE | B_INUSE | B_REMOTE) && examine_huge(b) == LIVE)
            arena_free_huge(h, b, "free");
        else
            arena_free_here(h, chunk_of(b), remote_block(h, b), info, "free");
    }
}

/* A huge block for arena h, in its ring. */
static void *arena_huge(heap *h, size_t n, size_t align, bool zero)
{
    void *p = huge_alloc(n, align > GRANULE ? align : GRANULE, zero, false);
    if (p) {
        huge_words *w = huge_words_of(huge_map(header_of(p)));
        w->arena = h;
        node_push(h, &w->node);
    }
    return p;
}

/* bimp_arena_alloc's slow path, and the aligned and zeroed ones' only path:
 * `align` 0 for GRANULE. */
static NOINLINE void *arena_alloc_slow(bimp_arena *a, size_t n, size_t align, bool zero,
                                       const char *function)
{
    heap *h = arena_checked(a, function);
    if (n > PTRDIFF_MAX - CHUNK) {
        errno = ENOMEM;
        return NULL;
    }
    drain(h);
    if (n > ARENA_HUGE || (align > GRANULE && (align > CHUNK / 8 || n + align > ARENA_HUGE)))
        return arena_huge(h, n, align, zero);
    size_t stride = stride_for(n);
    chunk *c = align > GRANULE ? NULL : chunk_with_room(h, stride);
    void *p = align > GRANULE ? push_aligned(h, stride, align) : c ? push_live(h, c, stride) : NULL;
    if (!p)
        errno = ENOMEM;
    else if (zero)
        memset(p, 0, n);
    return p;
}

/* realloc of b, a block of arena h's chunk c, by the arena's thread, where
 * it stands: the top grows or shrinks with the cursor, another block only
 * shrinks (its tail left loose). */
static bool arena_resize(heap *h, chunk *c, block *b, uint32_t info, size_t n)
{
    size_t old = stride_of(info);
    if (n > ARENA_HUGE)
        return false;
    size_t stride = stride_for(n);
    if (is_top(c, b, old)) {
        if (stride > old && !raise_end_for(c, stride - old))
            return false;
        move_cursor(c, (char *)b + stride, stride);
    } else if (stride > old) {
        return false;
    } else if (old - stride >= MIN_STRIDE) {
        block *tail = after(b, stride);
        tail->prev = (uint32_t)stride;
        after(tail, old - stride)->prev = (uint32_t)(old - stride);
        leave_loose(tail, old - stride);
    } else {
        return true; /* nothing worth splitting off */
    }
    store_relaxed(&b->info, info_make(stride, B_INUSE));
    stat_add(h->handed_out, stride - old);
    if (DEBUG_CHECKS)
        check_chunk(c);
    return true;
}

/* Drop everything of arena h above node `stop`, a mark's or the ring's
 * sentinel (then every block, and the chunks but the current one). */
static void arena_drop(heap *h, arena_node *stop)
{
    drain(h);
    size_t dropped = 0;
    while (h->nodes.older != stop) {
        arena_node *n = h->nodes.older;
        node_unlink(n);
        huge_words *w = huge_of_node(n);
        if (w) {
            w->arena = NULL;
            dropped += w->length;
            huge_free((block *)((char *)w + w->offset), "bimp_arena_release");
        }
    }
    bool all = stop == &h->nodes;
    chunk *keep = all ? h->cur : chunk_of(header_of(stop));
    if (keep != &empty_chunk) {
        /* the chunks to go: all but the current one, or those above keep */
        chunk *from = all ? keep->next_own : h->chunks, *to = all ? NULL : keep;
        for (chunk *c = from; c != to; c = c->next_own)
            dropped += (size_t)(c->cursor - first_of(c));
        if (from != to)
            return_chunks(h, from, to);
        char *top = all ? first_of(keep) : (char *)header_of(stop) + MIN_STRIDE;
        dropped += (size_t)(keep->cursor - top);
        move_cursor(keep, top, top == first_of(keep) ? 0 : MIN_STRIDE);
        keep->state = CH_CURRENT;
        h->cur = keep;
    }
    stat_add(h->n.released, 1);
    stat_add(h->n.released_bytes, dropped);
    if (DEBUG_CHECKS)
        check_heap(h);
}

EXPORT bimp_arena *bimp_arena_create(void)
{
    heap *me = usable_heap();
    if (!me) { /* a thread past its exit hook */
        errno = ENOMEM;
        return NULL;
    }
    lock(&g.lock);
    heap *h = g.spare_arenas;
    if (h)
        g.spare_arenas = h->next_spare;
    unlock(&g.lock);
    if (!h) {
        if (!(h = new_heap())) {
            errno = ENOMEM;
            return NULL;
        }
        h->cur = &empty_chunk; /* the rest is zero: fresh mapping */
        small_init_heap(h); /* an arena has no small blocks: every page is empty_page */
        register_heap(h);
    }
    h->nodes.older = h->nodes.newer = &h->nodes;
    h->arena_thread = me;
    h->kind = HEAP_ARENA;
    fetch_add(&rare.arenas, 1);
    return (bimp_arena *)h;
}

EXPORT void bimp_arena_destroy(bimp_arena *a)
{
    if (!a)
        return;
    int saved = errno;
    heap *h = arena_checked(a, "bimp_arena_destroy");
    arena_drop(h, &h->nodes);
    if (h->cur != &empty_chunk)
        return_chunk(h, h->cur);
    h->cur = &empty_chunk;
    h->kind = HEAP_DESTROYED;
    h->arena_thread = NULL;
    fetch_sub(&rare.arenas, 1);
    lock(&g.lock);
    h->next_spare = g.spare_arenas;
    g.spare_arenas = h;
    unlock(&g.lock);
    errno = saved;
}

/* A push on the current chunk, else the slow path. */
EXPORT void *bimp_arena_alloc(bimp_arena *a, size_t n)
{
    heap *h = (heap *)a;
    chunk *c = h->cur;
    size_t stride = stride_for(n);
    if (LIKELY(n <= ARENA_HUGE && fits_below_end(c, stride)))
        return push_live(h, c, stride);
    return arena_alloc_slow(a, n, 0, false, "bimp_arena_alloc");
}

EXPORT void *bimp_arena_calloc(bimp_arena *a, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        arena_checked(a, "bimp_arena_calloc");
        errno = ENOMEM;
        return NULL;
    }
    return arena_alloc_slow(a, n, 0, true, "bimp_arena_calloc");
}

EXPORT void *bimp_arena_aligned_alloc(bimp_arena *a, size_t align, size_t n)
{
    if (!align || (align & (align - 1))) {
        arena_checked(a, "bimp_arena_aligned_alloc");
        errno = EINVAL;
        return NULL;
    }
    return arena_alloc_slow(a, n, align, false, "bimp_arena_aligned_alloc");
}

EXPORT bimp_mark *bimp_arena_mark(bimp_arena *a)
{
    heap *h = arena_checked(a, "bimp_arena_mark");
    drain(h);
    chunk *c = chunk_with_room(h, MIN_STRIDE);
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    block *b = push(c, MIN_STRIDE, B_INUSE);
    stat_add(h->handed_out, MIN_STRIDE);
    node_push(h, (arena_node *)payload_of(b));
    if (DEBUG_CHECKS)
        check_heap(h);
    return (bimp_mark *)b;
}

EXPORT void bimp_arena_release(bimp_arena *a, bimp_mark *m)
{
    int saved = errno;
    heap *h = arena_checked(a, "bimp_arena_release");
    arena_drop(h, mark_node(h, m, "bimp_arena_release"));
    errno = saved;
}

EXPORT void bimp_arena_reset(bimp_arena *a)
{
    int saved = errno;
    heap *h = arena_checked(a, "bimp_arena_reset");
    arena_drop(h, &h->nodes);
    errno = saved;
}

/* ======================================================================== */
/* Core: trimming                                                           */
/* ======================================================================== */

/* Give back the whole pages inside h's large free blocks; true if any. */
static bool purge_free_runs(heap *h)
{
    bool any = false;
    size_t page_bytes = os_page_size();
    drop_hole(h);
    for (unsigned i = bin_of(2 * page_bytes); i < NBINS; i++)
        for (block *b = h->bins[i]; b; b = next_of(b)) {
            uintptr_t from = align_up((uintptr_t)(links_of(b) + 1), page_bytes);
            uintptr_t to = ((uintptr_t)b + stride_of(load_relaxed(&b->info))) & ~(page_bytes - 1);
            if (to > from) {
                os_purge((void *)from, to - from);
                fetch_add(&rare.purges, 1);
                any = true;
            }
        }
    return any;
}

/* A huge request the OS had no room for gives back the address space Bimp
 * holds unused only if there is at least this much of it: else a program
 * that asks for impossible sizes in a loop would give the break back and
 * take it again each time (glibc's tst-malloc-too-large). */
#define GIVE_BACK_MIN (4 * CHUNK)

/* The address space Bimp holds and does not use goes back to the OS: the
 * calling thread's current chunk if it is empty (so that the break can
 * shrink past it), freed huge mappings, free chunks.  For malloc_trim
 * (`always`), and for a huge request the OS has no room for; true if
 * anything went. */
bool give_back_address_space(bool always)
{
    if (!always) {
        if (huge_unused_bytes() + pool_unused_bytes() < GIVE_BACK_MIN)
            return false;
    }
    heap *h = my_heap(); /* a sentinel heap's current chunk is empty_chunk, its pages empty_page */
    if (h->cur != &empty_chunk && chunk_empty(h->cur)) {
        return_chunk(h, h->cur);
        set_cur(h, &empty_chunk);
    }
    small_trim(h, false);
    bool cached = give_back_huge(!always), pooled = trim_pool(true);
    return cached || pooled;
}

/* Everything that can go back to the OS now: true if anything did. */
static bool trim(void)
{
    bool released = false;
    heap *h = usable_heap();
    if (h) {
        flush_remote(h);
        drain(h);
        small_trim(h, false);
        consolidate(h);
        released = purge_free_runs(h);
    }
    return give_back_address_space(true) || released;
}

/* ======================================================================== */
/* Public API                                                               */
/* ======================================================================== */

EXPORT void *malloc(size_t n)
{
    return alloc(n);
}

EXPORT void free(void *p)
{
    release(p, "free");
}

EXPORT void cfree(void *p)
{
    release(p, "cfree");
}

EXPORT void free_sized(void *p, size_t size)
{
    if (p)
        release_sized(p, 0, size, "free_sized");
}

EXPORT void free_aligned_sized(void *p, size_t align, size_t size)
{
    if (p)
        release_sized(p, align, size, "free_aligned_sized");
}

EXPORT void *calloc(size_t count, size_t size)
{
    size_t n;
    if (mul_overflows(count, size, &n) || n > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    return alloc_zeroed(n);
}

EXPORT void *realloc(void *p, size_t n)
{
    if (!p)
        return alloc(n);
    if (n == 0) {
        release(p, "realloc");
        return NULL;
    }
    return resize(p, n, "realloc");
}

EXPORT void *reallocarray(void *p, size_t count, size_t size)
{
    size_t n;
    if (mul_overflows(count, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n);
}

EXPORT void *reallocf(void *p, size_t n)
{
    if (!p)
        return alloc(n);
    if (n == 0) {
        release(p, "reallocf");
        return NULL;
    }
    void *q = resize(p, n, "reallocf");
    if (!q)
        release(p, "reallocf");
    return q;
}

EXPORT size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    if (in_page_chunk(p))
        return checked_small(p, "use of freed block", "malloc_usable_size")->stride;
    if (in_guard_pool(p))
        return guard_usable(p, "malloc_usable_size");
    block *b = live_block(p, "malloc_usable_size");
    if (check_mode_block(load_relaxed(&b->info)))
        return check_usable(p, "malloc_usable_size");
    return usable_size(b);
}

EXPORT void *memalign(size_t align, size_t n)
{
    return alloc_aligned(align, n);
}

/* C17/C23 and glibc 2.38: an alignment that is not a power of two is
 * EINVAL (memalign keeps rounding it up). */
EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1))) {
        errno = EINVAL;
        return NULL;
    }
    return alloc_aligned(align, n);
}

/* As glibc: EINVAL leaves errno alone (unless BIMP_SET_ERRNO); out of
 * memory sets it to ENOMEM, as every failed allocation does. */
EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1))) {
        if (SET_ERRNO_ALWAYS)
            errno = EINVAL;
        return EINVAL;
    }
    void *p = alloc_aligned(align, n);
    if (!p) {
        errno = ENOMEM;
        return ENOMEM;
    }
    *out = p;
    return 0;
}

EXPORT void *valloc(size_t n)
{
    return alloc_aligned(os_page_size(), n);
}

EXPORT void *pvalloc(size_t n)
{
    size_t page_bytes = os_page_size();
    if (n > PTRDIFF_MAX - page_bytes) {
        errno = ENOMEM;
        return NULL;
    }
    return alloc_aligned(page_bytes, n ? align_up(n, page_bytes) : page_bytes);
}

EXPORT int malloc_trim(size_t pad)
{
    (void)pad;
    int saved = errno;
    int released = trim();
    errno = saved;
    return released;
}

