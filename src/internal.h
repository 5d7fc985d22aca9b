/* src/internal.h - the data model Bimp's files share: the block and chunk
 * layout with its invariants, the small tier's pages, the state (heaps,
 * sentinels, globals), and what each file of src/ offers the others.  The
 * configuration, compiler and threading layer come first (src/glue.h);
 * what only bimp.c uses is in bimp.c.  Private: not installed. */
#ifndef BIMP_INTERNAL_H
#define BIMP_INTERNAL_H

#include "glue.h"

#pragma GCC visibility push(hidden)

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
 * Invariants (the debug build's check_chunk asserts 1-4 and 6-8 after every
 * operation, and of 5 that a remote mark is on a block in use; check_heap
 * adds 9 and the bins; who writes a header, the rest of 5, is what the
 * ThreadSanitizer runs of tests/faults check):
 *  1. Walking from `first` by strides lands exactly on `cursor`; every
 *     block's prev equals the stride of the block before it.
 *  2. The last block, the top, is in use, or the chunk is empty and
 *     cursor == first.
 *  3. Every block below the cursor is either in use or free; a free block is
 *     binned, on exactly one bin, the one of its stride's class, or it is its
 *     heap's hole, on no bin.  Two free blocks are neighbours only if one of
 *     them is small (stride at most QUICK_MAX): a small block freed below the
 *     top is binned without merging, and merged later (consolidate), so a
 *     pop may sweep several free blocks behind the top.  In an arena's chunk
 *     a free block is on no bin ("loose"), and any two may be neighbours: an
 *     arena never reuses below its tops, so only a pop, a release or a reset
 *     takes them.
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
 * A huge block is a run of memory that no other block shares:
 * [length][offset][pad][h|payload...], with h.prev the byte offset of h from
 * the run's start (also kept in the run's second word) and HUGE in info.
 * Up to 4 MiB the run is whole 16 KiB grains of a region (a few big
 * mappings hold all such blocks, src/huge.c); above, or aligned beyond a
 * grain, it is a mapping of its own, whole CHUNKs aligned to CHUNK.  Either
 * is "the block's mapping" below.
 *
 * The address map records, for every CHUNK-sized unit of the address space,
 * whether it is a chunk of Bimp's, (part of) a huge block's own mapping, a
 * region's, or not Bimp's; free consults it for pointers outside the break,
 * so that it never reads memory Bimp does not own.
 */

#define GRANULE ((size_t)BIMP_ALIGN)
#define HEADER ((size_t)8)
#define MIN_STRIDE (GRANULE > 32 ? GRANULE : (size_t)32)
#define CHUNK ((size_t)1 << BIMP_CHUNK_SHIFT)

