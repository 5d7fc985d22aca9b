/* threadchurn: many short-lived threads.  Threads are started in waves of
 * four; each allocates a little (a few hundred blocks of 16-512 B in a
 * list), frees most of it itself and hands the rest back to the main thread,
 * which frees those blocks only several waves later, long after the thread
 * that allocated them has exited.  Measures per-thread heap setup and
 * teardown and the handling of memory orphaned by exited threads. */
#include "common.h"
#include <pthread.h>

#define WAVE 4
#define DELAY 8 /* blocks handed back are freed this many waves later */
#define KEEP_MAX 32

typedef struct {
    uint64_t seed;
    void *keep[KEEP_MAX];
    int nkeep;
    uint64_t allocs, frees;
} job;

typedef struct item { struct item *next; } item; /* sd block with a link after its header */

static void *run(void *arg)
{
    job *j = (job *)arg;
    rng_t rng = rng_make(j->seed);
    int n = 100 + (int)rng_below(&rng, 300);
    void **blocks = (void **)xmalloc((size_t)n * sizeof(void *));
    for (int i = 0; i < n; i++) {
        blocks[i] = sd_alloc(rng_range(&rng, 16, 512), rng_next(&rng));
        j->allocs++;
    }
    j->nkeep = 0;
    for (int i = 0; i < n; i++) {
        if (j->nkeep < KEEP_MAX && rng_below(&rng, 16) == 0) {
            j->keep[j->nkeep++] = blocks[i];
        } else {
            sd_free(blocks[i]);
            j->frees++;
        }
    }
    free(blocks);
    return NULL;
}

int main(int argc, char **argv)
{
    double scale = bench_init("threadchurn", argc, argv);
    size_t waves = scaled(scale, 6000);
    job *jobs = (job *)xcalloc(DELAY * WAVE, sizeof(job));
    uint64_t allocs = 0, frees = 0, threads = 0;
    for (size_t w = 0; w < waves + DELAY; w++) {
        job *batch = &jobs[(w % DELAY) * WAVE];
        /* free what this slot's threads handed back DELAY waves ago */
        for (int i = 0; i < WAVE; i++) {
            for (int k = 0; k < batch[i].nkeep; k++) {
                sd_free(batch[i].keep[k]);
                frees++;
            }
            allocs += batch[i].allocs;
            frees += batch[i].frees;
            memset(&batch[i], 0, sizeof(job));
        }
        if (w >= waves) continue;
        pthread_t t[WAVE];
        for (int i = 0; i < WAVE; i++) {
            batch[i].seed = 1000 + w * WAVE + (size_t)i;
            CHECK(pthread_create(&t[i], NULL, run, &batch[i]) == 0, "pthread_create failed");
            threads++;
        }
        for (int i = 0; i < WAVE; i++) pthread_join(t[i], NULL);
    }
    free(jobs);
    CHECK(allocs == frees, "%llu allocations but %llu frees", (unsigned long long)allocs, (unsigned long long)frees);
    printf("threadchurn: %llu threads, %llu allocations\n", (unsigned long long)threads, (unsigned long long)allocs);
    return 0;
}
