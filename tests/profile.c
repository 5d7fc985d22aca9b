/* profile.c - the heap profile (BIMP_PROFILE) against a program whose leak
 * and whose non-LIFO call site are known.  Run by tests/run with
 * BIMP_PROFILE=1, BIMP_PROFILE_RATE=32k and BIMP_PROFILE_FILE set; it
 * allocates, then exits, and the runner reads the report:
 *
 *   leak_here   leaks LEAKED bytes in 4 KiB blocks: the top live call stack
 *   fifo_here   frees FIFO_BYTES in 1000-byte blocks first-in first-out,
 *               all but the last of each round below the top: the top call
 *               stack of "freed below a top"
 *   lifo_here   as much, freed last-in first-out: never below a top
 *
 * Prints the true byte counts, for the runner to compare with the report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEAKED (2048 * 4096)
#define ROUNDS 64
#define PER_ROUND 256
#define FIFO_BYTES ((ROUNDS * PER_ROUND - ROUNDS) * 1000)

static void *volatile sink;

__attribute__((noinline)) void leak_here(void)
{
    for (int i = 0; i < LEAKED / 4096; i++) {
        char *p = malloc(4096);
        memset(p, 1, 64);
        sink = p;
    }
}

__attribute__((noinline)) void fifo_here(void)
{
    for (int r = 0; r < ROUNDS; r++) {
        void *b[PER_ROUND];
        for (int i = 0; i < PER_ROUND; i++)
            b[i] = malloc(1000);
        for (int i = 0; i < PER_ROUND; i++)
            free(b[i]);
    }
}

__attribute__((noinline)) void lifo_here(void)
{
    for (int r = 0; r < ROUNDS; r++) {
        void *b[PER_ROUND];
        for (int i = 0; i < PER_ROUND; i++)
            b[i] = malloc(1000);
        for (int i = PER_ROUND - 1; i >= 0; i--)
            free(b[i]);
    }
}

int main(void)
{
    leak_here();
    fifo_here();
    lifo_here();
    printf("leaked %d below %d\n", LEAKED, FIFO_BYTES);
    return 0;
}
