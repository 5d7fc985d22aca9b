/* reuse.c - where freed small blocks go: a small block freed below the top
 * is reused as it is, most recently freed first (not merged with a free
 * neighbour first); a burst of frees is merged into one run; malloc_trim
 * merges what is left unmerged. */
#include "common.h"

#include <malloc.h>

#define N 40

/* n adjacent blocks of `size` bytes, then one more on top to keep them below
 * it; false if malloc did not push them one after the other. */
static int adjacent(char **b, int n, size_t size, char **top)
{
    for (int i = 0; i < n; i++)
        b[i] = malloc(size);
    *top = malloc(size);
    size_t stride = malloc_usable_size(b[0]) + 8;
    for (int i = 1; i < n; i++)
        if (b[i] != b[i - 1] + stride)
            return 0;
    return *top == b[n - 1] + stride;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "default";
    char *b[N], *top;
    CHECK(bimp_is_loaded());
    printf("# %s: reuse of small blocks\n", name); /* stdio's buffer first */

    /* Two neighbours freed below the top come back one by one, the newer
     * first, at their own addresses: merged, neither would fit exactly. */
    CHECK(adjacent(b, 8, 40, &top));
    free(b[2]);
    free(b[3]);
    char *p = malloc(40), *q = malloc(40);
    CHECK(p == b[3] && q == b[2]);
    b[2] = q;
    b[3] = p;
    for (int i = 0; i < 8; i++)
        free(b[i]);
    free(top);
    group_end(name, "reuse/unmerged-in-free-order");

    /* A few neighbours left unmerged are merged by malloc_trim: the run
     * they make is then one block. */
    CHECK(adjacent(b, 10, 40, &top));
    size_t stride = malloc_usable_size(b[0]) + 8;
    for (int i = 0; i < 10; i++)
        free(b[i]);
    malloc_trim(0);
    p = malloc(10 * stride - 8);
    CHECK(p == b[0]);
    free(p);
    free(top);
    group_end(name, "reuse/consolidated-by-trim");

    /* A burst of frees below the top is merged as it comes once a bin holds
     * 16 unmerged blocks (the merge takes in those behind it): of N blocks
     * freed in address order, all but the last few are one run. */
    CHECK(adjacent(b, N, 40, &top));
    for (int i = 0; i < N; i++)
        free(b[i]);
    p = malloc((N - 16) * stride - 8);
    CHECK(p == b[0]);
    free(p);
    free(top);
    group_end(name, "reuse/burst-merged");
    return total_failures != 0;
}
