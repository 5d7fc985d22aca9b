/* src/pool.c - where chunks come from and go back to: segments of the break
 * and of mappings cut into chunks, the pool of free chunks, and giving
 * memory and address space back to the OS.  Everything here runs under
 * g.lock (internal.h, "State"). */

#include "internal.h"

/* The pool's state, under g.lock: where chunks come from and the free ones. */
static struct {
    char *brk_start, *brk_end; /* our part of the break; NULL before first use */
    char *brk_cut;             /* the break is cut into chunks up to here */
    bool brk_failed;           /* the break could not grow, or somebody else moved it */
    char *fresh, *fresh_end;   /* the mapped segment's rest, not yet cut into chunks */
    size_t segment_bytes;      /* taken from the OS for chunks */
    /* Free chunks, in address order so the lowest are reused first and the
     * break can shrink; `hot` ones still have their pages. */
    chunk *pool, *pool_last;
    size_t pool_count, hot_count;
    uint64_t maintained_ms;
    char *meta, *meta_end;     /* space for heap structs */
    size_t chunk_resets, brk_grows, brk_shrinks, peak_segment_bytes; /* for the statistics */
} pl;

/* The pool's statistics, for gather (g.lock held). */
void pool_stats(struct bimp_stats *st)
{
    st->chunk_bytes = pl.segment_bytes;
    st->peak_chunk_bytes = pl.peak_segment_bytes;
    st->free_chunks = pl.pool_count;
    st->chunk_resets = pl.chunk_resets;
    st->brk_grows = pl.brk_grows;
    st->brk_shrinks = pl.brk_shrinks;
    st->pool_bytes = pl.hot_count * CHUNK;
    st->pool_purged_bytes = (pl.pool_count - pl.hot_count) * CHUNK;
}

/* Break space kept beyond the last chunk in use before the break shrinks. */
#define BREAK_SLACK (4 * CHUNK)

/* ======================================================================== */
/* Segments: the break, and mappings when it cannot grow                    */
/* ======================================================================== */

/* The break is ours from brk_start to brk_end, cut into chunks up to
 * brk_cut; a mapped segment's rest, not yet cut, is fresh..fresh_end.
 * Chunks are cut from the break first. */

static bool in_our_break(const void *p)
{
    return (const char *)p >= pl.brk_start && (const char *)p < pl.brk_end;
}

/* `step` more bytes of break; false if the OS refuses, or somebody else
 * moved the break. */
static bool grow_break(size_t step)
{
    char *at = NULL;
    if (!pl.brk_end) {
        char *end = os_heap_grow(NULL, 0);
        size_t pad = end ? align_up((uintptr_t)end, CHUNK) - (uintptr_t)end : 0;
        if (end && os_heap_grow(end, pad + step)) {
            pl.brk_start = pl.brk_end = pl.brk_cut = end + pad;
            at = pl.brk_start;
        }
    } else if (os_heap_grow(pl.brk_end, step)) {
        at = pl.brk_end;
    }
    if (!at || !mark_units(at, step, U_CHUNK))
        return false;
    pl.brk_end = at + step;
    pl.segment_bytes += step;
    pl.brk_grows++;
    note_break(pl.brk_start, pl.brk_end);
    return true;
}

/* `step` more bytes of segment space from an aligned mapping. */
static bool grow_mapped(size_t step)
{
    char *p = os_map(step, CHUNK);
    if (!p)
        return false;
    if (!mark_units(p, step, U_CHUNK)) {
        os_unmap(p, step);
        return false;
    }
    pl.fresh = p;
    pl.fresh_end = p + step;
    pl.segment_bytes += step;
    fetch_add(&rare.maps, 1);
    return true;
}

/* More segment space: the break first, an aligned mapping when it fails.
 * Steps grow with the heap (an eighth of it, four chunks at least); under
 * a tight limit (RLIMIT_DATA, RLIMIT_AS) a single chunk is tried before
 * giving up.  The break is tried again once it has shrunk. */
static bool grow_segments(void)
{
    size_t step = pl.segment_bytes / 8;
    step = align_up(step < 4 * CHUNK ? 4 * CHUNK : step, CHUNK);
    if (!pl.brk_failed) {
        if (grow_break(step) || grow_break(CHUNK))
            return true;
        pl.brk_failed = true;
    }
    return grow_mapped(step) || grow_mapped(CHUNK);
}

/* A chunk not cut yet, from the break's rest or the mapped segment's, its
 * header's page fresh or given back; NULL if both are used up. */
static chunk *cut_chunk(void)
{
    chunk *c;
    if ((size_t)(pl.brk_end - pl.brk_cut) >= CHUNK) {
        c = (chunk *)pl.brk_cut;
        pl.brk_cut += CHUNK;
    } else if ((uintptr_t)pl.fresh_end - (uintptr_t)pl.fresh >= CHUNK) {
        c = (chunk *)pl.fresh;
        pl.fresh += CHUNK;
    } else {
        return NULL;
    }
    c->end = (char *)c + os_page_size();
    return c;
}

