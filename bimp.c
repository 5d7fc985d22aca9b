/* bimp.c - Bimp's portable core: a bump allocator that replaces malloc.
 *
 * Quick start: `make`, then `LD_PRELOAD=$PWD/libbimp.so program`.
 *
 * The idea.  Memory comes in chunks; each chunk is a stack of headered blocks.
 * malloc pushes a block on top of the current chunk's stack (a bump of the
 * cursor).  free of the top block pops it, and pops every already-freed block
 * right behind it too, so code that frees in LIFO order returns all of its
 * memory at once.  A block freed below the top is only marked free until the
 * pop reaches it; a chunk whose last block is freed is reset whole; a chunk
 * whose top has popped far down is resumed as a bump area.  Requests above
 * the huge threshold get their own mapping.
 *
 * Threads.  Each thread owns a heap: a current chunk and a list of chunks to
 * resume.  The owner's malloc and free take no lock and no atomic.  A block
 * freed by another thread is marked (one atomic OR on its header) and pushed
 * onto its owner's inbox, which the owner drains when it next needs a chunk.
 * An exiting thread orphans its heap; the next new thread adopts it.  Frees
 * into an orphaned heap are applied at once under that heap's lock.
 *
 * The platform (memory, break, thread exit, environment, error output) is
 * reached only through platform.h.
 *
 * Sections: configuration, block and chunk layout, state, diagnostics,
 * options, core, public API.
 */
#include "bimp.h"
#include "platform.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ======================================================================== */
/* Configuration                                                            */
/* ======================================================================== */

/* Alignment of every block, and the granule of all block sizes. */
#ifndef BIMP_ALIGN
#define BIMP_ALIGN 16
#endif
#if BIMP_ALIGN < 8 || (BIMP_ALIGN & (BIMP_ALIGN - 1)) != 0
#error "BIMP_ALIGN must be a power of two and at least 8 (the block header's size)"
#endif
#if BIMP_ALIGN > 4096
#error "BIMP_ALIGN above 4096 is not supported"
#endif

/* log2 of the chunk size; chunks are aligned to their size. */
#ifndef BIMP_CHUNK_SHIFT
#define BIMP_CHUNK_SHIFT 18
#endif
#if BIMP_CHUNK_SHIFT < 16 || BIMP_CHUNK_SHIFT > 24
#error "BIMP_CHUNK_SHIFT must be between 16 and 24"
#endif

/* BIMP_SET_ERRNO: also report posix_memalign's failures through errno. */
#ifdef BIMP_SET_ERRNO
#define SET_ERRNO_ALWAYS 1
#else
#define SET_ERRNO_ALWAYS 0
#endif

/* BIMP_DEBUG: run the invariant checkers after every operation. */
#ifdef BIMP_DEBUG
#define DEBUG_CHECKS 1
#else
#define DEBUG_CHECKS 0
#endif

/* BIMP_PREFIX: name the entry points bimp_malloc, bimp_free, ... */
#ifdef BIMP_PREFIX
#define API(name) bimp_##name
#else
#define API(name) name
#endif

/* Compiler specifics, in one place. */
#define EXPORT __attribute__((visibility("default")))
#define NOINLINE __attribute__((noinline))
#define COLD __attribute__((cold, noinline))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CACHE_ALIGNED _Alignas(64)
#define TLS_INITIAL_EXEC __thread __attribute__((tls_model("initial-exec")))

/* Atomics, or plain variables in the single-threaded build. */
#ifdef BIMP_SINGLE_THREADED
#define ATOMIC(T) T
#define load_relaxed(p) (*(p))
#define store_relaxed(p, v) (*(p) = (v))
#define fetch_or(p, v) ({ __typeof__(*(p)) old_ = *(p); *(p) |= (v); old_; })
#define fetch_add(p, v) ({ __typeof__(*(p)) old_ = *(p); *(p) += (v); old_; })
#define fetch_sub(p, v) ({ __typeof__(*(p)) old_ = *(p); *(p) -= (v); old_; })
#else
#include <stdatomic.h>
#define ATOMIC(T) _Atomic(T)
#define load_relaxed(p) atomic_load_explicit(p, memory_order_relaxed)
#define store_relaxed(p, v) atomic_store_explicit(p, v, memory_order_relaxed)
#define fetch_or(p, v) atomic_fetch_or_explicit(p, v, memory_order_acq_rel)
#define fetch_add(p, v) atomic_fetch_add_explicit(p, v, memory_order_relaxed)
#define fetch_sub(p, v) atomic_fetch_sub_explicit(p, v, memory_order_relaxed)
#endif

