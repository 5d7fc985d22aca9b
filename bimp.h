/* bimp.h - Bimp, a bump allocator that is a drop-in malloc replacement.
 *
 * Programs need no header to use Bimp: preloading libbimp.so replaces the C
 * library's malloc family.  This header declares what Bimp adds beside it:
 * its version, its statistics, and arenas (the stack as an API).  Link
 * with -lbimp (see `pkg-config bimp`).
 */
#ifndef BIMP_H
#define BIMP_H

#include <stddef.h>

#define BIMP_VERSION_MAJOR 0
#define BIMP_VERSION_MINOR 6
#define BIMP_VERSION_PATCH 0
#define BIMP_VERSION "0.6.0"

#ifdef __cplusplus
extern "C" {
#endif

/* What Bimp did so far, for the whole process.  Counts of other threads'
 * operations are read without stopping them, so they may lag a little. */
struct bimp_stats {
    /* Allocations, by where the block came from. */
    size_t allocations;     /* all of them, huge ones included */
    size_t bumped;          /* pushed on top of a chunk's stack */
    size_t reused_exact;    /* an exact-size block freed below a top */
    size_t reused_split;    /* part of a larger block freed below a top */
    size_t huge_allocations; /* above the huge threshold: a region's run or a mapping of their own */
    size_t huge_reused;     /* of those, a mapping freed shortly before */

    /* Frees, by how the memory came back. */
    size_t frees;           /* all of them */
    size_t top_pops;        /* the freed block was the top of its stack */
    size_t popped_bytes;    /* bytes of those blocks */
    size_t swept_blocks;    /* freed blocks right behind a top, popped with it */
    size_t frees_below_top; /* merged with free neighbours and binned for reuse */
    size_t below_top_bytes;
    size_t remote_frees;    /* of a block another thread allocated */
    size_t remote_bytes;
    size_t huge_frees;      /* huge blocks freed: unmapped, or kept in the huge cache */
    size_t huge_freed_bytes;
    size_t chunk_resets;    /* chunks whose last block was freed, reset whole */

    /* Memory. */
    size_t in_use_bytes;    /* blocks in use now (with their headers) */
    size_t binned_bytes;    /* free blocks below the tops, ready for reuse */
    size_t chunk_bytes;     /* taken from the OS for chunks now */
    size_t peak_chunk_bytes;
    size_t free_chunks;     /* chunks in the pool */
    size_t huge_bytes;      /* mapped for huge blocks now */
    size_t peak_huge_bytes;

    /* The operating system. */
    size_t brk_grows, brk_shrinks, maps, unmaps, purges;

    /* Threads. */
    size_t heaps_made, heaps_adopted;

    /* Memory kept for reuse while nothing uses it (since 0.3.0). */
    size_t pool_bytes;        /* free chunks in the pool, with their pages */
    size_t pool_purged_bytes; /* free chunks in the pool, pages given back */
    size_t huge_cached;       /* freed huge mappings kept for the next huge request */
    size_t huge_cached_bytes;
    size_t resident_bytes;    /* the process's resident memory, from the OS (0: unknown) */
    size_t huge_blocks, peak_huge_blocks; /* huge blocks in use now, and at the most */

    /* Arenas (since 0.4.0). */
    size_t arenas;               /* live now */
    size_t arena_allocations;    /* pushed on an arena's chunks (huge ones count as huge) */
    size_t arena_releases;       /* bimp_arena_release and bimp_arena_reset calls */
    size_t arena_released_bytes; /* bytes of the stacks they dropped */

    /* The small tier (since 0.5.0): blocks up to 1 KiB in pages, no headers. */
    /* (Also counted in allocations and frees.) */
    size_t small_bumped;       /* pushed on a page's stack */
    size_t small_reused;       /* a freed block of a page taken again */
    size_t small_pops;         /* frees that popped a page's top */
    size_t small_swept;        /* freed blocks right behind a top, popped with it */
    size_t small_below;        /* frees below a page's top: the block's bit set */
    size_t small_remote;       /* frees of a small block another thread allocated */
    size_t small_pages;        /* pages in use now */
    size_t small_in_use_bytes; /* bytes of the small blocks in use now */

    /* Regions (since 0.6.0): huge blocks up to 4 MiB are carved from them. */
    size_t huge_regions;           /* mappings holding such blocks now */
    size_t huge_region_bytes;      /* their bytes */
    size_t huge_region_free_bytes; /* of those, free (no pages) */
};

/* Fill *stats; returns 0. */
int bimp_stats(struct bimp_stats *stats);

/* Write the statistics, in a form meant for people, to file descriptor fd. */
void bimp_print_stats(int fd);

/* The heap profile (BIMP_PROFILE=1): the bytes still live and the bytes
 * freed below a top, by call stack.  bimp_profile_dump writes the report
 * meant for people to fd; bimp_profile_folded writes folded stacks for
 * flame-graph tools (`frame;frame;frame bytes` per line, outermost first):
 * live bytes, or with `below` non-zero the bytes freed below a top. */
void bimp_profile_dump(int fd);
void bimp_profile_folded(int fd, int below);

/* A live report now, as BIMP_DUMP_BYTES, BIMP_DUMP_SECONDS and
 * BIMP_DUMP_SIGNAL make them: a line of JSON statistics appended to
 * PREFIX.stats.jsonl and, with the profile on, PREFIX.NNNN.heap and
 * PREFIX.NNNN.below.heap (PREFIX: BIMP_DUMP_FILE, default bimp.%p).  Not
 * from a signal handler. */
void bimp_dump(void);

/* The prefixed library, libbimp-prefixed.so (`pkg-config bimp-prefixed`),
 * leaves the C library's malloc in place and offers Bimp beside it under
 * these names; its blocks must be freed with bimp_free.  (libbimp.so defines
 * the unprefixed names instead: malloc, free, ...) */
void *bimp_malloc(size_t size);
void *bimp_calloc(size_t count, size_t size);
void *bimp_realloc(void *p, size_t size);
void *bimp_reallocarray(void *p, size_t count, size_t size);
void *bimp_reallocf(void *p, size_t size);
void bimp_free(void *p);
void bimp_free_sized(void *p, size_t size);
void bimp_free_aligned_sized(void *p, size_t align, size_t size);
void *bimp_aligned_alloc(size_t align, size_t size);
void *bimp_memalign(size_t align, size_t size);
int bimp_posix_memalign(void **out, size_t align, size_t size);
void *bimp_valloc(size_t size);
void *bimp_pvalloc(size_t size);
size_t bimp_malloc_usable_size(void *p);
int bimp_malloc_trim(size_t pad);
void bimp_malloc_stats(void);
int bimp_mallopt(int param, int value);

/* Arenas: the stack as an API (README "Arenas", bimp(3)).
 *
 * An arena is a stack of blocks of its own: allocation bumps it, a mark
 * records its height, and a release drops everything allocated after the
 * mark at once, in time proportional to the chunks dropped, not the
 * blocks.  Arena blocks are ordinary Bimp blocks: free, realloc and
 * malloc_usable_size take them, and free of an arena's top block pops it.
 * An arena belongs to the thread that created it: only that thread calls
 * these functions on it; any thread may free its blocks (another thread's
 * frees wait for the arena's next call).  Misuse (a mark of another arena,
 * a mark already released, another thread's call, a destroyed arena) stops
 * the program with a one-line message. */
typedef struct bimp_arena bimp_arena;
typedef struct bimp_mark bimp_mark;

/* A new, empty arena; NULL with errno ENOMEM when memory is out. */
bimp_arena *bimp_arena_create(void);
/* Free every block of the arena, and the arena (NULL: nothing). */
void bimp_arena_destroy(bimp_arena *arena);
/* size bytes from the arena, aligned as malloc's; NULL with ENOMEM. */
void *bimp_arena_alloc(bimp_arena *arena, size_t size);
/* count * size bytes, zeroed; NULL with ENOMEM (also on overflow). */
void *bimp_arena_calloc(bimp_arena *arena, size_t count, size_t size);
/* size bytes aligned to align, a power of two; NULL with EINVAL or ENOMEM. */
void *bimp_arena_aligned_alloc(bimp_arena *arena, size_t align, size_t size);
/* The arena's height now, for bimp_arena_release; NULL with ENOMEM.  A
 * mark takes a block of its own (32 bytes), kept until a release below it. */
bimp_mark *bimp_arena_mark(bimp_arena *arena);
/* Free every block allocated from the arena after the mark (blocks that
 * realloc moved after it included); the mark stays, for the next release. */
void bimp_arena_release(bimp_arena *arena, bimp_mark *mark);
/* Free every block of the arena; its marks are gone too. */
void bimp_arena_reset(bimp_arena *arena);

/* Write them as one line of JSON to fd: {"bimp": version, "pid": ...,
 * "program": ..., "options": {BIMP_* name: value}, "stats": {field of
 * struct bimp_stats: value}} (what BIMP_SHOW_STATS=json writes at exit). */
void bimp_print_stats_json(int fd);

#ifdef __cplusplus
}
#endif

#endif
