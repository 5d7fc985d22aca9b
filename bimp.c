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
#include <stdio.h> /* FILE, fwrite: only for malloc_info's caller-given stream */
#include <string.h>
#include <strings.h> /* strncasecmp */

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


/* Compiler specifics, in one place. */
#define EXPORT __attribute__((visibility("default")))
#define NOINLINE __attribute__((noinline))
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define COLD __attribute__((cold, noinline))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CACHE_ALIGNED _Alignas(64)
#define CONSTRUCTOR __attribute__((constructor))
#define DESTRUCTOR __attribute__((destructor))
#define TLS_INITIAL_EXEC __thread __attribute__((tls_model("initial-exec")))
/* The threading layer: the single-threaded build (BIMP_SINGLE_THREADED)
 * turns atomics into plain operations and per-thread variables into plain
 * ones, here and in the lock and heap-of-the-thread definitions below; the
 * rest of the core tests THREADED, a constant, and has no #ifdef of it. */
#ifdef BIMP_SINGLE_THREADED
#define THREADED 0
#define PER_THREAD
#define ATOMIC(T) T
#define load_relaxed(p) (*(p))
#define load_acquire(p) (*(p))
#define store_relaxed(p, v) (*(p) = (v))
#define store_release(p, v) (*(p) = (v))
#define exchange_acquire(p, v) ({ __typeof__(*(p)) old_ = *(p); *(p) = (v); old_; })
/* compare_exchange(p, &expected, desired): true and *p = desired if *p was
 * expected, else false and expected = *p. */
#define compare_exchange(p, e, d) \
    ({ bool ok_ = *(p) == *(e); if (ok_) *(p) = (d); else *(e) = *(p); ok_; })
#define fetch_or(p, v) ({ __typeof__(*(p)) old_ = *(p); *(p) |= (v); old_; })
#define fetch_add(p, v) ({ __typeof__(*(p)) old_ = *(p); *(p) += (v); old_; })
#define fetch_sub(p, v) ({ __typeof__(*(p)) old_ = *(p); *(p) -= (v); old_; })
#define fetch_and(p, v) ({ __typeof__(*(p)) old_ = *(p); *(p) &= (v); old_; })
#else
#include <stdatomic.h>
#define THREADED 1
#define PER_THREAD TLS_INITIAL_EXEC
#define ATOMIC(T) _Atomic(T)
#define load_relaxed(p) atomic_load_explicit(p, memory_order_relaxed)
#define load_acquire(p) atomic_load_explicit(p, memory_order_acquire)
#define store_relaxed(p, v) atomic_store_explicit(p, v, memory_order_relaxed)
#define store_release(p, v) atomic_store_explicit(p, v, memory_order_release)
#define exchange_acquire(p, v) atomic_exchange_explicit(p, v, memory_order_acquire)
#define compare_exchange(p, e, d) \
    atomic_compare_exchange_weak_explicit(p, e, d, memory_order_acq_rel, memory_order_relaxed)
#define fetch_or(p, v) atomic_fetch_or_explicit(p, v, memory_order_acq_rel)
#define fetch_add(p, v) atomic_fetch_add_explicit(p, v, memory_order_relaxed)
#define fetch_sub(p, v) atomic_fetch_sub_explicit(p, v, memory_order_relaxed)
#define fetch_and(p, v) atomic_fetch_and_explicit(p, v, memory_order_acq_rel)
#endif
/* A statistics counter: written by its heap's owner only, with plain adds
 * (the fast paths cannot afford more), and read by others only through
 * peek() in gather(), which ThreadSanitizer is told to ignore: the figures
 * may lag, an aligned word is never torn. */
#define count(x, v) ((x) += (v))
#define peek(x) (*(volatile __typeof__(x) *)&(x))
#define NO_THREAD_SANITIZER __attribute__((no_sanitize("thread")))

/* ======================================================================== */
/* Block and chunk layout                                                   */
/* ======================================================================== */
/*
 * A chunk (CHUNK bytes, aligned to CHUNK) is a stack of blocks:
 *
 *   chunk                                                         chunk + CHUNK
 *   |                                                                        |
 *   [chunk hdr][h|payload...][h|  free, binned   ][h|payload][p| free tail  ]
 *              ^first        ^                    ^top       ^cursor        end
 *               <- prev ---- |  <----- prev ----- | <- prev -|
 *               ---- stride ->---------- stride -->- stride ->
 *
 * Each block starts with an 8-byte header h: `prev`, the distance back to the
 * previous block's header in bytes (0 for the first block), and `info`,
 * the block's stride (header plus payload) in granules above 4 flag bits.
 * The header slot at the cursor (p) has a `prev` too: the top block's stride.
 * Payloads are aligned to GRANULE; strides are multiples of GRANULE and at
 * least MIN_STRIDE, so that a free block's payload holds its two bin links.
 *
 * Invariants (check_chunk asserts 1-4, 7 and 8 after every operation, check_heap all):
 *  1. Walking from `first` by strides lands exactly on `cursor`; every
 *     block's prev equals the stride of the block before it.
 *  2. The last block, the top, is in use, or the chunk is empty and
 *     cursor == first.
 *  3. Every block below the cursor is either in use or free; a free block is
 *     binned, on exactly one bin, the one of its stride's class, or it is its
 *     heap's hole, on no bin.  Two free blocks are neighbours only if one of
 *     them is small (stride at most QUICK_MAX): a small block freed below the
 *     top is binned without merging, and merged later (consolidate), so a
 *     pop may sweep several free blocks behind the top.
 *  4. By 2, a chunk is empty exactly when its top pops down to `first`: it
 *     needs no count of live blocks.  An empty chunk is either its heap's
 *     current chunk or back in the pool.
 *  5. Only the owner writes headers, except the atomic REMOTE mark set by the
 *     thread that frees a block it does not own; each marked block is applied
 *     by the owner exactly once.
 *  6. cursor <= end.  Memory at or above `end`, the cursor's slot (invariant
 *     8) aside, has not been written since the chunk was fresh or purged: it
 *     reads as zero.  Pushes stay below `end`, which malloc's slow path
 *     raises by steps, so pops keep no high-water mark; calloc skips memset
 *     on what its push placed above the old `end` (the slot is no payload).
 *  7. A block's prev has PREV_FREE set exactly when the block before it is
 *     free, so that freeing a block never reads its neighbour behind unless
 *     that one is free (a cache miss saved on most frees below the top).
 *  8. The `prev` of the header slot at the cursor is the top block's stride,
 *     0 in an empty chunk: a push writes it for the next push, so pushes
 *     need no pointer to the top, and a pop finds the new top's slot filled.
 *  9. A thread's copy of its heap's current chunk (my_cur) is h->cur, so
 *     that malloc's fast path reaches the cursor in one load fewer.
 *
 * A huge block is a mapping of its own, aligned to CHUNK and a whole number
 * of CHUNKs long: [length][offset][pad][h|payload...], with h.prev the byte
 * offset of h from the mapping's start (also kept in the mapping's second
 * word) and HUGE in info.
 *
 * The address map records, for every CHUNK-sized unit of the address space,
 * whether it is a chunk of Bimp's, (part of) a huge block, or not Bimp's; free
 * consults it for pointers outside the break, so that it never reads memory
 * Bimp does not own.
 */

#define GRANULE ((size_t)BIMP_ALIGN)
#define HEADER ((size_t)8)
#define MIN_STRIDE (GRANULE > 32 ? GRANULE : (size_t)32)
#define CHUNK ((size_t)1 << BIMP_CHUNK_SHIFT)

enum {
    B_INUSE = 1,  /* handed out to the program */
    B_BINNED = 2, /* free and on the bin of its class */
    B_REMOTE = 4, /* freed by another thread, waiting in the owner's inbox */
    B_HUGE = 8,   /* a mapping of its own */
    FLAG_BITS = 4,
};
/* In use, and sampled by the heap profile: its free goes the slow way
 * (release_checked), which tells the profile.  The top bit of info, above
 * any stride. */
#define B_SAMPLED ((uint32_t)1 << 31)

typedef struct block {
    uint32_t prev; /* back distance in bytes, | PREV_FREE */
    ATOMIC(uint32_t) info;
} block;

/* In `prev`: the block before is free (invariant 7).  Only the owner writes
 * `prev`, so the bit needs no atomic, unlike the flags in `info`. */
#define PREV_FREE ((uint32_t)1 << 31)

_Static_assert(sizeof(block) == HEADER, "block header must be 8 bytes");

/* A free block's payload: its bin's links, stored encoded (set_link), so
 * that a pointer the program writes there after the free decodes to no
 * block, and is caught before it is followed (follow).  `prev` is
 * meaningless in the block that heads its bin (h->bins[i] says which that
 * is): popping the head then touches no other block. */
typedef struct {
    uintptr_t next, prev;
} links;

_Static_assert(MIN_STRIDE - HEADER >= sizeof(links), "a free block must hold its links");

enum chunk_state { CH_CURRENT, CH_RESUME, CH_FULL, CH_FREE };

typedef struct heap heap;

typedef struct chunk {
    ATOMIC(heap *) owner; /* NULL while in the pool */
    /* The owner's free reads owner and cursor together: one cache line, though
     * other threads' frees read owner while the owner writes the rest
     * (a line of their own cost single-threaded churn 16% more misses). */
    char *cursor;     /* where the next block's header goes; the top block ends here */
    char *end;        /* pushes stay below it (invariant 6); at most chunk_end() */
    uint8_t state;    /* enum chunk_state; CH_FREE only under the global lock */
    bool purged;      /* in the pool with its pages given back */
    char *end_then;   /* end when the chunk last became current, for calloc */
    struct chunk *next, *prev;         /* resume list of its heap, or the pool */
    struct chunk *next_own, *prev_own; /* all chunks of its heap */
    uint64_t released_ms;              /* when it entered the pool */
} chunk;

/* Chunks are on intrusive doubly linked lists (a heap's own chunks, its
 * resume list, the pool): push at the head, and unlink in O(1). */
#define LIST_PUSH(head, c, next, prev) \
    do { \
        (c)->prev = NULL; \
        (c)->next = (head); \
        if ((c)->next) \
            (c)->next->prev = (c); \
        (head) = (c); \
    } while (0)

#define LIST_UNLINK(head, c, next, prev) \
    do { \
        if ((c)->prev) \
            (c)->prev->next = (c)->next; \
        else \
            (head) = (c)->next; \
        if ((c)->next) \
            (c)->next->prev = (c)->prev; \
    } while (0)

/* The first block's header sits so that its payload is GRANULE-aligned. */
#define FIRST_OFFSET (((sizeof(chunk) + HEADER + GRANULE - 1) & ~(GRANULE - 1)) - HEADER)

/* A chunk whose free tail is at least this large is worth resuming. */
#define RESUME_MIN (CHUNK / 4)

/* Bins.  Strides up to SMALL_MAX have one bin each (exact fit); above,
 * MEDIUM_SPLIT bins share each doubling, up to the largest stride a chunk
 * holds.  Every bin constant is derived from these three. */
#define SMALL_SHIFT 10
#define SMALL_MAX ((size_t)1 << SMALL_SHIFT)
#define MEDIUM_SPLIT_SHIFT 2 /* four bins per doubling */
#define MEDIUM_SPLIT (1u << MEDIUM_SPLIT_SHIFT)
#define SMALL_BINS (SMALL_MAX / GRANULE + 1)
#define MEDIUM_BINS ((BIMP_CHUNK_SHIFT - SMALL_SHIFT + 1) * MEDIUM_SPLIT)
#define NBINS (SMALL_BINS + MEDIUM_BINS)
#define BITMAP_WORDS ((NBINS + 63) / 64)

/* Small blocks freed below a top are binned as they are, without merging
 * (glibc's fastbins and tcache do the same): the free then touches no
 * neighbour's bin links, and the block is reused at once, and in the order
 * of the frees, by the next request of its size.  consolidate merges them
 * when memory runs short (invariant 3). */
#define QUICK_MAX SMALL_MAX
#define QUICK_CAP 16 /* phase: unbounded, 1.8x the time (its nodes end up scattered) */
_Static_assert(QUICK_MAX <= SMALL_MAX, "unmerged blocks are counted per small bin (on_bin)");

/* The small bin of an exact stride (stride <= SMALL_MAX). */
static inline unsigned small_bin(size_t stride)
{
    return (unsigned)(stride / GRANULE);
}

static inline unsigned bin_of(size_t stride)
{
    if (stride <= SMALL_MAX)
        return small_bin(stride);
    unsigned log = 63 - (unsigned)__builtin_clzll(stride);
    return (unsigned)(SMALL_BINS + (log - SMALL_SHIFT) * MEDIUM_SPLIT +
                      ((stride >> (log - MEDIUM_SPLIT_SHIFT)) & (MEDIUM_SPLIT - 1)));
}

/* info keeps stride / GRANULE above the flags: with GRANULE at least
 * 1 << FLAG_BITS that is the stride itself, scaled down by INFO_SCALE, with
 * the flags in its low bits (which are zero in any stride), so converting
 * takes one instruction or two. */
#define INFO_SCALE (GRANULE >= (1u << FLAG_BITS) ? GRANULE >> FLAG_BITS : 1)

static inline size_t stride_of(uint32_t info)
{
    if (GRANULE >= (1u << FLAG_BITS))
        return (size_t)(info & ~((1u << FLAG_BITS) - 1) & ~B_SAMPLED) * INFO_SCALE;
    return (size_t)((info & ~B_SAMPLED) >> FLAG_BITS) * GRANULE;
}

static inline block *header_of(void *p)
{
    return (block *)((char *)p - HEADER);
}

static inline void *payload_of(block *b)
{
    return (char *)b + HEADER;
}

static inline links *links_of(block *b)
{
    return (links *)payload_of(b);
}

/* Bin links are stored as the pointer xor a per-process secret: what a use
 * after free writes over a link decodes to garbage, which follow() refuses.
 * The secret is set once, before the first block is binned. */
static uintptr_t link_secret;

static inline block *get_link(const uintptr_t *field)
{
    return (block *)(*field ^ link_secret);
}

static inline void set_link(uintptr_t *field, block *to)
{
    *field = (uintptr_t)to ^ link_secret;
}

static inline block *next_of(block *b)
{
    return get_link(&links_of(b)->next);
}

/* The link of a block freed by another thread, in its batch or its owner's
 * inbox (plain pointers: remote_block checks what they lead to). */
