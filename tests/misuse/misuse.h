/* misuse.h - helpers for the misuse programs.
 *
 * Each program first tells run.sh which pointer it is about to misuse (one
 * line on stdout, printed with %p), then misuses it once.  Run with
 * LD_PRELOAD=libbimp.so, Bimp must then abort with exactly one line on
 * stderr, `bimp: <what> <that pointer> (in <function>)`.  If the program gets
 * past the misuse it exits with status 3, which run.sh reports. */
#ifndef BIMP_MISUSE_H
#define BIMP_MISUSE_H
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The pointer about to be misused, for run.sh to compare with Bimp's line. */
static inline void announce(const void *p)
{
    printf("%p\n", p);
    fflush(stdout);
}

/* Hide where a pointer came from, so the compiler cannot warn about or
 * optimise away the misuse. */
static inline void *launder(void *p)
{
    void *volatile v = p;
    return v;
}

/* Where the check mode's and guard sampling's reports say a block was
 * allocated and freed (named in their stack lines: not static, not inlined). */
__attribute__((noinline)) void *block_made_here(size_t n)
{
    void *volatile p = malloc(n);
    return p;
}

__attribute__((noinline)) void block_freed_here(void *p)
{
    free(p);
    __asm__ volatile("" ::: "memory");
}

/* Not reached when Bimp catches the misuse. */
static inline int survived(void)
{
    printf("survived the misuse\n");
    fflush(stdout);
    return 3;
}

/* An entry point of the preloaded allocator that glibc's headers do not
 * declare (free_sized, free_aligned_sized, cfree). */
static inline void *entry(const char *name)
{
    void *f = dlsym(RTLD_DEFAULT, name);
    if (!f) {
        printf("no %s in this process\n", name);
        fflush(stdout);
        exit(2);
    }
    return f;
}

typedef void (*free_sized_fn)(void *p, size_t size);
typedef void (*free_aligned_sized_fn)(void *p, size_t align, size_t size);
typedef void (*cfree_fn)(void *p);

/* Bimp's arena API (bimp.h), from the preloaded library. */
typedef void *(*arena_create_fn)(void);
typedef void (*arena_destroy_fn)(void *arena);
typedef void *(*arena_alloc_fn)(void *arena, size_t size);
typedef void *(*arena_mark_fn)(void *arena);
typedef void (*arena_release_fn)(void *arena, void *mark);
#define ARENA_CREATE ((arena_create_fn)entry("bimp_arena_create"))
#define ARENA_DESTROY ((arena_destroy_fn)entry("bimp_arena_destroy"))
#define ARENA_ALLOC ((arena_alloc_fn)entry("bimp_arena_alloc"))
#define ARENA_MARK ((arena_mark_fn)entry("bimp_arena_mark"))
#define ARENA_RELEASE ((arena_release_fn)entry("bimp_arena_release"))

#endif
