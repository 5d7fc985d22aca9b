/* installed.c - a program built against an installed Bimp, the way its
 * users build one: <bimp.h> from the include directory, linked with
 * `pkg-config --cflags --libs bimp` (shared) or with libbimp.a (static).
 *
 *   installed shared LIBDIR   malloc must come from LIBDIR/libbimp.so.*
 *   installed buildtree DIR   the same, for a program linked against the
 *                             build tree (-L DIR -lbimp -Wl,-rpath,DIR)
 *   installed static          malloc must come from the program itself
 *
 * Either way bimp_stats (called directly, no dlsym) must count the
 * program's allocations, and the C library's own (strdup) too.  Prints
 * `PASS usability/install-<mode>-program` or `FAIL ...: why`. */
#define _GNU_SOURCE
#include <bimp.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *failure;

#define CHECK(cond) \
    do { \
        if (!(cond) && !failure) \
            failure = #cond; \
    } while (0)

static void *volatile sink;

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    const char *libdir = argc > 2 ? argv[2] : "";
    Dl_info info = { 0 };
    void *sym = dlsym(RTLD_DEFAULT, "malloc");
    CHECK(sym && dladdr(sym, &info) && info.dli_fname);
    if (!failure) {
        if (strcmp(mode, "shared") == 0 || strcmp(mode, "buildtree") == 0) {
            char want[4096];
            snprintf(want, sizeof want, "%s/libbimp.so.%d", libdir, BIMP_VERSION_MAJOR);
            CHECK(strcmp(info.dli_fname, want) == 0);
        } else {
            char self[4096];
            ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
            self[n > 0 ? n : 0] = 0;
            /* the main program's path, as ld.so knows it, or "" */
            CHECK(strstr(info.dli_fname, "libc.so") == NULL);
            CHECK(strstr(info.dli_fname, "libbimp") == NULL);
            CHECK(info.dli_fname[0] == 0 || strcmp(info.dli_fname, argv[0]) == 0 ||
                  strcmp(info.dli_fname, self) == 0);
        }
    }
    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", BIMP_VERSION_MAJOR, BIMP_VERSION_MINOR,
             BIMP_VERSION_PATCH);
    CHECK(strcmp(version, BIMP_VERSION) == 0);

    struct bimp_stats s0, s1;
    CHECK(bimp_stats(&s0) == 0);
    for (int i = 0; i < 10; i++) {
        sink = malloc(100);
        free(sink);
    }
    char *copy = strdup("the C library allocates through Bimp too");
    CHECK(bimp_stats(&s1) == 0);
    CHECK(s1.allocations - s0.allocations == 11);
    CHECK(s1.frees - s0.frees == 10);
    free(copy);

    if (failure)
        printf("FAIL usability/install-%s-program: %s (malloc from '%s')\n", mode, failure,
               info.dli_fname ? info.dli_fname : "?");
    else
        printf("PASS usability/install-%s-program\n", mode);
    return failure != NULL;
}
