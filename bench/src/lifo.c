/* lifo: LIFO frames.  Each frame mallocs a few blocks of varied sizes, calls a
 * random number of nested frames, then frees its own blocks in reverse order,
 * like a function that allocates temporaries:  a = malloc; b = malloc; ...;
 * free(b); free(a).  Stack-like use is the best case for most allocators. */
#include "common.h"

#define MAXDEPTH 11
#define MAXK 8

static rng_t rng;
static uint64_t n_alloc, n_bytes, n_frames, n_freed, n_freed_bytes;

static size_t frame_size(void)
{
    uint32_t r = rng_below(&rng, 100);
    if (r < 70) return rng_range(&rng, 8, 128);
    if (r < 95) return rng_range(&rng, 129, 1024);
    return rng_logsize(&rng, 1025, 16384);
}

static void frame(int depth)
{
    void *p[MAXK];
    size_t sz[MAXK];
    uint64_t tag[MAXK];
    int k = 1 + (int)rng_below(&rng, MAXK);
    n_frames++;
    for (int i = 0; i < k; i++) {
        sz[i] = frame_size();
        tag[i] = rng_next(&rng);
        p[i] = xmalloc(sz[i]);
        stamp(p[i], sz[i], tag[i]);
        n_alloc++;
        n_bytes += sz[i];
    }
    if (depth < MAXDEPTH) {
        int children = (int)rng_below(&rng, 4); /* mean 1.5: bushy but bounded by depth */
        for (int c = 0; c < children; c++) frame(depth + 1);
    }
    for (int i = k - 1; i >= 0; i--) {
        VERIFY(p[i], sz[i], tag[i]);
        free(p[i]);
        n_freed++;
        n_freed_bytes += sz[i];
    }
}

int main(int argc, char **argv)
{
    double scale = bench_init("lifo", argc, argv);
    rng = rng_make(1);
    size_t roots = scaled(scale, 30000);
    for (size_t i = 0; i < roots; i++) frame(0);
    CHECK(n_frames >= roots && n_alloc >= n_frames, "frame count mismatch");
    CHECK(n_freed == n_alloc && n_freed_bytes == n_bytes, "freed %llu of %llu blocks",
          (unsigned long long)n_freed, (unsigned long long)n_alloc);
    printf("lifo: %llu frames, %llu allocations, %.1f MiB total\n",
           (unsigned long long)n_frames, (unsigned long long)n_alloc, n_bytes / 1048576.0);
    return 0;
}
