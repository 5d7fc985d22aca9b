/* runner: run one command, measure wall time and peak RSS, enforce a timeout.
 *
 *   runner [-t SECONDS] [-p PRELOAD] [-o LOGFILE] [-C DIR] [-e NAME=VALUE]... -- command [args...]
 *
 * The command runs in its own process group with stdout and stderr going to
 * LOGFILE (default /dev/null) and, with -p, LD_PRELOAD=PRELOAD (any
 * LD_PRELOAD inherited by the runner is removed either way).  When the
 * command has not finished after SECONDS, its whole process group is killed.
 *
 * One line is printed on stdout:
 *   status=ok|exit:N|signal:N|timeout wall=SECONDS rss_kb=KB user=SECONDS sys=SECONDS
 * rss_kb is the largest resident set of any single process of the command
 * (the command itself or any descendant it waited for), from wait4's rusage.
 * The runner's own exit status is 0 when it could run the command at all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;
static pid_t child;

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
    if (child > 0) kill(-child, SIGKILL);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr, "usage: runner [-t SECONDS] [-p PRELOAD] [-o LOGFILE] [-C DIR] [-e NAME=VALUE]... -- command [args...]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    double timeout = 0;
    const char *preload = NULL, *log = "/dev/null", *dir = NULL;
    int opt;
    unsetenv("LD_PRELOAD");
    while ((opt = getopt(argc, argv, "+t:p:o:C:e:")) != -1) {
        switch (opt) {
        case 't': timeout = atof(optarg); break;
        case 'p': preload = optarg; break;
        case 'o': log = optarg; break;
        case 'C': dir = optarg; break;
        case 'e':
            if (!strchr(optarg, '=') || putenv(optarg) != 0) usage();
            break;
        default: usage();
        }
    }
    if (optind >= argc) usage();

    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "runner: cannot open %s: %s\n", log, strerror(errno));
        return 2;
    }
    fflush(stdout);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: wait4 returns EINTR */
    sigaction(SIGALRM, &sa, NULL);

    double t0 = now();
    child = fork();
    if (child < 0) {
        fprintf(stderr, "runner: fork: %s\n", strerror(errno));
        return 2;
    }
    if (child == 0) {
        setpgid(0, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (dir && chdir(dir) != 0) {
            fprintf(stderr, "runner: cannot chdir to %s: %s\n", dir, strerror(errno));
            _exit(126);
        }
        if (preload) setenv("LD_PRELOAD", preload, 1);
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "runner: cannot run %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    setpgid(child, child); /* also in the parent, so kill(-child) works at once */
    close(fd);
    if (timeout > 0) {
        struct itimerval it;
        memset(&it, 0, sizeof it);
        it.it_value.tv_sec = (time_t)timeout;
        it.it_value.tv_usec = (suseconds_t)((timeout - (double)(time_t)timeout) * 1e6);
        if (!it.it_value.tv_sec && !it.it_value.tv_usec) it.it_value.tv_usec = 1;
        setitimer(ITIMER_REAL, &it, NULL);
    }

    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(child, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "runner: wait4: %s\n", strerror(errno));
            return 2;
        }
    }
    double wall = now() - t0;
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &off, NULL);
    kill(-child, SIGKILL); /* leftovers of the process group, if any */

    char st[32];
    if (timed_out)
        snprintf(st, sizeof st, "timeout");
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        snprintf(st, sizeof st, "ok");
    else if (WIFEXITED(status))
        snprintf(st, sizeof st, "exit:%d", WEXITSTATUS(status));
    else
        snprintf(st, sizeof st, "signal:%d", WTERMSIG(status));
    printf("status=%s wall=%.4f rss_kb=%ld user=%.3f sys=%.3f\n", st, wall, ru.ru_maxrss,
           ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    return 0;
}
