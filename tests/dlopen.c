/* dlopen.c - libbimp.so can be dlopen'ed into a running program (its
 * initial-exec TLS must fit), and its malloc works beside libc's.
 * Usage: dlopen <path to libbimp.so> */
#include "common.h"

int main(int argc, char **argv)
{
    void *lib = argc > 1 ? dlopen(argv[1], RTLD_NOW | RTLD_LOCAL) : NULL;
    CHECK(lib != NULL);
    if (!lib)
        fprintf(stderr, "dlopen: %s\n", dlerror());
    void *(*bmalloc)(size_t) = lib ? (void *(*)(size_t))dlsym(lib, "malloc") : NULL;
    void (*bfree)(void *) = lib ? (void (*)(void *))dlsym(lib, "free") : NULL;
    CHECK(bmalloc && bfree && bmalloc != malloc);
    if (bmalloc && bfree) {
        void *p[100];
        for (int i = 0; i < 100; i++) {
            p[i] = bmalloc((size_t)i * 50);
            CHECK(p[i] != NULL);
            memset(p[i], i, (size_t)i * 50);
        }
        for (int i = 99; i >= 0; i--)
            bfree(p[i]);
    }
    CHECK(!bimp_is_loaded()); /* dlopen does not interpose */
    group_end("default", "dlopen");
    return total_failures != 0;
}
