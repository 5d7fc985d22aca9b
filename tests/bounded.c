/* bounded.c - memory stays near what the program holds.  Random churn over a
 * fixed live set, and phases that keep 1% of what they build, must not need
 * more than a few times their live bytes; after everything is freed,
 * malloc_trim(0) gives the memory back (RSS within 1 MiB of the start) and
 * the break comes back down; with a trim threshold of 0 set by mallopt, the
 * pages of chunks freed whole go back without malloc_trim.
 * Usage: bounded <name> */
#include "common.h"

#include <malloc.h>
#include <unistd.h>

/* Bytes Bimp holds for chunks and huge blocks. */
static size_t held(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.arena + m.hblkhd;
}

enum { LIVE = 20000, PHASE = 100000 };
static void *live[LIVE];
static size_t live_n[LIVE];
static void *phase_blocks[PHASE];
static void *kept[20 * PHASE / 100];

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "default";
    CHECK(bimp_is_loaded());
    printf("# %s: memory bounds\n", name); /* stdio's buffer, allocated low */
    free(malloc(1));
    /* This program's own arrays count in RSS: touch them before measuring. */
    memset(live, 0, sizeof live);
    memset(live_n, 0, sizeof live_n);
    memset(phase_blocks, 0, sizeof phase_blocks);
    memset(kept, 0, sizeof kept);
    size_t rss0 = resident_bytes();
    char *brk0 = sbrk(0);

    /* Churn: 20k live blocks of 16-512 bytes, replaced at random. */
    uint64_t s = 7;
    size_t live_bytes = 0, peak_live = 0, peak_held = 0;
    for (long op = 0; op < 3000000; op++) {
        unsigned i = (unsigned)(rnd(&s) % LIVE);
        if (live[i]) {
            free(live[i]);
            live_bytes -= live_n[i];
        }
        live_n[i] = 16 + rnd(&s) % 497;
        live[i] = malloc(live_n[i]);
        memset(live[i], 1, live_n[i]);
        live_bytes += live_n[i];
        if (live_bytes > peak_live)
            peak_live = live_bytes;
        if (op % 50000 == 0 && held() > peak_held)
            peak_held = held();
    }
    CHECK(peak_held <= 3 * peak_live + (2u << 20));
    printf("# churn: live %zu KiB, held %zu KiB\n", peak_live >> 10, peak_held >> 10);
    group_end(name, "bounded/churn");
    for (int i = 0; i < LIVE; i++)
        free(live[i]);

    /* Phases: build 100k nodes, keep 1%, free the rest (alternately FIFO
     * and LIFO); the kept blocks add up, the rest must be reused. */
    size_t kept_bytes = 0, phase_held = 0;
    int nkept = 0;
    for (int phase = 0; phase < 20; phase++) {
        for (int i = 0; i < PHASE; i++)
            phase_blocks[i] = malloc(16 + (size_t)(i % 7) * 16);
        for (int k = 0; k < PHASE; k++) {
            int i = phase % 2 ? PHASE - 1 - k : k;
            if (i % 100 == 0) {
                kept[nkept++] = phase_blocks[i];
                kept_bytes += 16 + (size_t)(i % 7) * 16;
            } else {
                free(phase_blocks[i]);
            }
        }
        if (held() > phase_held)
            phase_held = held();
    }
    size_t one_phase = PHASE * 64; /* the bytes one phase builds, roughly */
    CHECK(phase_held <= 3 * (one_phase + kept_bytes) + (2u << 20));
    printf("# phases: one phase %zu KiB, kept %zu KiB, held %zu KiB\n", one_phase >> 10,
           kept_bytes >> 10, phase_held >> 10);
    group_end(name, "bounded/phases");
    for (int i = 0; i < nkept; i++)
        free(kept[i]);

    /* Everything is free: trim gives it back. */
    void *big[64];
    for (int i = 0; i < 64; i++) {
        big[i] = malloc(100000);
        memset(big[i], 2, 100000);
    }
    for (int i = 0; i < 64; i++)
        free(big[i]);
    malloc_trim(0);
    size_t rss1 = resident_bytes();
    char *brk1 = sbrk(0);
    printf("# trim: rss %zu -> %zu KiB, break %+ld KiB\n", rss0 >> 10, rss1 >> 10,
           (long)(brk1 - brk0) / 1024);
    CHECK(rss1 <= rss0 + (1u << 20));
    CHECK(brk1 <= brk0 + (1u << 20));
    group_end(name, "bounded/trim");

    /* A trim threshold the program sets is kept to: with 0, the pages of
     * chunks freed whole go back at once, not up to half of all chunk memory
     * a second later. */
    CHECK(mallopt(M_TRIM_THRESHOLD, 0) == 1);
    enum { MANY = 32000 };
    static void *many[MANY];
    for (int i = 0; i < MANY; i++) {
        many[i] = malloc(1000);
        if (many[i])
            memset(many[i], 3, 1000);
    }
    size_t rss_full = resident_bytes();
    for (int i = 0; i < MANY; i++) /* in allocation order: each chunk empties at its top */
        free(many[i]);
    size_t rss2 = resident_bytes();
    printf("# trim threshold 0: rss %zu -> %zu KiB without malloc_trim\n", rss_full >> 10, rss2 >> 10);
    CHECK(rss_full >= rss1 + (size_t)MANY * 1000 / 2);
    CHECK(rss2 <= rss1 + (2u << 20));
    group_end(name, "bounded/trim-threshold");
    return total_failures != 0;
}