/* ======================================================================== */
/* Block and chunk layout                                                   */
/* ======================================================================== */
/*
 * A chunk (CHUNK bytes, aligned to CHUNK) is a stack of blocks:
 *
 *   chunk                                                         chunk + CHUNK
 *   |                                                                        |
 *   [chunk hdr][h|payload...][h|payload..........][h|payload][  free tail   ]
 *              ^first        ^                    ^top       ^cursor        end
 *               <- prev ---- |  <----- prev ----- |
 *               ---- stride ->---------- stride -->
 *
 * Each block starts with an 8-byte header h: `prev`, the distance back to the
 * previous block's header in granules (0 for the first block), and `info`,
 * the block's stride (header plus payload) in granules above 4 flag bits.
 * Payloads are aligned to GRANULE; strides are multiples of GRANULE and at
 * least MIN_STRIDE, so that a free block can hold two links.
 *
 * Invariants (check_chunk asserts them all):
 *  1. Walking from `first` by strides lands exactly on `cursor`; every
 *     block's prev equals the stride of the block before it.
 *  2. `top` is the last block and is in use, or the chunk is empty and
 *     top == cursor == first.
 *  3. No block is in use and binned at once (nothing is binned yet).
 *  4. `live` equals the number of blocks in use; an empty chunk is either
 *     its heap's current chunk or back in the pool.
 *  5. Only the owner writes headers, except the atomic REMOTE mark set by the
 *     thread that frees a block it does not own; each marked block is applied
 *     by the owner exactly once.
 *
 * A huge block is a mapping of its own: [map length][pad][h|payload...], with
 * h.prev the byte offset of h from the mapping's start and HUGE in info.
 */

#define GRANULE ((size_t)BIMP_ALIGN)
#define HEADER ((size_t)8)
#define MIN_STRIDE (GRANULE > 32 ? GRANULE : (size_t)32)
#define CHUNK ((size_t)1 << BIMP_CHUNK_SHIFT)

enum {
    B_INUSE = 1,  /* handed out to the program */
    B_BINNED = 2, /* free and on a reuse bin (reserved for reuse below the top) */
    B_REMOTE = 4, /* freed by another thread, waiting in the owner's inbox */
    B_HUGE = 8,   /* a mapping of its own */
    FLAG_BITS = 4,
};

typedef struct block {
    uint32_t prev;
    ATOMIC(uint32_t) info;
} block;

_Static_assert(sizeof(block) == HEADER, "block header must be 8 bytes");

enum chunk_state { CH_CURRENT, CH_RESUME, CH_FULL, CH_FREE };

typedef struct heap heap;

typedef struct chunk {
    heap *owner;
    char *cursor;     /* where the next block's header goes */
    block *top;       /* the top block, or == cursor when empty */
    char *end;        /* chunk + CHUNK */
    uint32_t live;    /* blocks in use */
    uint8_t state;    /* enum chunk_state */
    bool purged;      /* in the pool with its pages given back */
    struct chunk *next, *prev; /* resume list of its heap, or the pool */
} chunk;

/* The first block's header sits so that its payload is GRANULE-aligned. */
#define FIRST_OFFSET (((sizeof(chunk) + HEADER + GRANULE - 1) & ~(GRANULE - 1)) - HEADER)

/* A chunk whose free tail is at least this large is worth resuming. */
#define RESUME_MIN (CHUNK / 4)

static inline size_t stride_of(uint32_t info)
{
    return (size_t)(info >> FLAG_BITS) * GRANULE;
}

static inline block *header_of(void *p)
{
    return (block *)((char *)p - HEADER);
}

static inline void *payload_of(block *b)
{
    return (char *)b + HEADER;
}

static inline chunk *chunk_of(block *b)
{
    return (chunk *)((uintptr_t)b & ~(uintptr_t)(CHUNK - 1));
}

static inline char *first_of(chunk *c)
{
    return (char *)c + FIRST_OFFSET;
}

static inline bool chunk_empty(chunk *c)
{
    return (char *)c->top == c->cursor;
}

/* The stride that holds n bytes of payload; n must be small. */
static inline size_t stride_for(size_t n)
{
    size_t s = (n + HEADER + GRANULE - 1) & ~(GRANULE - 1);
    return s < MIN_STRIDE ? MIN_STRIDE : s;
}

static inline uint32_t info_make(size_t stride, uint32_t flags)
{
    return (uint32_t)(stride / GRANULE) << FLAG_BITS | flags;
}

/* ======================================================================== */
/* State                                                                    */
/* ======================================================================== */

#ifdef BIMP_SINGLE_THREADED
typedef int lock_t;
static inline void lock(lock_t *l) { (void)l; }
static inline void unlock(lock_t *l) { (void)l; }
#else
typedef os_lock lock_t;
static inline void lock(lock_t *l) { os_lock_acquire(l); }
static inline void unlock(lock_t *l) { os_lock_release(l); }
#endif

enum heap_state { H_OWNED, H_ORPHAN };

struct heap {
    chunk *cur;           /* the chunk malloc bumps into; never released */
    chunk *resume;        /* chunks with a large free tail */
    size_t in_use;        /* bytes of blocks in use (strides) */
    ATOMIC(int) state;    /* enum heap_state */
    lock_t lock;          /* held while working on an orphaned heap */
    heap *next_all;       /* every heap ever made: append-only */
    heap *next_orphan;
    CACHE_ALIGNED ATOMIC(block *) inbox; /* remote frees, linked through payloads */
};

/* A chunk that never has room: new heaps start with it, so their first
 * malloc takes the slow path. */
static chunk empty_chunk = {
    .cursor = (char *)&empty_chunk, .top = (block *)&empty_chunk, .end = (char *)&empty_chunk,
    .state = CH_CURRENT,
};

#define EMPTY_HEAP_INIT { .cur = &empty_chunk, .state = H_OWNED }

