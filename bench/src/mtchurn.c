/* mtchurn: multi-threaded churn.  Four threads each run random-lifetime churn
 * over their own live set (sizes 16 B - 4 KiB, mostly small).  About one
 * block in eight is not freed by its owner but handed to the next thread
 * (through a mutex-protected inbox, in batches), which frees it: remote frees
 * interleaved with local allocation.  When a thread has fallen far behind in
 * emptying its inbox (it was not scheduled), blocks for it are freed locally
 * instead, so memory use does not depend much on thread scheduling. */
#include "common.h"
#include <pthread.h>

#define THREADS 4
#define SLOTS 20000
#define BATCH 64
#define MAX_PENDING 4096

typedef struct {
    pthread_mutex_t lock;
    void **items; /* pending blocks, freed by the owner of this inbox */
    size_t n, cap;
} inbox;

typedef struct {
    int id;
    size_t steps;
    uint64_t allocs, local_frees, remote_frees, sent;
    uint64_t alloc_bytes, freed_bytes;
} worker;

static inbox box[THREADS];
static worker wk[THREADS];
static pthread_barrier_t done_barrier;

static size_t box_pending(int to)
{
    return __atomic_load_n(&box[to].n, __ATOMIC_RELAXED); /* a hint, read without the lock */
}

static void send_batch(int to, void **b, size_t n)
{
    inbox *x = &box[to];
    pthread_mutex_lock(&x->lock);
    if (x->n + n > x->cap) {
        x->cap = (x->n + n) * 2;
        x->items = (void **)xrealloc(x->items, x->cap * sizeof(void *));
    }
    memcpy(x->items + x->n, b, n * sizeof(void *));
    __atomic_store_n(&x->n, x->n + n, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&x->lock);
}

static void drain(worker *w)
{
    inbox *x = &box[w->id];
    pthread_mutex_lock(&x->lock);
    void **items = x->items;
    size_t n = x->n;
    x->items = NULL;
    x->cap = 0;
    __atomic_store_n(&x->n, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&x->lock);
    for (size_t i = 0; i < n; i++) {
        w->freed_bytes += sd_free(items[i]);
        w->remote_frees++;
    }
    free(items);
}

static void *run(void *arg)
{
    worker *w = (worker *)arg;
    rng_t rng = rng_make(80 + (uint64_t)w->id);
    void **slot = (void **)xcalloc(SLOTS, sizeof(void *));
    void *out[BATCH];
    size_t nout = 0;
    int next = (w->id + 1) % THREADS;
    for (size_t i = 0; i < w->steps; i++) {
        size_t k = rng_below(&rng, SLOTS);
        if (slot[k]) {
            /* hand it over, unless the next thread is far behind in freeing (it was not
             * scheduled for a while): then free it here, so memory stays bounded */
            if (rng_below(&rng, 8) == 0 && box_pending(next) < MAX_PENDING) {
                out[nout++] = slot[k];
                w->sent++;
                if (nout == BATCH) { send_batch(next, out, nout); nout = 0; }
            } else {
                w->freed_bytes += sd_free(slot[k]);
                w->local_frees++;
            }
        }
        uint32_t r = rng_below(&rng, 100);
        size_t n = r < 75 ? rng_range(&rng, 16, 128) : r < 95 ? rng_range(&rng, 129, 1024) : rng_range(&rng, 1025, 4096);
        slot[k] = sd_alloc(n, rng_next(&rng));
        w->alloc_bytes += ((sd_head *)slot[k])->size;
        w->allocs++;
        if ((i & 255) == 255) drain(w);
    }
    if (nout) send_batch(next, out, nout);
    for (size_t k = 0; k < SLOTS; k++)
        if (slot[k]) {
            w->freed_bytes += sd_free(slot[k]);
            w->local_frees++;
        }
    free(slot);
    pthread_barrier_wait(&done_barrier); /* everything has been sent */
    drain(w);
    return NULL;
}

int main(int argc, char **argv)
{
    double scale = bench_init("mtchurn", argc, argv);
    pthread_t t[THREADS];
    pthread_barrier_init(&done_barrier, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        pthread_mutex_init(&box[i].lock, NULL);
        wk[i].id = i;
        wk[i].steps = scaled(scale, 4e6);
    }
    for (int i = 0; i < THREADS; i++) CHECK(pthread_create(&t[i], NULL, run, &wk[i]) == 0, "pthread_create failed");
    uint64_t allocs = 0, frees = 0, abytes = 0, fbytes = 0, sent = 0, remote = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        allocs += wk[i].allocs;
        frees += wk[i].local_frees + wk[i].remote_frees;
        abytes += wk[i].alloc_bytes;
        fbytes += wk[i].freed_bytes;
        sent += wk[i].sent;
        remote += wk[i].remote_frees;
    }
    CHECK(allocs == frees && abytes == fbytes, "%llu allocations but %llu frees", (unsigned long long)allocs,
          (unsigned long long)frees);
    CHECK(sent == remote, "%llu blocks sent to other threads, %llu freed there", (unsigned long long)sent,
          (unsigned long long)remote);
    printf("mtchurn: %d threads, %llu allocations, %llu freed by another thread\n", THREADS,
           (unsigned long long)allocs, (unsigned long long)remote);
    return 0;
}