static inline block **link_of(block *b)
{
    return (block **)payload_of(b);
}

static inline block *prev_of(block *b)
{
    return get_link(&links_of(b)->prev);
}

static inline chunk *chunk_of(block *b)
{
    return (chunk *)((uintptr_t)b & ~(uintptr_t)(CHUNK - 1));
}

static inline char *first_of(chunk *c)
{
    return (char *)c + FIRST_OFFSET;
}

/* Where c's blocks may end: the cursor's slot (invariant 8) stays inside. */
static inline char *chunk_end(chunk *c)
{
    return (char *)c + CHUNK - HEADER;
}

static inline bool chunk_empty(chunk *c)
{
    return c->cursor == first_of(c);
}

/* Block b of c, `stride` bytes, is the top block. */
static inline bool is_top(chunk *c, block *b, size_t stride)
{
    return (char *)b + stride == c->cursor;
}

/* The cursor of c moves to `to`, the end of its top block of `stride`
 * bytes: the slot there gets its back distance (invariant 8). */
static inline void move_cursor(chunk *c, char *to, size_t stride)
{
    c->cursor = to; /* the chunk first: the header stores cannot alias it */
    ((block *)to)->prev = (uint32_t)stride;
}

static inline block *after(block *b, size_t stride)
{
    return (block *)((char *)b + stride);
}

/* The stride that holds n bytes of payload; n must be below PTRDIFF_MAX. */
static inline size_t stride_for(size_t n)
{
    size_t s = (n + HEADER + GRANULE - 1) & ~(GRANULE - 1);
    return s < MIN_STRIDE ? MIN_STRIDE : s;
}

static inline uint32_t info_make(size_t stride, uint32_t flags)
{
    if (GRANULE >= (1u << FLAG_BITS))
        return (uint32_t)(stride / INFO_SCALE) | flags;
    return (uint32_t)(stride / GRANULE) << FLAG_BITS | flags;
}

/* ======================================================================== */
/* State                                                                    */
/* ======================================================================== */

#ifdef BIMP_SINGLE_THREADED
typedef int lock_t;
static const int locks_held = 0;
static inline void lock(lock_t *l) { (void)l; }
static inline void unlock(lock_t *l) { (void)l; }
#else
typedef os_lock lock_t;
/* How many of Bimp's locks the thread holds, or is about to take: a fork
 * from a signal handler that interrupted one of them must not wait for it
 * (before_fork).  Counted before the lock is taken and after it is let go,
 * with compiler fences, as a handler on this thread would see it. */
static TLS_INITIAL_EXEC int locks_held;
static inline void lock(lock_t *l)
{
    locks_held++;
    atomic_signal_fence(memory_order_seq_cst);
    os_lock_acquire(l);
}
static inline void unlock(lock_t *l)
{
    os_lock_release(l);
    atomic_signal_fence(memory_order_seq_cst);
    locks_held--;
}
#endif

enum heap_state { H_OWNED, H_ORPHAN };

/* What a heap's owner did, for the statistics (bimp_stats). */
typedef struct {
    size_t bumped, exact, refit;             /* allocations: pushed, exact bin, split bin */
    size_t swept;                            /* free blocks popped behind a top */
    size_t below, below_bytes;               /* frees below the top */
    size_t remote, remote_bytes;             /* frees this thread made of others' blocks */
} counts;

struct heap {
    chunk *cur;           /* the chunk malloc bumps into; never released */
    block *bins[NBINS];   /* free blocks below the tops of this heap's chunks (and MEDIUM_PROBE) */
    uint32_t on_bin[SMALL_BINS]; /* how many blocks each small bin holds */
    uint64_t nonempty[BITMAP_WORDS]; /* bit i: bins[i] is not empty */
    chunk *resume;        /* chunks with a large free tail */
    chunk *chunks;        /* every chunk this heap owns */
    size_t handed_out;    /* bytes (strides) malloc gave, net of in-place resizes */
    size_t binned;        /* bytes of binned blocks, the hole's too */
    size_t unmerged;      /* bytes of small blocks binned unmerged since the last consolidate */
    block *hole;          /* a free run that malloc carves front to back: on no bin */
    counts n;
    heap *next_all;       /* every heap ever made: append-only */
    heap *next_orphan;
    /* Remote frees this thread made, not yet handed to their owner: a batch
     * for one heap, linked through payloads, sent with one atomic. */
    heap *out_to;
    block *out_first, *out_last;
    unsigned out_count;
    /* What other threads use, on a cache line of its own: the owner writes
     * the fields above all the time. */
    CACHE_ALIGNED ATOMIC(block *) inbox; /* remote frees, linked through payloads */
    ATOMIC(int) state;    /* enum heap_state */
    lock_t lock;          /* held while working on an orphaned heap */
};

/* The sentinels, one chunk and three heaps that hold no memory, so that the
 * fast paths need no NULL tests:
 *   empty_chunk      the current chunk of a heap that has none yet: it never
 *                    has room, so the first malloc takes the slow path;
 *   unattached_heap  the heap of a thread that has not allocated yet
 *                    (attach_heap gives it a real one);
 *   exited_heap      the heap of a thread whose exit hook ran (its real heap
 *                    is orphaned by then);
 *   late_heap        a real heap, always orphaned and used under its lock,
 *                    for the allocations of threads past their exit hook.
 * (The single-threaded build has one real heap, the_heap, and no others.) */
static chunk empty_chunk = {
    .cursor = (char *)&empty_chunk, .end = (char *)&empty_chunk,
    .state = CH_CURRENT,
};

#define EMPTY_HEAP_INIT { .cur = &empty_chunk, .state = H_OWNED }

static heap unattached_heap = EMPTY_HEAP_INIT;
static heap exited_heap = EMPTY_HEAP_INIT;
static heap late_heap = { .cur = &empty_chunk, .state = H_ORPHAN };

#ifdef BIMP_SINGLE_THREADED
static heap the_heap = EMPTY_HEAP_INIT;
static ptrdiff_t the_countdown;
static inline ptrdiff_t *my_countdown(void) { return &the_countdown; }
static inline heap *my_heap(void) { return &the_heap; }
static inline void set_my_heap(heap *h) { (void)h; }
static inline chunk *my_cur(heap *h) { return h->cur; }
static inline void set_cur(heap *h, chunk *c) { h->cur = c; }
#else
/* The thread's heap, and a copy of its current chunk (invariant 9). */
static TLS_INITIAL_EXEC struct {
    heap *heap;
    chunk *cur;
    ptrdiff_t countdown; /* bytes to allocate before the next profile sample */
} mine = { &unattached_heap, &empty_chunk, 0 };
static inline ptrdiff_t *my_countdown(void) { return &mine.countdown; }
static inline heap *my_heap(void) { return mine.heap; }
static inline void set_my_heap(heap *h)
{
    mine.heap = h;
    mine.cur = h->cur;
}
/* The current chunk of h, the caller's heap. */
static inline chunk *my_cur(heap *h)
{
    (void)h;
    return mine.cur;
}
static inline void set_cur(heap *h, chunk *c)
{
    h->cur = c;
    if (h == mine.heap)
        mine.cur = c;
}
#endif

/* The bitmap of non-empty bins: bit i of h->nonempty says bins[i] has a block. */
static inline void mark_bin(heap *h, unsigned i)
{
    h->nonempty[i / 64] |= (uint64_t)1 << (i % 64);
}

static inline void unmark_bin(heap *h, unsigned i)
{
    h->nonempty[i / 64] &= ~((uint64_t)1 << (i % 64));
}

static inline bool bin_marked(heap *h, unsigned i)
{
    return (h->nonempty[i / 64] >> (i % 64)) & 1;
}

/* The first non-empty bin at or above i, or NBINS. */
static inline unsigned next_bin(heap *h, unsigned i)
{
    for (unsigned w = i / 64; w < BITMAP_WORDS; w++) {
        uint64_t bits = h->nonempty[w];
        if (w == i / 64)
            bits &= ~(uint64_t)0 << (i % 64);
        if (bits)
            return w * 64 + (unsigned)__builtin_ctzll(bits);
    }
    return NBINS;
}

/* bins[MEDIUM_PROBE] is no stride's bin (every stride is at least one
 * granule) and heads no list: it is NULL exactly when every medium bin is
 * empty, else the last block binned on one (which may have left it since).
 * So malloc's fast path learns with one load, and no branch on the size,
 * whether a small stride's bin, or any medium bin, holds a block. */
#define MEDIUM_PROBE 0u

static inline unsigned probe_of(size_t stride)
{
    /* stride <= SMALL_MAX ? stride / GRANULE : MEDIUM_PROBE, as a mask that
     * the compiler cannot turn back into a branch */
    _Static_assert(MEDIUM_PROBE == 0, "the mask makes MEDIUM_PROBE");
    return small_bin(stride) & -(unsigned)(stride <= SMALL_MAX);
}