/* The heap of a thread that has not allocated yet, or whose exit hook ran. */
static heap unattached_heap = EMPTY_HEAP_INIT;
static heap exited_heap = EMPTY_HEAP_INIT;
/* Serves threads whose exit hook already ran: always orphaned, used under its lock. */
static heap late_heap = { .cur = &empty_chunk, .state = H_ORPHAN };

#ifdef BIMP_SINGLE_THREADED
static heap the_heap = EMPTY_HEAP_INIT;
static inline heap *my_heap(void) { return &the_heap; }
static inline void set_my_heap(heap *h) { (void)h; }
#else
static TLS_INITIAL_EXEC heap *tls_heap = &unattached_heap;
static inline heap *my_heap(void) { return tls_heap; }
static inline void set_my_heap(heap *h) { tls_heap = h; }
#endif

/* Process-wide state; everything but the atomics is guarded by `lock`. */
static struct {
    lock_t lock;
    bool initialised;
    ATOMIC(int) threads_ready; /* 0, 1 while os_thread_init runs, 2 after */
    /* Where chunks come from. */
    char *brk_end;             /* where our part of the break ends; NULL before first use */
    bool brk_failed;           /* the break could not grow, or somebody else moved it */
    char *carve, *carve_end;   /* segment space not yet cut into chunks */
    size_t segment_bytes;      /* taken from the OS for chunks */
    /* Free chunks: `hot` ones keep their pages, `cold` ones were purged. */
    chunk *hot, *cold;
    size_t hot_count, cold_count;
    /* Heaps. */
    ATOMIC(heap *) all_heaps;
    heap *orphans;
    char *meta, *meta_end;     /* space for heap structs */
    /* Huge blocks. */
    ATOMIC(size_t) huge_count, huge_bytes, huge_peak_count, huge_peak_bytes;
} g;

/* ======================================================================== */
/* Diagnostics                                                              */
/* ======================================================================== */

/* A small buffer formatter: no stdio inside the allocator. */
typedef struct {
    char buf[512];
    size_t len;
} text;

static void put_str(text *t, const char *s)
{
    while (*s && t->len < sizeof t->buf)
        t->buf[t->len++] = *s++;
}

static void put_uint(text *t, unsigned long long v, unsigned base, int width)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (width-- > n && t->len < sizeof t->buf)
        t->buf[t->len++] = ' ';
    while (n > 0 && t->len < sizeof t->buf)
        t->buf[t->len++] = digits[--n];
}

static void put_line(text *t)
{
    put_str(t, "\n");
    os_write_error(t->buf, t->len);
    t->len = 0;
}

/* The one fatal path: `bimp: <what> <pointer> (in <function>)`, then abort. */
static COLD _Noreturn void fatal(const char *what, const void *p, const char *function)
{
    text t = { .len = 0 };
    put_str(&t, "bimp: ");
    put_str(&t, what);
    put_str(&t, " 0x");
    put_uint(&t, (uintptr_t)p, 16, 0);
    put_str(&t, " (in ");
    put_str(&t, function);
    put_str(&t, ")");
    put_line(&t);
    os_fatal();
}

#define REQUIRE(cond, what, p) \
    do { \
        if (!(cond)) \
            fatal("invariant broken: " what, p, __func__); \
    } while (0)

/* Invariants 1-4 of one chunk; the caller owns it. */
static void check_chunk(chunk *c)
{
    if (c == &empty_chunk)
        return;
    REQUIRE(c->end == (char *)c + CHUNK, "chunk end", c);
    char *at = first_of(c), *prev = NULL;
    uint32_t live = 0;
    while (at < c->cursor) {
        block *b = (block *)at;
        uint32_t info = load_relaxed(&b->info);
        size_t stride = stride_of(info);
        REQUIRE(stride >= MIN_STRIDE && stride % GRANULE == 0, "block stride", b);
        REQUIRE(((uintptr_t)payload_of(b) & (GRANULE - 1)) == 0, "payload alignment", b);
        REQUIRE(prev ? b->prev * GRANULE == (size_t)(at - prev) : b->prev == 0, "back distance", b);
        REQUIRE(!(info & B_HUGE), "huge flag inside a chunk", b);
        REQUIRE(!((info & B_INUSE) && (info & B_BINNED)), "block in use and binned", b);
        live += (info & B_INUSE) != 0;
        prev = at;
        at += stride;
    }
    REQUIRE(at == c->cursor && c->cursor <= c->end, "walk ends at the cursor", c);
    if (prev)
        REQUIRE((char *)c->top == prev && (load_relaxed(&c->top->info) & B_INUSE), "top in use", c);
    else
        REQUIRE(chunk_empty(c) && c->cursor == first_of(c), "empty chunk reset", c);
    REQUIRE(live == c->live, "live count", c);
}

/* A heap's chunk lists; the caller owns the heap. */
static void check_heap(heap *h)
{
    check_chunk(h->cur);
    REQUIRE(h->cur == &empty_chunk || (h->cur->owner == h && h->cur->state == CH_CURRENT),
            "current chunk", h->cur);
    for (chunk *c = h->resume; c; c = c->next) {
        REQUIRE(c->owner == h && c->state == CH_RESUME && c->live > 0, "resume list", c);
        REQUIRE(!c->next || c->next->prev == c, "resume links", c);
        check_chunk(c);
    }
}

/* ======================================================================== */
/* Options                                                                  */
/* ======================================================================== */

