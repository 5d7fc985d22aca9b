/* stress.c - threads hammer Bimp (compiled in with -DBIMP_PREFIX, built
 * with -fsanitize=thread) and hand blocks to each other, so that
 * ThreadSanitizer sees every cross-thread path of the allocator: remote
 * frees into owned and orphaned heaps, reallocs and sized frees of other
 * threads' blocks, heaps adopted by new threads.  Every block carries a
 * cookie (its seed and size in its first 16 bytes) and a pattern after it,
 * checked before every free and realloc.  The threads run in rounds; blocks
 * left in the mailboxes at the end of a round outlive their threads.
 * Usage: stress <name> <threads> <rounds> <operations per thread per round> [stats|arenas]
 * With `stats`, threads also call mallinfo2, malloc_trim and
 * malloc_usable_size concurrently.  With `arenas`, some blocks come from
 * the thread's arena (and go to other threads like the rest: remote frees
 * into an arena, reallocs by other threads, arenas whose thread exited),
 * and threads open scopes on a second arena of theirs (mark, blocks freed
 * and resized inside, release). */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *bimp_malloc(size_t n);
void bimp_free(void *p);
void *bimp_calloc(size_t count, size_t size);
void *bimp_realloc(void *p, size_t n);
void *bimp_aligned_alloc(size_t align, size_t n);
size_t bimp_malloc_usable_size(void *p);
void bimp_free_sized(void *p, size_t size);
int bimp_malloc_trim(size_t pad);
struct mallinfo2 bimp_mallinfo2(void);
typedef struct bimp_arena bimp_arena;
typedef struct bimp_mark bimp_mark;
bimp_arena *bimp_arena_create(void);
void bimp_arena_destroy(bimp_arena *arena);
void *bimp_arena_alloc(bimp_arena *arena, size_t size);
bimp_mark *bimp_arena_mark(bimp_arena *arena);
void bimp_arena_release(bimp_arena *arena, bimp_mark *mark);

enum { MAXTHREADS = 16, LOCAL = 96, BOX = 64, COOKIE = 16 };

typedef struct {
    unsigned char *p;
    size_t n; /* at least COOKIE */
    uint64_t seed;
    int plain; /* from malloc/calloc/realloc: free_sized(p, n) is right */
} item;

typedef struct {
    pthread_mutex_t lock;
    item box[BOX];
    int count;
} mailbox;

static mailbox boxes[MAXTHREADS];
static int nthreads, stats, arenas;
/* With `arenas`: the thread's arena for blocks that may leave the thread
 * (never destroyed: its blocks outlive the thread), and its scratch arena. */
static __thread bimp_arena *shared_arena, *scratch_arena;
static long nops;
static int failures;
static char first_failure[256];

static void failure(const char *what, const item *it)
{
    if (__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED) == 0)
        snprintf(first_failure, sizeof first_failure, "%s: block %p of %zu bytes", what, (void *)it->p, it->n);
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* The contents: word k of a block (k >= 2; words 0 and 1 are the cookie)
 * is word_at(seed, k); a partial last word holds that word's first bytes. */
static uint64_t word_at(uint64_t seed, size_t k)
{
    return (seed + k) * 0x9e3779b97f4a7c15ull;
}

static void stamp(item *it)
{
    uint64_t *w = (uint64_t *)it->p;
    w[0] = it->seed;
    w[1] = it->n;
    size_t k = 2;
    for (; (k + 1) * 8 <= it->n; k++)
        w[k] = word_at(it->seed, k);
    uint64_t last = word_at(it->seed, k);
    for (size_t i = k * 8; i < it->n; i++)
        it->p[i] = (unsigned char)(last >> (8 * (i - k * 8)));
}

/* Whether the first `upto` bytes of p hold it's cookie and contents. */
static int holds(const unsigned char *p, const item *it, size_t upto)
{
    const uint64_t *w = (const uint64_t *)p;
    if (w[0] != it->seed || w[1] != it->n)
        return 0;
    size_t k = 2;
    for (; (k + 1) * 8 <= upto; k++)
        if (w[k] != word_at(it->seed, k))
            return 0;
    uint64_t last = word_at(it->seed, k);
    for (size_t i = k * 8; i < upto; i++)
        if (p[i] != (unsigned char)(last >> (8 * (i - k * 8))))
            return 0;
    return 1;
}

