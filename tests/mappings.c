/* tests/mappings.c - how many mappings a heap of large blocks leaves the
 * kernel, and what a fork costs with them.
 *
 *   mappings N SECONDS [FORKS]
 *
 * N allocations, sizes alternating between 1-2048 bytes and 1-300 KiB
 * (random), each stamped at both ends; the small ones are freed, so N/2
 * large blocks stay, with holes between them.  Then fork+waitpid for
 * SECONDS (or FORKS forks, whichever comes first); the stamps are checked
 * before and after.  Prints one line:
 *   mappings=M blocks=B forks=F ms_per_fork=T pte_kib=P rss_kib=R
 * where M is the number of lines of /proc/self/maps (the kernel's count of
 * mappings of the process), P the page tables a fork copies, R the
 * resident memory (both from /proc/self/status, before the forks). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int count_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    int n = 0, c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* A field of /proc/self/status, in KiB (-1 if there is none). */
static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = atol(line + n + 1);
    if (f)
        fclose(f);
    return v;
}

static void stamp(unsigned char *p, size_t n, size_t i)
{
    p[0] = (unsigned char)i;
    p[n - 1] = (unsigned char)(i >> 8);
}

static int stamped(const unsigned char *p, size_t n, size_t i)
{
    return p[0] == (unsigned char)i && p[n - 1] == (unsigned char)(i >> 8);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mappings N SECONDS [FORKS]\n");
        return 2;
    }
    size_t n = strtoul(argv[1], NULL, 10);
    double seconds = atof(argv[2]);
    long max_forks = argc > 3 ? atol(argv[3]) : -1;
    unsigned char **p = calloc(n, sizeof *p);
    size_t *size = calloc(n, sizeof *size);
    if (!p || !size)
        return 1;
    for (size_t i = 0; i < n; i++) {
        size[i] = 1 + next() % (i % 2 ? 300 * 1024 : 2048);
        if (!(p[i] = malloc(size[i]))) {
            fprintf(stderr, "mappings: malloc(%zu) failed at block %zu\n", size[i], i);
            return 1;
        }
        stamp(p[i], size[i], i);
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 2 == 0) {
            free(p[i]);
            p[i] = NULL;
        } else {
            kept++;
        }
    }
    int maps = count_mappings();
    long pte = status_kib("VmPTE"), rss = status_kib("VmRSS");
    long forks = 0;
    double start = now(), end = start;
    while ((max_forks < 0 || forks < max_forks) && (end = now()) - start < seconds) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("mappings: fork");
            return 1;
        }
        if (pid == 0)
            _exit(0);
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
            fprintf(stderr, "mappings: the child failed\n");
            return 1;
        }
        forks++;
    }
    end = now();
    for (size_t i = 0; i < n; i++) {
        if (p[i] && !stamped(p[i], size[i], i)) {
            fprintf(stderr, "mappings: block %zu lost its contents\n", i);
            return 1;
        }
        free(p[i]);
    }
    printf("mappings=%d blocks=%zu forks=%ld ms_per_fork=%.3f pte_kib=%ld rss_kib=%ld\n", maps, kept, forks,
           forks ? (end - start) * 1e3 / (double)forks : 0.0, pte, rss);
    free(p);
    free(size);
    return 0;
}