/* Requests above this many bytes get a mapping of their own (mallopt
 * M_MMAP_THRESHOLD); at most half a chunk, so a chunk holds two. */
#define HUGE_THRESHOLD_MAX (CHUNK / 2)
static size_t huge_threshold = HUGE_THRESHOLD_MAX;

/* Free chunks kept with their pages before purging (mallopt M_TRIM_THRESHOLD). */
static size_t pool_hot_max = 8;

/* ======================================================================== */
/* Core: memory from the OS                                                 */
/* ======================================================================== */

static inline size_t align_up(size_t n, size_t a)
{
    return (n + a - 1) & ~(a - 1);
}

/* More segment space: the break first, an aligned mapping when it fails. */
static bool grow_segments(void)
{
    size_t step = g.segment_bytes / 8;
    step = align_up(step < 4 * CHUNK ? 4 * CHUNK : step, CHUNK);
    if (!g.brk_failed) {
        if (!g.brk_end) {
            char *end = os_heap_grow(NULL, 0);
            size_t pad = end ? align_up((uintptr_t)end, CHUNK) - (uintptr_t)end : 0;
            if (end && os_heap_grow(end, pad + step)) {
                g.carve = end + pad;
                g.carve_end = g.brk_end = end + pad + step;
                g.segment_bytes += step;
                return true;
            }
        } else if (g.carve_end == g.brk_end && os_heap_grow(g.brk_end, step)) {
            g.carve_end = g.brk_end += step;
            g.segment_bytes += step;
            return true;
        }
        g.brk_failed = true;
    }
    char *p = os_map(step, CHUNK);
    if (!p)
        return false;
    g.carve = p;
    g.carve_end = p + step;
    g.segment_bytes += step;
    return true;
}

static chunk *pool_pop(chunk **list, size_t *count)
{
    chunk *c = *list;
    if (c) {
        *list = c->next;
        (*count)--;
    }
    return c;
}

static void pool_push(chunk **list, size_t *count, chunk *c)
{
    c->next = *list;
    *list = c;
    (*count)++;
}

/* A free chunk for heap h, reset and owned by h; NULL when memory is out. */
static chunk *take_chunk(heap *h)
{
    lock(&g.lock);
    chunk *c = pool_pop(&g.hot, &g.hot_count);
    if (!c)
        c = pool_pop(&g.cold, &g.cold_count);
    if (!c && (g.carve + CHUNK <= g.carve_end || grow_segments())) {
        c = (chunk *)g.carve;
        g.carve += CHUNK;
    }
    unlock(&g.lock);
    if (!c)
        return NULL;
    c->owner = h;
    c->cursor = first_of(c);
    c->top = (block *)c->cursor;
    c->end = (char *)c + CHUNK;
    c->live = 0;
    c->purged = false;
    c->next = c->prev = NULL;
    return c;
}

/* Return an empty chunk to the pool; its pages go back to the OS once the
 * pool holds enough hot chunks. */
static void release_chunk(chunk *c)
{
    c->state = CH_FREE;
    c->owner = NULL;
    lock(&g.lock);
    if (g.hot_count < pool_hot_max) {
        pool_push(&g.hot, &g.hot_count, c);
    } else {
        os_purge(c, CHUNK);
        c->purged = true;
        pool_push(&g.cold, &g.cold_count, c);
    }
    unlock(&g.lock);
}

/* Memory for heap structs, which are never freed (orphans are adopted). */
static heap *new_heap(void)
{
    size_t size = align_up(sizeof(heap), 64);
    lock(&g.lock);
    if (g.meta + size > g.meta_end) {
        size_t span = 64 * 1024;
        g.meta = os_map(span, os_page_size());
        g.meta_end = g.meta ? g.meta + span : NULL;
    }
    heap *h = NULL;
    if (g.meta) {
        h = (heap *)g.meta;
        g.meta += size;
    }
    unlock(&g.lock);
    return h;
}

/* ======================================================================== */
/* Core: push and pop                                                       */
/* ======================================================================== */

static inline bool fits(chunk *c, size_t stride)
{
    return c->cursor + stride <= c->end;
}

/* Push a block of `stride` bytes on c, which has room for it. */
static inline block *push(chunk *c, size_t stride, uint32_t flags)
{
    block *b = (block *)c->cursor;
    b->prev = (uint32_t)(((char *)b - (char *)c->top) / GRANULE);
    store_relaxed(&b->info, info_make(stride, flags));
    c->top = b;
    c->cursor += stride;
    return b;
}

static inline void *push_live(heap *h, chunk *c, size_t stride)
{
    block *b = push(c, stride, B_INUSE);
    c->live++;
    h->in_use += stride;
    if (DEBUG_CHECKS)
        check_chunk(c);
    return payload_of(b);
}

/* The top block b was just freed: pop it and every free block behind it. */
static void pop_top(chunk *c, block *b)
{
    for (;;) {
        c->cursor = (char *)b;
        if (b->prev == 0)
            break; /* b was the first block: the chunk is empty */
        b = (block *)((char *)b - b->prev * GRANULE);
        if (load_relaxed(&b->info) & B_INUSE)
            break;
    }
    c->top = b;
}

static void resume_add(heap *h, chunk *c)
{
    c->state = CH_RESUME;
    c->prev = NULL;
    c->next = h->resume;
    if (c->next)
        c->next->prev = c;
    h->resume = c;
}