static int intact(const item *it, size_t upto)
{
    return holds(it->p, it, upto);
}

static size_t random_size(uint64_t *s)
{
    uint64_t r = rnd(s);
    switch (r % 128) {
    case 0:
        return 130000 + r % 130000; /* huge */
    case 1 ... 12:
        return 1025 + r % 30000;
    default:
        return COOKIE + r % 500;
    }
}

static int make(item *it, uint64_t *s)
{
    size_t n = random_size(s);
    uint64_t r = rnd(s);
    it->plain = 1;
    switch (r % 8) {
    case 0:
        it->p = bimp_calloc(1, n);
        if (it->p) {
            const uint64_t *w = (const uint64_t *)it->p;
            size_t i = 0;
            for (; (i + 1) * 8 <= n && !w[i]; i++)
                ;
            for (i *= 8; i < n && !it->p[i]; i++)
                ;
            if (i < n) {
                char what[80];
                snprintf(what, sizeof what, "calloc block not zero (byte %zu is %#x)", i, it->p[i]);
                it->n = n;
                failure(what, it);
            }
        }
        break;
    case 1:
        it->p = bimp_aligned_alloc((size_t)64 << (r % 5), n);
        it->plain = 0;
        break;
    case 2:
        if (arenas) {
            it->p = bimp_arena_alloc(shared_arena, n);
            break;
        }
        /* fall through */
    default:
        it->p = bimp_malloc(n);
        break;
    }
    if (!it->p) {
        it->n = n;
        failure("allocation failed", it);
        return 0;
    }
    it->n = n;
    it->seed = rnd(s) | 1;
    stamp(it);
    return 1;
}

static void drop(item *it, uint64_t *s)
{
    if (!intact(it, it->n))
        failure("block changed before its free", it);
    if (it->plain && rnd(s) % 4 == 0)
        bimp_free_sized(it->p, it->n);
    else
        bimp_free(it->p);
    it->p = NULL;
}

static void resize(item *it, uint64_t *s)
{
    if (!intact(it, it->n)) {
        failure("block changed before its realloc", it);
        return;
    }
    size_t n = random_size(s);
    unsigned char *q = bimp_realloc(it->p, n);
    if (!q) {
        failure("realloc failed", it);
        return;
    }
    size_t keep = n < it->n ? n : it->n;
    int ok = holds(q, it, keep < COOKIE ? COOKIE : keep);
    it->p = q;
    it->n = n;
    it->plain = 1;
    if (!ok)
        failure("realloc lost the contents", it);
    stamp(it);
}

/* A scope on the scratch arena: blocks made, some freed or resized inside
 * it, all checked, then dropped by one release. */
static void scope(uint64_t *s)
{
    item in[32];
    bimp_mark *m = bimp_arena_mark(scratch_arena);
    int k = 0;
    for (; k < 32; k++) {
        in[k].n = random_size(s);
        in[k].p = bimp_arena_alloc(scratch_arena, in[k].n);
        if (!in[k].p) {
            failure("arena allocation failed", &in[k]);
            break;
        }
        in[k].seed = rnd(s) | 1;
        stamp(&in[k]);
        if (rnd(s) % 4 == 0) { /* the top, freed: it pops */
            bimp_free(in[k].p);
            k--;
        } else if (k > 1 && rnd(s) % 8 == 0) { /* one below the top: it waits */
            if (!intact(&in[k - 1], in[k - 1].n))
                failure("arena block changed", &in[k - 1]);
            bimp_free(in[k - 1].p);
            in[k - 1] = in[k];
            k--;
        } else if (rnd(s) % 8 == 0) { /* the top, resized */
            resize(&in[k], s);
        }
    }
    while (k-- > 0)
        if (!intact(&in[k], in[k].n))
            failure("arena block changed before the release", &in[k]);
    bimp_arena_release(scratch_arena, m);
}

