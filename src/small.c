/* src/small.c - the small tier: pages of equal blocks without headers, a
 * bump stack per page, freed blocks as bits (internal.h, "Small blocks",
 * draws it and states invariants P1-P6).  The fast paths are in small.h;
 * here are their slow paths: pages and page chunks, pops over freed runs,
 * other threads' frees, and what the statistics and checkers read. */

#include "internal.h"

/* The current page of every class of a heap with none: no room, so the
 * first malloc of each class takes the slow path. */
page empty_page;

uint8_t class_of_granules[SMALL_TIER_MAX / GRANULE + 1];
uint16_t stride_of_class[SMALL_CLASSES];

/* The classes: a stride per granule count up to SMALL_EXACT_MAX (and at
 * least SMALL_MIN), SMALL_SPLIT per doubling above. */
void small_classes_init(void)
{
    size_t classes = 0, last = 0;
    for (size_t granules = 0; granules <= SMALL_TIER_MAX / GRANULE; granules++) {
        size_t stride = granules * GRANULE < SMALL_MIN ? SMALL_MIN : granules * GRANULE;
        if (stride > SMALL_EXACT_MAX) {
            size_t step = ((size_t)1 << (63 - __builtin_clzll(stride - 1))) / SMALL_SPLIT;
            stride = align_up(stride, step < GRANULE ? GRANULE : step);
        }
        if (stride != last || granules == 0)
            stride_of_class[classes++] = (uint16_t)(last = stride);
        class_of_granules[granules] = (uint8_t)(classes - 1);
    }
}

/* ======================================================================== */
/* Pages and page chunks                                                    */
/* ======================================================================== */

static size_t page_size(const page_chunk *pc)
{
    return (size_t)1 << pc->c.page_shift;
}

/* Where the descriptors of pc end, and its first page's blocks may start. */
static size_t pages_header(unsigned npages)
{
    return align_up(offsetof(page_chunk, pages) + npages * sizeof(page), 64);
}

/* A class's partial pages are a ring (head->prev is the tail): a page that
 * gets room joins at the tail, malloc takes the head, so that the page it
 * takes is the one that has gathered frees the longest (taking the newest
 * would switch pages at nearly every malloc under random frees). */
static void unlink_page(page **head, page *pg)
{
    if (pg->next == pg) {
        *head = NULL;
    } else {
        pg->prev->next = pg->next;
        pg->next->prev = pg->prev;
        if (*head == pg)
            *head = pg->next;
    }
    pg->next = pg->prev = NULL;
}

static void append_page(page **head, page *pg)
{
    page *first = *head;
    if (!first) {
        pg->next = pg->prev = pg;
        *head = pg;
        return;
    }
    pg->prev = first->prev;
    pg->next = first;
    first->prev->next = pg;
    first->prev = pg;
}

/* The page chunks of h with unused pages, per kind, are linked through
 * their chunks' next and prev (which only stack chunks use otherwise). */
static void push_page_chunk(heap *h, page_chunk *pc, unsigned kind)
{
    chunk *head = h->page_chunks[kind] ? &h->page_chunks[kind]->c : NULL;
    LIST_PUSH(head, &pc->c, next, prev);
    h->page_chunks[kind] = (page_chunk *)head;
}

static void unlink_page_chunk(heap *h, page_chunk *pc, unsigned kind)
{
    chunk *head = h->page_chunks[kind] ? &h->page_chunks[kind]->c : NULL;
    LIST_UNLINK(head, &pc->c, next, prev);
    h->page_chunks[kind] = (page_chunk *)head;
    pc->c.next = pc->c.prev = NULL;
}

/* A new page chunk of `kind` for h: every descriptor holds no blocks, so
 * a pointer into a page not cut yet is no block (top 0, stride 0). */
static page_chunk *new_page_chunk(heap *h, unsigned kind)
{
    chunk *c = take_chunk(h);
    if (!c)
        return NULL;
    page_chunk *pc = (page_chunk *)c;
    c->kind = CK_PAGES;
    c->page_shift = kind ? PAGE_SHIFT_LARGE : PAGE_SHIFT_SMALL;
    c->end = chunk_end(c); /* any of it may be written: a stack reusing it must not trust zeros */
    pc->npages = (uint16_t)(CHUNK >> c->page_shift);
    pc->cut = (uint16_t)(pages_header(pc->npages) >> c->page_shift);
    pc->used = 0;
    pc->unused = NULL;
    memset(pc->pages, 0, pc->npages * sizeof(page));
    push_page_chunk(h, pc, kind);
    return pc;
}

