/* forkstorm.c - run with LD_PRELOAD=libbimp.so: three threads churn the
 * heap (allocating, reallocating, freeing each other's blocks through a
 * shared table) while the main thread forks again and again.  Every child
 * must allocate (small, medium, huge, aligned), find its memory intact,
 * free blocks of its own and blocks of the parent's threads (which do not
 * exist in the child), and exit 0 within a few seconds: a lock left held
 * across fork shows as a hung child, a heap left inconsistent as a crash.
 * Usage: forkstorm <name> <forks> */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { SHARED = 256, CHURNERS = 3 };
static void *shared[SHARED];
static int stop;

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void *churn(void *arg)
{
    uint64_t s = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 7;
    void *mine[64] = { 0 };
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        unsigned i = (unsigned)(rnd(&s) % 64);
        uint64_t r = rnd(&s);
        if (r % 16 == 0) {
            mine[i] = realloc(mine[i], r % 70000);
        } else {
            free(mine[i]);
            size_t n = r % 100 == 0 ? 200000 + r % 100000 : r % 3000;
            mine[i] = malloc(n);
            if (mine[i])
                memset(mine[i], (int)r, n < 64 ? n : 64);
        }
        /* A block for the shared table; whatever was there is freed here,
         * usually by a thread other than the one that allocated it. */
        void *p = malloc(48 + r % 200);
        if (p)
            memset(p, 0x5c, 48);
        p = __atomic_exchange_n(&shared[r % SHARED], p, __ATOMIC_ACQ_REL);
        free(p);
    }
    for (int i = 0; i < 64; i++)
        free(mine[i]);
    return NULL;
}

/* The child: returns its exit status. */
static int child(int n)
{
    enum { K = 300 };
    unsigned char *b[K];
    size_t len[K];
    for (int i = 0; i < K; i++) {
        len[i] = i % 50 == 0 ? 150000 + (size_t)i : i % 7 == 0 ? 5000 + (size_t)i : (size_t)(i % 200) + 1;
        b[i] = i % 11 == 0 ? aligned_alloc(256, len[i]) : malloc(len[i]);
        if (!b[i])
            return 10;
        memset(b[i], i & 0xff, len[i]);
    }
    for (int i = 0; i < K; i += 2)
        free(b[i]);
    for (int i = 1; i < K; i += 2) {
        for (size_t k = 0; k < len[i]; k++)
            if (b[i][k] != (unsigned char)(i & 0xff))
                return 11;
        b[i] = realloc(b[i], len[i] + 100);
        if (!b[i])
            return 12;
    }
    /* Blocks allocated by parent threads that do not exist here. */
    for (int j = n % 3; j < SHARED; j += 3)
        free(__atomic_exchange_n(&shared[j], NULL, __ATOMIC_ACQ_REL));
    for (int i = 1; i < K; i += 2)
        free(b[i]);
    void *big = calloc(1, 1 << 20);
    if (!big)
        return 13;
    free(big);
    if (n % 8 == 0) { /* a thread of the child's own */
        pthread_t t;
        if (pthread_create(&t, NULL, churn, (void *)(uintptr_t)n) != 0)
            return 14;
        struct timespec ts = { 0, 2 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
        pthread_join(t, NULL);
    }
    return 0;
}

/* Wait for pid at most `seconds`; returns its wait status, or -1 if it hung
 * (then it is killed). */
static int wait_bounded(pid_t pid, int seconds)
{
    int status;
    for (int waited = 0; waited < seconds * 1000; waited++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -2;
        struct timespec ts = { 0, 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "fork-storm";
    int forks = argc > 2 ? atoi(argv[2]) : 300;
    pthread_t t[CHURNERS];
    for (int i = 0; i < CHURNERS; i++)
        pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(i + 1));
    int bad = 0;
    char why[200] = "";
    for (int i = 0; i < forks; i++) {
        void *mine = malloc((size_t)i * 10 + 1); /* the forking thread allocates too */
        pid_t pid = fork();
        if (pid == 0)
            exit(child(i));
        free(mine);
        if (pid < 0) {
            if (!bad++)
                snprintf(why, sizeof why, "fork %d failed: %s", i, strerror(errno));
            continue;
        }
        int status = wait_bounded(pid, 10);
        if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            if (!bad++) {
                if (status == -1)
                    snprintf(why, sizeof why, "child %d hung (killed after 10 s)", i);
                else if (WIFSIGNALED(status))
                    snprintf(why, sizeof why, "child %d killed by signal %d", i, WTERMSIG(status));
                else
                    snprintf(why, sizeof why, "child %d exited with status %d", i, WEXITSTATUS(status));
            }
        }
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < CHURNERS; i++)
        pthread_join(t[i], NULL);
    for (int j = 0; j < SHARED; j++)
        free(shared[j]);
    if (bad)
        printf("FAIL %s: %d of %d children failed; first: %s\n", name, bad, forks, why);
    else
        printf("PASS %s\n", name);
    return bad != 0;
}