static void resume_remove(heap *h, chunk *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        h->resume = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

/* A pop happened in c, which is not h's current chunk: release c if it is
 * empty, offer it for resuming if its free tail has grown large. */
static void settle(heap *h, chunk *c)
{
    if (c->live == 0) {
        if (c->state == CH_RESUME)
            resume_remove(h, c);
        int saved = errno; /* free keeps errno; purging may set it */
        release_chunk(c);
        errno = saved;
    } else if (c->state == CH_FULL && (size_t)(c->end - c->cursor) >= RESUME_MIN) {
        resume_add(h, c);
    }
}

/* Free block b of chunk c, owned by h (the caller is h's owner or holds
 * the lock of the orphaned h). */
static inline void free_local(heap *h, chunk *c, block *b, uint32_t info)
{
    h->in_use -= stride_of(info);
    c->live--;
    store_relaxed(&b->info, info & ~(uint32_t)(B_INUSE | B_REMOTE));
    bool popped = b == c->top;
    if (popped)
        pop_top(c, b);
    if (DEBUG_CHECKS)
        check_chunk(c);
    if (UNLIKELY(popped && c != h->cur))
        settle(h, c);
}

/* Apply every remote free waiting in h's inbox. */
static void drain(heap *h)
{
    if (!load_relaxed(&h->inbox))
        return;
#ifndef BIMP_SINGLE_THREADED
    block *b = atomic_exchange_explicit(&h->inbox, NULL, memory_order_acquire);
#else
    block *b = h->inbox;
    h->inbox = NULL;
#endif
    while (b) {
        block *next = *(block **)payload_of(b);
        free_local(h, chunk_of(b), b, load_relaxed(&b->info));
        b = next;
    }
}

/* h's current chunk cannot hold `need` bytes: make a chunk that can current. */
static chunk *switch_chunk(heap *h, size_t need)
{
    chunk *c = h->resume;
    for (int tries = 0; c && tries < 4 && !fits(c, need); tries++)
        c = c->next;
    if (c && fits(c, need))
        resume_remove(h, c);
    else if (!(c = take_chunk(h)))
        return NULL;
    chunk *old = h->cur;
    if (old != &empty_chunk) {
        if (old->live == 0)
            release_chunk(old);
        else if ((size_t)(old->end - old->cursor) >= RESUME_MIN)
            resume_add(h, old);
        else
            old->state = CH_FULL;
    }
    c->state = CH_CURRENT;
    h->cur = c;
    if (DEBUG_CHECKS)
        check_heap(h);
    return c;
}

/* A chunk of h that has `need` bytes free at its top: the current one, after
 * applying remote frees, or another. */
static chunk *room_for(heap *h, size_t need)
{
    if (fits(h->cur, need))
        return h->cur;
    drain(h);
    if (fits(h->cur, need))
        return h->cur;
    return switch_chunk(h, need);
}

/* Place a block of `stride` bytes whose payload is aligned to `align`
 * (> GRANULE): a free pad block in front makes up the difference. */
static void *push_aligned(heap *h, size_t stride, size_t align)
{
    size_t worst = align + MIN_STRIDE + stride;
    chunk *c = room_for(h, worst);
    if (!c)
        return NULL;
    uintptr_t at = (uintptr_t)c->cursor + HEADER;
    size_t gap = align_up(at, align) - at;
    while (gap != 0 && gap < MIN_STRIDE)
        gap += align;
    if (gap)
        push(c, gap, 0);
    return push_live(h, c, stride);
}

/* ======================================================================== */
/* Core: huge blocks                                                        */
/* ======================================================================== */

static void count_huge(size_t len, int sign)
{
    if (sign > 0) {
        size_t n = fetch_add(&g.huge_count, 1) + 1;
        size_t bytes = fetch_add(&g.huge_bytes, len) + len;
        if (n > load_relaxed(&g.huge_peak_count))
            store_relaxed(&g.huge_peak_count, n);
        if (bytes > load_relaxed(&g.huge_peak_bytes))
            store_relaxed(&g.huge_peak_bytes, bytes);
    } else {
        fetch_sub(&g.huge_count, 1);
        fetch_sub(&g.huge_bytes, len);
    }
}

/* The offset of a huge block's header in its mapping: room for the length
 * word in front, payload aligned to `align`. */
static inline size_t huge_offset(size_t align)
{
    return align_up(sizeof(size_t) + HEADER, align) - HEADER;
}

/* The mapping length for n bytes at offset off, or 0 if it overflows. */
static inline size_t huge_length(size_t off, size_t n)
{
    size_t page = os_page_size();
    if (n > PTRDIFF_MAX - off - HEADER - page)
        return 0;
    return align_up(off + HEADER + n, page);
}

static void *huge_alloc(size_t n, size_t align)
{
    if (align < GRANULE)
        align = GRANULE;
    size_t off = huge_offset(align);
    size_t len = off <= UINT32_MAX ? huge_length(off, n) : 0;
    char *map = len ? os_map(len, align > os_page_size() ? align : os_page_size()) : NULL;
    if (!map) {
        errno = ENOMEM;
        return NULL;
    }
    *(size_t *)map = len;
    block *b = (block *)(map + off);
    b->prev = (uint32_t)off;
    store_relaxed(&b->info, B_HUGE | B_INUSE);
    count_huge(len, +1);
    return payload_of(b);
}

static inline char *huge_map(block *b)
{
    return (char *)b - b->prev;
}

static inline size_t huge_usable(block *b)
{
    return *(size_t *)huge_map(b) - b->prev - HEADER;
}

static void huge_free(block *b)
{
    char *map = huge_map(b);
    size_t len = *(size_t *)map;
    count_huge(len, -1);
    os_unmap(map, len);
}

/* Resize a huge block in its mapping's place or by moving the mapping; NULL
 * if the OS cannot (the caller copies). */
static void *huge_resize(block *b, size_t n)
{
    char *map = huge_map(b);
    size_t off = b->prev, old_len = *(size_t *)map;
    size_t len = huge_length(off, n);
    if (!len)
        return NULL;
    if (len == old_len)
        return payload_of(b);
    char *moved = os_remap(map, old_len, len);
    if (!moved)
        return NULL;
    *(size_t *)moved = len;
    count_huge(old_len, -1);
    count_huge(len, +1);
    return moved + off + HEADER;
}

/* ======================================================================== */
/* Core: threads and heaps                                                  */
/* ======================================================================== */

#ifndef BIMP_SINGLE_THREADED
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

/* The thread exit hook: hand the heap to whoever comes next. */
static void on_thread_exit(void *arg)
{
    heap *h = arg;
    drain(h);
    if (h->cur != &empty_chunk && h->cur->live == 0) {
        release_chunk(h->cur);
        h->cur = &empty_chunk;
    }
    set_my_heap(&exited_heap);
    orphan_heap(h);
}

/* Fork: hold every lock across fork, so the child inherits consistent
 * shared state.  Heaps of threads that do not exist in the child stay as
 * they are: their owners may have been in the middle of a push or pop, so
 * nobody may touch them; frees into them wait in their inboxes for good. */
static void before_fork(void)
{
    for (heap *h = load_relaxed(&g.all_heaps); h; h = h->next_all)
        lock(&h->lock);
    lock(&g.lock);
}

static void after_fork(void)
{
    unlock(&g.lock);
    for (heap *h = load_relaxed(&g.all_heaps); h; h = h->next_all)
        unlock(&h->lock);
}
#endif

static void register_heap(heap *h)
{
#ifdef BIMP_SINGLE_THREADED
    h->next_all = g.all_heaps;
    g.all_heaps = h;
#else
    h->next_all = load_relaxed(&g.all_heaps);
    while (!atomic_compare_exchange_weak_explicit(&g.all_heaps, &h->next_all, h,
                                                  memory_order_release, memory_order_relaxed))
        ;
#endif
}

static void initialise(void)
{
    lock(&g.lock);
    if (!g.initialised) {
        g.initialised = true;
        os_page_size();
#ifdef BIMP_SINGLE_THREADED
        register_heap(&the_heap);
#else
        register_heap(&late_heap);
#endif
    }
    unlock(&g.lock);
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
    } else {
        h = new_heap();
        if (!h)
            return NULL;
        h->cur = &empty_chunk; /* the rest is zero: fresh mapping */
        register_heap(h);
    }
    set_my_heap(h);
#ifndef BIMP_SINGLE_THREADED
    int expected = 0;
    if (atomic_compare_exchange_strong(&g.threads_ready, &expected, 1)) {
        os_thread_init(on_thread_exit, before_fork, after_fork, after_fork);
        store_relaxed(&g.threads_ready, 2);
    }
    while (load_relaxed(&g.threads_ready) != 2)
        os_yield();
    os_thread_arm(h);
#endif
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
#ifdef BIMP_SINGLE_THREADED
    if (!g.initialised)
        initialise();
#endif
    return h;
}