static int send(int to, item *it)
{
    mailbox *m = &boxes[to];
    int sent = 0;
    pthread_mutex_lock(&m->lock);
    if (m->count < BOX) {
        m->box[m->count++] = *it;
        sent = 1;
    }
    pthread_mutex_unlock(&m->lock);
    if (sent)
        it->p = NULL;
    return sent;
}

static int receive(int me, item *it)
{
    mailbox *m = &boxes[me];
    int got = 0;
    pthread_mutex_lock(&m->lock);
    if (m->count > 0) {
        *it = m->box[--m->count];
        got = 1;
    }
    pthread_mutex_unlock(&m->lock);
    return got;
}

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(me + 1) + (uint64_t)nops;
    item local[LOCAL];
    memset(local, 0, sizeof local);
    if (arenas) {
        shared_arena = bimp_arena_create();
        scratch_arena = bimp_arena_create();
    }
    for (long op = 0; op < nops && !__atomic_load_n(&failures, __ATOMIC_RELAXED); op++) {
        item *it = &local[rnd(&s) % LOCAL];
        unsigned r = (unsigned)(rnd(&s) % 100);
        if (r < 30) {
            if (it->p)
                drop(it, &s);
            make(it, &s);
        } else if (r < 45) {
            if (it->p)
                drop(it, &s);
        } else if (r < 62) {
            if (it->p && !send((me + 1 + (int)(rnd(&s) % (uint64_t)(nthreads - 1))) % nthreads, it))
                drop(it, &s);
        } else if (r < 80) {
            item got;
            if (it->p)
                drop(it, &s);
            if (receive(me, &got)) {
                *it = got;
                if (rnd(&s) % 3 == 0)
                    resize(it, &s); /* another thread's block, resized here */
                else
                    drop(it, &s); /* a remote free */
            }
        } else if (r < 88) {
            if (it->p)
                resize(it, &s);
        } else if (r < 96) { /* a burst freed in stack order */
            item burst[16];
            int k = 0;
            for (; k < 16; k++)
                if (!make(&burst[k], &s))
                    break;
            while (k-- > 0)
                drop(&burst[k], &s);
        } else if (arenas) {
            scope(&s);
        } else if (stats) {
            if (r == 96) {
                struct mallinfo2 mi = bimp_mallinfo2();
                if (mi.uordblks > mi.arena + mi.hblkhd + ((size_t)1 << 40))
                    failure("mallinfo2 nonsense", it);
            } else if (r == 97) {
                bimp_malloc_trim(0);
            } else if (it->p && bimp_malloc_usable_size(it->p) < it->n) {
                failure("usable size below the request", it);
            }
        }
    }
    /* Leave some blocks in the mailboxes for the next round's threads. */
    for (int i = 0; i < LOCAL; i++)
        if (local[i].p && !(i % 4 == 0 && send((me + 1) % nthreads, &local[i])))
            drop(&local[i], &s);
    if (arenas)
        bimp_arena_destroy(scratch_arena);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "stress";
    nthreads = argc > 2 ? atoi(argv[2]) : 4;
    int rounds = argc > 3 ? atoi(argv[3]) : 3;
    nops = argc > 4 ? atol(argv[4]) : 20000;
    stats = argc > 5 && strcmp(argv[5], "stats") == 0;
    arenas = argc > 5 && strcmp(argv[5], "arenas") == 0;
    if (nthreads < 2 || nthreads > MAXTHREADS) {
        fprintf(stderr, "threads: 2 to %d\n", MAXTHREADS);
        return 2;
    }
    for (int i = 0; i < MAXTHREADS; i++)
        pthread_mutex_init(&boxes[i].lock, NULL);
    for (int round = 0; round < rounds; round++) {
        pthread_t t[MAXTHREADS];
        for (int i = 0; i < nthreads; i++)
            pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
        for (int i = 0; i < nthreads; i++)
            pthread_join(t[i], NULL);
    }
    uint64_t s = 1;
    for (int i = 0; i < MAXTHREADS; i++) { /* blocks whose threads are all gone */
        item it;
        while (receive(i, &it))
            drop(&it, &s);
    }
    if (failures)
        printf("FAIL %s: %d failures, first: %s\n", name, failures, first_failure);
    else
        printf("PASS %s\n", name);
    return failures != 0;
}
