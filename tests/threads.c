/* threads.c - several threads allocate random sizes, fill every block with
 * its own pattern, pass blocks to each other and free blocks they did not
 * allocate; every pattern is checked before every free and realloc, so any
 * overlap, lost remote free or corruption between threads shows.
 * Usage: threads <name> <threads> <operations per thread> */
#include "common.h"

#include <pthread.h>

enum { SLOTS = 1024, MAILBOX = 256 };

typedef struct {
    void *p;
    size_t n;
    uintptr_t seed;
} item;

typedef struct {
    pthread_mutex_t lock;
    item box[MAILBOX];
    int count;
} mailbox;

static int nthreads;
static long nops, done; /* operations per thread at most; done by all */
static mailbox *boxes;
static int failures;

static size_t random_size(uint64_t *s)
{
    uint64_t r = rnd(s);
    switch (r % 100) {
    case 0:
        return 100000 + r % 400000; /* around and above the huge threshold */
    case 1 ... 9:
        return 1000 + r % 20000;
    default:
        return r % 256;
    }
}

static void check_and_free(item *it)
{
    if (!intact(it->p, it->n, it->seed))
        __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
    free(it->p);
    it->p = NULL;
}

static void drain_mailbox(mailbox *m)
{
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < m->count; i++)
        check_and_free(&m->box[i]);
    m->count = 0;
    pthread_mutex_unlock(&m->lock);
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
    item slots[SLOTS] = { 0 };
    long op = 0;
    for (; op < nops && (op % 256 || !out_of_time()); op++) {
        item *it = &slots[rnd(&s) % SLOTS];
        if (it->p) {
            uint64_t r = rnd(&s) % 10;
            if (r < 3) { /* hand it to another thread */
                mailbox *m = &boxes[(id + 1 + (int)(rnd(&s) % (uint64_t)(nthreads - 1 ? nthreads - 1 : 1))) % nthreads];
                pthread_mutex_lock(&m->lock);
                if (m->count < MAILBOX) {
                    m->box[m->count++] = *it;
                    it->p = NULL;
                }
                pthread_mutex_unlock(&m->lock);
                if (it->p)
                    check_and_free(it);
            } else if (r < 5) { /* grow or shrink it */
                if (!intact(it->p, it->n, it->seed))
                    __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
                size_t n = random_size(&s) + 1; /* realloc(p, 0) would free */
                void *q = realloc(it->p, n);
                size_t keep = n < it->n ? n : it->n;
                if (!q || !intact(q, keep, it->seed))
                    __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
                it->p = q;
                it->n = n;
                it->seed = (uintptr_t)rnd(&s);
                fill(q, n, it->seed);
            } else {
                check_and_free(it);
            }
        } else {
            it->n = random_size(&s);
            it->p = rnd(&s) % 8 ? malloc(it->n) : calloc(1, it->n);
            it->seed = (uintptr_t)rnd(&s);
            if (!it->p || ((uintptr_t)it->p & 15))
                __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
            fill(it->p, it->n, it->seed);
        }
        if (op % 64 == 0)
            drain_mailbox(&boxes[id]);
    }
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p)
            check_and_free(&slots[i]);
    __atomic_fetch_add(&done, op, __ATOMIC_RELAXED);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "threads";
    nthreads = argc > 2 ? atoi(argv[2]) : 4;
    nops = argc > 3 ? atol(argv[3]) : 200000;
    boxes = calloc((size_t)nthreads, sizeof *boxes);
    for (int i = 0; i < nthreads; i++)
        pthread_mutex_init(&boxes[i].lock, NULL);
    pthread_t t[64];
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < nthreads; i++)
        drain_mailbox(&boxes[i]);
    CHECK(bimp_is_loaded());
    CHECK(failures == 0);
    CHECK(done > 0);
    snprintf(group_note, sizeof group_note, "%ld operations in %d threads", done, nthreads);
    group_end(name, "stress");
    return total_failures != 0;
}
