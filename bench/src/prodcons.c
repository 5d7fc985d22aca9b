/* prodcons: producer-consumer across threads.  Producer threads allocate
 * messages (16 B - 2 KiB, mostly small), fill them and pass them through a
 * queue; the matching consumer thread checks and frees them, so nearly every
 * free is of a block another thread allocated.  The consumer keeps a short
 * window of recent messages before freeing them, so frees are not in
 * allocation order. */
#include "common.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define PAIRS 1 /* one thread per core on the 2-core reference machine */
#define QCAP 4096 /* power of two */
#define WINDOW 256
#define PUBLISH 32 /* power of two */

typedef struct {
    _Alignas(64) _Atomic size_t head; /* written by the consumer */
    _Alignas(64) _Atomic size_t tail; /* written by the producer */
    _Alignas(64) void *slot[QCAP];
    size_t count;
    uint64_t seed;
    uint64_t produced_bytes, consumed_bytes, consumed;
} queue;

static queue q[PAIRS];

/* wait a little: spin briefly, then let the other threads run */
static void backoff(unsigned *spins)
{
    if (++*spins < 100)
        __builtin_ia32_pause();
    else {
        sched_yield();
        *spins = 0;
    }
}

/* The producer publishes its tail only every PUBLISH messages and the consumer
 * its head once per batch it took, so the threads exchange cache lines per
 * batch rather than per message. */
static void *producer(void *arg)
{
    queue *Q = (queue *)arg;
    rng_t rng = rng_make(Q->seed);
    size_t t = 0, room = 0;
    for (size_t i = 0; i < Q->count; i++) {
        size_t n = rng_below(&rng, 10) < 8 ? rng_range(&rng, 16, 128) : rng_logsize(&rng, 129, 2048);
        /* the tag carries the sequence number in its top bits so order is checked */
        uint64_t tag = ((uint64_t)i << 24) | (rng_next(&rng) & 0xffffff);
        void *m = sd_alloc(n, tag);
        Q->produced_bytes += ((sd_head *)m)->size;
        unsigned spins = 0;
        while (!room) {
            room = QCAP - (t - atomic_load_explicit(&Q->head, memory_order_acquire));
            if (!room) {
                atomic_store_explicit(&Q->tail, t, memory_order_release);
                backoff(&spins);
            }
        }
        Q->slot[t & (QCAP - 1)] = m;
        t++;
        room--;
        if ((t & (PUBLISH - 1)) == 0) atomic_store_explicit(&Q->tail, t, memory_order_release);
    }
    atomic_store_explicit(&Q->tail, t, memory_order_release);
    return NULL;
}

static void *consumer(void *arg)
{
    queue *Q = (queue *)arg;
    void *win[WINDOW] = { 0 };
    size_t h = 0, i = 0;
    while (i < Q->count) {
        size_t t;
        unsigned spins = 0;
        while ((t = atomic_load_explicit(&Q->tail, memory_order_acquire)) == h) backoff(&spins);
        for (; h < t; h++, i++) {
            void *m = Q->slot[h & (QCAP - 1)];
            CHECK((((sd_head *)m)->tag >> 24) == i, "message %zu arrived out of order", i);
            /* keep it for a while: free a pseudo-random older message instead */
            size_t w = (size_t)((((sd_head *)m)->tag * 0x9E3779B97F4A7C15ULL) >> 56) % WINDOW;
            if (win[w]) {
                Q->consumed_bytes += sd_free(win[w]);
                Q->consumed++;
            }
            win[w] = m;
        }
        atomic_store_explicit(&Q->head, h, memory_order_release);
    }
    for (size_t w = 0; w < WINDOW; w++)
        if (win[w]) {
            Q->consumed_bytes += sd_free(win[w]);
            Q->consumed++;
        }
    return NULL;
}

int main(int argc, char **argv)
{
    double scale = bench_init("prodcons", argc, argv);
    pthread_t pt[PAIRS], ct[PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        q[i].count = scaled(scale, 7e6);
        q[i].seed = 70 + (uint64_t)i;
        CHECK(pthread_create(&ct[i], NULL, consumer, &q[i]) == 0, "pthread_create failed");
        CHECK(pthread_create(&pt[i], NULL, producer, &q[i]) == 0, "pthread_create failed");
    }
    uint64_t total = 0;
    for (int i = 0; i < PAIRS; i++) {
        pthread_join(pt[i], NULL);
        pthread_join(ct[i], NULL);
        CHECK(q[i].consumed == q[i].count && q[i].consumed_bytes == q[i].produced_bytes,
              "pair %d: produced %zu messages (%llu bytes), consumed %llu (%llu bytes)", i, q[i].count,
              (unsigned long long)q[i].produced_bytes, (unsigned long long)q[i].consumed,
              (unsigned long long)q[i].consumed_bytes);
        total += q[i].consumed;
    }
    printf("prodcons: %d producer/consumer pair(s), %llu messages passed to another thread and freed there\n", PAIRS,
           (unsigned long long)total);
    return 0;
}
