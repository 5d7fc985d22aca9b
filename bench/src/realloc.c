/* realloc: growth by small steps.
 *  part 1: several strings grow at the same time by appending 1-64 bytes with
 *          a realloc on every append, up to several MiB each;
 *  part 2: thousands of small vectors grow element by element (realloc to n+1)
 *          in random interleaving, then shrink to half;
 *  part 3: vectors grow by a fixed 4 KiB step to a few MiB (a buffer filled
 *          chunk by chunk, e.g. reading a file).
 * The contents are checked after every part. */
#include "common.h"

static rng_t rng;
/* below full scale the target sizes shrink too: growth by copying costs the square of the size */
static double sizef = 1.0, buff = 1.0;

static size_t sized(size_t n) { size_t v = (size_t)(n * sizef); return v < 4096 ? 4096 : v; }

static inline unsigned char sbyte(size_t i, int g) { return (unsigned char)(i * 131 + (size_t)g * 17 + (i >> 9)); }

static void strings(size_t rounds)
{
    enum { G = 4 };
    for (size_t r = 0; r < rounds; r++) {
        char *s[G] = { 0 };
        size_t len[G] = { 0 }, target[G];
        for (int g = 0; g < G; g++) target[g] = rng_range(&rng, sized(1u << 20), sized(6u << 20));
        int active = G;
        while (active) {
            int g = (int)rng_below(&rng, G);
            if (len[g] >= target[g]) continue;
            size_t add = rng_range(&rng, 1, 64);
            s[g] = (char *)xrealloc(s[g], len[g] + add + 1);
            for (size_t i = 0; i < add; i++) s[g][len[g] + i] = (char)sbyte(len[g] + i, g);
            len[g] += add;
            s[g][len[g]] = 0;
            if (len[g] >= target[g]) active--;
        }
        for (int g = 0; g < G; g++) {
            for (size_t i = 0; i < len[g]; i++)
                CHECK((unsigned char)s[g][i] == sbyte(i, g), "string %d byte %zu wrong after realloc", g, i);
            free(s[g]);
        }
    }
}

static void vectors(size_t rounds)
{
    enum { NV = 5000 };
    for (size_t r = 0; r < rounds; r++) {
        uint32_t **v = (uint32_t **)xcalloc(NV, sizeof(uint32_t *));
        uint32_t *n = (uint32_t *)xcalloc(NV, sizeof(uint32_t));
        uint32_t *cap = (uint32_t *)xcalloc(NV, sizeof(uint32_t));
        uint32_t capmax = (uint32_t)sized(600 * 4096) / 4096;
        for (size_t i = 0; i < NV; i++) cap[i] = 1 + rng_below(&rng, capmax);
        for (size_t step = 0; step < (size_t)NV * 300; step++) {
            uint32_t j = rng_below(&rng, NV);
            if (n[j] >= cap[j]) continue;
            v[j] = (uint32_t *)xrealloc(v[j], (n[j] + 1) * sizeof(uint32_t));
            v[j][n[j]] = j * 1000u + n[j];
            n[j]++;
        }
        for (uint32_t j = 0; j < NV; j++) {
            if (!n[j]) continue;
            uint32_t half = (n[j] + 1) / 2;
            v[j] = (uint32_t *)xrealloc(v[j], half * sizeof(uint32_t));
            n[j] = half;
        }
        for (uint32_t j = 0; j < NV; j++) {
            for (uint32_t i = 0; i < n[j]; i++)
                CHECK(v[j][i] == j * 1000u + i, "vector %u element %u wrong after realloc", j, i);
            free(v[j]);
        }
        free(v);
        free(n);
        free(cap);
    }
}

static void buffers(size_t rounds)
{
    for (size_t r = 0; r < rounds; r++) {
        size_t target = rng_range(&rng, (size_t)((2u << 20) * buff), (size_t)((8u << 20) * buff)), len = 0;
        unsigned char *b = NULL;
        while (len < target) {
            b = (unsigned char *)xrealloc(b, len + 4096);
            for (size_t i = 0; i < 4096; i += 64) b[len + i] = sbyte(len + i, 9);
            len += 4096;
        }
        for (size_t i = 0; i < len; i += 64) CHECK(b[i] == sbyte(i, 9), "buffer byte %zu wrong after realloc", i);
        free(b);
    }
}

int main(int argc, char **argv)
{
    double scale = bench_init("realloc", argc, argv);
    rng = rng_make(5);
    if (scale < 1) {
        sizef = scale / 4;
        buff = scale * 2 < 1 ? scale * 2 : 1; /* 4 KiB steps: cheaper, keep them big */
    }
    strings(scaled(scale, 20));
    vectors(scaled(scale, 20));
    buffers(scaled(scale, 300));
    printf("realloc: strings, vectors and buffers checked\n");
    return 0;
}
