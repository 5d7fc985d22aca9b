/* probe.c - a small program that run.sh runs under Bimp with BIMP_*
 * variables set, and whose output tells what Bimp did with them.
 *
 *   probe huge        malloc(100 KiB): prints `hblks +N`, the change in
 *                     mallinfo2().hblks (1 if the block got its own mapping)
 *   probe lifo N      N malloc/free pairs, each free of the block just
 *                     allocated (stack-shaped)
 *   probe fifo N      N blocks, freed in the order they were allocated
 *   probe print FILE  bimp_print_stats() into FILE (looked up with dlsym)
 *   probe open FILE   opens FILE, prints `fd N` (3 unless something left a
 *                     descriptor open), writes `data` into it and exits
 *                     with it open
 *   probe none        nothing at all: no allocation, no output
 *   probe id          `uid=U euid=E gid=G egid=G secure=S bimp=B env=V`:
 *                     who runs it, AT_SECURE, whether malloc is Bimp's, and
 *                     BIMP_VERBOSE as the program sees it
 *
 * Prints `error: ...` and exits 1 when something it needs is missing. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "../common.h"

static void *volatile sink; /* keeps the compiler from dropping blocks */

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    long n = argc > 2 ? atol(argv[2]) : 1000;
    if (strcmp(mode, "huge") == 0) {
        size_t before = mallinfo2().hblks;
        char *p = malloc(100 * 1024);
        if (!p) {
            puts("error: malloc failed");
            return 1;
        }
        memset(p, 1, 100 * 1024);
        size_t after = mallinfo2().hblks;
        free(p);
        printf("hblks +%zu\n", after - before);
    } else if (strcmp(mode, "lifo") == 0) {
        for (long i = 0; i < n; i++) {
            char *p = malloc((size_t)(16 + i % 200));
            sink = p;
            free(p);
        }
        puts("done");
    } else if (strcmp(mode, "fifo") == 0) {
        void **blocks = calloc((size_t)n, sizeof *blocks);
        for (long i = 0; i < n; i++)
            blocks[i] = malloc(48);
        for (long i = 0; i < n; i++)
            free(blocks[i]);
        free(blocks);
        puts("done");
    } else if (strcmp(mode, "print") == 0 && argc > 2) {
        void (*print_stats)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "bimp_print_stats");
        if (!print_stats) {
            puts("error: no bimp_print_stats");
            return 1;
        }
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            puts("error: cannot open the file");
            return 1;
        }
        print_stats(fd);
        close(fd);
        puts("done");
    } else if (strcmp(mode, "none") == 0) {
        return 0;
    } else if (strcmp(mode, "open") == 0 && argc > 2) {
        sink = malloc(100);
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, "data\n", 5) != 5) {
            puts("error: cannot write the file");
            return 1;
        }
        printf("fd %d\n", fd);
    } else if (strcmp(mode, "id") == 0) {
        sink = malloc(100); /* options are read at an allocation */
        const char *v = getenv("BIMP_VERBOSE");
        printf("uid=%d euid=%d gid=%d egid=%d secure=%lu bimp=%d env=%s\n", (int)getuid(),
               (int)geteuid(), (int)getgid(), (int)getegid(), getauxval(AT_SECURE),
               bimp_is_loaded(), v ? v : "unset");
        free(sink);
    } else {
        puts("error: usage: probe huge|lifo N|fifo N|print FILE|open FILE|none|id");
        return 1;
    }
    return 0;
}