/* Process-wide state; everything but the atomics is guarded by `lock`. */
static struct {
    lock_t lock;
    bool initialised;
    ATOMIC(int) threads_ready; /* 0, 1 while os_thread_init runs, 2 after */
    /* Where chunks come from. */
    char *brk_start, *brk_end; /* our part of the break; NULL before first use */
    bool brk_failed;           /* the break could not grow, or somebody else moved it */
    char *fresh, *fresh_end;   /* segment space not yet cut into chunks */
    size_t segment_bytes;      /* taken from the OS for chunks */
    /* Free chunks, in address order so the lowest are reused first and the
     * break can shrink; `hot` ones still have their pages. */
    chunk *pool, *pool_last;
    size_t pool_count, hot_count;
    uint64_t maintained_ms;
    /* Heaps. */
    ATOMIC(heap *) all_heaps;
    heap *orphans;
    char *meta, *meta_end;     /* space for heap structs */
    /* Huge blocks. */
    ATOMIC(size_t) huge_count, huge_bytes, huge_peak_count, huge_peak_bytes;
    ATOMIC(size_t) huge_allocs, huge_frees, huge_freed_bytes, huge_reused;
    /* Statistics of the rare paths; guarded by `lock` or atomic. */
    size_t chunk_resets, brk_grows, brk_shrinks, peak_segment_bytes;
    ATOMIC(size_t) heaps_made, heaps_adopted;
    ATOMIC(size_t) maps, unmaps, purges;
    ATOMIC(int) options_read;
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

/* End the line and write it to fd; a line longer than the buffer is cut
 * with "...", and keeps its newline. */
static void put_line_to(text *t, int fd)
{
    if (t->len == sizeof t->buf) {
        t->len -= 4;
        put_str(t, "...");
    }
    put_str(t, "\n");
    os_write(fd, t->buf, t->len);
    t->len = 0;
}

static void put_line(text *t)
{
    put_line_to(t, 2);
}

/* n in people's units: 1234567 is "1.2 M", or "1.2 MiB" for bytes. */
static void put_human(text *t, size_t n, bool bytes)
{
    static const char *const units[2][5] = { { "", " k", " M", " G", " T" },
                                             { " B", " KiB", " MiB", " GiB", " TiB" } };
    size_t base = bytes ? 1024 : 1000, whole = n, tenths = 0;
    int u = 0;
    while (whole >= base && u < 4) {
        tenths = (whole % base) * 10 / base;
        whole /= base;
        u++;
    }
    put_uint(t, whole, 10, 0);
    if (u > 0 && whole < 100) {
        put_str(t, ".");
        put_uint(t, tenths, 10, 0);
    }
    put_str(t, units[bytes][u]);
}

/* Pad the line with spaces to column `col`. */
static void put_column(text *t, size_t col)
{
    size_t start = t->len;
    while (start > 0 && t->buf[start - 1] != '\n')
        start--;
    while (t->len - start < col && t->len < sizeof t->buf)
        t->buf[t->len++] = ' ';
}

/* Which process a report is of: `pid N (program)`. */
static void put_process(text *t)
{
    put_str(t, "pid ");
    put_uint(t, (unsigned long long)os_pid(), 10, 0);
    put_str(t, " (");
    put_str(t, os_program_name());
    put_str(t, ")");
}

/* A file name from a pattern: %p becomes the process id. */
static void expand_pid(text *t, const char *pattern)
{
    for (const char *c = pattern; *c; c++) {
        if (c[0] == '%' && c[1] == 'p') {
            put_uint(t, (unsigned long long)os_pid(), 10, 0);
            c++;
        } else {
            char one[2] = { *c, 0 };
            put_str(t, one);
        }
    }
}

/* A report file for BIMP_STATS_FILE or BIMP_PROFILE_FILE: the pattern with
 * %p expanded, then `suffix`; created or truncated.  Standard error, with a
 * line that says so, if it cannot be created.  The caller closes it (not 2). */
static int create_report(const char *pattern, const char *suffix)
{
    text path = { .len = 0 };
    expand_pid(&path, pattern);
    put_str(&path, suffix);
    path.buf[path.len < sizeof path.buf ? path.len : sizeof path.buf - 1] = 0;
    int fd = os_create(path.buf);
    if (fd >= 0)
        return fd;
    text t = { .len = 0 };
    put_str(&t, "bimp: cannot create ");
    put_str(&t, path.buf);
    put_str(&t, ", writing to stderr instead");
    put_line(&t);
    return 2;
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

/* What the corruption checks found, for corrupt()'s message. */
#define OVERWRITTEN_HEADER "header overwritten, likely an overflow from the block before"
#define OVERWRITTEN_FREE "free block overwritten, likely a use after free or an overflow from the block before"
#define OVERWRITTEN_LINK "free block's link overwritten, likely a use after free"
#define OVERWRITTEN_TOP "memory past the top block overwritten, likely an overflow from it"

/* The one path for damaged metadata: `bimp: heap corruption at <block>
 * (in <function>): <why>`, then abort.  `function` may be NULL where the
 * check sits below every entry point (merging, bins). */
static COLD _Noreturn void corrupt(const void *block_at, const char *why, const char *function)
{
    text t = { .len = 0 };
    put_str(&t, "bimp: heap corruption at 0x");
    put_uint(&t, (uintptr_t)block_at + HEADER, 16, 0);
    if (function) {
        put_str(&t, " (in ");
        put_str(&t, function);
        put_str(&t, ")");
    }
    put_str(&t, ": ");
    put_str(&t, why);
    put_line(&t);
    os_fatal();
}

#define REQUIRE(cond, what, p) \
    do { \
        if (!(cond)) \
            fatal("invariant broken: " what, p, __func__); \
    } while (0)

static inline block *follow(block *from, block *to); /* a bin link, checked */

/* Invariants 1-4 and 6-8 of one chunk, as far as the chunk alone shows them;
 * the caller owns it.  Returns the bytes of its binned blocks. */
static size_t check_chunk(chunk *c)
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
        bool free = !(info & B_INUSE);
        REQUIRE(stride >= MIN_STRIDE && stride % GRANULE == 0, "block stride", b);
        REQUIRE(((uintptr_t)payload_of(b) & (GRANULE - 1)) == 0, "payload alignment", b);
        REQUIRE(prev ? (b->prev & ~PREV_FREE) == (size_t)(at - prev) : b->prev == 0,
                "back distance", b);
        REQUIRE(!!(b->prev & PREV_FREE) == prev_free, "prev-free bit", b);
        REQUIRE(!(info & B_HUGE), "huge flag inside a chunk", b);
        REQUIRE(free == !!(info & B_BINNED), "free exactly when binned", b);
        REQUIRE(!(free && prev_free) || stride <= QUICK_MAX || prev_stride <= QUICK_MAX,
                "two large free neighbours", b);
        if (free && b != h->hole) {
            block *next = follow(b, next_of(b)), *on_bin_before;
            REQUIRE(h->bins[bin_of(stride)] == b ||
                        ((on_bin_before = follow(b, prev_of(b))) && next_of(on_bin_before) == b &&
                         bin_of(stride_of(on_bin_before->info)) == bin_of(stride)),
                    "binned block on the bin of its class", b);
            REQUIRE(!next || prev_of(next) == b, "bin links", b);
        }
        if (free)
            binned += stride;
        prev_free = free;
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
static void check_heap(heap *h)
{
    REQUIRE(h->cur == &empty_chunk || (load_relaxed(&h->cur->owner) == h && h->cur->state == CH_CURRENT),
            "current chunk", h->cur);
    REQUIRE(h != my_heap() || my_cur(h) == h->cur, "thread's copy of the current chunk", h->cur);
    size_t binned = 0;
    for (chunk *c = h->chunks; c; c = c->next_own) {
        REQUIRE(load_relaxed(&c->owner) == h && (!c->next_own || c->next_own->prev_own == c), "chunk list", c);
        REQUIRE(c->state != CH_CURRENT || c == h->cur, "one current chunk", c);
        binned += check_chunk(c);
    }
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
        for (block *b = h->bins[i]; b; b = follow(b, next_of(b))) {
            uint32_t info = load_relaxed(&b->info);
            REQUIRE(info & B_BINNED && !(info & B_INUSE) && bin_of(stride_of(info)) == i,
                    "binned block's class", b);
            REQUIRE(load_relaxed(&chunk_of(b)->owner) == h, "binned block's heap", b);
            on_bins += stride_of(info);
            REQUIRE(on_bins <= binned, "a block on two bins", b);
        }
    }
    if (h->hole) {
        REQUIRE(load_relaxed(&chunk_of(h->hole)->owner) == h &&
                (load_relaxed(&h->hole->info) & (B_BINNED | B_INUSE)) == B_BINNED, "the hole", h->hole);
        on_bins += stride_of(load_relaxed(&h->hole->info));
    }
    REQUIRE(on_bins == binned && binned == h->binned, "binned bytes", h);
}

/* ======================================================================== */
/* Options                                                                  */
/* ======================================================================== */

/* Run-time options: one table, read once at start-up from BIMP_* variables
 * of the environment (ignored in setuid and setgid programs), several also
 * set by mallopt. */
#define HUGE_THRESHOLD_MAX (CHUNK / 2)

static size_t opt_verbose, opt_show_stats;
/* String options (file names) hold at most this many bytes, the 0 too. */
#define OPTION_TEXT_MAX 256
/* BIMP_PROFILE, its sampling rate and its file (the heap profile). */
static size_t opt_profile, profile_rate = (size_t)512 << 10;
static char profile_file[OPTION_TEXT_MAX];
/* Requests above this many bytes get a mapping of their own; at most half a
 * chunk, so a chunk holds two, and never below SMALL_MAX (set_huge_threshold
 * keeps both, wherever the value comes from). */
static size_t huge_threshold = HUGE_THRESHOLD_MAX;

static void set_huge_threshold(size_t bytes)
{
    huge_threshold = bytes < SMALL_MAX ? SMALL_MAX : bytes > HUGE_THRESHOLD_MAX ? HUGE_THRESHOLD_MAX : bytes;
}
/* Bytes of free chunks kept with their pages at most, and for how long.
 * Unless the program or the environment sets the threshold, the pool may
 * keep more (POOL_KEEP_SHARE), as glibc's threshold is dynamic until set. */
static size_t pool_keep_bytes = 8 * CHUNK;
static bool pool_keep_set;
static size_t purge_delay_ms = 1000;
/* Freed huge mappings kept for reuse: how many bytes at most, how long. */
static size_t huge_cache_max = (size_t)128 << 20;
static size_t huge_delay_ms = 1000;

/* BIMP_STATS_FILE: where BIMP_SHOW_STATS writes, %p standing for the pid;
 * empty for standard error. */
static char stats_file[OPTION_TEXT_MAX];

/* BIMP_SHOW_STATS's values: 0 off, 1 the text report, 2 JSON. */
enum { STATS_OFF, STATS_TEXT, STATS_JSON };
static const char *const show_stats_words[] = { "0", "text", "json", NULL };

static const struct option {
    const char *name;
    size_t *value;       /* a number (parse_size), at most max ... */
    size_t max;
    const char *meaning;
    bool *set;           /* if not NULL: becomes true when the variable sets the option */
    const char *const *words; /* ... or, if not NULL, words[v] also means v */
    char *text;          /* a string option instead: copied here (OPTION_TEXT_MAX bytes) */
} options[] = {
    { .name = "BIMP_VERBOSE", .value = &opt_verbose, .max = 1,
      .meaning = "print version, build and options at start-up" },
    { .name = "BIMP_SHOW_STATS", .value = &opt_show_stats, .max = STATS_JSON,
      .meaning = "statistics at exit: 1 or text, 2 or json", .words = show_stats_words },
    { .name = "BIMP_STATS_FILE", .text = stats_file,
      .meaning = "file for them, %p the pid (default: stderr)" },
    { .name = "BIMP_PROFILE", .value = &opt_profile, .max = 1,
      .meaning = "heap profile: sample allocations, report at exit" },
    { .name = "BIMP_PROFILE_RATE", .value = &profile_rate, .max = (size_t)1 << 40,
      .meaning = "bytes allocated per sample, on average" },
    { .name = "BIMP_PROFILE_FILE", .text = profile_file,
      .meaning = "file for the profile, %p the pid (default: stderr)" },
    { .name = "BIMP_MMAP_THRESHOLD", .value = &huge_threshold, .max = HUGE_THRESHOLD_MAX,
      .meaning = "bytes above which a request gets a mapping of its own" },
    { .name = "BIMP_TRIM_THRESHOLD", .value = &pool_keep_bytes, .max = (size_t)1 << 40,
      .meaning = "bytes of free chunks kept with their pages", .set = &pool_keep_set },
    { .name = "BIMP_PURGE_DELAY", .value = &purge_delay_ms, .max = 3600000,
      .meaning = "milliseconds a free chunk keeps its pages" },
    { .name = "BIMP_HUGE_CACHE", .value = &huge_cache_max, .max = (size_t)1 << 40,
      .meaning = "bytes of freed huge blocks kept for reuse" },
    { .name = "BIMP_HUGE_DELAY", .value = &huge_delay_ms, .max = 3600000,
      .meaning = "milliseconds a freed huge block is kept" },
};

#define OPTION_COUNT (sizeof options / sizeof options[0])

/* A decimal number with an optional k, M or G suffix (powers of 1024). */
static bool parse_size(const char *v, size_t *out)
{
    size_t n = 0, scale = 1;
    if (*v < '0' || *v > '9')
        return false;
    for (; *v >= '0' && *v <= '9'; v++) {
        if (n > (SIZE_MAX - 9) / 10)
            return false;
        n = n * 10 + (size_t)(*v - '0');
    }
    switch (*v) {
    case 'k': case 'K': scale = (size_t)1 << 10; v++; break;
    case 'm': case 'M': scale = (size_t)1 << 20; v++; break;
    case 'g': case 'G': scale = (size_t)1 << 30; v++; break;
    }
    if (*v || n > SIZE_MAX / scale)
        return false;
    *out = n * scale;
    return true;
}

/* The edit distance of two names, at most 3 counted (more is "far"). */
static unsigned name_distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b);
    unsigned row[40], next[40];
    if (la >= 40 || lb >= 40)
        return 4;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        next[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned sub = row[j - 1] + (a[i - 1] != b[j - 1]);
            unsigned del = row[j] + 1, ins = next[j - 1] + 1;
            next[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(row, next, sizeof row);
    }
    return row[lb] < 4 ? row[lb] : 4;
}

/* One warning line: the variable, why it is ignored, and what is accepted. */
static void warn_option(const char *entry, const struct option *o)
{
    text t = { .len = 0 };
    put_str(&t, "bimp: ignoring ");
    put_str(&t, entry);
    if (!o) {
        size_t len = strcspn(entry, "=");
        const char *best = NULL;
        unsigned best_distance = 3; /* suggest only a name at most 2 edits away, or differing in case */
        for (size_t k = 0; k < OPTION_COUNT; k++) {
            unsigned d = strncasecmp(entry, options[k].name, len) == 0 && !options[k].name[len]
                             ? 0 : name_distance(entry, len, options[k].name);
            if (d < best_distance)
                best = options[k].name, best_distance = d;
        }
        put_str(&t, ": not an option of Bimp");
        if (best) {
            put_str(&t, " (did you mean ");
            put_str(&t, best);
            put_str(&t, "?)");
        }
    } else if (o->text) {
        put_str(&t, ": longer than 255 bytes, default kept");
    } else {
        put_str(&t, ": not a number from 0 to ");
        put_uint(&t, o->max, 10, 0);
        put_str(&t, o->words ? "" : " (k, M, G: powers of 1024)");
        for (size_t w = 1; o->words && o->words[w]; w++) {
            put_str(&t, o->words[w + 1] ? ", " : " or ");
            put_str(&t, o->words[w]);
        }
        put_str(&t, ", default kept");
    }
    put_line(&t);
}

/* Read every BIMP_ variable once the environment exists; a value that does
 * not parse, or a name that is not an option, gets one warning line. */
static void read_options(void)
{
    int ready = 0;
    const char *entry;
    for (size_t i = 0; (entry = os_environ(i, &ready)); i++) {
        if (strncmp(entry, "BIMP_", 5) != 0)
            continue;
        const struct option *o = NULL;
        for (size_t k = 0; k < OPTION_COUNT && !o; k++) {
            size_t len = strlen(options[k].name);
            if (strncmp(entry, options[k].name, len) == 0 && entry[len] == '=')
                o = &options[k];
        }
        const char *v = o ? entry + strlen(o->name) + 1 : NULL;
        size_t value = SIZE_MAX;
        for (size_t w = 0; o && o->words && o->words[w]; w++)
            if (strcmp(v, o->words[w]) == 0)
                value = w;
        if (!o || (o->text && strlen(v) >= OPTION_TEXT_MAX))
            warn_option(entry, o);
        else if (o->text)
            memcpy(o->text, v, strlen(v) + 1);
        else if ((value == SIZE_MAX && !parse_size(v, &value)) || value > o->max)
            warn_option(entry, o);
        else {
            *o->value = value;
            if (o->set)
                *o->set = true;
        }
    }
    set_huge_threshold(huge_threshold); /* BIMP_MMAP_THRESHOLD's floor */
    store_relaxed(&g.options_read, ready);
}

static void print_options(void)
{
    text t = { .len = 0 };
    put_str(&t, "bimp " BIMP_VERSION ": loaded; align ");
    put_uint(&t, GRANULE, 10, 0);
    put_str(&t, ", chunk ");
    put_human(&t, CHUNK, true);
    if (!THREADED)
        put_str(&t, ", single-threaded");
#ifdef BIMP_SET_ERRNO
    put_str(&t, ", BIMP_SET_ERRNO");
#endif
#ifdef BIMP_DEBUG
    put_str(&t, ", debug checks");
#endif
#ifdef BIMP_PREFIX
    put_str(&t, "; prefixed build: bimp_malloc and the rest, malloc itself is not replaced");
#endif
    put_line(&t);
    for (size_t k = 0; k < OPTION_COUNT; k++) {
        put_str(&t, "bimp: ");
        put_str(&t, options[k].name);
        put_column(&t, 28);
        put_str(&t, "= ");
        if (options[k].text)
            put_str(&t, options[k].text[0] ? options[k].text : "(unset)");
        else
            put_uint(&t, *options[k].value, 10, 0);
        put_str(&t, " ");
        put_column(&t, 42);
        put_str(&t, options[k].meaning);
        put_line(&t);
    }
}

/* Break space kept beyond the last chunk in use before the break shrinks. */
#define BREAK_SLACK (4 * CHUNK)

/* ======================================================================== */
/* Core: the address map                                                    */
/* ======================================================================== */

enum unit_kind { U_NONE, U_CHUNK, U_HUGE_START, U_HUGE, U_HUGE_FREED };

#define LEAF_BITS 14
#define ROOT_SIZE ((size_t)1 << (OS_ADDRESS_BITS - BIMP_CHUNK_SHIFT - LEAF_BITS))
#define LOG2_GRANULE __builtin_ctz(BIMP_ALIGN)

/* Root of leaves of one byte (enum unit_kind) per CHUNK-sized unit. */
static ATOMIC(ATOMIC(uint8_t) *) unit_map[ROOT_SIZE];
static lock_t unit_map_lock;

/* The break's chunks, for free's fast check: pointers p with
 * p - fast_lo < fast_granules * GRANULE and GRANULE-aligned. */
static ATOMIC(uintptr_t) fast_lo, fast_granules;

static inline bool in_break(const void *p)
{
    uintptr_t x = (uintptr_t)p - load_relaxed(&fast_lo);
    x = x >> LOG2_GRANULE | x << (sizeof x * CHAR_BIT - LOG2_GRANULE);
    return x < load_relaxed(&fast_granules);
}

