/* control.c - correct uses of free_sized and free_aligned_sized, which must
 * not be taken for misuse: exits 0 and writes nothing to stderr.  Sizes run
 * from 0 through the huge path, ascending and descending (so blocks get
 * memory bigger blocks had); blocks come from malloc, calloc, realloc
 * (freed with their latest size), aligned_alloc (alignments 1 to 1 MiB,
 * sizes that are and are not multiples of the alignment), and from another
 * thread (some resized by this one first).  Run with LD_PRELOAD=libbimp.so. */
#include "misuse.h"

#include <pthread.h>

static free_sized_fn free_sized_;
static free_aligned_sized_fn free_aligned_sized_;
static int bad;

static void expect(int ok, const char *what, size_t a, size_t b)
{
    if (!ok && bad++ < 10)
        printf("control: %s (%zu, %zu)\n", what, a, b);
}

static const size_t sizes[] = {
    0, 1, 7, 8, 15, 16, 17, 24, 40, 100, 1000, 1016, 1024, 1025, 4096, 10000,
    65536, 100000, 131072, 131073, 200000, 300000, (size_t)4 << 20,
};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void *from_other_thread(void *arg)
{
    return malloc((size_t)(uintptr_t)arg);
}

int main(void)
{
    free_sized_ = (free_sized_fn)entry("free_sized");
    free_aligned_sized_ = (free_aligned_sized_fn)entry("free_aligned_sized");
    void *keep = malloc(32); /* so no chunk empties completely */

    for (size_t i = 0; i < NSIZES; i++) {
        size_t n = sizes[i];
        char *p = malloc(n);
        expect(p != NULL, "malloc", n, 0);
        if (p)
            memset(p, 1, n);
        free_sized_(p, n);

        /* LIFO and FIFO orders, so both the pop and the bin paths see it. */
        char *q[4];
        for (int k = 0; k < 4; k++)
            q[k] = malloc(n);
        for (int k = 3; k >= 2; k--)
            free_sized_(q[k], n);
        for (int k = 0; k < 2; k++)
            free_sized_(q[k], n);

        size_t count = n > 7 ? 7 : 1, each = n > 7 ? n / 7 : n;
        p = calloc(count, each);
        expect(p != NULL, "calloc", count, each);
        free_sized_(p, count * each);

        p = malloc(n);
        size_t grown = n * 3 + 5;
        p = realloc(p, grown);
        expect(p != NULL, "realloc up", n, grown);
        free_sized_(p, grown);

        p = malloc(grown);
        p = realloc(p, n + 1);
        expect(p != NULL, "realloc down", grown, n + 1);
        free_sized_(p, n + 1);
    }

    /* Descending sizes: a block may get memory a larger one had. */
    for (size_t i = NSIZES; i-- > 0;) {
        char *p = malloc(sizes[i]);
        expect(p != NULL, "malloc, descending", sizes[i], 0);
        if (p)
            memset(p, 3, sizes[i]);
        free(p);
        p = malloc(sizes[i] / 2 + 1);
        expect(p != NULL, "malloc of half, descending", sizes[i] / 2 + 1, 0);
        free_sized_(p, sizes[i] / 2 + 1);
    }

    for (size_t align = 1; align <= ((size_t)1 << 20); align <<= 1) {
        size_t asizes[] = { align, 2 * align, 3 * align, align + 1, 100, 5000 };
        for (size_t i = 0; i < sizeof asizes / sizeof asizes[0]; i++) {
            size_t n = asizes[i];
            char *p = aligned_alloc(align, n);
            expect(p && ((uintptr_t)p & (align - 1)) == 0, "aligned_alloc", align, n);
            if (p)
                memset(p, 2, n);
            free_aligned_sized_(p, align, n);
        }
    }

    for (size_t i = 0; i < NSIZES; i += 3) { /* freed by a thread that did not allocate */
        pthread_t t;
        void *p = NULL;
        pthread_create(&t, NULL, from_other_thread, (void *)(uintptr_t)sizes[i]);
        pthread_join(t, &p);
        expect(p != NULL, "malloc in a thread", sizes[i], 0);
        free_sized_(p, sizes[i]);
    }

    /* Blocks of another thread, resized here, then freed with their new size. */
    static const size_t shrink[][2] = { { 1000, 600 }, { 1000, 900 }, { 5000, 2600 }, { 300000, 200000 } };
    for (size_t i = 0; i < sizeof shrink / sizeof shrink[0]; i++) {
        pthread_t t;
        void *p = NULL;
        pthread_create(&t, NULL, from_other_thread, (void *)(uintptr_t)shrink[i][0]);
        pthread_join(t, &p);
        p = realloc(p, shrink[i][1]);
        expect(p != NULL, "realloc of another thread's block", shrink[i][0], shrink[i][1]);
        free_sized_(p, shrink[i][1]);
    }

    free_sized_(NULL, 0);
    free_sized_(NULL, 100);
    free_aligned_sized_(NULL, 64, 0);
    free_aligned_sized_(NULL, 4096, 100);
    free(keep);
    printf("control: %s\n", bad ? "failed" : "ok");
    return bad != 0;
}