/* Free b, owned by another heap: mark it, then apply it at once if its heap
 * is orphaned, or leave it in its heap's inbox. */
static NOINLINE void free_remote(chunk *c, block *b, const char *function)
{
    uint32_t old = fetch_or(&b->info, (uint32_t)B_REMOTE);
    if (!(old & B_INUSE) || (old & B_REMOTE))
        fatal("double free of", payload_of(b), function);
    heap *owner = c->owner;
    if (load_relaxed(&owner->state) == H_ORPHAN) {
        lock(&owner->lock);
        if (load_relaxed(&owner->state) == H_ORPHAN) {
            drain(owner);
            free_local(owner, c, b, old | B_REMOTE);
            unlock(&owner->lock);
            return;
        }
        unlock(&owner->lock);
    }
#ifdef BIMP_SINGLE_THREADED
    (void)function;
#else
    block **link = payload_of(b);
    *link = load_relaxed(&owner->inbox);
    while (!atomic_compare_exchange_weak_explicit(&owner->inbox, link, b, memory_order_release,
                                                  memory_order_relaxed))
        ;
#endif
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
    bool aligned = align > GRANULE;
    if (n > huge_threshold || (aligned && (align > CHUNK / 8 || n + align > huge_threshold)))
        return huge_alloc(n, align);
    size_t stride = stride_for(n);
    heap *h = usable_heap();
    bool late = !h;
    if (late) {
        h = &late_heap;
        lock(&h->lock);
        drain(h);
    }
    void *p;
    if (aligned) {
        p = push_aligned(h, stride, align);
    } else {
        chunk *c = room_for(h, stride);
        p = c ? push_live(h, c, stride) : NULL;
    }
    if (late)
        unlock(&h->lock);
    if (!p)
        errno = ENOMEM;
    return p;
}

