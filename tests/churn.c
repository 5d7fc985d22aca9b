/* churn.c - thousands of short threads, a few alive at a time, each
 * allocating, leaving blocks for the main thread to free after it exited,
 * and allocating and freeing again from a destructor that runs after
 * Bimp's own thread-exit hook.  Heaps must be adopted, not piled up: the
 * memory Bimp holds must stay bounded.
 * Usage: churn <name> <threads> */
#include "common.h"

#include <malloc.h>
#include <pthread.h>

enum { BATCH = 8, LEFT = 16 };
static pthread_key_t late_key;
static int late_ok = 1;

/* Runs at thread exit, after Bimp's hook (its key was created first). */
static void late_destructor(void *p)
{
    if (!intact(p, 100, 7))
        late_ok = 0;
    free(p);
    void *q = malloc(200);
    if (!q)
        late_ok = 0;
    memset(q, 1, 200);
    free(q);
}

static void *short_life(void *arg)
{
    void **left = arg;
    void *tmp[64];
    for (int i = 0; i < 64; i++)
        tmp[i] = malloc((size_t)i * 24 + 1);
    for (int i = 0; i < LEFT; i++) {
        left[i] = malloc(100);
        fill(left[i], 100, 3);
    }
    for (int i = 0; i < 64; i += 2)
        free(tmp[i]);
    for (int i = 1; i < 64; i += 2)
        free(tmp[i]);
    void *late = malloc(100);
    fill(late, 100, 7);
    pthread_setspecific(late_key, late);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "churn";
    int total = argc > 2 ? atoi(argv[2]) : 4000;
    free(malloc(1)); /* Bimp's exit hook key exists before ours */
    pthread_key_create(&late_key, late_destructor);
    size_t arena_after_first = 0;
    int left_ok = 1;
    int done = 0;
    for (; done < total && (done < 20 * BATCH || !out_of_time()); done += BATCH) { /* 20 batches at least: the bound's baseline is the 10th */
        pthread_t t[BATCH];
        void *left[BATCH][LEFT];
        for (int i = 0; i < BATCH; i++)
            pthread_create(&t[i], NULL, short_life, left[i]);
        for (int i = 0; i < BATCH; i++)
            pthread_join(t[i], NULL);
        for (int i = 0; i < BATCH; i++)
            for (int j = 0; j < LEFT; j++) {
                left_ok &= intact(left[i][j], 100, 3);
                free(left[i][j]);
            }
        if (done == 10 * BATCH)
            arena_after_first = mallinfo2().arena;
    }
    size_t arena = mallinfo2().arena;
    CHECK(bimp_is_loaded());
    CHECK(left_ok && late_ok);
    /* Bounded: a few chunks per concurrent thread, not one per thread ever made. */
    CHECK(arena <= arena_after_first + ((size_t)16 << 20));
    if (arena > arena_after_first + ((size_t)16 << 20))
        fprintf(stderr, "churn: arena grew from %zu to %zu bytes\n", arena_after_first, arena);
    snprintf(group_note, sizeof group_note, "%d threads", done);
    group_end(name, "thread-churn");
    return total_failures != 0;
}