/* Page pg of pc, unused, set up for class cls: empty, its blocks from the
 * first byte past the descriptors (pages under them hold none). */
static void set_up_page(page_chunk *pc, page *pg, size_t cls)
{
    size_t index = (size_t)(pg - pc->pages), stride = class_stride(cls);
    char *start = (char *)pc + (index << pc->c.page_shift), *end = start + page_size(pc);
    char *after_header = (char *)pc + pages_header(pc->npages);
    char *base = (char *)align_up((uintptr_t)(start > after_header ? start : after_header), GRANULE);
    pg->base = base;
    pg->stride = (uint16_t)stride;
    pg->recip = (uint32_t)((((uint64_t)1 << 32) + stride - 1) / stride);
    pg->cap = (uint16_t)((size_t)(end - base) / stride);
    pg->cls = (uint8_t)cls;
    store_relaxed(&pg->top, 0);
    pg->scan = 0;
    memset(pg->freed, 0, sizeof pg->freed);
    pg->next = pg->prev = NULL;
    for (size_t k = 0; k < PAGE_WORDS; k++)
        store_relaxed(&pg->remote[k], 0);
    store_relaxed(&pg->pending, 0);
    pg->next_remote = NULL;
}

/* A page of h for class cls: an unused one of a page chunk of its kind,
 * else the next one cut from it, else from a new page chunk. */
static page *new_page(heap *h, size_t cls)
{
    unsigned kind = page_kind(class_stride(cls));
    page_chunk *pc = h->page_chunks[kind];
    if (!pc && !(pc = new_page_chunk(h, kind)))
        return NULL;
    page *pg = pc->unused;
    if (pg)
        pc->unused = pg->next;
    else
        pg = &pc->pages[pc->cut++];
    pc->used++;
    if (!pc->unused && pc->cut == pc->npages)
        unlink_page_chunk(h, pc, kind); /* no unused page left */
    set_up_page(pc, pg, cls);
    return pg;
}

static void fold_remote(heap *h);

/* Page pg of h is empty (top 0) and not its class's current page: it
 * becomes unused, and its chunk goes back to the pool once all of its
 * pages are unused, unless it is the last of its kind with unused pages
 * (P5: a program whose pages come and go near a chunk's edge keeps one). */
static void page_unused(heap *h, page *pg)
{
    if (load_acquire(&pg->pending)) { /* a remote bit of an empty page: a double free, found by the fold */
        fold_remote(h);
        if (load_relaxed(&pg->top) || pg->state == PG_UNUSED)
            return;
    }
    if (pg->state == PG_PARTIAL)
        unlink_page(&h->partial[pg->cls], pg);
    if (h->hot_page[pg->cls] == pg) /* P7: the hint never points at an unused page */
        h->hot_page[pg->cls] = NULL;
    page_chunk *pc = page_chunk_of(pg);
    unsigned kind = pc->c.page_shift == PAGE_SHIFT_LARGE;
    bool listed = pc->unused || pc->cut < pc->npages;
    pg->state = PG_UNUSED;
    pg->cap = 0; /* a stale pointer into it is no block until it is set up again */
    pg->next = pc->unused;
    pc->unused = pg;
    pc->used--;
    if (!listed)
        push_page_chunk(h, pc, kind);
    if (pc->used == 0 && (pc->c.next || pc->c.prev || load_relaxed(&h->state) == H_ORPHAN)) {
        unlink_page_chunk(h, pc, kind);
        int saved = errno; /* free keeps errno; purging may set it */
        return_chunk(h, &pc->c);
        errno = saved;
    }
}

/* ======================================================================== */
/* malloc's slow path                                                       */
/* ======================================================================== */

/* A block of pg, owned by h: the lowest freed bit, its word the fast
 * path's from now on (P4), else a push; NULL if pg has no room. */
