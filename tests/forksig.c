/* forksig.c - fork() from a signal handler that interrupted malloc, free or
 * another fork (glibc's tst-mallocfork2): a SIGALRM every few milliseconds
 * forks, the child _exits at once, the handler waits for it; meanwhile the
 * main loop mallocs and frees random sizes, small to huge, for the given
 * number of seconds.  With `threads` a second thread does the same; with
 * `nested` the main loop forks too, so that the handler's fork often runs
 * inside the main loop's, after its prepare handler took every lock.  A fork
 * that waits for a lock the interrupted code holds hangs: a watchdog process
 * then reports how far the run got and ends it.  (A process, not a thread:
 * a second thread would make glibc's fork take its own locks, on which a
 * fork nested in a fork hangs whatever the malloc.)
 *
 *   forksig <variant> <seconds> [threads|nested]
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How far the run got, shared with the watchdog. */
static struct reached {
    long operations[2], main_forks;
    int forks, bad_children;
} volatile *at;
static char name[96];

#define GRACE 20 /* seconds past the end before the watchdog calls it a hang */

/* Fork a child that _exits at once, and wait for it; false if that failed. */
static bool fork_and_wait(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid < 0)
        return false;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void on_alarm(int sig)
{
    (void)sig;
    int saved = errno;
    if (!fork_and_wait())
        at->bad_children++;
    at->forks++;
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

static double seconds, deadline;
static bool nested;

/* malloc and free at random over SLOTS slots until the deadline; each block
 * stamped with its slot and checked when freed; the main thread of a
 * `nested` run forks every 64 operations too.  Returns the number of
 * damaged blocks. */
static void *churn(void *arg)
{
    int me = (int)(uintptr_t)arg;
    unsigned seed = (unsigned)me * 6 + 1;
    unsigned char *slot[SLOTS] = { 0 };
    size_t len[SLOTS] = { 0 };
    long damaged = 0;
    for (long i = 0; (i & 1023) || monotonic_seconds() < deadline; i++) {
        if (nested && me == 0 && i % 64 == 0) {
            if (!fork_and_wait())
                at->bad_children++;
            at->main_forks++;
        }
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
        at->operations[me] = i + 1;
    }
    for (int k = 0; k < SLOTS; k++)
        free(slot[k]);
    return (void *)damaged;
}

/* What the run reached, for either verdict. */
static void progress(char *out, size_t size)
{
    snprintf(out, size, "%ld operations in the main loop, %ld in the second thread, %ld forks from the loop, %d from the handler",
             at->operations[0], at->operations[1], at->main_forks, at->forks);
}

/* The watchdog, a child: if the run is not done GRACE seconds after its
 * end, something hangs; say how far it got, and end it. */
static void watch(pid_t run)
{
    for (double end = monotonic_seconds() + seconds + GRACE; monotonic_seconds() < end;) {
        if (getppid() != run)
            _exit(0); /* the run is over */
        usleep(100000);
    }
    char reached[300];
    progress(reached, sizeof reached);
    printf("FAIL %s: hung, no end %d s after its %.0f s: %s\n", name, GRACE, seconds, reached);
    fflush(stdout);
    kill(run, SIGKILL);
    _exit(1);
}

int main(int argc, char **argv)
{
    const char *variant = argc > 1 ? argv[1] : "default";
    seconds = argc > 2 ? atof(argv[2]) : 3;
    const char *mode = argc > 3 ? argv[3] : "";
    bool threads = strcmp(mode, "threads") == 0;
    nested = strcmp(mode, "nested") == 0;
    snprintf(name, sizeof name, "%s/fork-in-signal-handler%s%s", variant, *mode ? "-" : "", mode);

    at = mmap(NULL, sizeof *at, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t run = getpid(), dog = fork();
    if (at == MAP_FAILED || dog < 0) {
        printf("FAIL %s: mmap or fork\n", name);
        return 1;
    }
    if (dog == 0)
        watch(run);
    struct sigaction sa = { .sa_handler = on_alarm };
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    int period_us = nested ? 3000 : 2000;
    struct itimerval every = { { 0, period_us }, { 0, period_us } };
    deadline = monotonic_seconds() + seconds;
    setitimer(ITIMER_REAL, &every, NULL);

    pthread_t other;
    if (threads && pthread_create(&other, NULL, churn, (void *)(uintptr_t)1) != 0) {
        printf("FAIL %s: pthread_create\n", name);
        return 1;
    }
    long damaged = (long)churn((void *)(uintptr_t)0);
    void *theirs = NULL;
    if (threads)
        pthread_join(other, &theirs);
    damaged += (long)theirs;

    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    kill(dog, SIGKILL);
    waitpid(dog, NULL, 0);
    char reached[300];
    progress(reached, sizeof reached);
    if (at->forks == 0 || (nested && at->main_forks == 0) || at->bad_children || damaged)
        printf("FAIL %s: %s; %d children failed, %ld blocks damaged\n", name, reached, at->bad_children,
               damaged);
    else
        printf("PASS %s: %.0f s: %s\n", name, seconds, reached);
    return 0;
}