static unsigned unit_kind(uintptr_t a)
{
    uintptr_t u = a >> BIMP_CHUNK_SHIFT;
    if (u >> LEAF_BITS >= ROOT_SIZE)
        return U_NONE;
    ATOMIC(uint8_t) *leaf = load_acquire(&unit_map[u >> LEAF_BITS]);
    return leaf ? load_relaxed(&leaf[u & (((uintptr_t)1 << LEAF_BITS) - 1)]) : U_NONE;
}

/* Record [p, p + len), CHUNK-aligned, as `kind`; false if out of memory. */
static bool mark_units(void *p, size_t len, unsigned kind)
{
    uintptr_t first = (uintptr_t)p >> BIMP_CHUNK_SHIFT, end = first + len / CHUNK;
    if ((end - 1) >> LEAF_BITS >= ROOT_SIZE)
        return false;
    for (uintptr_t u = first; u < end; u++) {
        ATOMIC(uint8_t) *leaf = load_acquire(&unit_map[u >> LEAF_BITS]);
        if (!leaf) {
            lock(&unit_map_lock);
            leaf = load_relaxed(&unit_map[u >> LEAF_BITS]);
            if (!leaf && !(leaf = os_map((size_t)1 << LEAF_BITS, os_page_size()))) {
                unlock(&unit_map_lock);
                return false;
            }
            store_release(&unit_map[u >> LEAF_BITS], leaf);
            unlock(&unit_map_lock);
        }
        uint8_t tag = (uint8_t)(kind == U_HUGE_START && u != first ? U_HUGE : kind);
        store_relaxed(&leaf[u & (((uintptr_t)1 << LEAF_BITS) - 1)], tag);
    }
    return true;
}

/* The break's chunks changed: tell free's fast check. */
static void note_break(void)
{
    store_relaxed(&fast_granules, 0); /* briefly slower, never wrong */
    store_relaxed(&fast_lo, (uintptr_t)g.brk_start + GRANULE);
    if (g.brk_end > g.brk_start)
        store_relaxed(&fast_granules, (uintptr_t)(g.brk_end - g.brk_start - GRANULE) / GRANULE);
}

/* p could be a block of a chunk mapped outside the break (when the break
 * cannot grow): its header is Bimp's memory. */
static inline bool in_mapped_chunk(const void *p)
{
    return ((uintptr_t)p & (GRANULE - 1)) == 0 && unit_kind((uintptr_t)p - HEADER) == U_CHUNK;
}

/* ======================================================================== */
/* Core: metadata is checked before it is followed                          */
/* ======================================================================== */

/* What a program can overwrite (the headers next to its blocks, the links
 * inside the blocks it freed) is checked where Bimp follows it, against
 * what the rest of the heap says (boundary tags are double bookkeeping);
 * what fails a check stops the program (corrupt), before any pointer read
 * from it is followed. */

/* b lies in one of Bimp's chunks, its payload aligned: safe to read. */
static inline bool in_chunks(block *b)
{
    return in_break(payload_of(b)) || in_mapped_chunk(payload_of(b));
}

/* `to`, read from a bin link of `from`: NULL or a block in Bimp's chunks. */
static inline block *follow(block *from, block *to)
{
    if (to && UNLIKELY(!in_chunks(to)))
        corrupt(from, OVERWRITTEN_LINK, NULL);
    return to;
}