static void *take_block(heap *h, page *pg)
{
    for (size_t k = pg->scan; k < PAGE_WORDS; k++) { /* none below scan (P4) */
        uint64_t w = pg->freed[k];
        if (w) {
            pg->scan = (uint8_t)k;
            pg->freed[k] = w & (w - 1);
            stat_add(h->n.small_reused, 1);
            return pg->base + (k * 64 + (size_t)__builtin_ctzll(w)) * pg->stride;
        }
    }
    if (load_relaxed(&pg->top) < pg->cap) {
        stat_add(h->n.small_bumped, 1);
        size_t top = load_relaxed(&pg->top);
        store_relaxed(&pg->top, (uint16_t)(top + 1));
        return pg->base + top * (size_t)pg->stride;
    }
    return NULL;
}

/* A block of class cls for h, whose current page of that class had no room
 * for malloc's fast path: a freed bit further into the page, else (once
 * other threads' frees are folded in) a page of the class with room, else
 * a new page; NULL when memory is out. */
void *page_alloc(heap *h, size_t cls)
{
    page *pg = h->pages[cls];
    void *p;
    if (pg != &empty_page && (p = take_block(h, pg)))
        return p;
    if (load_relaxed(&h->remote_pages)) {
        fold_remote(h);
        if (pg != &empty_page && (p = take_block(h, pg)))
            return p;
    }
    if (pg != &empty_page)
        pg->state = PG_FULL; /* no room: on no list until a free makes some */
    page *next;
    while ((next = h->partial[cls])) {
        unlink_page(&h->partial[cls], next);
        if ((p = take_block(h, next)))
            break;
        next->state = PG_FULL; /* the hot path took its last freed block (P7) */
    }
    if (!next) {
        if (!(next = new_page(h, cls)))
            return NULL;
        p = take_block(h, next);
    }
    next->state = PG_CURRENT;
    h->pages[cls] = next;
    if (DEBUG_CHECKS)
        check_page(next);
    return p;
}

/* ======================================================================== */
/* free's slow paths                                                        */
/* ======================================================================== */

/* The bits 0..b of a word. */
static uint64_t bits_through(size_t b)
{
    return b >= 63 ? ~(uint64_t)0 : ((uint64_t)1 << (b + 1)) - 1;
}

/* Pop the freed blocks right behind pg's top (whose own block was just
 * popped), a word at a time: the run of set bits that ends at top - 1. */
static void sweep(heap *h, page *pg)
{
    size_t top = load_relaxed(&pg->top);
    while (top) {
        size_t k = (top - 1) >> 6, b = (top - 1) & 63;
        uint64_t mask = bits_through(b), in_use = ~pg->freed[k] & mask;
        size_t z = in_use ? 63 - (size_t)__builtin_clzll(in_use) : 0; /* the highest block in use */
        uint64_t run = in_use ? mask & ~bits_through(z) : mask;      /* the freed blocks above it */
        pg->freed[k] &= ~run;
        size_t n = (size_t)__builtin_popcountll(run);
        stat_add(h->n.small_swept, n);
        top -= n;
        if (in_use)
            break;
    }
    store_relaxed(&pg->top, (uint16_t)top);
}

/* The owner's pop reached a freed block, or emptied pg: sweep the freed
 * blocks behind the top; an empty page other than its class's current one
 * becomes unused (P5). */
NOINLINE void small_popped(heap *h, page *pg)
{
    sweep(h, pg);
    if (load_relaxed(&pg->top) == 0 && pg->state != PG_CURRENT)
        page_unused(h, pg);
    else if (pg->state == PG_FULL)
        small_unfull(h, pg);
}

/* free of p, in a page chunk, when small_free (small.h) would not pop it:
 * the owner's free of a block below its page's top sets its bit (checked
 * back by multiplication: an interior pointer, or one at or above the top,
 * is no block; a set bit, here or in the remote bitmap, is a double free);
 * another thread's block, and misuse, go to small_free_slow.  Neither
 * reads nor writes the block. */
