/* burst.c - memory after a burst: 16 threads pass blocks to each other
 * through a shared queue for a few seconds (threads exit and are replaced,
 * blocks are freed by threads other than their allocators'), then every
 * block is freed.  Prints the resident memory at the start, at the peak,
 * at once after everything was freed and again a little later, in KiB:
 *
 *   burst <seconds>  ->  start=K peak=K freed=K later=K
 *
 * tests/burst.sh runs it under glibc and under Bimp and compares. */
#include "common.h"

#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

enum { THREADS = 16, QUEUE = 1 << 18, LIFETIME = 40000 };

static void *queue[QUEUE];
static size_t queued;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static double deadline;

/* Mostly small sizes, a few up to 64 KiB. */
static size_t random_size(uint64_t *s)
{
    uint64_t r = rnd(s);
    return r % 100 < 97 ? 16 + r / 100 % 1000 : 1024 + r / 100 % 65536;
}

/* A worker lives for LIFETIME operations: it pushes new blocks while the
 * queue is less than full and pops (and frees) others' blocks, at random. */
static void *worker(void *arg)
{
    uint64_t s = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15u + 1;
    for (int i = 0; i < LIFETIME && monotonic_seconds() < deadline; i++) {
        bool push = rnd(&s) % 100 < 52;
        void *p = push ? malloc(random_size(&s)) : NULL;
        if (p)
            memset(p, 1, 16);
        pthread_mutex_lock(&queue_lock);
        if (p && queued < QUEUE) {
            queue[queued++] = p;
            p = NULL;
        } else if (!push && queued) {
            size_t k = rnd(&s) % queued;
            p = queue[k];
            queue[k] = queue[--queued];
        }
        pthread_mutex_unlock(&queue_lock);
        free(p);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3;
    memset(queue, 0, sizeof queue);
    size_t start = resident_bytes() / 1024, peak = start;
    deadline = monotonic_seconds() + seconds;
    pthread_t t[THREADS];
    unsigned long made = 0;
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)made++);
    while (monotonic_seconds() < deadline) { /* replace the threads that are done */
        for (int i = 0; i < THREADS; i++) {
            if (pthread_tryjoin_np(t[i], NULL) == 0)
                pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)made++);
        }
        size_t r = resident_bytes() / 1024;
        if (r > peak)
            peak = r;
        usleep(10000);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (size_t i = 0; i < queued; i++)
        free(queue[i]);
    queued = 0;
    size_t freed = resident_bytes() / 1024;
    sleep(2);
    size_t later = resident_bytes() / 1024;
    printf("start=%zu peak=%zu freed=%zu later=%zu threads=%lu\n", start, peak, freed, later, made);
    return 0;
}
