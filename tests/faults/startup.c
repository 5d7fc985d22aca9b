/* startup.c - run with LD_PRELOAD="hook.so libbimp.so" (or the other
 * order): Bimp is the process's malloc; the blocks hook.so's constructor
 * allocated are intact and can be resized and freed; hook.so's wrappers
 * (fopen, and the mmap Bimp's huge blocks go through) work, and so does
 * stdio on top of them.
 * Usage: startup <name> */
#include "../common.h"

#include <sys/mman.h>

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "preload-hook"; /* reported as faults/<name> */
    char **block = dlsym(RTLD_DEFAULT, "hook_block");
    unsigned char **big = dlsym(RTLD_DEFAULT, "hook_big");
    int *fopen_calls = dlsym(RTLD_DEFAULT, "hook_fopen_calls");
    int *mmap_calls = dlsym(RTLD_DEFAULT, "hook_mmap_calls");
    int *mmap_early = dlsym(RTLD_DEFAULT, "hook_mmap_early_calls");
    CHECK(bimp_is_loaded());
    CHECK(block && fopen_calls && mmap_calls && mmap_early && big);
    if (!block || !fopen_calls || !mmap_calls || !mmap_early || !big) {
        group_end("faults", name);
        return 1;
    }
    CHECK(*block && strcmp(*block, "allocated in hook.so's constructor") == 0);
    CHECK(*big != NULL);
    for (size_t i = 0; *big && i < (1 << 20); i++)
        if ((*big)[i] != (unsigned char)(i * 7)) {
            CHECK(!"the constructor's 1 MiB block is intact");
            break;
        }
    if (*block) {
        *block = realloc(*block, 5000);
        CHECK(*block && strcmp(*block, "allocated in hook.so's constructor") == 0);
        free(*block);
    }
    if (*big) {
        *big = realloc(*big, 3 << 20);
        CHECK(*big && (*big)[12345] == (unsigned char)(12345 * 7));
        free(*big);
    }
    int before = *fopen_calls;
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL && *fopen_calls == before + 1);
    if (f) {
        char *line = NULL;
        size_t cap = 0;
        int lines = 0;
        while (getline(&line, &cap, f) > 0)
            lines++;
        CHECK(lines > 10);
        free(line);
        fclose(f);
    }
    /* Huge blocks come from mmap, which hook.so wraps (if Bimp calls it
     * through the PLT: then it must work through the wrapper). */
    int maps = *mmap_calls;
    void *huge = malloc(8 << 20);
    CHECK(huge != NULL);
    if (huge)
        memset(huge, 0x77, 8 << 20);
    free(huge);
    printf("# %s: hook saw %d mmap calls (%d before its constructor), %d during main's huge malloc\n",
           name, *mmap_calls, *mmap_early, *mmap_calls - maps);
    group_end("faults", name);
    return total_failures != 0;
}
