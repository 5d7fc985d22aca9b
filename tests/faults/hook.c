/* hook.c - hook.so, a library preloaded beside Bimp the way tracing and
 * interposing tools are: it wraps fopen and mmap through
 * dlsym(RTLD_NEXT, ...), and its constructor allocates (malloc, calloc,
 * realloc, strdup, posix_memalign, a huge block, stdio) before the program
 * has run.  mmap may be called (by Bimp) before the constructor resolved
 * the real one: then it goes straight to the system call. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT char *hook_block;          /* allocated in the constructor, checked by startup.c */
EXPORT unsigned char *hook_big;   /* 1 MiB, allocated in the constructor */
EXPORT int hook_fopen_calls, hook_mmap_calls, hook_mmap_early_calls;

static FILE *(*real_fopen)(const char *, const char *);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);

EXPORT FILE *fopen(const char *path, const char *mode)
{
    __atomic_fetch_add(&hook_fopen_calls, 1, __ATOMIC_RELAXED);
    if (!real_fopen)
        real_fopen = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen");
    return real_fopen(path, mode);
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    __atomic_fetch_add(&hook_mmap_calls, 1, __ATOMIC_RELAXED);
    void *(*real)(void *, size_t, int, int, int, off_t) = __atomic_load_n(&real_mmap, __ATOMIC_ACQUIRE);
    if (!real) {
        __atomic_fetch_add(&hook_mmap_early_calls, 1, __ATOMIC_RELAXED);
        return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
    }
    return real(addr, len, prot, flags, fd, off);
}

__attribute__((constructor)) static void hook_init(void)
{
    __atomic_store_n(&real_mmap, (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap"),
                     __ATOMIC_RELEASE);
    real_fopen = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen");

    void *scratch[40];
    for (int i = 0; i < 40; i++)
        scratch[i] = i % 3 ? malloc((size_t)i * 77) : calloc((size_t)i + 1, 16);
    for (int i = 0; i < 40; i += 4)
        scratch[i] = realloc(scratch[i], (size_t)i * 500 + 1);
    void *aligned = NULL;
    if (posix_memalign(&aligned, 4096, 10000) == 0)
        memset(aligned, 1, 10000);
    hook_big = malloc(1 << 20);
    if (hook_big)
        for (size_t i = 0; i < (1 << 20); i++)
            hook_big[i] = (unsigned char)(i * 7);
    FILE *f = fopen("/proc/self/maps", "r");
    if (f) {
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0)
            ;
        free(line);
        fclose(f);
    }
    hook_block = strdup("allocated in hook.so's constructor");
    free(aligned);
    for (int i = 39; i >= 0; i--)
        free(scratch[i]);
}