NOINLINE void small_free_other(void *p, const char *function)
{
    page_chunk *pc = page_chunk_of(p);
    page *pg = page_of(pc, p);
    heap *h = my_heap();
    if (load_relaxed(&pc->c.owner) != h) {
        small_free_slow(p, function);
        return;
    }
    size_t off = (size_t)((char *)p - pg->base);
    size_t idx = (size_t)(((uint64_t)(uint32_t)off * pg->recip) >> 32);
    uint64_t bit = (uint64_t)1 << (idx & 63), *w = &pg->freed[idx >> 6];
    if (UNLIKELY(idx * pg->stride != off || idx >= load_relaxed(&pg->top) || ((*w | load_relaxed(&pg->remote[idx >> 6])) & bit))) {
        small_free_slow(p, function); /* no block, or freed already, here or by another thread (not folded in yet) */
        return;
    }
    *w |= bit;
    if (idx >> 6 < pg->scan) /* malloc's fast path looks at this word first (P4) */
        pg->scan = (uint8_t)(idx >> 6);
    h->hot_page[pg->cls] = pg; /* and at this block before it (P7) */
    h->hot_index[pg->cls] = (uint16_t)idx;
    stat_add(h->n.small_below, 1);
    if (UNLIKELY(pg->state == PG_FULL))
        small_unfull(h, pg);
    if (DEBUG_CHECKS)
        check_page(pg);
}

/* A free gave full page pg room: it joins its class's partial list. */
NOINLINE void small_unfull(heap *h, page *pg)
{
    bool room = load_relaxed(&pg->top) < pg->cap;
    for (size_t k = 0; k < PAGE_WORDS; k++)
        room |= pg->freed[k] != 0;
    if (!room)
        return;
    pg->state = PG_PARTIAL;
    append_page(&h->partial[pg->cls], pg);
}

/* Queue pg, which has remote bits now, for its owner (once: P6), with no
 * lock.  An orphaned owner has nobody to fold them in until a thread
 * adopts it: the freeing thread does, if it can take the orphan's lock
 * without waiting (else whoever holds it, or the adopter, will). */
static void queue_for_owner(heap *owner, page *pg)
{
    if (exchange_acquire(&pg->pending, 1))
        return;
    page *head = load_relaxed(&owner->remote_pages);
    do
        pg->next_remote = head;
    while (!compare_exchange(&owner->remote_pages, &head, pg));
    if (load_relaxed(&owner->state) == H_ORPHAN && try_lock(&owner->lock)) {
        if (load_relaxed(&owner->state) == H_ORPHAN)
            fold_remote(owner);
        unlock(&owner->lock);
    }
}

/* free of p, in a page chunk, when the fast path would not: another
 * thread's block (its remote bit is set), or misuse. */
/* The index of p in pg, a page of another thread's (or of none), as far
 * as its descriptor tells: SIZE_MAX if p is no block of it, and *stride its
 * stride (0: a page set up for no class).  The owner set the page up before
 * it handed p out; if p is stale (misuse), the owner may be setting it up
 * again right now, and the figures may be of either class: ThreadSanitizer
 * is told so. */
static NO_THREAD_SANITIZER size_t index_of_others(page *pg, void *p, size_t *stride)
{
    page copy = { .base = peek(pg->base), .stride = peek(pg->stride), .recip = peek(pg->recip) };
    size_t idx = block_index(&copy, (size_t)((char *)p - copy.base));
    *stride = copy.stride;
    return idx < peek(pg->cap) ? idx : SIZE_MAX;
}

NOINLINE void small_free_slow(void *p, const char *function)
{
    page_chunk *pc = page_chunk_of(p);
    page *pg = page_of(pc, p);
    heap *h = my_heap(), *owner = load_relaxed(&pc->c.owner);
    size_t stride, idx = index_of_others(pg, p, &stride);
    if (!owner && stride && block_index(pg, (size_t)((char *)p - pg->base)) != SIZE_MAX)
        fatal("double free of", p, function); /* a block of a chunk gone back to the pool */
    if (!owner || idx == SIZE_MAX) /* no block starts at p */
        fatal("invalid pointer", p, function);
    if (owner == h) /* at or above the top (popped already), or its bit set */
        fatal("double free of", p, function);
    uint64_t bit = (uint64_t)1 << (idx & 63);
    if (fetch_or(&pg->remote[idx >> 6], bit) & bit)
        fatal("double free of", p, function);
    if (h != &unattached_heap && h != &exited_heap) {
        stat_add(h->n.small_remote, 1);
        stat_add(h->n.remote, 1);
        stat_add(h->n.remote_bytes, stride);
    }
    queue_for_owner(owner, pg);
}

