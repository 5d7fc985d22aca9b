/* prefixed.c - a program built against the installed prefixed library
 * (`pkg-config --cflags --libs bimp-prefixed`): the C library's malloc stays
 * in place, Bimp serves bimp_malloc and the rest beside it, and its
 * statistics count only those.
 *
 *   prefixed LIBDIR   bimp_malloc must come from LIBDIR/libbimp-prefixed.so.*
 *   prefixed LIBDIR double-free
 *                     frees a block twice with bimp_free: Bimp's message
 *                     must name bimp_free, the function the program called
 *
 * Prints `PASS usability/install-prefixed-program` or `FAIL ...: why`
 * (with common.h's CHECK). */
#include <bimp.h>
#include "../common.h"

#include <errno.h>

static void *volatile sink;

static const char *object_of(void *fn)
{
    Dl_info info = { 0 };
    return dladdr(fn, &info) && info.dli_fname ? info.dli_fname : "?";
}

int main(int argc, char **argv)
{
    const char *libdir = argc > 1 ? argv[1] : "";
    if (argc > 2 && strcmp(argv[2], "double-free") == 0) {
        void *volatile twice = bimp_malloc(40);
        bimp_free(twice);
        bimp_free(twice);
        return 3;
    }
    char want[4096];
    snprintf(want, sizeof want, "%s/libbimp-prefixed.so.%d", libdir, BIMP_VERSION_MAJOR);
    const char *ours = object_of((void *)bimp_malloc);
    const char *theirs = object_of(dlsym(RTLD_DEFAULT, "malloc"));
    CHECK(strcmp(ours, want) == 0);
    CHECK(strstr(theirs, "libc.so") != NULL); /* malloc is still the C library's */

    struct bimp_stats s0, s1;
    CHECK(bimp_stats(&s0) == 0);
    char *libc_block = malloc(1000); /* not Bimp's: not counted */
    sink = libc_block;
    char *p = bimp_malloc(100);
    CHECK(p && (uintptr_t)p % 16 == 0 && bimp_malloc_usable_size(p) >= 100);
    if (p)
        memset(p, 'x', 100);
    p = bimp_realloc(p, 5000);
    CHECK(p && p[0] == 'x' && p[99] == 'x');
    char *z = bimp_calloc(10, 10);
    CHECK(z && z[0] == 0 && z[99] == 0);
    void *a = NULL;
    CHECK(bimp_posix_memalign(&a, 256, 10) == 0 && (uintptr_t)a % 256 == 0);
    char *q = bimp_aligned_alloc(64, 64);
    CHECK(q && (uintptr_t)q % 64 == 0);
    errno = 0;
    CHECK(bimp_aligned_alloc(65, 1) == NULL && errno == EINVAL);
    CHECK(bimp_stats(&s1) == 0);
    CHECK(s1.allocations - s0.allocations >= 4 && s1.allocations - s0.allocations <= 5); /* bimp_realloc's growth may move the block: +0 or +1 */
    bimp_free(q);
    bimp_free(a);
    bimp_free(z);
    bimp_free(p);
    free(libc_block);
    CHECK(bimp_mallopt(-8 /* M_ARENA_MAX */, 1) == 1);

    if (group_failures)
        printf("# bimp_malloc from '%s', malloc from '%s'\n", ours, theirs);
    group_end("usability", "install-prefixed-program");
    return total_failures != 0;
}