/* b, on bin i, is a free block of that bin: its stride. */
static inline size_t binned_stride(block *b, unsigned i, const char *function)
{
    uint32_t info = load_relaxed(&b->info);
    size_t stride = stride_of(info);
    if (UNLIKELY(info != info_make(stride, B_BINNED) || bin_of(stride) != i || stride < MIN_STRIDE))
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
                 load_relaxed(&p->info) != info_make(back, B_BINNED)))
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
    if (UNLIKELY(info != info_make(stride, B_BINNED) || stride < MIN_STRIDE ||
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
    if (at == (char *)b)
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

/* ======================================================================== */
/* Core: memory from the OS                                                 */
/* ======================================================================== */

static inline size_t align_up(size_t n, size_t a)
{
    return (n + a - 1) & ~(a - 1);
}

/* `step` more bytes of segment space from the break; false if it refuses. */
static bool grow_break(size_t step)
{
    char *at = NULL;
    if (!g.brk_end) {
        char *end = os_heap_grow(NULL, 0);
        size_t pad = end ? align_up((uintptr_t)end, CHUNK) - (uintptr_t)end : 0;
        if (end && os_heap_grow(end, pad + step)) {
            g.brk_start = g.brk_end = g.fresh = g.fresh_end = end + pad;
            at = g.brk_start;
        }
    } else if (g.fresh_end == g.brk_end && os_heap_grow(g.brk_end, step)) {
        at = g.brk_end;
    }
    if (!at || !mark_units(at, step, U_CHUNK))
        return false;
    g.fresh_end = g.brk_end = at + step;
    g.segment_bytes += step;
    g.brk_grows++;
    note_break();
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
    g.fresh = p;
    g.fresh_end = p + step;
    g.segment_bytes += step;
    fetch_add(&g.maps, 1);
    return true;
}

/* More segment space: the break first, an aligned mapping when it fails.
 * Steps grow with the heap (an eighth of it, four chunks at least); under
 * a tight limit (RLIMIT_DATA) a single chunk is tried before giving up. */
static bool grow_segments(void)
{
    size_t step = g.segment_bytes / 8;
    step = align_up(step < 4 * CHUNK ? 4 * CHUNK : step, CHUNK);
    if (!g.brk_failed) {
        if (grow_break(step) || grow_break(CHUNK))
            return true;
        g.brk_failed = true;
    }
    return grow_mapped(step) || grow_mapped(CHUNK);
}

static void pool_insert(chunk *c)
{
    chunk *at = g.pool_last;
    while (at && at > c)
        at = at->prev;
    c->prev = at;
    c->next = at ? at->next : g.pool;
    if (c->next)
        c->next->prev = c;
    else
        g.pool_last = c;
    if (at)
        at->next = c;
    else
        g.pool = c;
    g.pool_count++;
    g.hot_count += !c->purged;
}

static void pool_remove(chunk *c)
{
    if (!c->next)
        g.pool_last = c->prev;
    LIST_UNLINK(g.pool, c, next, prev);
    g.pool_count--;
    g.hot_count -= !c->purged;
}

/* Give a pooled chunk's pages back, all but the one its header is on. */
static void purge_chunk(chunk *c)
{
    size_t page = os_page_size();
    os_purge((char *)c + page, CHUNK - page);
    fetch_add(&g.purges, 1);
    c->purged = true;
    c->end = (char *)c + page;
    g.hot_count--;
}

/* Shrink the break over the free chunks at its end, keeping `slack` bytes. */
static void shrink_break(size_t slack)
{
    if (g.brk_failed || !g.brk_end || g.fresh_end != g.brk_end)
        return;
    while (g.pool_last && (char *)g.pool_last + CHUNK == g.fresh && g.pool_last->purged) {
        chunk *c = g.pool_last;
        pool_remove(c);
        g.fresh = (char *)c;
    }
    size_t excess = (size_t)(g.brk_end - g.fresh);
    if (excess > slack) {
        size_t cut = align_up(excess - slack, CHUNK) > excess ? excess : align_up(excess - slack, CHUNK);
        char *end = g.brk_end;
        g.brk_end -= cut;
        note_break();
        if (os_heap_shrink(end, cut) == 0) {
            g.brk_shrinks++;
            mark_units(g.brk_end, cut, U_NONE);
            g.fresh_end = g.brk_end;
            g.segment_bytes -= cut;
        } else {
            g.brk_end = end;
            note_break();
        }
    }
}

/* A program that frees many chunks and soon takes as many again would fault
 * in fresh pages each time: the pool may keep up to 1/POOL_KEEP_SHARE of all
 * chunk memory hot (if that is more than BIMP_TRIM_THRESHOLD), each chunk for
 * BIMP_PURGE_DELAY ms. */
#define POOL_KEEP_SHARE 2

/* Purge the pool's chunks that have waited long enough (looked at once a
 * millisecond), and any beyond the number kept hot; then let the break
 * shrink.  With `now` 0, purge them all. */
static void maintain_pool(uint64_t now)
{
    size_t keep = pool_keep_bytes / CHUNK;
    if (!pool_keep_set && keep < g.segment_bytes / CHUNK / POOL_KEEP_SHARE)
        keep = g.segment_bytes / CHUNK / POOL_KEEP_SHARE;
    bool timed = now == 0 || now != g.maintained_ms; /* the delays: once a millisecond */
    if (!timed && g.hot_count <= keep)
        return;
    g.maintained_ms = now;
    for (chunk *c = g.pool_last; c && g.hot_count; c = c->prev) {
        if (c->purged)
            continue;
        if (now == 0 || (timed && now >= c->released_ms + purge_delay_ms) || g.hot_count > keep)
            purge_chunk(c);
    }
    shrink_break(now == 0 ? 0 : BREAK_SLACK);
}

/* A free chunk for heap h, reset and owned by h; NULL when memory is out.
 * The lowest hot chunk of the pool first, then the lowest purged one. */
static chunk *take_chunk(heap *h)
{
    lock(&g.lock);
    maintain_pool(os_now_ms());
    chunk *c = g.pool;
    while (c && c->purged && c->next)
        c = c->next;
    if (c && c->purged)
        c = g.pool;
    if (c) {
        pool_remove(c);
    } else if ((uintptr_t)g.fresh_end - (uintptr_t)g.fresh >= CHUNK || grow_segments()) {
        c = (chunk *)g.fresh;
        g.fresh += CHUNK;
        c->end = (char *)c + os_page_size(); /* it may be a purged chunk given back */
        if (g.segment_bytes > g.peak_segment_bytes)
            g.peak_segment_bytes = g.segment_bytes;
    }
    if (c) {
        c->state = CH_FULL;
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

/* Return an empty chunk of heap h to the pool. */
static void release_chunk(heap *h, chunk *c)
{
    store_relaxed(&c->owner, NULL);
    uint64_t now = os_now_ms();
    lock(&g.lock);
    LIST_UNLINK(h->chunks, c, next_own, prev_own); /* under the lock, for survey() */
    g.chunk_resets++;
    c->state = CH_FREE;
    c->released_ms = now;
    pool_insert(c);
    maintain_pool(now);
    unlock(&g.lock);
}

/* Memory for heap structs, which are never freed (orphans are adopted). */
static heap *new_heap(void)
{
    size_t size = align_up(sizeof(heap), 64);
    lock(&g.lock);
    if ((uintptr_t)g.meta_end - (uintptr_t)g.meta < size) {
        size_t span = align_up(size * 16, os_page_size());
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
/* Core: bins                                                               */
/* ======================================================================== */

static void bin_block(heap *h, block *b, size_t stride)
{
    unsigned i = bin_of(stride);
    store_relaxed(&b->info, info_make(stride, B_BINNED));
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
    count(h->binned, stride);
}

/* h's hole, `stride` bytes, is taken. */
static inline void take_hole(heap *h, size_t stride)
{
    h->hole = NULL;
    count(h->binned, -stride);
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
    /* Safe unlinking: each neighbour on the bin points back at b. */
    block *next = follow(b, next_of(b)), *prev = NULL;
    if (next && UNLIKELY(prev_of(next) != b))
        corrupt(b, OVERWRITTEN_LINK, NULL);
    if (h->bins[i] != b) {
        prev = follow(b, prev_of(b));
        if (UNLIKELY(!prev || next_of(prev) != b))
            corrupt(b, OVERWRITTEN_LINK, NULL);
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
    count(h->binned, -stride);
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
        store_relaxed(&rest->info, info_make(have - stride, B_BINNED));
        count(h->binned, have - stride);
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
    count(h->handed_out, stride);
    count(h->n.refit, 1);
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
    if (UNLIKELY(load_relaxed(&b->info) != info_make(stride, B_BINNED)))
        corrupt(b, OVERWRITTEN_FREE, "malloc");
    block *next = follow(b, next_of(b));
    h->bins[i] = next; /* next's prev link is stale now, and unused while it heads the bin */
    h->on_bin[i]--;
    if (!next)
        unmark_bin(h, i);
    count(h->binned, -stride);
    store_relaxed(&b->info, info_make(stride, B_INUSE));
    after(b, stride)->prev &= ~PREV_FREE; /* a free block is never the top */
    count(h->handed_out, stride);
    count(h->n.exact, 1);
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
    count(h->handed_out, stride);
    count(h->n.bumped, 1);
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
        unbin(h, p);
        count(h->n.swept, 1);
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
    if (UNLIKELY(((block *)c->cursor)->prev != stride_of(info))) /* invariant 8 */
        corrupt(b, OVERWRITTEN_TOP, NULL);
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
    store_relaxed(&b->info, info_make(stride, B_BINNED)); /* stays so if merged into p */
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
    count(h->n.below, 1);
    count(h->n.below_bytes, stride);
    if (stride <= QUICK_MAX && h->on_bin[small_bin(stride)] < QUICK_CAP) {
        bin_block(h, b, stride);
        after(b, stride)->prev |= PREV_FREE;
        count(h->unmerged, stride);
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
        release_chunk(h, c);
        errno = saved;
    } else if (c->state == CH_FULL && tail_holds(c, RESUME_MIN)) {
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

/* Apply every remote free waiting in h's inbox. */
static void drain(heap *h)
{
    if (!load_relaxed(&h->inbox))
        return;
    block *b = exchange_acquire(&h->inbox, NULL);
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
            release_chunk(h, old);
        else if (tail_holds(old, RESUME_MIN))
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

/* Place a block of `stride` bytes whose payload is aligned to `align`
 * (> GRANULE): a binned pad block in front makes up the difference. */
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
    bin_block(h, pad, gap); /* its neighbours: the old top, in use, and ours */
    header_of(p)->prev |= PREV_FREE;
    if (DEBUG_CHECKS)
        check_chunk(c);
    return p;
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

/* A huge mapping's first words: what is mapped, where the block's header
 * is, and how much of the mapping the block has (the rest is pages kept
 * from a reused mapping, for the block to grow into). */
typedef struct {
    size_t mapped, offset, length;
} huge_words;

static inline huge_words *huge_words_of(char *map)
{
    return (huge_words *)map;
}

/* The offset of a huge block's header in its mapping: room for the words
 * in front, payload aligned to `align`. */
static inline size_t huge_offset(size_t align)
{
    return align_up(sizeof(huge_words) + HEADER, align) - HEADER;
}

/* The block length for n bytes at offset off, or 0 if it overflows. */
static inline size_t huge_length(size_t off, size_t n)
{
    if (n > PTRDIFF_MAX - off - HEADER - CHUNK)
        return 0;
    return align_up(off + HEADER + n, CHUNK);
}

/* A huge mapping is ready: its words, its block. */
static void *huge_place(char *map, size_t mapped, size_t off, size_t len)
{
    *huge_words_of(map) = (huge_words){ mapped, off, len };
    block *b = (block *)(map + off);
    b->prev = (uint32_t)off;
    store_relaxed(&b->info, B_HUGE | B_INUSE);
    count_huge(mapped, +1);
    return payload_of(b);
}

/* Recently freed huge mappings, kept for BIMP_HUGE_DELAY for the next huge
 * request: a fresh mapping costs a page fault and a page of zeroing for
 * every page the program touches, a reused one nothing. */
#define HUGE_CACHE_SLOTS 32
static struct {
    lock_t lock;
    size_t count;
    ATOMIC(size_t) bytes; /* read without the lock by grow_from_cache */
    struct {
        char *map;
        size_t len;
        uint64_t freed_ms;
    } slot[HUGE_CACHE_SLOTS];
} huge_cache;

/* The heap profile's tables (BIMP_PROFILE; see "Heap profile" below). */
#define PROFILE_FRAMES 24
#define PROFILE_STACKS 4096          /* distinct stacks kept; later ones count as "other" */
#define PROFILE_SAMPLES (1u << 16)   /* sampled blocks live at once, at most */

typedef struct {
    uint64_t hash;
    uint32_t depth;
    void *frame[PROFILE_FRAMES];
    size_t live_bytes, live_samples, below_bytes, below_samples;
} profile_stack;

static struct {
    lock_t lock;
    profile_stack *stacks;           /* PROFILE_STACKS, mapped at the first sample */
    struct { void *p; uint32_t stack; size_t weight; } *samples; /* open addressing by p */
    size_t dropped;                  /* samples not kept: the tables were full */
    uint64_t rng;
} prof;



static void uncache(size_t i)
{
    huge_cache.bytes -= huge_cache.slot[i].len;
    huge_cache.slot[i] = huge_cache.slot[--huge_cache.count];
}

/* Unmap the cached mappings older than the purge delay (all if now is 0). */
static void expire_huge(uint64_t now)
{
    for (size_t i = 0; i < huge_cache.count;) {
        if (now && now < huge_cache.slot[i].freed_ms + huge_delay_ms) {
            i++;
            continue;
        }
        os_unmap(huge_cache.slot[i].map, huge_cache.slot[i].len);
        fetch_add(&g.unmaps, 1);
        uncache(i);
    }
}

/* A cached mapping with room for len bytes, its pages still present;
 * *mapped is set to its length.  For a block that realloc is growing the
 * longest one (the block will likely grow on, into it), else the shortest
 * one long enough; NULL if none is. */
static char *reuse_huge(size_t len, bool growing, size_t *mapped)
{
    size_t pick = HUGE_CACHE_SLOTS;
    lock(&huge_cache.lock);
    expire_huge(os_now_ms());
    for (size_t i = 0; i < huge_cache.count; i++) {
        size_t have = huge_cache.slot[i].len;
        if (have >= len && (pick == HUGE_CACHE_SLOTS || (have < huge_cache.slot[pick].len) != growing))
            pick = i;
    }
    char *map = NULL;
    if (pick != HUGE_CACHE_SLOTS) {
        map = huge_cache.slot[pick].map;
        *mapped = huge_cache.slot[pick].len;
        uncache(pick);
    }
    unlock(&huge_cache.lock);
    return map;
}

/* Move the pages of cached mappings into [to, to + len), which lies in a
 * fresh mapping: the shortest one that covers what is left, else the
 * longest, part of it if it is longer than needed.  Returns how many bytes
 * from the start of the range now have pages (the rest is still fresh). */
static size_t fill_from_cache(char *to, size_t len)
{
    size_t filled = 0;
    lock(&huge_cache.lock);
    expire_huge(os_now_ms());
    while (filled < len && huge_cache.count) {
        size_t need = len - filled, pick = 0;
        for (size_t i = 1; i < huge_cache.count; i++) {
            size_t have = huge_cache.slot[i].len, best = huge_cache.slot[pick].len;
            if (best < need ? have > best : have >= need && have < best)
                pick = i;
        }
        char *from = huge_cache.slot[pick].map;
        size_t take = huge_cache.slot[pick].len < need ? huge_cache.slot[pick].len : need;
        if (!os_move(from, take, to + filled))
            break;
        if (take == huge_cache.slot[pick].len) {
            uncache(pick);
        } else {
            huge_cache.slot[pick].map += take;
            huge_cache.slot[pick].len -= take;
            huge_cache.bytes -= take;
        }
        filled += take;
    }
    unlock(&huge_cache.lock);
    return filled;
}

/* Keep a freed mapping for reuse; false if it does not fit the cache. */
static bool cache_huge(char *map, size_t len)
{
    if (len > huge_cache_max / 2)
        return false;
    lock(&huge_cache.lock);
    uint64_t now = os_now_ms();
    expire_huge(now);
    while (huge_cache.count > 0 &&
           (huge_cache.count == HUGE_CACHE_SLOTS || huge_cache.bytes + len > huge_cache_max)) {
        size_t oldest = 0;
        for (size_t i = 1; i < huge_cache.count; i++)
            if (huge_cache.slot[i].freed_ms < huge_cache.slot[oldest].freed_ms)
                oldest = i;
        os_unmap(huge_cache.slot[oldest].map, huge_cache.slot[oldest].len);
        fetch_add(&g.unmaps, 1);
        uncache(oldest);
    }
    huge_cache.slot[huge_cache.count].map = map;
    huge_cache.slot[huge_cache.count].len = len;
    huge_cache.slot[huge_cache.count].freed_ms = now;
    huge_cache.count++;
    huge_cache.bytes += len;
    unlock(&huge_cache.lock);
    return true;
}

/* A fresh mapping for n bytes whose payload is aligned to `align`, above
 * CHUNK: n + align bytes are mapped, and all but the chunks around the
 * aligned payload given back (the address space asked for stays near
 * glibc's, n + align, not n + 2 align).  Sets *off and *len as
 * huge_place takes them; NULL when out of memory. */
static char *map_over_aligned(size_t n, size_t align, size_t *off, size_t *len)
{
    size_t front = sizeof(huge_words) + HEADER;
    if (n > PTRDIFF_MAX - align - front - 2 * CHUNK)
        return NULL;
    size_t raw_len = align_up(n + align + front, CHUNK);
    char *raw = os_map(raw_len, CHUNK);
    if (!raw)
        return NULL;
    char *payload = (char *)align_up((uintptr_t)raw + front, align);
    char *map = (char *)((uintptr_t)(payload - front) & ~(CHUNK - 1));
    *off = (size_t)(payload - HEADER - map);
    *len = align_up(*off + HEADER + n, CHUNK);
    if (map > raw)
        os_unmap(raw, (size_t)(map - raw));
    if (map + *len < raw + raw_len)
        os_unmap(map + *len, (size_t)(raw + raw_len - (map + *len)));
    return map;
}

/* A huge block of n bytes aligned to align; zeroed if `zero`; `growing`
 * if realloc is moving a block that grows.  A cached mapping is reused if
 * one is long enough, else a fresh one gets the pages of cached ones. */
static void *huge_alloc(size_t n, size_t align, bool zero, bool growing)
{
    if (align < GRANULE)
        align = GRANULE;
    size_t off = huge_offset(align), mapped = 0, dirty = 0;
    size_t len = off <= UINT32_MAX ? huge_length(off, n) : 0;
    char *map = len && align <= CHUNK ? reuse_huge(len, growing, &mapped) : NULL;
    fetch_add(&g.huge_allocs, 1);
    if (map) {
        dirty = mapped;
    } else if (align > CHUNK && (map = map_over_aligned(n, align, &off, &len))) {
        fetch_add(&g.maps, 1);
        mapped = len;
    } else if (len && align <= CHUNK && (map = os_map(len, CHUNK))) {
        fetch_add(&g.maps, 1);
        mapped = len;
        dirty = fill_from_cache(map, len);
    } else {
        errno = ENOMEM;
        return NULL;
    }
    if (dirty) {
        fetch_add(&g.huge_reused, 1);
        if (zero && dirty > off + HEADER)
            memset(map + off + HEADER, 0, n < dirty - off - HEADER ? n : dirty - off - HEADER);
    }
    if (!mark_units(map, mapped, U_HUGE_START)) {
        os_unmap(map, mapped);
        errno = ENOMEM;
        return NULL;
    }
    return huge_place(map, mapped, off, len);
}

static inline char *huge_map(block *b)
{
    return (char *)b - b->prev;
}

static inline size_t huge_usable(block *b)
{
    return huge_words_of(huge_map(b))->length - b->prev - HEADER;
}

static void huge_free(block *b, const char *function)
{
    if (!(fetch_and(&b->info, ~(uint32_t)B_INUSE) & B_INUSE))
        fatal("double free of", payload_of(b), function);
    char *map = huge_map(b);
    size_t mapped = huge_words_of(map)->mapped;
    count_huge(mapped, -1);
    mark_units(map, mapped, U_HUGE_FREED);
    fetch_add(&g.huge_frees, 1);
    fetch_add(&g.huge_freed_bytes, mapped);
    if (!cache_huge(map, mapped)) {
        os_unmap(map, mapped);
        fetch_add(&g.unmaps, 1);
    }
}

/* Give the pages of a huge mapping from `from` on to the cache (or back to
 * the OS); they are no longer part of the block's mapping. */
static void drop_huge_tail(char *from, size_t len)
{
    mark_units(from, len, U_HUGE_FREED);
    if (!cache_huge(from, len)) {
        os_unmap(from, len);
        fetch_add(&g.unmaps, 1);
    }
}

/* Grow a huge mapping to len bytes with the pages of cached mappings: the
 * mapping moves to the front of a fresh one, the cache fills the rest.
 * NULL if there is nothing cached or the OS cannot. */
static char *grow_from_cache(char *map, size_t mapped, size_t len)
{
    if (!load_relaxed(&huge_cache.bytes))
        return NULL;
    char *to = os_map(len, CHUNK);
    if (!to)
        return NULL;
    if (!os_move(map, mapped, to)) {
        os_unmap(to, len);
        return NULL;
    }
    fetch_add(&g.maps, 1);
    fill_from_cache(to + mapped, len - mapped);
    return to;
}

/* Resize a huge block: within its mapping if it has room (a block that
 * shrinks below a quarter of its mapping gives the rest to the cache), else
 * by growing or moving the mapping, with cached pages if there are any;
 * NULL if the OS cannot (the caller copies). */
static void *huge_resize(block *b, size_t n)
{
    char *map = huge_map(b);
    huge_words *w = huge_words_of(map);
    size_t off = w->offset, mapped = w->mapped;
    size_t len = huge_length(off, n);
    if (!len)
        return NULL;
    if (len <= mapped && (len >= w->length || len >= mapped / 4)) {
        w->length = len;
        return payload_of(b);
    }
    char *moved = map;
    if (len < mapped) {
        drop_huge_tail(map + len, mapped - len);
    } else if (!(moved = grow_from_cache(map, mapped, len)) &&
               !(moved = os_remap(map, mapped, len, CHUNK))) {
        return NULL;
    }
    if (!mark_units(moved, len, U_HUGE_START))
        fatal("no memory left to map", moved, "realloc");
    if (moved != map)
        mark_units(map, mapped, U_HUGE_FREED);
    count_huge(mapped, -1);
    return huge_place(moved, len, off, len);
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
    if (h->cur != &empty_chunk && chunk_empty(h->cur)) {
        release_chunk(h, h->cur);
        set_cur(h, &empty_chunk);
    }
    set_my_heap(&exited_heap);
    orphan_heap(h);
}

/* Fork: hold every lock across fork, so the child inherits consistent
 * shared state.  Heaps of threads that do not exist in the child stay as
 * they are: their owners may have been in the middle of a push or pop, so
 * nobody may touch them; frees into them wait in their inboxes for good.
 *
 * A fork from a signal handler that interrupted this thread inside one of
 * Bimp's locks cannot wait for that lock: then no lock is taken, and the
 * child, where only this thread lives, starts with every lock free (what
 * POSIX lets such a child do, _exit or exec, works; glibc's tst-mallocfork2). */
static TLS_INITIAL_EXEC bool fork_took_no_lock;

static void every_lock(void (*act)(lock_t *))
{
    for (heap *h = load_acquire(&g.all_heaps); h; h = h->next_all)
        act(&h->lock);
    act(&g.lock);
    act(&huge_cache.lock);
    act(&unit_map_lock);
    act(&prof.lock);
}

static void lock_for_fork(lock_t *l)
{
    lock(l);
}

static void unlock_after_fork(lock_t *l)
{
    unlock(l);
}

static void reset_in_child(lock_t *l)
{
    *l = (lock_t){ 0 };
}

static void before_fork(void)
{
    fork_took_no_lock = locks_held != 0;
    if (!fork_took_no_lock)
        every_lock(lock_for_fork);
}

static void after_fork_parent(void)
{
    if (!fork_took_no_lock)
        every_lock(unlock_after_fork);
}

static void after_fork_child(void)
{
    if (fork_took_no_lock) /* the interrupted code, if it resumes, lets go of a free lock */
        every_lock(reset_in_child);
    else
        every_lock(unlock_after_fork);
}

static void register_heap(heap *h)
{
    h->next_all = load_relaxed(&g.all_heaps);
    while (!compare_exchange(&g.all_heaps, &h->next_all, h))
        ;
}

/* Options are read once the environment exists: at the first allocation,
 * or, if that came too early in start-up, at the first slow path after. */
static NOINLINE void take_options(void)
{
    lock(&g.lock);
    bool first = !load_relaxed(&g.options_read);
    if (first)
        read_options();
    first &= load_relaxed(&g.options_read) != 0;
    unlock(&g.lock);
    if (first && opt_verbose)
        print_options();
    if (first && opt_profile)
        *my_countdown() = 0; /* allocations before the options were read drew no interval */
}

static void initialise(void)
{
    lock(&g.lock);
    if (!g.initialised) {
        g.initialised = true;
        os_page_size();
        link_secret = (uintptr_t)os_random(); /* before any block is binned */
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
        fetch_add(&g.heaps_adopted, 1);
    } else {
        h = new_heap();
        if (!h)
            return NULL;
        fetch_add(&g.heaps_made, 1);
        h->cur = &empty_chunk; /* the rest is zero: fresh mapping */
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
    uint32_t old = fetch_or(&b->info, (uint32_t)B_REMOTE);
    if (!(old & B_INUSE) || (old & B_REMOTE))
        fatal("double free of", payload_of(b), function);
    heap *me = my_heap();
    if (me == &unattached_heap || me == &exited_heap) {
        send_remote(owner, b, b);
        return;
    }
    count(me->n.remote, 1);
    count(me->n.remote_bytes, stride_of(old));
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
    if (n > huge_threshold || (aligned && (align > CHUNK / 8 || n + align > huge_threshold)))
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

/* malloc: an exact fit from a small bin, else a bump, else the hole, else the slow path.
 * A larger block is bumped at once when no medium bin holds a block, which
 * is what alloc_in would do.  Which of the two a request is decides no
 * branch here: request sizes are data, and a mispredicted branch costs
 * more than the rest of a push. */
/* malloc without the profile's countdown. */
static ALWAYS_INLINE void *alloc_unsampled(size_t n)
{
    heap *h = my_heap();
    if (UNLIKELY(n > huge_threshold))
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

static NOINLINE void *alloc_sampled(size_t n);

/* malloc: the profile's countdown of bytes, then the allocation. */
static ALWAYS_INLINE void *alloc(size_t n)
{
    ptrdiff_t *countdown = my_countdown(); /* 0 at first: each thread's first allocation samples */
    *countdown = (ptrdiff_t)((uintptr_t)*countdown - n); /* wraps for absurd n, which fail anyway */
    if (UNLIKELY(*countdown < 0))
        return alloc_sampled(n);
    return alloc_unsampled(n);
}

/* ======================================================================== */
/* Heap profile (BIMP_PROFILE)                                              */
/* ======================================================================== */

/* One allocation in about every BIMP_PROFILE_RATE bytes is sampled: malloc
 * counts the requested bytes down (mine.countdown; a few instructions, and
 * all of it when the profile is off, which sets the countdown out of reach),
 * and the allocation that crosses zero records its call stack.  The
 * intervals are drawn from an exponential distribution, so every byte has
 * the same chance to be sampled, whatever the size of its block.  A sampled
 * block carries B_SAMPLED, so that its free tells the profile whether it was
 * freed below a top; the report at exit (or bimp_profile_dump) gives the
 * bytes still live and the bytes freed below a top by call stack, as text
 * and in the folded format of flame-graph tools. */
/* -ln(u) for u in (0, 1], without libm: u = m 2^e, ln m by its atanh series. */
static double neg_log(double u)
{
    int e = 0;
    while (u < 1) {
        u *= 2;
        e--;
    }
    double y = (u - 1) / (u + 1), y2 = y * y, term = y, sum = 0;
    for (int k = 1; k < 40; k += 2, term *= y2)
        sum += term / k;
    return -(2 * sum + e * 0.6931471805599453);
}

/* 1 - e^-x for x >= 0: the chance that a block of x intervals' bytes is sampled. */
static double sampled_share(double x)
{
    if (x > 40)
        return 1;
    int halvings = 0;
    while (x > 0.5) {
        x /= 2;
        halvings++;
    }
    double e = 1, term = 1; /* e^-x by its series, then squared back */
    for (int k = 1; k < 20; k++) {
        term *= -x / k;
        e += term;
    }
    while (halvings-- > 0)
        e *= e;
    return 1 - e;
}

/* The next interval, in bytes: exponential with mean profile_rate. */
static ptrdiff_t next_interval(void)
{
    if (!opt_profile)
        return PTRDIFF_MAX;
    uint64_t x = prof.rng += 0x9e3779b97f4a7c15u; /* splitmix64: racy between threads, harmless */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    x ^= x >> 31;
    double u = ((double)(x >> 11) + 1) / 9007199254740992.0;
    double bytes = neg_log(u) * (double)profile_rate;
    return bytes < 1 ? 1 : bytes > 1e15 ? (ptrdiff_t)1e15 : (ptrdiff_t)bytes;
}

/* The stack of this sample, found or added; PROFILE_STACKS if the table is full. */
static uint32_t stack_index(void **frame, int depth)
{
    uint64_t hash = 1469598103934665603u;
    for (int i = 0; i < depth; i++)
        hash = (hash ^ (uint64_t)(uintptr_t)frame[i]) * 1099511628211u;
    for (uint32_t k = 0, i = (uint32_t)hash % PROFILE_STACKS; k < PROFILE_STACKS;
         k++, i = (i + 1) % PROFILE_STACKS) {
        profile_stack *s = &prof.stacks[i];
        if (s->depth == 0) {
            s->hash = hash;
            s->depth = (uint32_t)depth;
            memcpy(s->frame, frame, (size_t)depth * sizeof *frame);
            return i;
        }
        if (s->hash == hash && s->depth == (uint32_t)depth &&
            memcmp(s->frame, frame, (size_t)depth * sizeof *frame) == 0)
            return i;
    }
    return PROFILE_STACKS;
}

static inline uint32_t sample_slot(const void *p)
{
    return (uint32_t)(((uintptr_t)p >> 4) * 0x9e3779b1u) % PROFILE_SAMPLES;
}

/* Record block p, n bytes, as a sample: its stack (captured here, with no
 * lock held: the unwinder may allocate) and its weight, the bytes it stands
 * for (n divided by its chance of being sampled). */
static void profile_record(void *p, size_t n)
{
    /* The unwinder's own allocations (libgcc is loaded at its first use)
     * are not sampled: unwinding from inside it aborts. */
    static PER_THREAD bool unwinding;
    if (unwinding)
        return;
    void *frame[PROFILE_FRAMES];
    unwinding = true;
    int depth = os_backtrace(frame, PROFILE_FRAMES);
    unwinding = false;
    int first = 0; /* Bimp's own frames (malloc, sampling) are not kept */
    while (first < depth && os_object_of(frame[first]) == os_object_of((void *)&profile_record))
        first++;
    depth -= first;
    memmove(frame, frame + first, (size_t)(depth > 0 ? depth : 0) * sizeof *frame);
    if (depth <= 0)
        return;
    size_t weight = (size_t)((double)(n ? n : 1) / sampled_share((double)(n ? n : 1) / (double)profile_rate));
    lock(&prof.lock);
    if (!prof.stacks) {
        prof.stacks = os_map(PROFILE_STACKS * sizeof *prof.stacks, os_page_size());
        prof.samples = os_map(PROFILE_SAMPLES * sizeof *prof.samples, os_page_size());
    }
    uint32_t s = prof.stacks && prof.samples ? stack_index(frame, depth) : PROFILE_STACKS;
    uint32_t i = sample_slot(p), k = 0;
    while (s < PROFILE_STACKS && prof.samples[i].p && k++ < PROFILE_SAMPLES)
        i = (i + 1) % PROFILE_SAMPLES;
    if (s == PROFILE_STACKS || k >= PROFILE_SAMPLES) {
        prof.dropped++;
    } else {
        prof.samples[i].p = p;
        prof.samples[i].stack = s;
        prof.samples[i].weight = weight;
        prof.stacks[s].live_bytes += weight;
        prof.stacks[s].live_samples++;
        fetch_or(&header_of(p)->info, B_SAMPLED);
    }
    unlock(&prof.lock);
}

/* Sampled block b is freed (below a top if `below`) or resized: the profile
 * lets it go.  Returns its info without B_SAMPLED.  A block marked sampled
 * that the profile does not hold had its header overwritten. */
static uint32_t unsample(block *b, bool below)
{
    void *p = payload_of(b);
    bool found = false;
    lock(&prof.lock);
    for (uint32_t i = sample_slot(p), k = 0; prof.samples && prof.samples[i].p && k < PROFILE_SAMPLES;
         i = (i + 1) % PROFILE_SAMPLES, k++) {
        if (prof.samples[i].p != p)
            continue;
        profile_stack *s = &prof.stacks[prof.samples[i].stack];
        found = true;
        s->live_bytes -= prof.samples[i].weight;
        s->live_samples--;
        if (below) {
            s->below_bytes += prof.samples[i].weight;
            s->below_samples++;
        }
        /* Take it out, and move back what follows it in its run (open addressing). */
        uint32_t hole = i;
        for (uint32_t j = (i + 1) % PROFILE_SAMPLES; prof.samples[j].p; j = (j + 1) % PROFILE_SAMPLES) {
            uint32_t home = sample_slot(prof.samples[j].p);
            if ((j > hole && (home <= hole || home > j)) || (j < hole && home <= hole && home > j)) {
                prof.samples[hole] = prof.samples[j];
                hole = j;
            }
        }
        prof.samples[hole].p = NULL;
        break;
    }
    unlock(&prof.lock);
    if (!found)
        corrupt(b, OVERWRITTEN_HEADER, NULL);
    return fetch_and(&b->info, ~B_SAMPLED) & ~B_SAMPLED;
}

/* The allocation that crossed the countdown: a new interval, then the
 * allocation itself, then (if the profile is on) its sample. */
static NOINLINE void *alloc_sampled(size_t n)
{
    *my_countdown() = next_interval();
    void *p = alloc_unsampled(n);
    if (p && opt_profile)
        profile_record(p, n);
    return p;
}

/* A frame as people read it: `symbol+0xoffset (object)`, or the object
 * and offset when the symbol is not exported.  `folded`: no spaces or ';'. */
static void put_frame(text *t, void *pc, bool folded)
{
    const char *symbol, *object;
    uintptr_t offset;
    os_symbol(pc, &symbol, &object, &offset);
    const char *base = object;
    for (const char *c = object; *c; c++)
        if (*c == '/')
            base = c + 1;
    put_str(t, symbol ? symbol : base);
    put_str(t, "+0x");
    put_uint(t, offset, 16, 0);
    if (!folded && symbol) {
        put_str(t, " (");
        put_str(t, base);
        put_str(t, ")");
    }
}

/* The `top` stacks with the most bytes of `below` (or live) bytes, largest first. */
static int top_stacks(uint32_t *out, int top, bool below)
{
    int n = 0;
    for (uint32_t i = 0; prof.stacks && i < PROFILE_STACKS; i++) {
        size_t v = below ? prof.stacks[i].below_bytes : prof.stacks[i].live_bytes;
        if (!prof.stacks[i].depth || !v)
            continue;
        int at = n < top ? n++ : top;
        while (at > 0) {
            const profile_stack *o = &prof.stacks[out[at - 1]];
            if ((below ? o->below_bytes : o->live_bytes) >= v)
                break;
            if (at < top)
                out[at] = out[at - 1];
            at--;
        }
        if (at < top)
            out[at] = i;
    }
    return n;
}

static void profile_table(int fd, bool below)
{
    uint32_t top[10];
    int n = top_stacks(top, 10, below);
    size_t total = 0;
    for (uint32_t i = 0; prof.stacks && i < PROFILE_STACKS; i++)
        total += below ? prof.stacks[i].below_bytes : prof.stacks[i].live_bytes;
    text t = { .len = 0 };
    put_str(&t, below ? "bimp: freed below a top (where the program is not stack-shaped), by call stack: "
                      : "bimp: live now (at exit: never freed), by call stack: ");
    put_human(&t, total, true);
    put_line_to(&t, fd);
    for (int k = 0; k < n; k++) {
        const profile_stack *s = &prof.stacks[top[k]];
        size_t v = below ? s->below_bytes : s->live_bytes;
        put_str(&t, "bimp:   ");
        put_human(&t, v, true);
        put_column(&t, 20);
        put_uint(&t, total ? v * 100 / total : 0, 10, 3);
        put_str(&t, "%  ");
        for (int f = 0; f < (int)s->depth && f < 4; f++) {
            put_str(&t, f ? " <- " : "");
            put_frame(&t, s->frame[f], false);
        }
        put_line_to(&t, fd);
    }
}

/* The text report: a header, the live bytes and the bytes freed below a
 * top by call stack (the ten largest of each). */
static void profile_dump(int fd)
{
    lock(&prof.lock);
    text t = { .len = 0 };
    put_str(&t, "bimp " BIMP_VERSION ": heap profile of ");
    put_process(&t);
    put_str(&t, ", one sample per ");
    put_human(&t, profile_rate, true);
    put_str(&t, " allocated on average");
    if (prof.dropped) {
        put_str(&t, ", ");
        put_uint(&t, prof.dropped, 10, 0);
        put_str(&t, " samples dropped (tables full)");
    }
    put_line_to(&t, fd);
    profile_table(fd, false);
    profile_table(fd, true);
    unlock(&prof.lock);
}

/* Folded stacks, for flame graphs: `outermost;...;innermost bytes`, one
 * line per stack with live bytes (or bytes freed below a top). */
static void profile_folded(int fd, bool below)
{
    lock(&prof.lock);
    for (uint32_t i = 0; prof.stacks && i < PROFILE_STACKS; i++) {
        const profile_stack *s = &prof.stacks[i];
        size_t v = below ? s->below_bytes : s->live_bytes;
        if (!s->depth || !v)
            continue;
        text t = { .len = 0 };
        for (int f = (int)s->depth - 1; f >= 0; f--) {
            put_frame(&t, s->frame[f], true);
            put_str(&t, f ? ";" : " ");
        }
        put_uint(&t, v, 10, 0);
        put_line_to(&t, fd);
    }
    unlock(&prof.lock);
}

/* BIMP_PROFILE at exit: the text report to BIMP_PROFILE_FILE (%p: the pid)
 * or stderr, and beside the file NAME.live.folded and NAME.below.folded. */
static void profile_at_exit(void)
{
    if (!profile_file[0]) {
        profile_dump(2);
        return;
    }
    static const char *const suffix[3] = { "", ".live.folded", ".below.folded" };
    for (int k = 0; k < 3; k++) {
        int fd = create_report(profile_file, suffix[k]);
        if (k == 0)
            profile_dump(fd);
        else if (fd != 2) /* folded stacks go to their file only */
            profile_folded(fd, k == 2);
        if (fd != 2)
            os_close(fd);
    }
}

typedef enum { LIVE, FREED, INVALID } pointer_kind; /* what examine() finds a pointer to be */

static pointer_kind examine_huge(block *b)
{
    uint32_t info = load_relaxed(&b->info);
    if (!(info & B_HUGE))
        return INVALID;
    char *map = huge_map(b);
    if (((uintptr_t)map & (CHUNK - 1)) || unit_kind((uintptr_t)map) != U_HUGE_START ||
        huge_words_of(map)->offset != b->prev)
        return INVALID;
    return (info & B_INUSE) ? LIVE : FREED;
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
    if (kind == U_HUGE_FREED)
        return FREED;
    if (kind == U_HUGE_START || kind == U_HUGE)
        return examine_huge(b);
    if (kind != U_CHUNK)
        return INVALID;
    chunk *c = chunk_of(b);
    uint32_t info = load_relaxed(&b->info);
    size_t stride = stride_of(info);
    if ((char *)b < first_of(c) || (info & B_HUGE) || stride < MIN_STRIDE ||
        (char *)b + stride > (char *)c + CHUNK)
        return INVALID;
    heap *owner = load_relaxed(&c->owner);
    if (!owner) /* a chunk in the pool: only a stale pointer points here */
        return (info & B_INUSE) ? INVALID : FREED;
    if (owner != my_heap()) /* its owner may be changing its chunk: the header only */
        return (info & (B_INUSE | B_REMOTE)) == B_INUSE ? LIVE : FREED;
    if ((char *)b >= c->cursor) /* popped: only a stale pointer points here */
        return (info & B_INUSE) ? INVALID : FREED;
    if (!(info & B_INUSE))
        return (info & B_BINNED) ? FREED : INVALID;
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

/* free for anything the fast path would not take: huge blocks, chunks
 * outside the break, and every kind of misuse. */
static COLD void release_checked(void *p, const char *function)
{
    block *b = checked(p, "double free of", function);
    uint32_t info = load_relaxed(&b->info);
    chunk *c = chunk_of(b);
    heap *h = my_heap();
    int saved = errno;
    if (info & B_SAMPLED) {
        bool below = !(info & B_HUGE) && load_relaxed(&c->owner) == h && !is_top(c, b, stride_of(info));
        info = unsample(b, below);
    }
    if (info & B_HUGE)
        huge_free(b, function);
    else if (load_relaxed(&c->owner) == h)
        free_local(h, c, b, info, function);
    else
        free_remote(c, b, function);
    errno = saved;
}

/* free of p, whose header is in one of Bimp's chunks. */
static ALWAYS_INLINE void release_in_chunk(void *p, const char *function)
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
static void release_sized(void *p, size_t align, size_t size, const char *function)
{
    block *b = checked(p, "double free of", function);
    uint32_t info = load_relaxed(&b->info);
    bool fits_size;
    if (info & B_HUGE)
        fits_size = size <= PTRDIFF_MAX && huge_length(b->prev, size) == huge_words_of(huge_map(b))->length;
    else
        fits_size = size <= stride_of(info) - HEADER && stride_for(size) + MIN_STRIDE > stride_of(info);
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
    if (n > huge_threshold)
        return false;
    size_t stride = stride_for(n);
    chunk *c = chunk_of(b);
    heap *h = my_heap();
    if (load_relaxed(&c->owner) != h) /* another thread's: only its owner may split it */
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
    count(h->handed_out, stride - old);
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
    if (info & B_SAMPLED) /* the profile follows a block only until it is resized */
        info = unsample(b, false);
    if (info & B_HUGE) {
        if (n > huge_threshold / 2) {
            void *q = huge_resize(b, n);
            if (q)
                return q;
        }
    } else if (resize_in_place(b, n)) {
        return p;
    }
    bool growing = n > usable_size(b);
    void *q = growing && n > huge_threshold ? huge_alloc(n, GRANULE, false, true) : alloc(n);
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

/* calloc: what its push placed at or above the chunk's old end is still
 * zero (invariant 6).  The push went on the current chunk, or on the one
 * malloc switched to, whose end then was end_then. */
static void *alloc_zeroed(size_t n)
{
    if (n > huge_threshold)
        return huge_alloc(n, GRANULE, true, false);
    heap *h = my_heap();
    chunk *cur = h->cur;
    char *cur_end = cur->end;
    void *p = alloc(n);
    if (!p)
        return NULL;
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

static bool mul_overflows(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

/* ======================================================================== */
/* Core: statistics and trimming                                            */
/* ======================================================================== */

/* The bytes below the cursors of h's chunks and, if `live` is not NULL, the
 * blocks in use there.  Under g.lock, which keeps h's chunks from leaving
 * its list, but without stopping h's owner: a block it is splitting or
 * merging right now may be miscounted, and the walk stops at anything that
 * is not a block yet. */
static NO_THREAD_SANITIZER size_t survey(heap *h, size_t *live)
{
    size_t stacked = 0;
    for (chunk *c = h->chunks; c; c = c->next_own) {
        char *at = first_of(c), *cursor = peek(c->cursor);
        stacked += (size_t)(cursor - at);
        while (live && at < cursor) {
            uint32_t info = load_relaxed(&((block *)at)->info);
            size_t stride = stride_of(info);
            if (stride < MIN_STRIDE || stride > (size_t)(cursor - at))
                break;
            *live += info & B_INUSE;
            at += stride;
        }
    }
    return stacked;
}

/* Everything bimp_stats reports, gathered from every heap and the globals.
 * The pops are not counted as they happen, which cost free's fast path
 * 2.5% on LIFO frames: every block malloc handed out is now in use, or was
 * freed by a pop or below a top, so the pops are what is left, and the
 * bytes in use are what lies below the cursors and is not binned.  Without
 * `walk`, the blocks in use are not counted and the pops are left 0
 * (mallinfo needs the bytes only). */
static NO_THREAD_SANITIZER void gather(struct bimp_stats *st, bool walk)
{
    memset(st, 0, sizeof *st);
    lock(&g.lock);
    for (heap *h = load_acquire(&g.all_heaps); h; h = h->next_all) {
        size_t live = 0, stacked = survey(h, walk ? &live : NULL);
        size_t binned = peek(h->binned), in_use = stacked > binned ? stacked - binned : 0;
        size_t out = peek(h->handed_out), below = peek(h->n.below), below_bytes = peek(h->n.below_bytes);
        size_t bumped = peek(h->n.bumped), exact = peek(h->n.exact), refit = peek(h->n.refit);
        size_t allocated = bumped + exact + refit;
        st->in_use_bytes += in_use;
        st->binned_bytes += binned;
        st->bumped += bumped;
        st->reused_exact += exact;
        st->reused_split += refit;
        if (walk && allocated > live + below) /* another thread's figures may be torn */
            st->top_pops += allocated - live - below;
        if (walk && out > in_use + below_bytes)
            st->popped_bytes += out - in_use - below_bytes;
        st->swept_blocks += peek(h->n.swept);
        st->frees_below_top += below;
        st->below_top_bytes += below_bytes;
        st->remote_frees += peek(h->n.remote);
        st->remote_bytes += peek(h->n.remote_bytes);
    }
    st->chunk_bytes = g.segment_bytes;
    st->peak_chunk_bytes = g.peak_segment_bytes;
    st->free_chunks = g.pool_count;
    st->chunk_resets = g.chunk_resets;
    st->brk_grows = g.brk_grows;
    st->brk_shrinks = g.brk_shrinks;
    st->heaps_made = load_relaxed(&g.heaps_made);
    st->heaps_adopted = load_relaxed(&g.heaps_adopted);
    st->pool_bytes = g.hot_count * CHUNK;
    st->pool_purged_bytes = (g.pool_count - g.hot_count) * CHUNK;
    unlock(&g.lock);
    lock(&huge_cache.lock);
    st->huge_cached = huge_cache.count;
    st->huge_cached_bytes = load_relaxed(&huge_cache.bytes);
    unlock(&huge_cache.lock);
    st->resident_bytes = os_resident_bytes();
    st->huge_allocations = load_relaxed(&g.huge_allocs);
    st->huge_frees = load_relaxed(&g.huge_frees);
    st->huge_freed_bytes = load_relaxed(&g.huge_freed_bytes);
    st->huge_reused = load_relaxed(&g.huge_reused);
    st->huge_bytes = load_relaxed(&g.huge_bytes);
    st->huge_blocks = load_relaxed(&g.huge_count);
    st->peak_huge_blocks = load_relaxed(&g.huge_peak_count);
    st->peak_huge_bytes = load_relaxed(&g.huge_peak_bytes);
    st->maps = load_relaxed(&g.maps);
    st->unmaps = load_relaxed(&g.unmaps);
    st->purges = load_relaxed(&g.purges);
    st->allocations = st->bumped + st->reused_exact + st->reused_split + st->huge_allocations;
    st->frees = st->top_pops + st->frees_below_top + st->huge_frees;
}

/* One labelled line of the statistics: label, count, bytes, remark. */
static void stat_line(text *t, int fd, const char *label, size_t count, size_t bytes,
                      const char *remark)
{
    put_str(t, "bimp:   ");
    put_str(t, label);
    put_column(t, 40);
    if (count != SIZE_MAX)
        put_human(t, count, false);
    put_column(t, 50);
    if (bytes != SIZE_MAX)
        put_human(t, bytes, true);
    if (remark) {
        put_column(t, 62);
        put_str(t, remark);
    }
    put_line_to(t, fd);
}

/* How stack-shaped the program is: the share of frees that popped a top. */
static const char *verdict_of(const struct bimp_stats *st, size_t *percent)
{
    size_t frees = st->top_pops + st->frees_below_top;
    *percent = frees ? st->top_pops * 100 / frees : 0;
    if (!frees)
        return "nothing was freed";
    if (*percent >= 90)
        return "stack-shaped: nearly every free popped the top of a stack";
    if (*percent >= 50)
        return "mostly stack-shaped: most frees popped the top of a stack";
    if (*percent >= 10)
        return "partly stack-shaped: reuse below the tops did much of the work";
    return "not stack-shaped: reuse below the tops did the work";
}

/* The text report, a line per row: a label (indented under the row it
 * details), then a count and bytes, each a field of struct bimp_stats
 * (STAT_NONE: not shown).  CHUNK_COUNT counts the bytes field in chunks;
 * CHUNK_BYTES gives the count field's chunks in bytes. */
#define STAT(f) ((signed char)(offsetof(struct bimp_stats, f) / sizeof(size_t)))
#define STAT_NONE ((signed char)-1)
enum { CHUNK_COUNT = 1, CHUNK_BYTES = 2 };
static const struct stat_row {
    const char *label;
    signed char count, bytes;
    unsigned char chunks;
    const char *remark; /* "swept": the swept blocks */
} stat_rows[] = {
    { "allocations", STAT(allocations), STAT_NONE, 0, NULL },
    { "  pushed on a top", STAT(bumped), STAT_NONE, 0, NULL },
    { "  reused, exact size", STAT(reused_exact), STAT_NONE, 0, NULL },
    { "  reused, split", STAT(reused_split), STAT_NONE, 0, NULL },
    { "  huge (own mapping)", STAT(huge_allocations), STAT_NONE, 0, NULL },
    { "    of which reused mappings", STAT(huge_reused), STAT_NONE, 0, NULL },
    { "frees; memory came back by", STAT(frees), STAT_NONE, 0, NULL },
    { "  top-of-stack pops", STAT(top_pops), STAT(popped_bytes), 0, "swept" },
    { "  reuse below the top", STAT(frees_below_top), STAT(below_top_bytes), 0, NULL },
    { "  frees from other threads", STAT(remote_frees), STAT(remote_bytes), 0, NULL },
    { "  whole-chunk resets", STAT(chunk_resets), STAT_NONE, CHUNK_BYTES, NULL },
    { "  huge frees", STAT(huge_frees), STAT(huge_freed_bytes), 0, "unmapped, or cached for reuse" },
    { "in use now", STAT_NONE, STAT(in_use_bytes), 0, NULL },
    { "chunks from the OS now", STAT_NONE, STAT(chunk_bytes), CHUNK_COUNT, NULL },
    { "  at the peak", STAT_NONE, STAT(peak_chunk_bytes), CHUNK_COUNT, NULL },
    { "  free, kept with pages", STAT_NONE, STAT(pool_bytes), CHUNK_COUNT, NULL },
    { "  free, pages given back", STAT_NONE, STAT(pool_purged_bytes), CHUNK_COUNT, NULL },
    { "huge blocks now", STAT(huge_blocks), STAT(huge_bytes), 0, NULL },
    { "  at the peak", STAT(peak_huge_blocks), STAT(peak_huge_bytes), 0, NULL },
    { "  freed, cached for reuse", STAT(huge_cached), STAT(huge_cached_bytes), 0, NULL },
    { "resident memory now", STAT_NONE, STAT(resident_bytes), 0, "the OS's count, for the whole process" },
    { "system calls: brk grow", STAT(brk_grows), STAT_NONE, 0, NULL },
    { "  brk shrink", STAT(brk_shrinks), STAT_NONE, 0, NULL },
    { "  mmap", STAT(maps), STAT_NONE, 0, NULL },
    { "  munmap", STAT(unmaps), STAT_NONE, 0, NULL },
    { "  madvise (purges)", STAT(purges), STAT_NONE, 0, NULL },
    { "thread heaps made", STAT(heaps_made), STAT_NONE, 0, NULL },
    { "  adopted from exited threads", STAT(heaps_adopted), STAT_NONE, 0, NULL },
};

static void print_stats(int fd)
{
    struct bimp_stats st;
    gather(&st, true);
    const size_t *field = (const size_t *)&st;
    text t = { .len = 0 };
    put_str(&t, "bimp " BIMP_VERSION ": statistics of ");
    put_process(&t);
    put_line_to(&t, fd);
    for (size_t k = 0; k < sizeof stat_rows / sizeof stat_rows[0]; k++) {
        const struct stat_row *r = &stat_rows[k];
        size_t count = r->count == STAT_NONE ? SIZE_MAX : field[r->count];
        size_t bytes = r->bytes == STAT_NONE ? SIZE_MAX : field[r->bytes];
        if (r->chunks == CHUNK_COUNT)
            count = bytes / CHUNK;
        if (r->chunks == CHUNK_BYTES)
            bytes = count * CHUNK;
        char remark[96];
        const char *said = r->remark;
        if (said && strcmp(said, "swept") == 0) {
            text m = { .len = 0 };
            put_str(&m, "swept ");
            put_human(&m, st.swept_blocks, false);
            put_str(&m, " freed blocks behind them");
            memcpy(remark, m.buf, m.len);
            remark[m.len] = 0;
            said = remark;
        }
        stat_line(&t, fd, r->label, count, bytes, said);
    }
    size_t percent;
    const char *verdict = verdict_of(&st, &percent);
    put_str(&t, "bimp: verdict: ");
    put_str(&t, verdict);
    put_str(&t, " (");
    put_uint(&t, percent, 10, 0);
    put_str(&t, "% of frees popped a top)");
    put_line_to(&t, fd);
}

/* The fields of struct bimp_stats, for the JSON report. */
#define STAT_FIELD(f) { #f, offsetof(struct bimp_stats, f) }
static const struct {
    const char *name;
    size_t offset;
} stat_fields[] = {
    STAT_FIELD(allocations), STAT_FIELD(bumped), STAT_FIELD(reused_exact), STAT_FIELD(reused_split),
    STAT_FIELD(huge_allocations), STAT_FIELD(huge_reused), STAT_FIELD(frees), STAT_FIELD(top_pops),
    STAT_FIELD(popped_bytes), STAT_FIELD(swept_blocks), STAT_FIELD(frees_below_top),
    STAT_FIELD(below_top_bytes), STAT_FIELD(remote_frees), STAT_FIELD(remote_bytes),
    STAT_FIELD(huge_frees), STAT_FIELD(huge_freed_bytes), STAT_FIELD(chunk_resets),
    STAT_FIELD(in_use_bytes), STAT_FIELD(binned_bytes), STAT_FIELD(chunk_bytes),
    STAT_FIELD(peak_chunk_bytes), STAT_FIELD(free_chunks), STAT_FIELD(huge_bytes),
    STAT_FIELD(peak_huge_bytes), STAT_FIELD(brk_grows), STAT_FIELD(brk_shrinks), STAT_FIELD(maps),
    STAT_FIELD(unmaps), STAT_FIELD(purges), STAT_FIELD(heaps_made), STAT_FIELD(heaps_adopted),
    STAT_FIELD(pool_bytes), STAT_FIELD(pool_purged_bytes), STAT_FIELD(huge_cached),
    STAT_FIELD(huge_cached_bytes), STAT_FIELD(resident_bytes), STAT_FIELD(huge_blocks),
    STAT_FIELD(peak_huge_blocks),
};
_Static_assert(sizeof stat_fields / sizeof stat_fields[0] == sizeof(struct bimp_stats) / sizeof(size_t),
               "every field of struct bimp_stats is in stat_fields");

/* A JSON string: quotes, backslashes and control characters escaped. */
static void put_json_str(text *t, const char *s)
{
    put_str(t, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char two[3] = { '\\', (char)c, 0 };
            put_str(t, two);
        } else if (c < 0x20) {
            put_str(t, "\\u00");
            put_uint(t, c >> 4, 16, 0);
            put_uint(t, c & 15, 16, 0);
        } else {
            char one[2] = { (char)c, 0 };
            put_str(t, one);
        }
    }
    put_str(t, "\"");
}

/* One JSON object on one line: the version, pid, program, the options in
 * force, and every field of struct bimp_stats. */
static void print_stats_json(int fd)
{
    struct bimp_stats st;
    gather(&st, true);
    text t = { .len = 0 };
    put_str(&t, "{\"bimp\": \"" BIMP_VERSION "\", \"pid\": ");
    put_uint(&t, (unsigned long long)os_pid(), 10, 0);
    put_str(&t, ", \"program\": ");
    put_json_str(&t, os_program_name());
    put_str(&t, ", \"options\": {");
    for (size_t k = 0; k < OPTION_COUNT; k++) {
        put_str(&t, k ? ", \"" : "\"");
        put_str(&t, options[k].name);
        put_str(&t, "\": ");
        if (options[k].text)
            put_json_str(&t, options[k].text);
        else
            put_uint(&t, *options[k].value, 10, 0);
    }
    os_write(fd, t.buf, t.len); /* the line is longer than the buffer: written in parts */
    t.len = 0;
    put_str(&t, "}, \"stats\": {");
    for (size_t k = 0; k < sizeof stat_fields / sizeof stat_fields[0]; k++) {
        if (t.len > sizeof t.buf - 64) {
            os_write(fd, t.buf, t.len);
            t.len = 0;
        }
        put_str(&t, k ? ", \"" : "\"");
        put_str(&t, stat_fields[k].name);
        put_str(&t, "\": ");
        put_uint(&t, *(const size_t *)((const char *)&st + stat_fields[k].offset), 10, 0);
    }
    put_str(&t, "}}");
    put_line_to(&t, fd);
}

/* BIMP_SHOW_STATS: the statistics when the program ends, on standard error
 * as it is then, or in BIMP_STATS_FILE (%p: the pid). */
static void show_stats(void)
{
    int fd = stats_file[0] ? create_report(stats_file, "") : 2;
    if (opt_show_stats == STATS_JSON)
        print_stats_json(fd);
    else
        print_stats(fd);
    if (fd != 2)
        os_close(fd);
}

/* Options are read, and BIMP_VERBOSE's banner printed, when the library is
 * loaded, also in a program that never allocates; an allocation that comes
 * earlier (another library's constructor) reads them first. */
static CONSTRUCTOR void options_at_load(void)
{
    if (!load_relaxed(&g.options_read))
        take_options();
}

static DESTRUCTOR void show_stats_at_exit(void)
{
    if (opt_show_stats)
        show_stats();
    if (opt_profile)
        profile_at_exit();
}

/* Give back the whole pages inside h's large free blocks; true if any. */
static bool purge_free_runs(heap *h)
{
    bool any = false;
    size_t page = os_page_size();
    drop_hole(h);
    for (unsigned i = bin_of(2 * page); i < NBINS; i++)
        for (block *b = h->bins[i]; b; b = next_of(b)) {
            uintptr_t from = align_up((uintptr_t)(links_of(b) + 1), page);
            uintptr_t to = ((uintptr_t)b + stride_of(load_relaxed(&b->info))) & ~(page - 1);
            if (to > from) {
                os_purge((void *)from, to - from);
                fetch_add(&g.purges, 1);
                any = true;
            }
        }
    return any;
}

/* Everything that can go back to the OS now: true if anything did. */
static bool trim(void)
{
    bool released = false;
    heap *h = usable_heap();
    if (h) {
        flush_remote(h);
        drain(h);
        consolidate(h);
        released = purge_free_runs(h);
        if (h->cur != &empty_chunk && chunk_empty(h->cur)) { /* let the break shrink past it */
            release_chunk(h, h->cur);
            set_cur(h, &empty_chunk);
        }
    }
    lock(&huge_cache.lock);
    released |= huge_cache.count > 0;
    expire_huge(0);
    unlock(&huge_cache.lock);
    lock(&g.lock);
    size_t hot = g.hot_count;
    char *brk = g.brk_end;
    maintain_pool(0);
    released |= hot != g.hot_count || brk != g.brk_end;
    unlock(&g.lock);
    return released;
}

/* ======================================================================== */
/* Public API                                                               */
/* ======================================================================== */

/* The entry points are written under the C library's names below; the
 * prefixed library (BIMP_PREFIX) renames them here, in one place, to
 * bimp_malloc, bimp_free, ... (declared in bimp.h), and replaces nothing. */
#ifdef BIMP_PREFIX
#define aligned_alloc bimp_aligned_alloc
#define calloc bimp_calloc
#define cfree bimp_cfree
#define free bimp_free
#define free_aligned_sized bimp_free_aligned_sized
#define free_sized bimp_free_sized
#define mallinfo bimp_mallinfo
#define mallinfo2 bimp_mallinfo2
#define malloc bimp_malloc
#define malloc_info bimp_malloc_info
#define malloc_stats bimp_malloc_stats
#define malloc_trim bimp_malloc_trim
#define malloc_usable_size bimp_malloc_usable_size
#define mallopt bimp_mallopt
#define memalign bimp_memalign
#define posix_memalign bimp_posix_memalign
#define pvalloc bimp_pvalloc
#define realloc bimp_realloc
#define reallocarray bimp_reallocarray
#define reallocf bimp_reallocf
#define valloc bimp_valloc
#endif

/* glibc's struct mallinfo2 and mallinfo, field for field, and its mallopt
 * parameter numbers: the core includes no libc-specific header. */
struct mallinfo2 {
    size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
struct mallinfo {
    int arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
enum { M_MXFAST = 1, M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3 };

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
    return p ? usable_size(live_block(p, "malloc_usable_size")) : 0;
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
    size_t page = os_page_size();
    if (n > PTRDIFF_MAX - page) {
        errno = ENOMEM;
        return NULL;
    }
    return alloc_aligned(page, n ? align_up(n, page) : page);
}

EXPORT int malloc_trim(size_t pad)
{
    (void)pad;
    int saved = errno;
    int released = trim();
    errno = saved;
    return released;
}

EXPORT struct mallinfo2 mallinfo2(void)
{
    struct bimp_stats st;
    gather(&st, false);
    struct mallinfo2 mi = { 0 };
    mi.arena = st.chunk_bytes;
    mi.ordblks = st.free_chunks;
    mi.hblks = st.huge_blocks;
    mi.hblkhd = st.huge_bytes;
    mi.uordblks = st.in_use_bytes;
    mi.fordblks = st.chunk_bytes - st.in_use_bytes;
    mi.fsmblks = st.binned_bytes;
    mi.keepcost = st.free_chunks * CHUNK;
    return mi;
}

EXPORT struct mallinfo mallinfo(void)
{
    struct mallinfo2 m = mallinfo2();
    struct mallinfo mi = {
        .arena = (int)m.arena, .ordblks = (int)m.ordblks, .hblks = (int)m.hblks,
        .hblkhd = (int)m.hblkhd, .uordblks = (int)m.uordblks, .fordblks = (int)m.fordblks,
        .fsmblks = (int)m.fsmblks, .keepcost = (int)m.keepcost,
    };
    return mi;
}

/* glibc's shape, Bimp's numbers: the chunk heap is "Arena 0". */
EXPORT void malloc_stats(void)
{
    int saved = errno;
    struct bimp_stats st;
    gather(&st, false);
    text out = { .len = 0 };
    struct { const char *label; size_t value; } rows[] = {
        { "system bytes     = ", st.chunk_bytes },
        { "in use bytes     = ", st.in_use_bytes },
        { NULL, 0 },
        { "system bytes     = ", st.chunk_bytes + st.huge_bytes },
        { "in use bytes     = ", st.in_use_bytes + st.huge_bytes },
        { "max mmap regions = ", st.peak_huge_blocks },
        { "max mmap bytes   = ", st.peak_huge_bytes },
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

/* glibc's XML shape, Bimp's numbers. */
EXPORT int malloc_info(int flags, FILE *fp)
{
    if (flags != 0)
        return EINVAL; /* as glibc: the error is the result, errno stays */
    struct bimp_stats st;
    gather(&st, false);
    text t = { .len = 0 };
    struct { const char *open; size_t a; const char *mid; size_t b; } rows[] = {
        { "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n</sizes>\n<total type=\"fast\" count=\"", 0, "\" size=\"", 0 },
        { "\"/>\n<total type=\"rest\" count=\"", st.free_chunks, "\" size=\"", st.binned_bytes + st.free_chunks * CHUNK },
        { "\"/>\n<system type=\"current\" size=\"", st.chunk_bytes, "\"/>\n<system type=\"max\" size=\"", st.peak_chunk_bytes },
        { "\"/>\n<aspace type=\"total\" size=\"", st.chunk_bytes, "\"/>\n<aspace type=\"mprotect\" size=\"", st.chunk_bytes },
        { "\"/>\n</heap>\n<total type=\"fast\" count=\"", 0, "\" size=\"", 0 },
        { "\"/>\n<total type=\"rest\" count=\"", st.free_chunks, "\" size=\"", st.binned_bytes + st.free_chunks * CHUNK },
        { "\"/>\n<total type=\"mmap\" count=\"", st.huge_blocks, "\" size=\"", st.huge_bytes },
        { "\"/>\n<system type=\"current\" size=\"", st.chunk_bytes + st.huge_bytes, "\"/>\n<system type=\"max\" size=\"", st.peak_chunk_bytes + st.peak_huge_bytes },
        { "\"/>\n<aspace type=\"total\" size=\"", st.chunk_bytes + st.huge_bytes, "\"/>\n<aspace type=\"mprotect\" size=\"", st.chunk_bytes + st.huge_bytes },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        put_str(&t, rows[i].open);
        put_uint(&t, rows[i].a, 10, 0);
        put_str(&t, rows[i].mid);
        put_uint(&t, rows[i].b, 10, 0);
        if (t.len > sizeof t.buf - 128) {
            fwrite(t.buf, 1, t.len, fp);
            t.len = 0;
        }
    }
    put_str(&t, "\"/>\n</malloc>\n");
    fwrite(t.buf, 1, t.len, fp);
    return 0;
}

EXPORT int bimp_stats(struct bimp_stats *stats)
{
    gather(stats, true);
    return 0;
}

EXPORT void bimp_print_stats(int fd)
{
    int saved = errno;
    print_stats(fd);
    errno = saved;
}

EXPORT void bimp_profile_dump(int fd)
{
    int saved = errno;
    profile_dump(fd);
    errno = saved;
}

EXPORT void bimp_profile_folded(int fd, int below)
{
    int saved = errno;
    profile_folded(fd, below != 0);
    errno = saved;
}

EXPORT void bimp_print_stats_json(int fd)
{
    int saved = errno;
    print_stats_json(fd);
    errno = saved;
}

/* glibc's answers: 1 for every parameter and value, known or not, but a
 * fastbin size above 160 (0).  Bimp honours the two thresholds; the
 * rest (fastbin size, arenas, top pad, mmap count, check action, perturb)
 * have no counterpart here and are accepted as glibc accepts them. */
EXPORT int mallopt(int param, int value)
{
    switch (param) {
    case M_MXFAST:
        return (size_t)value <= 160; /* glibc's MAX_FAST_SIZE on 64-bit */
    case M_MMAP_THRESHOLD: /* above Bimp's maximum: the maximum; negative: ignored */
        if (value >= 0)
            set_huge_threshold((size_t)value);
        return 1;
    case M_TRIM_THRESHOLD: /* negative: as glibc, a threshold never reached */
        pool_keep_bytes = value < 0 ? SIZE_MAX : (size_t)value;
        pool_keep_set = true;
        return 1;
    default:
        return 1;
    }
}

#ifdef BIMP_DEBUG
/* Debug builds: check every structure of the calling thread's heap. */
EXPORT void bimp_check_heap(void)
{
    heap *h = usable_heap();
    if (h)
        check_heap(h);
}
#endif
