/* forksig.c - fork() from a signal handler that interrupted malloc or free
 * (glibc's tst-mallocfork2): a SIGALRM every 2 ms forks, the child _exits at
 * once, the handler waits for it; meanwhile the main loop (and, with
 * `threads`, a second thread too) mallocs and frees random sizes, small to
 * huge.  A fork that waits for a lock the interrupted code holds hangs
 * here, and the runner's timeout reports it.
 *
 *   forksig <variant> <operations> [threads]
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t forks, bad_children;

static void on_alarm(int sig)
{
    (void)sig;
    int saved = errno;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid > 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        forks++;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            bad_children++;
    }
    errno = saved;
}

/* Random sizes: mostly small, some medium, a few huge (own mappings). */
static size_t random_size(unsigned *seed)
{
    unsigned r = rand_r(seed) % 1000;
    if (r < 900)
        return 1 + rand_r(seed) % 1024;
    if (r < 995)
        return 1024 + rand_r(seed) % (200 << 10);
    return (256 << 10) + rand_r(seed) % (4 << 20);
}

#define SLOTS 512

static long operations;

/* malloc and free at random over SLOTS slots; each block stamped with its
 * slot and checked when freed.  Returns the number of damaged blocks. */
static void *churn(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    unsigned char *slot[SLOTS] = { 0 };
    size_t len[SLOTS] = { 0 };
    long damaged = 0;
    for (long i = 0; i < operations; i++) {
        int k = rand_r(&seed) % SLOTS;
        if (slot[k]) {
            if (slot[k][0] != (unsigned char)k || slot[k][len[k] - 1] != (unsigned char)k)
                damaged++;
            free(slot[k]);
            slot[k] = NULL;
        } else {
            len[k] = random_size(&seed);
            slot[k] = malloc(len[k]);
            if (!slot[k]) {
                damaged++;
                continue;
            }
            slot[k][0] = slot[k][len[k] - 1] = (unsigned char)k;
        }
    }
    for (int k = 0; k < SLOTS; k++)
        free(slot[k]);
    return (void *)damaged;
}

int main(int argc, char **argv)
{
    const char *variant = argc > 1 ? argv[1] : "default";
    operations = argc > 2 ? atol(argv[2]) : 3000000;
    bool threads = argc > 3 && strcmp(argv[3], "threads") == 0;
    char name[96];
    snprintf(name, sizeof name, "%s/fork-in-signal-handler%s", variant, threads ? "-threads" : "");

    struct sigaction sa = { .sa_handler = on_alarm };
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval every = { { 0, 2000 }, { 0, 2000 } };
    setitimer(ITIMER_REAL, &every, NULL);

    pthread_t other;
    if (threads && pthread_create(&other, NULL, churn, (void *)(uintptr_t)7) != 0) {
        printf("FAIL %s: pthread_create\n", name);
        return 1;
    }
    long damaged = (long)churn((void *)(uintptr_t)1);
    void *theirs = NULL;
    if (threads)
        pthread_join(other, &theirs);
    damaged += (long)theirs;

    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    if (forks == 0 || bad_children || damaged)
        printf("FAIL %s: %ld operations, %d forks, %d children failed, %ld blocks damaged\n", name,
               operations, (int)forks, (int)bad_children, damaged);
    else
        printf("PASS %s: %ld operations per thread, %d forks from the handler\n", name, operations,
               (int)forks);
    return 0;
}
