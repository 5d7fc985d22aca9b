/* large: big blocks, 64 KiB to 32 MiB (log-uniform), in a small live set.
 * Each step mallocs (or callocs) a block, reallocs it to a new size (growing
 * or shrinking), or frees it.  Every page of a new block is written, so the
 * cost of fresh pages (page faults, zeroing) versus reused memory shows up;
 * realloc must keep the contents, calloc must return zeroes. */
#include "common.h"

#define SLOTS 8
#define KIB ((size_t)1024)
#define MIB (KIB * KIB)

typedef struct { unsigned char *p; size_t n; uint64_t tag; } blk;

static rng_t rng;

static size_t big_size(void) { return rng_logsize(&rng, 64 * KIB, 32 * MIB); }

/* one word per page (and the last word), see stamp() in common.h */
static void check_prefix(const blk *b, size_t upto)
{
    for (size_t i = 0; i + 8 <= upto; i += 4096)
        CHECK(*(uint64_t *)(b->p + i) == stamp_word(b->tag, i), "large block lost its contents at offset %zu", i);
}

int main(int argc, char **argv)
{
    double scale = bench_init("large", argc, argv);
    rng = rng_make(6);
    blk s[SLOTS];
    memset(s, 0, sizeof s);
    size_t steps = scaled(scale, 2000);
    uint64_t nmalloc = 0, ncalloc = 0, nrealloc = 0, nfree = 0;
    double touched = 0;
    for (size_t i = 0; i < steps; i++) {
        blk *b = &s[rng_below(&rng, SLOTS)];
        uint32_t op = rng_below(&rng, 10);
        if (!b->p) {
            b->n = big_size();
            b->tag = rng_next(&rng);
            if (op < 3) {
                b->p = (unsigned char *)xcalloc(1, b->n);
                for (size_t j = 0; j < b->n; j += 4096)
                    CHECK(*(uint64_t *)(b->p + j) == 0 || j + 8 > b->n, "calloc memory not zero at %zu", j);
                CHECK(b->p[b->n - 1] == 0, "calloc memory not zero at the end");
                ncalloc++;
            } else {
                b->p = (unsigned char *)xmalloc(b->n);
                nmalloc++;
            }
            stamp(b->p, b->n, b->tag);
            touched += (double)b->n;
        } else if (op < 5) {
            size_t n = big_size();
            size_t keep = n < b->n ? n : b->n;
            b->p = (unsigned char *)xrealloc(b->p, n);
            b->n = n;
            check_prefix(b, keep - 8);
            stamp(b->p, n, b->tag); /* same tag: the preserved part is rewritten identically */
            if (n > keep) touched += (double)(n - keep);
            nrealloc++;
        } else {
            VERIFY(b->p, b->n, b->tag);
            free(b->p);
            b->p = NULL;
            nfree++;
        }
    }
    for (int j = 0; j < SLOTS; j++)
        if (s[j].p) {
            VERIFY(s[j].p, s[j].n, s[j].tag);
            free(s[j].p);
            nfree++;
        }
    CHECK(nfree == nmalloc + ncalloc, "%llu blocks allocated, %llu freed",
          (unsigned long long)(nmalloc + ncalloc), (unsigned long long)nfree);
    printf("large: %llu malloc, %llu calloc, %llu realloc, %.1f GiB of new memory written\n",
           (unsigned long long)nmalloc, (unsigned long long)ncalloc, (unsigned long long)nrealloc,
           touched / (1024.0 * MIB));
    return 0;
}