static inline void *alloc(size_t n)
{
    heap *h = my_heap();
    chunk *c = h->cur;
    size_t stride = stride_for(n);
    if (LIKELY(n <= huge_threshold && fits(c, stride)))
        return push_live(h, c, stride);
    return alloc_slow(n, 0);
}

static COLD void free_rare(block *b, uint32_t info, const char *function)
{
    if ((info & (B_HUGE | B_INUSE | B_REMOTE)) == (B_HUGE | B_INUSE)) {
        int saved = errno;
        huge_free(b);
        errno = saved;
        return;
    }
    fatal("double free of", payload_of(b), function);
}

static inline void release(void *p, const char *function)
{
    block *b = header_of(p);
    uint32_t info = load_relaxed(&b->info);
    if (UNLIKELY((info & (B_INUSE | B_REMOTE | B_HUGE)) != B_INUSE)) {
        free_rare(b, info, function);
        return;
    }
    chunk *c = chunk_of(b);
    heap *h = my_heap();
    if (LIKELY(c->owner == h))
        free_local(h, c, b, info);
    else
        free_remote(c, b, function);
}

/* A live block's header, or a fatal error naming `function`. */
static block *live_block(void *p, const char *function)
{
    block *b = header_of(p);
    uint32_t info = load_relaxed(&b->info);
    if (!(info & B_INUSE) || (info & B_REMOTE))
        fatal("use of freed block", p, function);
    return b;
}

static size_t usable_size(block *b)
{
    uint32_t info = load_relaxed(&b->info);
    return (info & B_HUGE) ? huge_usable(b) : stride_of(info) - HEADER;
}

/* Resize b's block where it stands if that is possible: a top block grows or
 * shrinks with the cursor, others shrink by splitting off a free block. */
static bool resize_in_place(block *b, size_t n)
{
    uint32_t info = load_relaxed(&b->info);
    size_t old = stride_of(info);
    if (n > huge_threshold)
        return false;
    size_t stride = stride_for(n);
    chunk *c = chunk_of(b);
    heap *h = my_heap();
    if (c->owner != h)
        return stride <= old && stride >= old / 2;
    if (b == c->top) {
        if ((char *)b + stride > c->end)
            return false;
        c->cursor = (char *)b + stride;
    } else if (stride > old) {
        return false;
    } else if (old - stride >= MIN_STRIDE) {
        block *rest = (block *)((char *)b + stride);
        block *next = (block *)((char *)b + old);
        rest->prev = (uint32_t)(stride / GRANULE);
        store_relaxed(&rest->info, info_make(old - stride, 0));
        next->prev = (uint32_t)((old - stride) / GRANULE);
    } else {
        return true;
    }
    store_relaxed(&b->info, info_make(stride, B_INUSE));
    h->in_use += stride - old;
    if (DEBUG_CHECKS)
        check_chunk(c);
    return true;
}

