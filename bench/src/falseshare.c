/* falseshare: false sharing caused by the allocator (cache-scratch-like).
 * The main thread allocates small objects for every worker, interleaved, so
 * objects of different workers are neighbours in memory.  Each worker
 *   1. writes its own objects over and over (passive false sharing: only an
 *      allocator that keeps small blocks of one cache line apart avoids it),
 *   2. frees them (a free of blocks another thread allocated), then
 *   3. repeatedly mallocs a small object, writes it many times and frees it
 *      (active false sharing: an allocator that hands the just-freed
 *      neighbouring blocks back to this thread keeps the threads writing to
 *      shared cache lines).
 * Two workers, i.e. one per core on the 2-core reference machine. */
#include "common.h"
#include <pthread.h>

#define THREADS 2
#define PER 8   /* objects per worker per round */
#define OBJ 24  /* object size in bytes */

typedef struct {
    int id;
    unsigned char *obj[PER];
    size_t rounds, writes, iters;
    uint64_t sum;
} worker;

static worker wk[THREADS];
static pthread_barrier_t start, done;

static void hammer(unsigned char *p, size_t writes)
{
    volatile unsigned char *v = p;
    for (size_t w = 0; w < writes; w++)
        for (int j = 0; j < OBJ; j++) v[j]++;
}

static void *run(void *arg)
{
    worker *w = (worker *)arg;
    for (size_t r = 0; r < w->rounds; r++) {
        pthread_barrier_wait(&start);
        for (int k = 0; k < PER; k++) hammer(w->obj[k], w->writes);
        for (int k = 0; k < PER; k++) {
            for (int j = 0; j < OBJ; j++)
                CHECK(w->obj[k][j] == (unsigned char)(w->id * 31 + k + j + w->writes),
                      "worker %d object %d byte %d wrong", w->id, k, j);
            free(w->obj[k]);
            w->obj[k] = NULL;
        }
        for (size_t i = 0; i < w->iters; i++) {
            unsigned char *p = (unsigned char *)xmalloc(OBJ);
            memset(p, (int)(i & 0xff), OBJ);
            hammer(p, w->writes);
            for (int j = 0; j < OBJ; j++) w->sum += p[j];
            free(p);
        }
        pthread_barrier_wait(&done);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    double scale = bench_init("falseshare", argc, argv);
    pthread_t t[THREADS];
    pthread_barrier_init(&start, NULL, THREADS + 1);
    pthread_barrier_init(&done, NULL, THREADS + 1);
    size_t rounds = scaled(scale, 600);
    for (int i = 0; i < THREADS; i++) {
        wk[i].id = i;
        wk[i].rounds = rounds;
        wk[i].writes = 1000;
        wk[i].iters = 100;
        CHECK(pthread_create(&t[i], NULL, run, &wk[i]) == 0, "pthread_create failed");
    }
    for (size_t r = 0; r < rounds; r++) {
        for (int k = 0; k < PER; k++)
            for (int i = 0; i < THREADS; i++) { /* interleaved: neighbours belong to different workers */
                unsigned char *p = (unsigned char *)xmalloc(OBJ);
                for (int j = 0; j < OBJ; j++) p[j] = (unsigned char)(i * 31 + k + j);
                wk[i].obj[k] = p;
            }
        pthread_barrier_wait(&start);
        pthread_barrier_wait(&done);
    }
    /* expected sum: for every iteration i, each byte ends at (i + writes) mod 256 */
    for (int i = 0; i < THREADS; i++) {
        uint64_t expect = 0;
        for (size_t it = 0; it < wk[i].iters; it++) expect += (uint64_t)OBJ * ((it + wk[i].writes) & 0xff);
        expect *= rounds;
        pthread_join(t[i], NULL);
        CHECK(wk[i].sum == expect, "worker %d: sum %llu, expected %llu", i, (unsigned long long)wk[i].sum,
              (unsigned long long)expect);
    }
    printf("falseshare: %d workers, %zu rounds\n", THREADS, rounds);
    return 0;
}