enum {
    B_INUSE = 1,  /* handed out to the program */
    B_FREE = 2,   /* free: on the bin of its class, the hole, or an arena's loose block */
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

/* What a chunk holds: a stack of headered blocks, or pages of small blocks
 * (src/small.c, "Small blocks" below). */
enum chunk_kind { CK_STACK, CK_PAGES };

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
    uint8_t kind;     /* enum chunk_kind: free reads it with owner, in one line */
    uint8_t page_shift; /* CK_PAGES: log2 of its page size */
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

/* Bins.  Strides up to SMALL_MAX have one bin each (exact fit); above,
 * MEDIUM_SPLIT bins share each doubling, up to the largest stride a chunk
 * holds.  Every bin constant is derived from these three. */
#define SMALL_SHIFT 10
#define SMALL_MAX ((size_t)1 << SMALL_SHIFT)
#define MEDIUM_SPLIT_SHIFT 2 /* 1 << 2: four bins per doubling */
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
extern uintptr_t link_secret;

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

/* n rounded up to a multiple of a, a power of two. */
static inline size_t align_up(size_t n, size_t a)
{
    return (n + a - 1) & ~(a - 1);
}

static inline uint32_t info_make(size_t stride, uint32_t flags)
{
    if (GRANULE >= (1u << FLAG_BITS))
        return (uint32_t)(stride / INFO_SCALE) | flags;
    return (uint32_t)(stride / GRANULE) << FLAG_BITS | flags;
}

/* ======================================================================== */
/* Small blocks: a bump stack of equal blocks per page (src/small.c)        */
/* ======================================================================== */
/*
 * Requests up to SMALL_TIER_MAX bytes have no header.  Each size class (a
 * stride, a multiple of GRANULE) has pages of equal blocks, carved from
 * chunks of their own (kind CK_PAGES), with all their metadata out of band:
 *
 *   page chunk (CHUNK bytes, aligned to CHUNK)
 *   [chunk hdr|page descriptors ...][page 2    ][page 3    ] ... [page 63   ]
 *                                   4 KiB pages for strides up to 256 bytes,
 *                                   16 KiB above (the first page after the
 *                                   descriptors starts where they end)
 *
 *   one page of one class, a stack of blocks:
 *   base                                       base + top * stride    cap
 *   [ 0 ][ 1 ][ 2 ][ 3 ][ 4 ][ 5 ][ 6 ][ 7 ]  [ never handed out ....]
 *    use free use  use free free use  use
 *   freed bits (owner):  0 1 0 0 1 1 0 0      remote bits: 0 0 1 0 ...
 *
 * A pointer's page is found by arithmetic (its chunk by masking, the page
 * by the chunk's page shift) and its index by one multiplication, so free
 * and malloc never read or write a block.  malloc takes the lowest freed
 * bit of its class's current page, else pushes (top++), else the slow path.
 * The owner's free of the top block pops it (top--), and every freed block
 * right behind it; a free below the top sets its bit.  Another thread's
 * free sets the bit in the page's remote bitmap (one atomic OR, on the
 * descriptor's second cache line, which the owner's fast paths never
 * write), and queues the page for its owner once; the owner folds the
 * remote bits in when it next needs a page.
 *
 * Invariants (check_page and check_heap assert them after every operation
 * of the debug build):
 *  P1. 0 <= top <= cap; the freed and remote bits are those of blocks
 *      below top, and no block has both.
 *  P2. Block top - 1, if any, is in use: not freed (the pop took it), and
 *      its remote bit may be set only until the owner folds them in.
 *  P3. A page in use is its class's current page, on its class's partial
 *      ring (it got room: a freed bit or top < cap; the hot path, P7, may
 *      have taken it again), or full (no room, on no list); an unused page
 *      is on its chunk's list of unused pages, or was never cut (index at
 *      or above the chunk's `cut`).
 *  P4. No freed bit lies in a word below `scan`, the word malloc's fast
 *      path looks at (a free below it moves it down; taking a word's last
 *      bit leaves it, and the slow path looks at the words above).
 *  P5. A page whose top comes back to 0 is empty: unless it is its class's
 *      current page it is unused at once, and a page chunk whose pages are
 *      all unused goes back to the pool (all but one per page size).
 *  P6. A page is on its owner's queue of pages with remote bits exactly
 *      while `pending` is set; only the owner clears it, before it takes
 *      the page's remote bits.
 *  P7. A class's hot block (h->hot_page, hot_index) is only a hint: the
 *      block its owner freed last below a top, in a page in use (a page
 *      that becomes unused clears it).  malloc takes it first if its bit
 *      is still set in a page of the class, so the block freed
 *      last, likely still in cache, is the first handed out again, as
 *      glibc's tcache and Bimp's bins do: taking the lowest freed bit
 *      instead scattered bash's array elements (2.2x glibc's time on its
 *      indexed arrays).
 */

/* The largest request, and stride, of the tier; larger ones are headered. */
#define SMALL_TIER_MAX ((size_t)1024)
/* The smallest stride: a block of 16 bytes at least, whatever GRANULE. */
#define SMALL_MIN (GRANULE > 16 ? GRANULE : (size_t)16)
/* Strides up to SMALL_EXACT_MAX have a class each (every GRANULE); above,
 * SMALL_SPLIT classes share each doubling (at most a quarter more than the
 * request).  Fewer classes, fewer pages a program's blocks spread over:
 * under cachegrind, LIFO frames of mixed sizes took 2.7 M first-level data
 * misses with a class per granule up to 1 KiB, 1.1 M with these 24 classes
 * (the headered stack: 1.2 M). */
#ifndef SMALL_EXACT_MAX
#define SMALL_EXACT_MAX ((size_t)256)
#endif
#ifndef SMALL_SPLIT
#define SMALL_SPLIT 4
#endif
/* At most this many classes (a class per granule count, at most). */
#define SMALL_CLASSES (SMALL_TIER_MAX / GRANULE + 1)
/* Pages: 4 KiB for strides up to 256 bytes, 16 KiB above. */
#ifndef PAGE_SHIFT_SMALL
#define PAGE_SHIFT_SMALL 12
#endif
#define PAGE_SHIFT_LARGE 14
#define PAGE_STRIDE_SPLIT ((size_t)256)
#define PAGE_KINDS 2
/* Words of a page's bitmaps: 4 KiB of 16-byte blocks at most. */
#define PAGE_WORDS (((size_t)1 << PAGE_SHIFT_SMALL) / SMALL_MIN / 64)
_Static_assert(((size_t)1 << PAGE_SHIFT_LARGE) / (PAGE_STRIDE_SPLIT + GRANULE) <= 64 * PAGE_WORDS,
               "a large page's blocks fit its bitmaps");
_Static_assert(SMALL_TIER_MAX <= UINT16_MAX && (CHUNK >> PAGE_SHIFT_SMALL) <= UINT16_MAX,
               "strides and page counts fit 16 bits");

enum page_state { PG_UNUSED, PG_CURRENT, PG_PARTIAL, PG_FULL };

/* A page's descriptor: the owner's line (everything malloc and free touch),
 * then the line other threads write. */
typedef struct page {
    char *base;              /* its first block */
    ATOMIC(uint16_t) top;    /* blocks pushed: the stack's height (P1); atomic for
                              * other threads' examine (relaxed: plain moves) */
    uint16_t cap;            /* blocks it holds */
    uint16_t stride;
    uint8_t cls;
    uint8_t scan;            /* no freed bit below this word (P4) */
    uint32_t recip;          /* ceil(2^32 / stride): an index is offset * recip >> 32 */
    uint8_t state;           /* enum page_state */
    uint64_t freed[PAGE_WORDS]; /* blocks below top freed by the owner */
    struct page *next;       /* its class's partial list, or its chunk's unused pages */
    /* Written by other threads (and the owner's slow path). */
    CACHE_ALIGNED struct page *prev;
    ATOMIC(uint64_t) remote[PAGE_WORDS]; /* blocks freed by other threads, not yet folded in */
    ATOMIC(int) pending;     /* on its owner's queue of pages with remote bits (P6) */
    struct page *next_remote; /* that queue's link */
} page;

_Static_assert(offsetof(page, prev) == 64 && sizeof(page) == 128, "a page descriptor is two lines");

/* A chunk of pages: the chunk's header, then a descriptor per page. */
typedef struct page_chunk {
    chunk c;
    uint16_t npages;         /* CHUNK >> page_shift */
    uint16_t cut;            /* pages cut so far, in address order */
    uint16_t used;           /* pages in use (not unused) */
    page *unused;            /* pages given back, for reuse */
    CACHE_ALIGNED page pages[];
} page_chunk;

static inline page_chunk *page_chunk_of(const void *p)
{
    return (page_chunk *)((uintptr_t)p & ~(uintptr_t)(CHUNK - 1));
}

/* The page (descriptor) that p, a pointer into page chunk pc, lies in. */
static inline page *page_of(page_chunk *pc, const void *p)
{
    return &pc->pages[((uintptr_t)p - (uintptr_t)pc) >> pc->c.page_shift];
}

/* The class of n bytes (n <= SMALL_TIER_MAX) by its granules, and each
 * class's stride: set up once (small_classes_init), before any page. */
extern uint8_t class_of_granules[SMALL_TIER_MAX / GRANULE + 1];
extern uint16_t stride_of_class[SMALL_CLASSES];

static inline size_t small_class(size_t n)
{
    return class_of_granules[(n + GRANULE - 1) / GRANULE];
}

static inline size_t class_stride(size_t cls)
{
    return stride_of_class[cls];
}

/* The page kind (0: 4 KiB pages, 1: 16 KiB) of a class's stride. */
static inline unsigned page_kind(size_t stride)
{
    return stride > PAGE_STRIDE_SPLIT;
}

/* The index of the block at byte offset `off` of pg, or SIZE_MAX if no
 * block starts there.  The multiplication by recip is the exact quotient
 * for every multiple of the stride below 2^32, so checking it back rejects
 * everything else: an interior pointer, and one below base (off wraps, and
 * no index times the stride comes near it). */
static inline size_t block_index(const page *pg, size_t off)
{
    size_t idx = (size_t)(((uint64_t)(uint32_t)off * pg->recip) >> 32);
    return idx * pg->stride == off ? idx : SIZE_MAX;
}

/* ======================================================================== */
/* State                                                                    */
/* ======================================================================== */


enum heap_state { H_OWNED, H_ORPHAN };

/* A thread's heap, or an arena's (bimp_arena; "Core: arenas" in bimp.c).
 * The values are unlikely bytes, so that a pointer to something else is
 * seldom taken for an arena. */
enum heap_kind { HEAP_THREAD = 0, HEAP_ARENA = 0xa7, HEAP_DESTROYED = 0xd5 };

/* A node of an arena's ring of marks and huge blocks, newest first: the
 * payload of a mark block, or in a huge block's words. */
typedef struct arena_node {
    struct arena_node *older, *newer;
} arena_node;

/* The size histogram's bins (src/watch.c): requests up to 16 bytes, then
 * two per power of two. */
#define SIZE_BINS 121
typedef struct {
    size_t count, bytes;
} size_count;

/* The bin of a request of n bytes (bounds: 16, 24, 32, 48, 64, 96, ...;
 * size_bin_max gives them). */
static inline unsigned size_bin(size_t n)
{
    if (n <= 16)
        return 0;
    unsigned k = 63 - (unsigned)__builtin_clzll((unsigned long long)(n - 1));
    return 1 + 2 * (k - 4) + (unsigned)(((n - 1) >> (k - 1)) & 1);
}

/* What a heap's owner did, for the statistics (bimp_stats). */
typedef struct {
    size_t small_bumped, small_reused;       /* small allocations: pushed on a page, a freed bit taken */
    size_t small_below, small_swept;         /* small frees setting a bit; freed blocks popped behind a top */
    size_t small_remote;                     /* frees this thread made of others' small blocks */
    size_t bumped, exact, refit;             /* allocations: pushed, exact bin, split bin */
    size_t swept;                            /* free blocks popped behind a top */
    size_t below, below_bytes;               /* frees below the top */
    size_t remote, remote_bytes;             /* frees this thread made of others' blocks */
    size_t released, released_bytes;         /* an arena's releases and resets */
} counts;

struct heap {
    /* The small tier (src/small.c): each class's current page (empty_page
     * if none), its other pages with room, and this heap's page chunks
     * with unused pages, per page kind. */
    page *pages[SMALL_CLASSES];
    page *hot_page[SMALL_CLASSES];   /* the block of each class freed last below a top: a hint (P7) */
    uint16_t hot_index[SMALL_CLASSES];
    page *partial[SMALL_CLASSES];
    page_chunk *page_chunks[PAGE_KINDS];
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
    ATOMIC(page *) remote_pages; /* pages with remote bits, linked through next_remote (P6) */
    ATOMIC(int) state;    /* enum heap_state */
    lock_t lock;          /* held while working on an orphaned heap */
    /* An arena's: the heap of the thread that uses it, its ring of marks and
     * huge blocks (newest = nodes.older), the next destroyed one to reuse. */
    uint8_t kind;         /* enum heap_kind */
    heap *arena_thread;
    arena_node nodes;
    heap *next_spare;
    size_count *sizes;    /* the size histogram (src/watch.c): SIZE_BINS, mapped at its first count */
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
extern chunk empty_chunk;

extern page empty_page;


extern heap unattached_heap;
extern heap exited_heap;
extern heap late_heap;

#ifdef BIMP_SINGLE_THREADED
extern heap the_heap;
extern ptrdiff_t the_countdown;
static inline ptrdiff_t *my_countdown(void) { return &the_countdown; }
static inline heap *my_heap(void) { return &the_heap; }
static inline void set_my_heap(heap *h) { (void)h; }
static inline chunk *my_cur(heap *h) { return h->cur; }
static inline void set_cur(heap *h, chunk *c) { h->cur = c; }
#else
/* The thread's heap, and a copy of its current chunk (invariant 9). */
struct mine {
    heap *heap;
    chunk *cur;
    ptrdiff_t countdown; /* bytes to allocate before the next profile sample */
};
extern TLS_INITIAL_EXEC struct mine mine;
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

/* Process-wide state; everything but the atomics is guarded by `lock`. */
struct globals {
    lock_t lock;
    bool initialised;
    ATOMIC(int) threads_ready; /* 0, 1 while os_thread_init runs, 2 after */
    /* (Where chunks come from, and the free ones: src/pool.c's own state,
     * under this lock.) */
    /* Heaps. */
    ATOMIC(heap *) all_heaps;
    heap *orphans;
    ATOMIC(int) options_read;
    heap *spare_arenas; /* destroyed arenas, for the next create */
};
extern struct globals g;

/* What the rare paths count for the statistics, process-wide (what a
 * heap's owner counts is its `counts`): atomics, each named as the field of
 * struct bimp_stats it is copied to (gather, src/stats.c). */
#define RARE_COUNTS(X)                                                                       \
    X(huge_blocks) X(huge_bytes) X(peak_huge_blocks) X(peak_huge_bytes) /* in use now, at most */ \
    X(huge_allocations) X(huge_frees) X(huge_freed_bytes) X(huge_reused)                     \
    X(heaps_made) X(heaps_adopted) X(maps) X(unmaps) X(purges) X(arenas) /* arenas: live now */
#define RARE_FIELD(f) ATOMIC(size_t) f;
struct rare_counts {
    RARE_COUNTS(RARE_FIELD)
};
#undef RARE_FIELD
extern struct rare_counts rare;


/* ======================================================================== */
/* Diagnostics (src/diagnostics.c)                                          */
/* ======================================================================== */

/* A small buffer formatter: no stdio inside the allocator. */
typedef struct {
    char buf[512];
    size_t len;
} text;

void put_str(text *t, const char *s);
void put_uint(text *t, unsigned long long v, unsigned base, int width);
void put_line_to(text *t, int fd);
void put_line(text *t);
void put_human(text *t, size_t n, bool bytes);
void put_column(text *t, size_t col);
void put_json_str(text *t, const char *s);
void put_process(text *t);
int create_report(const char *pattern, const char *suffix, bool append);
COLD _Noreturn void fatal(const char *what, const void *p, const char *function);
/* fatal's lines without the abort: a report that says more, then aborts. */
void misuse_lines(const char *what, const void *p, const char *function);
/* Call stacks for reports: this thread's (0 frames if it cannot be taken
 * now), and one written as `bimp:   <label> <frame> <- ...`. */
int capture_stack(void **frame, int max);
extern PER_THREAD bool unwinding; /* capture_stack is under way on this thread */
/* A frame as people read it: its function's name, or object+0xoffset. */
void put_frame(text *t, void *pc);
void put_stack(const char *label, void *const *frame, int depth);
extern lock_t stack_cache_lock;
COLD _Noreturn void corrupt(const void *block_at, const char *why, const char *function);

/* What the corruption checks found, for corrupt()'s message. */
#define OVERWRITTEN_HEADER "header overwritten, likely an overflow from the block before"
#define OVERWRITTEN_FREE "free block overwritten, likely a use after free or an overflow from the block before"
#define OVERWRITTEN_LINK "free block's link overwritten, likely a use after free"
#define OVERWRITTEN_TOP "memory past the top block overwritten, likely an overflow from it"

#define REQUIRE(cond, what, p) \
    do { \
        if (!(cond)) \
            fatal("invariant broken: " what, p, __func__); \
    } while (0)

/* Options: src/options.h, every BIMP_* variable in one list. */
#include "options.h"

/* ======================================================================== */
/* The address map (src/address_map.c)                                      */
/* ======================================================================== */

/* U_HUGE_*: a huge block's mapping of its own (U_HUGE_FREED: freed, cached
 * or on its way back); U_REGION: a region's, whose grains say more
 * (region_state, src/huge.c). */
enum unit_kind { U_NONE, U_CHUNK, U_HUGE_START, U_HUGE, U_HUGE_FREED, U_REGION };

#define LEAF_BITS 14
#define ROOT_SIZE ((size_t)1 << (OS_ADDRESS_BITS - BIMP_CHUNK_SHIFT - LEAF_BITS))
#define LOG2_GRANULE __builtin_ctz(BIMP_ALIGN)

/* Root of leaves of one byte (enum unit_kind) per CHUNK-sized unit. */
extern ATOMIC(ATOMIC(uint8_t) *) unit_map[ROOT_SIZE];
extern lock_t unit_map_lock;

/* The break's chunks, for free's fast check: pointers p with
 * p - fast_lo < fast_granules * GRANULE and GRANULE-aligned. */
extern ATOMIC(uintptr_t) fast_lo, fast_granules;

/* Record [p, p + len), CHUNK-aligned, as `kind`; false if out of memory. */
bool mark_units(void *p, size_t len, unsigned kind);
/* The break's chunks, [lo, hi), changed: tell free's fast check. */
void note_break(char *lo, char *hi);

static inline bool in_break(const void *p)
{
    uintptr_t x = (uintptr_t)p - load_relaxed(&fast_lo);
    x = x >> LOG2_GRANULE | x << (sizeof x * CHAR_BIT - LOG2_GRANULE);
    return x < load_relaxed(&fast_granules);
}

static inline unsigned unit_kind(uintptr_t a)
{
    uintptr_t u = a >> BIMP_CHUNK_SHIFT;
    if (u >> LEAF_BITS >= ROOT_SIZE)
        return U_NONE;
    ATOMIC(uint8_t) *leaf = load_acquire(&unit_map[u >> LEAF_BITS]);
    return leaf ? load_relaxed(&leaf[u & (((uintptr_t)1 << LEAF_BITS) - 1)]) : U_NONE;
}

/* p could be a block of a chunk mapped outside the break (when the break
 * cannot grow): its header is Bimp's memory. */
static inline bool in_mapped_chunk(const void *p)
{
    return ((uintptr_t)p & (GRANULE - 1)) == 0 && ((uintptr_t)p & (CHUNK - 1)) != 0 &&
           unit_kind((uintptr_t)p - HEADER) == U_CHUNK;
}

/* b lies in one of Bimp's chunks, its payload aligned: safe to read. */
static inline bool in_chunks(block *b)
{
    return in_break(payload_of(b)) || in_mapped_chunk(payload_of(b));
}




/* ======================================================================== */
/* Huge blocks (src/huge.c)                                                 */
/* ======================================================================== */

/* A huge mapping's first words: what is mapped, where the block's header
 * is, and how much of the mapping the block has (the rest is pages kept
 * from a reused mapping, for the block to grow into); an arena's huge block
 * also keeps its arena and its place in the arena's ring. */
typedef struct {
    size_t mapped, offset, length;
    heap *arena;     /* the arena the block belongs to, or NULL */
    arena_node node; /* in that arena's ring */
} huge_words;

/* The words of the huge block whose node in an arena's ring n is, or NULL
 * if n is a mark's (a mark lies in a chunk, a huge block's words do not). */
static inline huge_words *huge_of_node(arena_node *n)
{
    if (in_break(n) || unit_kind((uintptr_t)n) == U_CHUNK)
        return NULL;
    return (huge_words *)((char *)n - offsetof(huge_words, node));
}

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

/* The most bytes plus alignment a huge request may ask for: the address
 * space the address map covers (Bimp refuses mappings above it).  Larger
 * requests fail at once, without asking the OS, and no length computed from
 * them (n + align + the words in front, rounded up to CHUNK) can wrap. */
#define HUGE_MAX ((size_t)1 << OS_ADDRESS_BITS)
_Static_assert(HUGE_MAX < PTRDIFF_MAX / 2, "lengths below HUGE_MAX + 2 CHUNK never wrap");

/* The grain of a huge block's length: whole CHUNKs for a mapping of its
 * own, whole REGION_GRAINs for a region's run (huge blocks up to 4 MiB). */
#define REGION_GRAIN ((size_t)16 << 10)
static inline size_t huge_grain(const char *map)
{
    return unit_kind((uintptr_t)map) == U_REGION ? REGION_GRAIN : CHUNK;
}

/* The block length for n bytes at offset off in whole grains, or 0 if it
 * overflows; a block of 0 bytes gets one, so that its payload is not the
 * mapping's end. */
static inline size_t huge_length(size_t off, size_t n, size_t grain)
{
    if (n > PTRDIFF_MAX - off - HEADER - CHUNK)
        return 0;
    return align_up(off + HEADER + (n ? n : 1), grain);
}

static inline char *huge_map(block *b)
{
    return (char *)b - b->prev;
}

static inline size_t huge_usable(block *b)
{
    return huge_words_of(huge_map(b))->length - b->prev - HEADER;
}

void *huge_alloc(size_t n, size_t align, bool zero, bool growing);
void huge_free(block *b, const char *function);
void *huge_resize(block *b, size_t n);
bool give_back_huge(bool holes);
/* What a region's grain is; a block's run starts at a region's RG_START. */
enum grain_state { RG_FREE, RG_START, RG_BODY, RG_FREED, RG_META, RG_HOLE };
unsigned region_state(const void *a);
bool huge_starts_at(const char *map);
void huge_cache_stats(size_t *count, size_t *bytes);
void huge_region_stats(size_t *count, size_t *bytes, size_t *free_bytes);
size_t huge_unused_bytes(void);
extern lock_t huge_lock;

/* ======================================================================== */
/* The chunk pool (src/pool.c)                                              */
/* ======================================================================== */

/* A free chunk for heap h, empty and owned by h; NULL when memory is out. */
chunk *take_chunk(heap *h);
/* Return h's chunks from c up to `stop` on its list of chunks, empty or
 * with blocks nobody will use, to the pool. */
void return_chunks(heap *h, chunk *c, chunk *stop);
static inline void return_chunk(heap *h, chunk *c)
{
    return_chunks(h, c, c->next_own);
}
/* malloc_trim, and memory running out: give back the pool's pages, and
 * with `address_space` its chunks' address space too; true if any went. */
bool trim_pool(bool address_space);
/* The address space of free chunks and of segments not cut yet. */
size_t pool_unused_bytes(void);
heap *new_heap(void);
/* The pool's figures in the statistics (g.lock held). */
void pool_stats(struct bimp_stats *st);

/* ======================================================================== */
/* The small tier's slow paths (src/small.c; the fast ones: src/small.h)    */
/* ======================================================================== */

void *page_alloc(heap *h, size_t cls);
void small_free_other(void *p, const char *function);
void small_free_slow(void *p, const char *function);
void *small_slow(size_t n); /* bimp.c: malloc's slow path for small blocks */
void small_popped(heap *h, page *pg);
void small_unfull(heap *h, page *pg);
void small_init_heap(heap *h);
void small_classes_init(void);
void small_trim(heap *h, bool retire);
void small_survey(page_chunk *pc, size_t *live, size_t *bytes, size_t *pages);
void check_page(page *pg);
void check_pages(heap *h);

/* ======================================================================== */
/* The cold rest: fork, checkers, heap profile, statistics                  */
/* ======================================================================== */

/* src/fork.c: the fork handlers (every lock of Bimp's held across fork). */
void before_fork(void);
void after_fork_parent(void);
void after_fork_child(void);

/* src/checks.c: the invariants, checked after every operation by the debug
 * build; check_chunk returns the bytes of the chunk's binned blocks. */
size_t check_chunk(chunk *c);
void check_heap(heap *h);

/* src/profile.c: the heap profile (BIMP_PROFILE). */
ptrdiff_t next_interval(void);
ptrdiff_t draw_interval(size_t mean);
void seed_intervals(uint64_t seed);
void profile_record(void *p, size_t n);
uint32_t unsample(block *b, bool below);
void profile_dump(int fd);
void profile_folded(int fd, bool below);
void profile_pprof(int fd, bool below);
void profile_at_exit(void);
extern lock_t profile_lock;

/* src/watch.c: what malloc's countdown leads to (profile samples, the size
 * histogram, live reports). */
enum { WATCH_PLAIN = 0, WATCH_SAMPLE = 1, WATCH_COUNT_AFTER = 2, WATCH_CHECK = 4, WATCH_GUARD = 8, WATCH_ASIDE = 16 };
void watch_start(void);
void watch_forked(void);
unsigned watch(size_t n);

/* bimp.c: the address space Bimp holds and does not use goes back (for a
 * failed mapping, only if there is enough of it to be worth the work). */
bool give_back_address_space(bool always);

/* src/stats.c: the statistics; the reports at exit (BIMP_SHOW_STATS) and
 * whether this process makes them (BIMP_PROGRAM); the size histogram,
 * which counts while sizes_counted (set once, by watch_start). */
void gather(struct bimp_stats *st, bool walk);
void print_stats_json(int fd, const char *extra);
void show_stats(void);
bool reports_wanted(void);
extern bool sizes_counted;
bool count_size(heap *h, size_t n);
size_t size_bin_max(unsigned bin);
void size_histogram(size_count *out);

/* bimp.c, for the check mode: a block as malloc (align 0) or memalign
 * makes it, without the countdown; its release once the check mode lets
 * it go; its usable size.  For it and guard sampling: realloc by moving
 * (malloc's new block, `keep` bytes copied, free of the old). */
void *alloc_plain(size_t n, size_t align);
void release_plain(void *p, const char *function);
size_t usable_plain(void *p);
void *move_block(void *p, size_t keep, size_t n, const char *function);

/* src/check.c: the check mode (BIMP_CHECK=1).  Its blocks carry B_SAMPLED,
 * so that their free, realloc and malloc_usable_size come here. */
void *check_alloc(size_t n, size_t align);
void check_free(void *p, const char *function);
void *check_resize(void *p, size_t n, const char *function);
size_t check_usable(void *p, const char *function);
void check_at_exit(void);
extern lock_t check_lock;

/* src/guard.c: guard sampling (BIMP_GUARD_RATE).  A guarded block lies in
 * the guard pool, [guard_lo, guard_lo + guard_len), which nothing else
 * shares; guard_alloc returns NULL when it cannot place one. */
extern ATOMIC(uintptr_t) guard_lo;
extern ATOMIC(size_t) guard_len;
static inline bool in_guard_pool(const void *p)
{
    return (uintptr_t)p - load_relaxed(&guard_lo) < load_relaxed(&guard_len);
}
void *guard_alloc(size_t n);
void guard_free(void *p, const char *function);
void *guard_resize(void *p, size_t n, const char *function);
size_t guard_usable(void *p, const char *function);
void guard_sized(void *p, size_t size, const char *function);
void guard_counts(size_t *allocs, size_t *frees);
extern lock_t guard_lock;


#pragma GCC visibility pop

#endif