/* Fold the remote bits of one page of h into its freed bits (P6: the flag
 * first, so that a free after this finds it clear and queues the page
 * again); a bit already freed, or at or above the top, is a double free. */
static void fold_page(heap *h, page *pg)
{
    store_release(&pg->pending, 0);
    for (size_t k = 0; k < PAGE_WORDS; k++) {
        uint64_t bits = load_relaxed(&pg->remote[k]) ? exchange_acquire(&pg->remote[k], 0) : 0;
        if (!bits)
            continue;
        size_t below = load_relaxed(&pg->top) > k * 64 ? load_relaxed(&pg->top) - k * 64 : 0;
        uint64_t live = below >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << below) - 1;
        uint64_t bad = (bits & pg->freed[k]) | (bits & ~live);
        if (bad)
            fatal("double free of", pg->base + (k * 64 + (size_t)__builtin_ctzll(bad)) * pg->stride, "free");
        pg->freed[k] |= bits;
        if (k < pg->scan)
            pg->scan = (uint8_t)k;
    }
    size_t t = load_relaxed(&pg->top);
    if (t && (pg->freed[(t - 1) >> 6] >> ((t - 1) & 63) & 1)) {
        small_popped(h, pg);
    } else if (pg->state == PG_FULL) {
        small_unfull(h, pg);
    }
}

/* Fold in every page of h queued by other threads' frees. */
static void fold_remote(heap *h)
{
    page *pg = exchange_acquire(&h->remote_pages, NULL);
    while (pg) {
        page *next = pg->next_remote;
        fold_page(h, pg);
        pg = next;
    }
}

/* ======================================================================== */
/* Heaps: a new one, an exiting thread's, malloc_trim                       */
/* ======================================================================== */

void small_init_heap(heap *h)
{
    for (size_t i = 0; i < SMALL_CLASSES; i++)
        h->pages[i] = &empty_page;
}

/* What can go back of h's pages now (h's owner calls it, or the holder of
 * an orphan's lock): other threads' frees are folded in, empty current
 * pages (all current pages, if `retire`: a heap about to be orphaned, so
 * that the pages other threads empty later are given back) stop being
 * current, and page chunks whose pages are all unused go back to the
 * pool, the one P5 keeps too. */
void small_trim(heap *h, bool retire)
{
    fold_remote(h);
    for (size_t i = 0; i < SMALL_CLASSES; i++) {
        page *pg = h->pages[i];
        if (pg == &empty_page || (load_relaxed(&pg->top) && !retire))
            continue;
        h->pages[i] = &empty_page;
        pg->state = PG_FULL; /* not current: on no list */
        if (load_relaxed(&pg->top) == 0)
            page_unused(h, pg);
        else
            small_unfull(h, pg); /* a page with room joins its class's partial ring */
    }
    for (unsigned kind = 0; kind < PAGE_KINDS; kind++) {
        page_chunk *pc = h->page_chunks[kind];
        while (pc) {
            page_chunk *next = (page_chunk *)pc->c.next;
            if (pc->used == 0) {
                unlink_page_chunk(h, pc, kind);
                int saved = errno;
                return_chunk(h, &pc->c);
                errno = saved;
            }
            pc = next;
        }
    }
}

/* ======================================================================== */
/* Statistics and checks                                                    */
/* ======================================================================== */

static NO_THREAD_SANITIZER size_t popcount_words(const uint64_t *w)
{
    size_t n = 0;
    for (size_t k = 0; k < PAGE_WORDS; k++)
        n += (size_t)__builtin_popcountll(peek(w[k]));
    return n;
}

/* The small blocks of page chunk pc in use, and their bytes; read while
 * the owner may be changing them (the figures may be off by a few). */
