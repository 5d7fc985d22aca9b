/* remote.c - frees by another thread reach the owner in batches: while the
 * freeing thread lives on (idle), the owner gets all but at most one
 * batch's worth of blocks back, and all of them once that thread exits.
 * Run with LD_PRELOAD=<libbimp.so>.  Usage: remote <variant-name> */
#include "common.h"
#include "../bimp.h"

#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>

#define BLOCKS 1000
#define SIZE 100
#define MOST_HELD 31 /* a thread holds back at most one batch of remote frees, less one */
#define SLACK 4     /* blocks' worth of bytes that pthread_create may leave allocated */

static void *block[BLOCKS];
static sem_t freed, finish;

static void *freer(void *arg)
{
    (void)arg;
    free(malloc(16)); /* a heap of its own, so that its remote frees are batched */
    for (int i = 0; i < BLOCKS; i++)
        free(block[i]);
    sem_post(&freed);
    sem_wait(&finish); /* idle, alive, with whatever it has not sent yet */
    return NULL;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "remote";
    int (*stats)(struct bimp_stats *) = (int (*)(struct bimp_stats *))dlsym(RTLD_DEFAULT, "bimp_stats");
    CHECK(bimp_is_loaded() && stats);
    if (!stats) {
        group_end(name, "remote-batches");
        return 1;
    }
    sem_init(&freed, 0, 0);
    sem_init(&finish, 0, 0);
    struct bimp_stats before, s0, s1, s2;
    malloc_trim(0);
    CHECK(stats(&before) == 0);
    for (int i = 0; i < BLOCKS; i++) {
        block[i] = malloc(SIZE);
        CHECK(block[i] != NULL);
        if (block[i])
            memset(block[i], 'r', SIZE);
    }
    malloc_trim(0);
    CHECK(stats(&s0) == 0);
    size_t each = (s0.in_use_bytes - before.in_use_bytes) / BLOCKS; /* a block's stride */
    CHECK(each >= SIZE && each < 2 * SIZE);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, freer, NULL) == 0);
    sem_wait(&freed);
    malloc_trim(0); /* applies what reached this thread's inbox */
    CHECK(stats(&s1) == 0);
    CHECK(s1.remote_frees - s0.remote_frees == BLOCKS);
    size_t given_back = s0.in_use_bytes - s1.in_use_bytes;
    CHECK(given_back >= (size_t)(BLOCKS - MOST_HELD) * each);
    sem_post(&finish);
    pthread_join(t, NULL); /* its exit sends the rest */
    malloc_trim(0);
    CHECK(stats(&s2) == 0);
    /* all of them: what is left is the few hundred bytes libc keeps for a thread */
    CHECK(s2.in_use_bytes <= before.in_use_bytes + SLACK * each);
    group_end(name, "remote-batches");
    return total_failures != 0;
}
