/* dlopen.c - libbimp.so loaded with dlopen by a program that was not
 * started with it: threads that existed before the dlopen and threads
 * started after it allocate with its malloc family and free each other's
 * blocks, exit (running Bimp's thread-exit hook), and a child forked after
 * the dlopen uses it too.  Bimp's malloc must not be the process's malloc.
 * With `dlclose`: a thread that used the library is still running when the
 * program dlcloses it; the thread, then the process, must exit cleanly, and
 * fork must still work (no hook of the unloaded library may run).
 * Usage: dlopen <libbimp.so> [dlclose] */
#include "../common.h"

#include <pthread.h>
#include <semaphore.h>
#include <sys/wait.h>
#include <unistd.h>

static void *(*b_malloc)(size_t);
static void (*b_free)(void *);
static void *(*b_calloc)(size_t, size_t);
static void *(*b_realloc)(void *, size_t);
static int (*b_posix_memalign)(void **, size_t, size_t);
static size_t (*b_usable)(void *);

enum { THREADS = 4, BLOCKS = 200 };
static pthread_barrier_t loaded;
static void *handoff[THREADS][BLOCKS];
static int bad;

static void *work(void *arg)
{
    int me = (int)(intptr_t)arg;
    if (me < THREADS / 2)
        pthread_barrier_wait(&loaded); /* started before the dlopen */
    for (int i = 0; i < BLOCKS; i++) {
        size_t n = (size_t)(i * 37 % 3000) + 1;
        unsigned char *p = i % 9 == 0 ? b_calloc(1, n) : b_malloc(n);
        if (i % 13 == 0 && p) {
            void *q = NULL;
            if (b_posix_memalign(&q, 512, n) != 0 || ((uintptr_t)q & 511))
                __atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
            b_free(q);
        }
        if (!p || b_usable(p) < n) {
            __atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
            continue;
        }
        memset(p, me + 1, n);
        p = b_realloc(p, n + 100);
        if (!p || p[0] != me + 1 || p[n - 1] != me + 1)
            __atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
        handoff[me][i] = p;
    }
    return NULL;
}

static void *free_others(void *arg)
{
    int me = (int)(intptr_t)arg;
    int other = (me + 1) % THREADS;
    for (int i = 0; i < BLOCKS; i++) {
        unsigned char *p = handoff[other][i];
        if (p && p[0] != other + 1)
            __atomic_fetch_add(&bad, 1, __ATOMIC_RELAXED);
        b_free(p);
    }
    return NULL;
}

static sem_t used, closed;

static void *use_then_wait(void *arg)
{
    void *p = b_malloc(100);
    b_free(p);
    sem_post(&used);
    sem_wait(&closed);
    return arg;
}

/* In a child process, so that a crash is reported, not suffered. */
static int dlclose_case(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!lib)
            _exit(2);
        b_malloc = (void *(*)(size_t))dlsym(lib, "malloc");
        b_free = (void (*)(void *))dlsym(lib, "free");
        if (!b_malloc || !b_free)
            _exit(3);
        sem_init(&used, 0, 0);
        sem_init(&closed, 0, 0);
        pthread_t t;
        pthread_create(&t, NULL, use_then_wait, NULL);
        sem_wait(&used);
        if (dlclose(lib) != 0)
            _exit(4);
        sem_post(&closed);
        pthread_join(t, NULL); /* the thread's exit runs thread-exit hooks */
        pid_t grandchild = fork();
        if (grandchild == 0)
            _exit(0);
        int status;
        waitpid(grandchild, &status, 0);
        _exit(WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 5);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        printf("FAIL faults/dlclose: killed by signal %d after dlclose (a thread that had used the "
               "library exited, or the process forked)\n", WTERMSIG(status));
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        printf("FAIL faults/dlclose: exit status %d\n", WEXITSTATUS(status));
    else
        printf("PASS faults/dlclose\n");
    return status != 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[2], "dlclose") == 0)
        return dlclose_case(argv[1]);

    pthread_t t[THREADS];
    pthread_barrier_init(&loaded, NULL, THREADS / 2 + 1);
    for (int i = 0; i < THREADS / 2; i++)
        pthread_create(&t[i], NULL, work, (void *)(intptr_t)i);

    void *lib = argc > 1 ? dlopen(argv[1], RTLD_NOW | RTLD_LOCAL) : NULL;
    CHECK(lib != NULL);
    if (!lib) {
        printf("# dlopen: %s\n", dlerror());
        group_end("faults", "dlopen");
        return 1;
    }
    b_malloc = (void *(*)(size_t))dlsym(lib, "malloc");
    b_free = (void (*)(void *))dlsym(lib, "free");
    b_calloc = (void *(*)(size_t, size_t))dlsym(lib, "calloc");
    b_realloc = (void *(*)(void *, size_t))dlsym(lib, "realloc");
    b_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(lib, "posix_memalign");
    b_usable = (size_t(*)(void *))dlsym(lib, "malloc_usable_size");
    CHECK(b_malloc && b_free && b_calloc && b_realloc && b_posix_memalign && b_usable);
    CHECK(b_malloc != malloc && !bimp_is_loaded());
    if (!(b_malloc && b_free && b_calloc && b_realloc && b_posix_memalign && b_usable)) {
        group_end("faults", "dlopen");
        return 1;
    }
    pthread_barrier_wait(&loaded);
    for (int i = THREADS / 2; i < THREADS; i++)
        pthread_create(&t[i], NULL, work, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL); /* their exit hooks run */
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, free_others, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK(bad == 0);

    void *kept = b_malloc(1000);
    memset(kept, 9, 1000);
    pid_t pid = fork();
    if (pid == 0) {
        void *p[100];
        for (int i = 0; i < 100; i++)
            p[i] = b_malloc((size_t)i * 100);
        for (int i = 0; i < 100; i++)
            b_free(p[i]);
        b_free(kept);
        void *big = b_malloc(1 << 20);
        b_free(big);
        _exit(big ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    b_free(kept);
    void *libc_block = malloc(100); /* libc's malloc is untouched */
    CHECK(libc_block != NULL);
    free(libc_block);
    group_end("faults", "dlopen");
    return total_failures != 0;
}