static void *resize(void *p, size_t n, const char *function)
{
    block *b = live_block(p, function);
    if (n > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    uint32_t info = load_relaxed(&b->info);
    if (info & B_HUGE) {
        if (n > huge_threshold / 2) {
            void *q = huge_resize(b, n);
            if (q)
                return q;
        }
    } else if (resize_in_place(b, n)) {
        return p;
    }
    void *q = alloc(n);
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
    return alloc_slow(n, align);
}

static bool mul_overflows(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

/* ======================================================================== */
/* Core: statistics and trimming                                            */
/* ======================================================================== */

typedef struct {
    size_t segment_bytes, pool_bytes, in_use, huge_count, huge_bytes, huge_peak_count,
        huge_peak_bytes, free_chunks;
} totals;

static totals collect(void)
{
    totals t = { 0 };
    for (heap *h = load_relaxed(&g.all_heaps); h; h = h->next_all)
        t.in_use += h->in_use;
    lock(&g.lock);
    t.segment_bytes = g.segment_bytes;
    t.free_chunks = g.hot_count + g.cold_count;
    t.pool_bytes = g.hot_count * CHUNK;
    unlock(&g.lock);
    t.huge_count = load_relaxed(&g.huge_count);
    t.huge_bytes = load_relaxed(&g.huge_bytes);
    t.huge_peak_count = load_relaxed(&g.huge_peak_count);
    t.huge_peak_bytes = load_relaxed(&g.huge_peak_bytes);
    return t;
}

/* Purge every hot free chunk; true if any pages went back. */
static bool trim(void)
{
    heap *h = my_heap();
    if (h != &unattached_heap && h != &exited_heap)
        drain(h);
    lock(&g.lock);
    bool released = g.hot != NULL;
    while (g.hot) {
        chunk *c = pool_pop(&g.hot, &g.hot_count);
        os_purge(c, CHUNK);
        c->purged = true;
        pool_push(&g.cold, &g.cold_count, c);
    }
    unlock(&g.lock);
    return released;
}

/* ======================================================================== */
/* Public API                                                               */
/* ======================================================================== */

/* glibc's struct mallinfo2 and mallinfo, field for field, and its mallopt
 * parameter numbers: the core includes no libc-specific header. */
struct mallinfo2 {
    size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
struct mallinfo {
    int arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
enum { M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3 };

EXPORT void *API(malloc)(size_t n)
{
    return alloc(n);
}

EXPORT void API(free)(void *p)
{
    if (p)
        release(p, "free");
}

EXPORT void API(cfree)(void *p)
{
    if (p)
        release(p, "cfree");
}

EXPORT void API(free_sized)(void *p, size_t size)
{
    (void)size;
    if (p)
        release(p, "free_sized");
}

EXPORT void API(free_aligned_sized)(void *p, size_t align, size_t size)
{
    (void)align;
    (void)size;
    if (p)
        release(p, "free_aligned_sized");
}

EXPORT void *API(calloc)(size_t count, size_t size)
{
    size_t n;
    if (mul_overflows(count, size, &n) || n > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    if (n > huge_threshold)
        return huge_alloc(n, GRANULE); /* fresh mappings are zero */
    void *p = alloc(n);
    if (p)
        memset(p, 0, n);
    return p;
}

EXPORT void *API(realloc)(void *p, size_t n)
{
    if (!p)
        return alloc(n);
    if (n == 0) {
        release(p, "realloc");
        return NULL;
    }
    return resize(p, n, "realloc");
}

EXPORT void *API(reallocarray)(void *p, size_t count, size_t size)
{
    size_t n;
    if (mul_overflows(count, size, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return API(realloc)(p, n);
}

EXPORT void *API(reallocf)(void *p, size_t n)
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

EXPORT size_t API(malloc_usable_size)(void *p)
{
    return p ? usable_size(live_block(p, "malloc_usable_size")) : 0;
}

EXPORT void *API(memalign)(size_t align, size_t n)
{
    return alloc_aligned(align, n);
}

EXPORT void *API(aligned_alloc)(size_t align, size_t n)
{
    return alloc_aligned(align, n);
}

EXPORT int API(posix_memalign)(void **out, size_t align, size_t n)
{
    int saved = errno, err = 0;
    void *p = NULL;
    if (align < sizeof(void *) || (align & (align - 1)))
        err = EINVAL;
    else if (!(p = alloc_aligned(align, n)))
        err = ENOMEM;
    if (err) {
        errno = SET_ERRNO_ALWAYS ? err : saved;
        return err;
    }
    *out = p;
    return 0;
}

EXPORT void *API(valloc)(size_t n)
{
    return alloc_aligned(os_page_size(), n);
}

EXPORT void *API(pvalloc)(size_t n)
{
    size_t page = os_page_size();
    if (n > PTRDIFF_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    return alloc_aligned(page, n ? align_up(n, page) : page);
}

EXPORT int API(malloc_trim)(size_t pad)
{
    (void)pad;
    int saved = errno;
    int released = trim();
    errno = saved;
    return released;
}

EXPORT struct mallinfo2 API(mallinfo2)(void)
{
    totals t = collect();
    struct mallinfo2 mi = { 0 };
    mi.arena = t.segment_bytes;
    mi.ordblks = t.free_chunks;
    mi.hblks = t.huge_count;
    mi.hblkhd = t.huge_bytes;
    mi.usmblks = 0;
    mi.uordblks = t.in_use;
    mi.fordblks = t.segment_bytes - t.in_use;
    mi.keepcost = t.pool_bytes;
    return mi;
}

EXPORT struct mallinfo API(mallinfo)(void)
{
    struct mallinfo2 m = API(mallinfo2)();
    struct mallinfo mi = {
        .arena = (int)m.arena, .ordblks = (int)m.ordblks, .hblks = (int)m.hblks,
        .hblkhd = (int)m.hblkhd, .uordblks = (int)m.uordblks, .fordblks = (int)m.fordblks,
        .keepcost = (int)m.keepcost,
    };
    return mi;
}

/* glibc's shape, Bimp's numbers: the chunk heap is "Arena 0". */
EXPORT void API(malloc_stats)(void)
{
    int saved = errno;
    totals t = collect();
    text out = { .len = 0 };
    struct { const char *label; size_t value; } rows[] = {
        { "system bytes     = ", t.segment_bytes },
        { "in use bytes     = ", t.in_use },
        { NULL, 0 },
        { "system bytes     = ", t.segment_bytes + t.huge_bytes },
        { "in use bytes     = ", t.in_use + t.huge_bytes },
        { "max mmap regions = ", t.huge_peak_count },
        { "max mmap bytes   = ", t.huge_peak_bytes },
    };
    put_str(&out, "Arena 0:");
    put_line(&out);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!rows[i].label) {
            put_str(&out, "Total (incl. mmap):");
        } else {
            put_str(&out, rows[i].label);
            put_uint(&out, rows[i].value, 10, 10);
        }
        put_line(&out);
    }
    errno = saved;
}

EXPORT int API(mallopt)(int param, int value)
{
    switch (param) {
    case M_MMAP_THRESHOLD:
        if (value < 0 || (size_t)value > HUGE_THRESHOLD_MAX)
            return 0;
        huge_threshold = (size_t)value;
        return 1;
    case M_TRIM_THRESHOLD:
        if (value < 0)
            return 0;
        pool_hot_max = (size_t)value / CHUNK;
        return 1;
    default:
        return 0;
    }
}
