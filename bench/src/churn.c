/* churn: larson-like random-lifetime churn with a fixed-size live set, single
 * thread.  Each step picks a random slot, frees the block in it and puts a
 * new block there, so lifetimes are random (geometric) and the live set
 * stays constant.  Part 1 uses small sizes (16-128 B), part 2 mixed sizes
 * (16 B - 8 KiB, log-uniform). */
#include "common.h"

typedef struct { void *p; uint64_t tag; uint32_t size; } slot;

static rng_t rng;

static uint64_t run(const char *what, size_t nslots, size_t steps, size_t lo, size_t hi, int logsizes)
{
    slot *s = (slot *)xcalloc(nslots, sizeof(slot));
    uint64_t allocs = 0, frees = 0, live_bytes = 0, peak = 0;
    for (size_t i = 0; i < steps; i++) {
        slot *x = &s[rng_below(&rng, (uint32_t)nslots)];
        if (x->p) {
            VERIFY(x->p, x->size, x->tag);
            free(x->p);
            frees++;
            live_bytes -= x->size;
        }
        size_t n = logsizes ? rng_logsize(&rng, lo, hi) : rng_range(&rng, lo, hi);
        x->p = xmalloc(n);
        x->size = (uint32_t)n;
        x->tag = rng_next(&rng);
        stamp(x->p, n, x->tag);
        allocs++;
        live_bytes += n;
        if (live_bytes > peak) peak = live_bytes;
    }
    for (size_t i = 0; i < nslots; i++) {
        if (!s[i].p) continue;
        VERIFY(s[i].p, s[i].size, s[i].tag);
        free(s[i].p);
        frees++;
        live_bytes -= s[i].size;
    }
    CHECK(allocs == frees && live_bytes == 0, "%s: %llu allocations but %llu frees", what,
          (unsigned long long)allocs, (unsigned long long)frees);
    free(s);
    printf("churn %s: %llu allocations, live set %zu blocks, peak %.1f MiB\n", what,
           (unsigned long long)allocs, nslots, peak / 1048576.0);
    return allocs;
}

int main(int argc, char **argv)
{
    double scale = bench_init("churn", argc, argv);
    rng = rng_make(3);
    size_t small_slots = scale < 0.2 ? 10000 : 100000;
    size_t mixed_slots = scale < 0.2 ? 2000 : 10000;
    run("small", small_slots, scaled(scale, 10e6), 16, 128, 0);
    run("mixed", mixed_slots, scaled(scale, 4e6), 16, 8192, 1);
    return 0;
}
