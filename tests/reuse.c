/* reuse.c - where freed blocks go.  A small block (the tier: pages of
 * equal blocks) freed below its page's top is taken again by the next
 * request of its class, the lowest freed one first; freeing the top pops
 * it and every freed block behind it; a page whose blocks are all freed is
 * given back with its chunk.  A burst of medium (headered) blocks freed in
 * address order merges into one run, which one request takes whole. */
#include "common.h"
#include "../bimp.h"

#include <malloc.h>

#define N 40

/* n blocks of `size` bytes pushed one after the other (`gap` bytes apart:
 * the stride, plus the header for a headered block), then one more on top
 * to keep them below it; false if malloc did not push them in a row (a
 * page or chunk ended: the caller tries again). */
static int adjacent(char **b, int n, size_t size, size_t gap, char **top)
{
    for (int i = 0; i < n; i++)
        b[i] = malloc(size);
    *top = malloc(size);
    for (int i = 1; i < n; i++)
        if (b[i] != b[i - 1] + gap)
            return 0;
    return *top == b[n - 1] + gap;
}

/* adjacent(), tried until it succeeds (blocks left behind by failed tries
 * are freed afterwards, by the caller's own frees being done first). */
static int in_a_row(char **b, int n, size_t size, size_t gap, char **top, char **spare, int *nspare)
{
    for (int tries = 0; tries < 8; tries++) {
        if (adjacent(b, n, size, gap, top))
            return 1;
        for (int i = 0; i < n; i++)
            spare[(*nspare)++] = b[i];
        spare[(*nspare)++] = *top;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "default";
    char *b[N], *top, *p, *spare[9 * (N + 1)];
    int (*stats)(struct bimp_stats *) = (int (*)(struct bimp_stats *))dlsym(RTLD_DEFAULT, "bimp_stats");
    int nspare = 0;
    CHECK(bimp_is_loaded() && stats);
    if (!stats)
        return 1;
    printf("# %s: reuse of freed blocks\n", name); /* stdio's buffer first */

    /* Small: two blocks freed below the top come back lowest first, at
     * their own addresses. */
    size_t stride = malloc_usable_size(p = malloc(40)); /* a small block's usable size is its stride */
    free(p);
    CHECK(in_a_row(b, 8, 40, stride, &top, spare, &nspare));
    free(b[5]);
    free(b[2]);
    p = malloc(40);
    char *q = malloc(40);
    CHECK(p == b[2] && q == b[5]);
    group_end(name, "reuse/small-lowest-freed-first");

    /* A pop takes the freed blocks behind the top: the next request is
     * pushed where the lowest of them was. */
    free(b[6]);
    free(b[7]);
    free(top); /* pops top, b[7] and b[6] */
    p = malloc(40);
    CHECK(p == b[6]);
    free(p);
    for (int i = 0; i < 6; i++)
        free(b[i]);
    group_end(name, "reuse/small-pop-sweeps");

    /* Every block of many pages freed (in allocation order: each page's
     * last free pops it empty): the pages go back. */
    struct bimp_stats before, after;
    stats(&before);
    enum { MANY = 20000 };
    static char *many[MANY];
    for (int i = 0; i < MANY; i++)
        many[i] = malloc(100);
    size_t per_page = 4096 / malloc_usable_size(many[0]);
    stats(&after);
    CHECK(after.small_pages >= before.small_pages + MANY / per_page / 2);
    for (int i = 0; i < MANY; i++)
        free(many[i]);
    stats(&after);
    CHECK(after.small_pages <= before.small_pages + 1);
    group_end(name, "reuse/small-pages-given-back");

    /* Medium (headered) blocks freed in address order merge as they come:
     * all of them make one run. */
    size_t mstride = malloc_usable_size(p = malloc(2000)) + 8;
    free(p);
    CHECK(in_a_row(b, 10, 2000, mstride, &top, spare, &nspare));
    for (int i = 0; i < 10; i++)
        free(b[i]);
    p = malloc(10 * mstride - 8);
    CHECK(p == b[0]);
    free(p);
    free(top);
    group_end(name, "reuse/medium-burst-merged");

    while (nspare)
        free(spare[--nspare]);
    return total_failures != 0;
}
