/* replay.c - runs the fuzzing harness (harness.c) without libFuzzer: every
 * file of a corpus directory, then N pseudo-random inputs from a seed.
 * Prints `PASS <label>/corpus` and `PASS <label>/random`, or one FAIL line
 * naming the input and the failed check (and where the input was saved, if
 * FUZZ_SAVE_DIR is set, to be replayed with `replay <label> <file>` or the
 * libFuzzer binary).  Exits 1 on failure.
 * Usage: replay <label> <corpus dir or file> [<random inputs> [<seed>]]
 * FUZZ_VERBOSE=1 prints call counts per operation on stderr; FUZZ_TRACE=1
 * traces every operation and block on stderr; FUZZ_SAVE_DIR=<dir> is where
 * a failing input is saved. */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *label;
static const char *phase = "corpus"; /* or "random": FAIL lines name <label>/<phase> */
static char current[4096];
static const uint8_t *current_data;
static size_t current_size;
static const char *save_dir;

static void failed(const char *message)
{
    char saved[4200] = "";
    if (save_dir) {
        snprintf(saved, sizeof saved, "%s/failed-%s", save_dir, current);
        FILE *f = fopen(saved, "wb");
        if (f) {
            fwrite(current_data, 1, current_size, f);
            fclose(f);
        } else {
            saved[0] = 0;
        }
    }
    printf("FAIL %s/%s: input %s%s%s: %s\n", label, phase, current, saved[0] ? ", saved as " : "", saved, message);
    fflush(stdout);
    exit(1);
}

/* A signal (Bimp's abort on what it took for misuse, or a crash): say which
 * input did it, with async-signal-safe calls only, and die. */
static void put(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void died(int sig)
{
    put(1, "FAIL ");
    put(1, label);
    put(1, "/");
    put(1, phase);
    put(1, ": input ");
    put(1, current);
    put(1, sig == SIGABRT ? ": aborted" : ": crashed");
    if (save_dir) {
        char path[4200];
        size_t n = strlen(save_dir);
        if (n + 8 + strlen(current) < sizeof path) {
            memcpy(path, save_dir, n);
            memcpy(path + n, "/failed-", 8);
            strcpy(path + n + 8, current);
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {
                for (size_t done = 0; done < current_size;) {
                    ssize_t w = write(fd, current_data + done, current_size - done);
                    if (w <= 0)
                        break;
                    done += (size_t)w;
                }
                close(fd);
                put(1, ", saved as ");
                put(1, path);
            }
        }
    }
    put(1, " (the allocator's message, if any, is on stderr)\n");
    signal(sig, SIG_DFL);
    raise(sig);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *size = n;
    return buf;
}

static unsigned long run_one(const char *name, const uint8_t *data, size_t size)
{
    snprintf(current, sizeof current, "%s", name);
    current_data = data;
    current_size = size;
    return harness_run(data, size);
}

/* Every regular file under `path` (or `path` itself), in name order. */
static int run_corpus(const char *path, unsigned long *inputs, unsigned long *calls)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    char **names = NULL;
    size_t count = 0;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            names = realloc(names, (count + 1) * sizeof *names);
            if (asprintf(&names[count], "%s/%s", path, e->d_name) < 0)
                return -1;
            count++;
        }
        if (d)
            closedir(d);
        qsort(names, count, sizeof *names, by_name);
    } else {
        names = malloc(sizeof *names);
        names[0] = strdup(path);
        count = 1;
    }
    for (size_t i = 0; i < count; i++) {
        size_t size;
        uint8_t *data = read_file(names[i], &size);
        if (!data)
            return -1;
        const char *base = strrchr(names[i], '/');
        *calls += run_one(base ? base + 1 : names[i], data, size);
        ++*inputs;
        free(data);
        free(names[i]);
    }
    free(names);
    return 0;
}

static uint64_t next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: replay <label> <corpus dir or file> [<random inputs> [<seed>]]\n");
        return 2;
    }
    label = argv[1];
    harness_on_failure = failed;
    signal(SIGABRT, died);
#ifndef __SANITIZE_ADDRESS__ /* ASan reports crashes better */
    signal(SIGSEGV, died);
    signal(SIGBUS, died);
#endif
    save_dir = getenv("FUZZ_SAVE_DIR");
    harness_trace = getenv("FUZZ_TRACE") != NULL;
    long random_inputs = argc > 3 ? atol(argv[3]) : 0;
    uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 0) : 1;

    unsigned long inputs = 0, calls = 0;
    if (run_corpus(argv[2], &inputs, &calls) != 0 || inputs == 0) {
        printf("FAIL %s/corpus: cannot read any input from %s\n", label, argv[2]);
        return 1;
    }
    printf("PASS %s/corpus\n", label);
    fflush(stdout);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "%s: corpus: %lu inputs, %lu calls\n", label, inputs, calls);

    if (random_inputs > 0) {
        uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
        uint8_t buf[1024];
        phase = "random";
        unsigned long rcalls = 0;
        /* FUZZ_SECONDS bounds the run by time too: the count reached is printed. */
        double limit = getenv("FUZZ_SECONDS") ? atof(getenv("FUZZ_SECONDS")) : 0;
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        long i = 0;
        for (; i < random_inputs; i++) {
            if (limit > 0 && i % 16 == 0) {
                clock_gettime(CLOCK_MONOTONIC, &t);
                if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 > limit)
                    break;
            }
            /* Mostly short inputs; some long ones that build up many live blocks. */
            size_t size = next(&s) % 8 == 0 ? 256 + next(&s) % 768 : next(&s) % 256;
            for (size_t k = 0; k < size; k++)
                buf[k] = (uint8_t)(next(&s) >> 24);
            char name[64];
            snprintf(name, sizeof name, "random-%lu-seed-%llu", (unsigned long)i, (unsigned long long)seed);
            rcalls += run_one(name, buf, size);
        }
        printf("PASS %s/random (%ld inputs, %lu calls)\n", label, i, rcalls);
        if (getenv("FUZZ_VERBOSE"))
            fprintf(stderr, "%s: random: %ld inputs, %lu calls\n", label, i, rcalls);
    }
    if (getenv("FUZZ_VERBOSE"))
        for (int op = 0; op < OP_COUNT; op++)
            fprintf(stderr, "  %-20s %lu\n", harness_op_names[op], harness_op_counts[op]);
    return 0;
}
