/* lifo: LIFO frames.  Each frame mallocs a few blocks of varied sizes, calls a
 * random number of nested frames, then frees its own blocks in reverse order,
 * like a function that allocates temporaries:  a = malloc; b = malloc; ...;
 * free(b); free(a).  Stack-like use is the best case for most allocators.
 *
 * The shapes of the frames (how many blocks, their sizes, how many nested
 * frames) are drawn once into a small tape of root frames, which the run
 * then replays: drawing random numbers for every block cost more than the
 * malloc and free being measured. */
#include "common.h"

#define MAXDEPTH 11
#define MAXK 8
#define TAPE_MIN 32768 /* entries: 64 KiB, enough for a handful of root frames */

static rng_t rng;
static uint16_t *tape;
static size_t tape_len, tape_cap;
static size_t root_at[1024];
static size_t tape_roots;
static uint64_t n_alloc, n_bytes, n_frames, n_freed, n_freed_bytes;

static void put(size_t v)
{
    if (tape_len == tape_cap) {
        tape_cap = tape_cap ? 2 * tape_cap : 4096;
        tape = (uint16_t *)xrealloc(tape, tape_cap * sizeof *tape);
    }
    tape[tape_len++] = (uint16_t)v;
}

static size_t frame_size(void)
{
    uint32_t r = rng_below(&rng, 100);
    if (r < 70) return rng_range(&rng, 8, 128);
    if (r < 95) return rng_range(&rng, 129, 1024);
    return rng_logsize(&rng, 1025, 16384);
}

/* A frame on the tape: k, k sizes, the number of children, the children. */
static void draw_frame(int depth)
{
    int k = 1 + (int)rng_below(&rng, MAXK);
    put((size_t)k);
    for (int i = 0; i < k; i++) put(frame_size());
    int children = depth < MAXDEPTH ? (int)rng_below(&rng, 4) : 0; /* mean 1.5 */
    put((size_t)children);
    for (int c = 0; c < children; c++) draw_frame(depth + 1);
}

/* Replay the frame at tape[*at]; returns with *at just past it.  The
 * counters are kept in locals and added up once per frame, so that the loop
 * around malloc and free stays short. */
static void frame(size_t *at)
{
    void *p[MAXK];
    size_t sz[MAXK];
    const uint16_t *t = tape + *at;
    int k = *t++;
    uint64_t first = n_alloc + 1, bytes = 0;
    for (int i = 0; i < k; i++) {
        sz[i] = *t++;
        p[i] = xmalloc(sz[i]);
        stamp(p[i], sz[i], (first + (uint64_t)i) * 0x9E3779B97F4A7C15ULL);
        bytes += sz[i];
    }
    n_frames++;
    n_alloc += (uint64_t)k;
    n_bytes += bytes;
    int children = *t++;
    *at = (size_t)(t - tape);
    for (int c = 0; c < children; c++) frame(at);
    uint64_t freed = 0;
    for (int i = k - 1; i >= 0; i--) {
        VERIFY(p[i], sz[i], (first + (uint64_t)i) * 0x9E3779B97F4A7C15ULL);
        free(p[i]);
        freed += sz[i];
    }
    n_freed += (uint64_t)k;
    n_freed_bytes += freed;
}

int main(int argc, char **argv)
{
    double scale = bench_init("lifo", argc, argv);
    rng = rng_make(1);
    size_t roots = scaled(scale, 30000);
    while (tape_len < TAPE_MIN && tape_roots < roots && tape_roots < 1024) {
        root_at[tape_roots++] = tape_len;
        draw_frame(0);
    }
    for (size_t i = 0; i < roots; i++) {
        size_t at = root_at[i % tape_roots];
        frame(&at);
    }
    CHECK(n_frames >= roots && n_alloc >= n_frames, "frame count mismatch");
    CHECK(n_freed == n_alloc && n_freed_bytes == n_bytes, "freed %llu of %llu blocks",
          (unsigned long long)n_freed, (unsigned long long)n_alloc);
    printf("lifo: %llu frames, %llu allocations, %.1f MiB total (tape of %zu roots)\n",
           (unsigned long long)n_frames, (unsigned long long)n_alloc, n_bytes / 1048576.0,
           tape_roots);
    free(tape);
    return 0;
}
