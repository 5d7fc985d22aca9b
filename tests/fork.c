/* fork.c - the main thread forks again and again while two threads churn
 * the heap; every child allocates, frees (including blocks other threads
 * allocated before the fork), starts a thread that allocates, and exits 0.
 * Usage: fork <name> <forks> */
#include "common.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

enum { SHARED = 512 };
static void *shared[SHARED]; /* written by workers, read by children */
static volatile int stop;

static void *churn(void *arg)
{
    uint64_t s = (uint64_t)(uintptr_t)arg * 77 + 1;
    void *local[256] = { 0 };
    while (!stop) {
        unsigned i = (unsigned)(rnd(&s) % 256);
        free(local[i]);
        local[i] = malloc(rnd(&s) % 2000);
        unsigned j = (unsigned)(rnd(&s) % SHARED);
        void *p = malloc(64);
        memset(p, 0x11, 64);
        p = __atomic_exchange_n(&shared[j], p, __ATOMIC_ACQ_REL);
        free(p);
    }
    for (int i = 0; i < 256; i++)
        free(local[i]);
    return NULL;
}

static void *child_thread(void *arg)
{
    (void)arg;
    void *p[100];
    for (int i = 0; i < 100; i++)
        p[i] = malloc((size_t)i * 10);
    for (int i = 0; i < 100; i++)
        free(p[i]);
    return malloc(10);
}

static int child(void)
{
    void *keep[1000];
    for (int i = 0; i < 1000; i++) {
        keep[i] = malloc((size_t)(i % 300) + 1);
        if (!keep[i])
            return 2;
        memset(keep[i], i, (size_t)(i % 300) + 1);
    }
    for (int i = 0; i < 1000; i += 2)
        free(keep[i]);
    for (int j = 0; j < SHARED; j += 3) /* blocks of heaps whose threads are gone here */
        free(__atomic_exchange_n(&shared[j], NULL, __ATOMIC_ACQ_REL));
    pthread_t t;
    void *r = NULL;
    if (pthread_create(&t, NULL, child_thread, NULL) || pthread_join(t, &r) || !r)
        return 3;
    free(r);
    void *big = malloc(1 << 20);
    if (!big)
        return 4;
    free(big);
    return 0;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "fork";
    int forks = argc > 2 ? atoi(argv[2]) : 200;
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, churn, (void *)(intptr_t)(i + 1));
    int bad = 0, i = 0;
    for (; i < forks && (i < 10 || !out_of_time()); i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(child());
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
            bad++;
    }
    stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int j = 0; j < SHARED; j++)
        free(shared[j]);
    CHECK(bimp_is_loaded());
    CHECK(bad == 0);
    snprintf(group_note, sizeof group_note, "%d forks", i);
    group_end(name, "fork");
    return total_failures != 0;
}