/* ======================================================================== */
/* The pool of free chunks                                                  */
/* ======================================================================== */

/* Free chunks are kept in address order, so that the lowest are reused
 * first and the break can shrink; `hot` ones still have their pages. */
static void pool_insert(chunk *c)
{
    chunk *at = pl.pool_last;
    while (at && at > c)
        at = at->prev;
    c->prev = at;
    c->next = at ? at->next : pl.pool;
    if (c->next)
        c->next->prev = c;
    else
        pl.pool_last = c;
    if (at)
        at->next = c;
    else
        pl.pool = c;
    pl.pool_count++;
    pl.hot_count += !c->purged;
}

static void pool_remove(chunk *c)
{
    if (!c->next)
        pl.pool_last = c->prev;
    LIST_UNLINK(pl.pool, c, next, prev);
    pl.pool_count--;
    pl.hot_count -= !c->purged;
}

/* Give a pooled chunk's pages back, all but the one its header is on. */
static void purge_chunk(chunk *c)
{
    size_t page_bytes = os_page_size();
    os_purge((char *)c + page_bytes, CHUNK - page_bytes);
    fetch_add(&rare.purges, 1);
    c->purged = true;
    c->end = (char *)c + page_bytes;
    pl.hot_count--;
}

/* Shrink the break over the free chunks at its end (those whose pages are
 * given back, or every one if `all`), keeping `slack` bytes of it uncut. */
static void shrink_break(size_t slack, bool all)
{
    if (!pl.brk_end)
        return;
    chunk *c = pl.pool_last; /* the pool's highest chunk below brk_cut (mapped ones lie apart) */
    while (c && (char *)c >= pl.brk_cut)
        c = c->prev;
    while (c && (char *)c + CHUNK == pl.brk_cut && (c->purged || all)) {
        chunk *below = c->prev;
        pool_remove(c);
        pl.brk_cut = (char *)c;
        c = below;
    }
    size_t excess = (size_t)(pl.brk_end - pl.brk_cut);
    if (excess <= slack)
        return;
    size_t cut = align_up(excess - slack, CHUNK) > excess ? excess : align_up(excess - slack, CHUNK);
    char *end = pl.brk_end;
    pl.brk_end -= cut;
    note_break(pl.brk_start, pl.brk_end); /* before the memory goes: free's fast check must not cover it */
    if (os_heap_shrink(end, cut) == 0) {
        pl.brk_shrinks++;
        mark_units(pl.brk_end, cut, U_NONE);
        pl.segment_bytes -= cut;
        pl.brk_failed = false; /* there is room to grow into again */
    } else {
        pl.brk_end = end;
        note_break(pl.brk_start, pl.brk_end);
    }
}

/* Unmap the free chunks that lie outside the break (a run of neighbours in
 * one call) and the mapped segment's uncut rest; true if any went. */
static bool unmap_free_chunks(void)
{
    bool any = false;
    for (chunk *c = pl.pool, *next; c; c = next) {
        next = c->next;
        if (in_our_break(c))
            continue;
        char *from = (char *)c;
        size_t len = CHUNK;
        pool_remove(c);
        while (next && (char *)next == from + len && !in_our_break(next)) {
            chunk *n = next;
            next = n->next;
            pool_remove(n);
            len += CHUNK;
        }
        mark_units(from, len, U_NONE); /* first: a stale pointer into them is no block */
        os_unmap(from, len);
        fetch_add(&rare.unmaps, 1);
        pl.segment_bytes -= len;
        any = true;
    }
    if (pl.fresh_end > pl.fresh) {
        size_t len = (size_t)(pl.fresh_end - pl.fresh);
        mark_units(pl.fresh, len, U_NONE);
        os_unmap(pl.fresh, len);
        fetch_add(&rare.unmaps, 1);
        pl.segment_bytes -= len;
        pl.fresh = pl.fresh_end = NULL;
        any = true;
    }
    return any;
}

/* How many free chunks the pool keeps with their pages.  A program that
 * frees many chunks and soon takes as many again would fault in fresh
 * pages each time: unless the program or the environment set the trim
 * threshold (BIMP_TRIM_THRESHOLD, M_TRIM_THRESHOLD; kept to exactly), the
 * pool keeps up to POOL_KEEP_FACTOR times as many chunks as are in use (if
 * that is more than the threshold).  So what it keeps follows what the
 * program still uses: a program between phases keeps its next phase's
 * pages (Python's workload: fewer page faults than with half of all chunk
 * memory kept), and one that freed a burst gives it back at once. */
#define POOL_KEEP_FACTOR 2

