/* stats.c - a program that reads Bimp's statistics about itself: it builds
 * a table, frees half of it in the order it was built (below the top) and
 * the rest in reverse (pops), and prints what bimp_stats counted.
 *
 *   cc stats.c -I.. -L.. -lbimp -Wl,-rpath,$PWD/..      (from examples/)
 */
#include <bimp.h>
#include <stdio.h>
#include <stdlib.h>

#define N 10000

int main(void)
{
    static char *rows[N];
    struct bimp_stats before, after;
    bimp_stats(&before);
    for (int i = 0; i < N; i++)
        rows[i] = malloc(64 + i % 64);
    for (int i = 0; i < N / 2; i++) /* the oldest half first: below the top */
        free(rows[i]);
    for (int i = N - 1; i >= N / 2; i--) /* the rest newest first: each pops the top */
        free(rows[i]);
    bimp_stats(&after);
    printf("allocations:     %zu\n", after.allocations - before.allocations);
    printf("frees:           %zu\n", after.frees - before.frees);
    printf("popped a top:    %zu\n", after.top_pops - before.top_pops);
    printf("below the top:   %zu\n", after.frees_below_top - before.frees_below_top);
    printf("swept behind:    %zu\n", after.swept_blocks - before.swept_blocks);
    printf("in use now:      %zu bytes\n", after.in_use_bytes);
    return 0;
}