NO_THREAD_SANITIZER void small_survey(page_chunk *pc, size_t *live, size_t *bytes, size_t *pages)
{
    for (size_t i = 0; i < peek(pc->cut); i++) {
        page *pg = &pc->pages[i];
        size_t top = load_relaxed(&pg->top), freed = popcount_words(pg->freed), remote = 0;
        if (peek(pg->state) == PG_UNUSED || !peek(pg->cap))
            continue;
        for (size_t k = 0; k < PAGE_WORDS; k++)
            remote += (size_t)__builtin_popcountll(load_relaxed(&pg->remote[k]));
        size_t n = top > freed + remote ? top - freed - remote : 0;
        *live += n;
        *bytes += n * peek(pg->stride);
        *pages += 1;
    }
}

/* P1, P2 and P4 of one page in use, for its owner. */
void check_page(page *pg)
{
    if (pg == &empty_page || pg->state == PG_UNUSED) /* an unused page holds nothing */
        return;
    REQUIRE(load_relaxed(&pg->top) <= pg->cap && pg->stride == class_stride(pg->cls) &&
                pg->base + pg->cap * (size_t)pg->stride <= (char *)page_chunk_of(pg) + CHUNK,
            "page descriptor", pg);
    for (size_t k = 0; k < PAGE_WORDS; k++) {
        size_t below = load_relaxed(&pg->top) > k * 64 ? load_relaxed(&pg->top) - k * 64 : 0;
        uint64_t live = below >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << below) - 1;
        uint64_t remote = load_relaxed(&pg->remote[k]);
        REQUIRE(!(pg->freed[k] & ~live) && !(remote & ~live) && !(pg->freed[k] & remote),
                "freed and remote bits below the top, no block in both", pg);
    }
    REQUIRE(pg->scan < PAGE_WORDS, "scan", pg);
    for (size_t k = 0; k < pg->scan; k++)
        REQUIRE(!pg->freed[k], "no freed bit below scan", pg);
    size_t t = load_relaxed(&pg->top);
    REQUIRE(!t || !(pg->freed[(t - 1) >> 6] >> ((t - 1) & 63) & 1), "the top block in use", pg);
}

/* P3 and P5 of every page of h, and of its page chunks; the caller owns h. */
void check_pages(heap *h)
{
    for (size_t i = 0; i < SMALL_CLASSES; i++) {
        page *pg = h->pages[i];
        REQUIRE(pg == &empty_page || (pg->state == PG_CURRENT && pg->cls == i &&
                                      load_relaxed(&page_chunk_of(pg)->c.owner) == h),
                "a class's current page", pg);
        check_page(pg);
        size_t ring = 0;
        for (page *p = h->partial[i]; p; p = p->next == h->partial[i] ? NULL : p->next, ring++) {
            REQUIRE(ring < (size_t)1 << 24 && p->state == PG_PARTIAL && p->cls == i && p->next->prev == p &&
                        load_relaxed(&page_chunk_of(p)->c.owner) == h,
                    "a class's partial list", p);
            /* (it may have lost its last freed block to the hot path, P7) */
            check_page(p);
        }
    }
    for (chunk *c = h->chunks; c; c = c->next_own) {
        if (c->kind != CK_PAGES)
            continue;
        page_chunk *pc = (page_chunk *)c;
        size_t used = 0, unused = 0;
        for (size_t i = pages_header(pc->npages) >> c->page_shift; i < pc->cut; i++) {
            page *pg = &pc->pages[i];
            if (pg->state == PG_UNUSED) {
                unused++;
                continue;
            }
            used++;
            check_page(pg);
            REQUIRE(load_relaxed(&pg->top) || pg->state == PG_CURRENT || load_relaxed(&pg->pending), "an empty page in use", pg);
        }
        size_t listed = 0;
        for (page *pg = pc->unused; pg; pg = pg->next, listed++)
            REQUIRE(pg->state == PG_UNUSED && page_chunk_of(pg) == pc && listed < pc->npages, "unused pages", pg);
        REQUIRE(used == pc->used && listed == unused, "a page chunk's count of pages", pc);
        bool room = pc->unused || pc->cut < pc->npages;
        bool on_list = false;
        for (page_chunk *q = h->page_chunks[c->page_shift == PAGE_SHIFT_LARGE]; q; q = (page_chunk *)q->c.next)
            on_list |= q == pc;
        REQUIRE(room == on_list, "a page chunk with unused pages is on its heap's list", pc);
    }
}