static size_t hot_to_keep(void)
{
    size_t keep = opt.pool_keep_bytes / CHUNK;
    size_t in_use = pl.segment_bytes / CHUNK - pl.pool_count;
    if (!opt.pool_keep_set && keep < in_use * POOL_KEEP_FACTOR)
        keep = in_use * POOL_KEEP_FACTOR;
    return keep;
}

/* Purge the pool's chunks that have waited BIMP_PURGE_DELAY (looked at
 * once a millisecond), and the highest beyond the number kept hot; then let
 * the break shrink.  With `now` 0, purge them all. */
static void maintain_pool(uint64_t now)
{
    size_t keep = hot_to_keep();
    bool timed = now == 0 || now != pl.maintained_ms; /* the delays: once a millisecond */
    if (!timed && pl.hot_count <= keep)
        return;
    pl.maintained_ms = now;
    for (chunk *c = pl.pool_last; c && pl.hot_count; c = c->prev) {
        if (c->purged)
            continue;
        if (now == 0 || (timed && now >= c->released_ms + opt.purge_delay_ms) || pl.hot_count > keep)
            purge_chunk(c);
    }
    shrink_break(now == 0 ? 0 : BREAK_SLACK, false);
}

/* A free chunk for heap h, reset and owned by h; NULL when memory is out.
 * The lowest hot chunk of the pool first, then the lowest purged one, then
 * a new one; when the OS has no more, the address space of freed huge
 * blocks is given back and the OS asked again. */
chunk *take_chunk(heap *h)
{
    lock(&g.lock);
    maintain_pool(os_now_ms());
    chunk *c = pl.pool;
    while (c && c->purged && c->next)
        c = c->next;
    if (c && c->purged)
        c = pl.pool;
    if (c)
        pool_remove(c);
    else if (!(c = cut_chunk()) && (grow_segments() || (give_back_huge(true) && grow_segments())))
        c = cut_chunk();
    if (pl.segment_bytes > pl.peak_segment_bytes)
        pl.peak_segment_bytes = pl.segment_bytes;
    if (c) {
        c->state = CH_FULL;
        c->kind = CK_STACK; /* a page chunk says so when it is set up */
        move_cursor(c, first_of(c), 0); /* empty: no top */
        LIST_PUSH(h->chunks, c, next_own, prev_own); /* under the lock, for survey() */
    }
    unlock(&g.lock);
    if (!c)
        return NULL;
    store_relaxed(&c->owner, h);
    c->purged = false;
    c->next = c->prev = NULL;
    return c;
}

/* Return the chunks of heap h from c on, up to `stop` on h's list of
 * chunks, to the pool: their blocks are gone (an arena's release), or
 * there are none. */
void return_chunks(heap *h, chunk *c, chunk *stop)
{
    uint64_t now = os_now_ms();
    lock(&g.lock);
    while (c != stop) {
        chunk *next = c->next_own;
        store_relaxed(&c->owner, NULL);
        LIST_UNLINK(h->chunks, c, next_own, prev_own); /* under the lock, for survey() */
        pl.chunk_resets++;
        c->state = CH_FREE;
        c->released_ms = now;
        pool_insert(c);
        c = next;
    }
    maintain_pool(now);
    unlock(&g.lock);
}

/* Give back what the pool holds: every free chunk's pages, the break over
 * the free chunks at its end, and (if `address_space`) the free chunks
 * outside the break, unmapped; true if anything went. */
bool trim_pool(bool address_space)
{
    lock(&g.lock);
    size_t hot = pl.hot_count, segments = pl.segment_bytes;
    if (address_space) {
        shrink_break(0, true);
        unmap_free_chunks();
    }
    maintain_pool(0);
    bool released = hot != pl.hot_count || segments != pl.segment_bytes;
    unlock(&g.lock);
    return released;
}

size_t pool_unused_bytes(void)
{
    lock(&g.lock);
    size_t bytes = pl.pool_count * CHUNK + (size_t)(pl.brk_end - pl.brk_cut) +
                   (size_t)((uintptr_t)pl.fresh_end - (uintptr_t)pl.fresh);
    unlock(&g.lock);
    return bytes;
}

/* ======================================================================== */
/* Memory for heap structs                                                  */
/* ======================================================================== */

/* Heap structs are never freed (orphans are adopted, destroyed arenas
 * reused): they are cut from mappings of their own. */
heap *new_heap(void)
{
    size_t size = align_up(sizeof(heap), 64);
    lock(&g.lock);
    if ((uintptr_t)pl.meta_end - (uintptr_t)pl.meta < size) {
        size_t span = align_up(size * 16, os_page_size());
        pl.meta = os_map(span, os_page_size());
        pl.meta_end = pl.meta ? pl.meta + span : NULL;
    }
    heap *h = NULL;
    if (pl.meta) {
        h = (heap *)pl.meta;
        pl.meta += size;
    }
    unlock(&g.lock);
    return h;
}
