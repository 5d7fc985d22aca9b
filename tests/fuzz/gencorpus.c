/* gencorpus.c - writes the seed corpus for the fuzzing harness: a few dozen
 * small inputs, each a scenario spelled in harness.h's encoding (every
 * operation on its own, stack- and queue-shaped frees, realloc chains
 * through every size class, calloc of reused memory, every alignment, every
 * failing call, blocks crossing threads, lowered thresholds, trimming,
 * arenas with nested marks, frees, reallocs and remote frees), plus
 * some structured random sequences.  Deterministic.
 * Usage: gencorpus <directory>   (make -C tests/fuzz corpus) */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t buf[8192];
static size_t len;
static const char *dir;
static int files;

static void b(unsigned v)
{
    if (len < sizeof buf)
        buf[len++] = (uint8_t)v;
}

/* A size operand that decodes to n (huge sizes round up to what the
 * encoding can say). */
static void size(size_t n)
{
    if (n <= 1024) {
        b((unsigned)(n >> 8));
        b((unsigned)(n & 255));
    } else if (n <= 1025 + 65535) {
        b(0x90);
        b((unsigned)((n - 1025) >> 8));
        b((unsigned)((n - 1025) & 255));
    } else if (n <= 600000) {
        b(0xc0 | (unsigned)(n >> 16));
        b((unsigned)((n >> 8) & 255));
        b((unsigned)(n & 255));
    } else if (n <= 240 * 4096) {
        b(0xf8);
        b((unsigned)((n + 4095) / 4096 - 1));
    } else {
        size_t k = (n + 262143) / 262144;
        b(0xf8);
        b((unsigned)(239 + (k > 16 ? 16 : k)));
    }
}

/* An align operand that decodes to a (a power of two up to 4 MiB, or a
 * multiple of 24 up to 360). */
static void align(size_t a)
{
    int k = 0;
    while (((size_t)1 << k) < a)
        k++;
    if (((size_t)1 << k) != a)
        b(240 + (unsigned)(a / 24));
    else if (k <= 12)
        b((unsigned)k);
    else
        b(200 + (unsigned)(k - 13));
}

static void op(enum harness_op o) { b((unsigned)o); }
static void op_malloc(int s, size_t n) { op(OP_MALLOC); b((unsigned)s); size(n); }
static void op_calloc(int s, int count, size_t n) { op(OP_CALLOC); b((unsigned)s); b((unsigned)count); size(n); }
static void op_realloc(int s, size_t n) { op(OP_REALLOC); b((unsigned)s); size(n); }
static void op_free(int s) { op(OP_FREE); b((unsigned)s); b(3); }
static void op_free_sized(int s) { op(OP_FREE_SIZED); b((unsigned)s); b(4); }
static void op_aligned(enum harness_op o, int s, size_t a, size_t n) { op(o); b((unsigned)s); align(a); size(n); }
static void op_newest(int k) { op(OP_FREE_NEWEST); b((unsigned)(k - 1)); }
static void op_remote_alloc(int s, int call, size_t a, size_t n) { op(OP_REMOTE_ALLOC); b((unsigned)s); b((unsigned)call); align(a); size(n); }
static void op_remote_free(int s, int call, size_t n) { op(OP_REMOTE_FREE); b((unsigned)s); b((unsigned)call); size(n); }
static void op_absurd(int s, int call, int index) { op(OP_ABSURD); b((unsigned)s); b((unsigned)call); b((unsigned)index); }
static void op_mallopt(int which, int index) { op(OP_MALLOPT); b((unsigned)which); b((unsigned)index); }
static void op_arena_alloc(int s, int call, size_t a, size_t n) { op(OP_ARENA_ALLOC); b((unsigned)s); b((unsigned)call); align(a); size(n); }
static void op_arena_release(int k) { op(OP_ARENA_RELEASE); b((unsigned)k); }

static void save(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%02d-%s", dir, files++, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    len = 0;
}

static uint64_t state = 0x1234567;
static unsigned rnd(unsigned n)
{
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (unsigned)((state * 2685821657736338717ull) >> 33) % n;
}

static const size_t some_sizes[] = { 0, 1, 8, 24, 40, 100, 1000, 1016, 1024, 1025, 5000, 10240,
                                     65536, 131064, 131072, 131080, 200000, 262144, 600000,
                                     (size_t)1 << 20, (size_t)4 << 20 };
#define NSOME (sizeof some_sizes / sizeof some_sizes[0])

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gencorpus <directory>\n");
        return 2;
    }
    dir = argv[1];

    /* Each allocating call over a spread of sizes, each freeing call after. */
    for (size_t i = 0; i < NSOME; i += 2)
        op_malloc((int)i, some_sizes[i]);
    for (size_t i = 0; i < NSOME; i += 2)
        op_free((int)i);
    save("malloc-free");
    for (size_t i = 0; i < NSOME; i++)
        op_calloc((int)i, (int)(i % 9), some_sizes[i]);
    for (size_t i = 0; i < NSOME; i++)
        op_free_sized((int)i);
    save("calloc-free-sized");
    for (size_t i = 0; i < NSOME; i++) {
        op(OP_REALLOCARRAY); b((unsigned)i); b((unsigned)(i % 9)); size(some_sizes[i]);
    }
    for (size_t i = 0; i < NSOME; i++) {
        op(OP_REALLOCARRAY); b((unsigned)i); b((unsigned)(i % 4)); size(some_sizes[NSOME - 1 - i]);
    }
    save("reallocarray");
    for (size_t i = 0; i < NSOME; i++) {
        op(OP_REALLOCF); b((unsigned)i); size(some_sizes[i]);
        op(OP_REALLOCF); b((unsigned)i); size(some_sizes[(i * 7) % NSOME]);
    }
    save("reallocf");
    for (size_t i = 0; i < NSOME; i++) {
        op(OP_VALLOC); b((unsigned)i); size(some_sizes[i]);
        op(OP_PVALLOC); b((unsigned)(i + 32)); size(some_sizes[i]);
    }
    for (size_t i = 0; i < NSOME; i++) {
        op(OP_CFREE); b((unsigned)i); b(9);
    }
    save("valloc-pvalloc-cfree");
    for (int i = 0; i < 12; i++) {
        op_malloc(i, (size_t)i * 300);
        op(OP_USABLE_SIZE); b((unsigned)i);
    }
    for (int i = 0; i < 12; i++)
        op_realloc(i, (size_t)i * 150 + 7);
    op(OP_USABLE_SIZE); b(40); /* an empty slot: malloc_usable_size(NULL) */
    save("usable-size-then-realloc");
    op(OP_MALLINFO);
    op_malloc(1, 100);
    op_malloc(2, 300000);
    op(OP_MALLINFO);
    op(OP_TRIM); b(0);
    op(OP_FREE); b(9); b(1); /* free(NULL) */
    op(OP_CFREE); b(9); b(1);
    op(OP_FREE_SIZED); b(9); b(1);
    save("stats-and-null");

    /* Stack-shaped and queue-shaped lifetimes. */
    for (int i = 0; i < 48; i++)
        op_malloc(i, (size_t)(i * 37 % 500) + 1);
    for (int i = 0; i < 6; i++)
        op_newest(8);
    save("lifo");
    for (int i = 0; i < 48; i++)
        op_malloc(i, (size_t)(i * 53 % 2000));
    for (int i = 0; i < 48; i++)
        op_free(i);
    save("fifo");
    for (int i = 0; i < 48; i++)
        op_malloc(i, 64);
    for (int i = 0; i < 48; i += 2)
        op_free(i);
    for (int i = 0; i < 48; i += 2)
        op_malloc(i, 48); /* exact and split reuse of binned blocks */
    for (int i = 1; i < 48; i += 2)
        op_free(i);
    op(OP_TRIM); b(0);
    save("holes");

    /* calloc of memory that held something: popped top, binned block, whole chunk. */
    op_malloc(0, 1000);
    op_malloc(1, 1000);
    op_free(1);
    op_calloc(1, 1, 1000);
    op_malloc(2, 2000);
    op_malloc(3, 2000);
    op_malloc(4, 100);
    op_free(3);
    op_calloc(3, 4, 2000);
    op_free(4);
    op_free(3);
    op_calloc(5, 1, 3000);
    save("calloc-reuse");
    for (int i = 0; i < 8; i++)
        op_malloc(i, 60000);
    for (int i = 7; i >= 0; i--)
        op_free(i);
    for (int i = 0; i < 8; i++)
        op_calloc(i, 3, 60000);
    save("calloc-reuse-chunks");
    op_malloc(0, 100000);
    op_malloc(1, 100000);
    op_malloc(2, 100000);
    op_malloc(3, 100000);
    op_newest(4);
    op(OP_TRIM); b(0);
    op_calloc(0, 1, 100000);
    op_calloc(1, 1, 100000);
    op_calloc(2, 1, 100000);
    save("calloc-after-trim");

    /* realloc through every class and back. */
    op_malloc(0, 1);
    for (size_t i = 0; i < NSOME; i++)
        op_realloc(0, some_sizes[i]);
    for (size_t i = NSOME; i-- > 0;)
        op_realloc(0, some_sizes[i] + 3);
    op_realloc(0, 0);
    save("realloc-chain");
    op_malloc(0, 100);
    op_malloc(1, 100);
    op_realloc(0, 90);   /* shrink in place below the top */
    op_realloc(0, 200);  /* grow into nothing: moves */
    op_realloc(1, 5000); /* top grows with the cursor */
    op_realloc(1, 64);
    op_free(0);
    op_realloc(1, 300); /* the free block behind */
    save("realloc-in-place");
    op_malloc(0, 200000);
    op_realloc(0, 3000000);
    op_realloc(0, 150000);
    op_realloc(0, 70000);
    op_realloc(0, 4000000);
    op_free_sized(0);
    save("realloc-huge");

    /* Huge blocks of the size classes in descending order, each freed and
     * followed by a smaller one freed with free_sized: memory a larger block
     * had must not confuse the size check. */
    for (size_t i = NSOME; i-- > 12;) {
        op_malloc(0, some_sizes[i]);
        op_free(0);
        op_malloc(1, some_sizes[i] / 2 + 1);
        op_free_sized(1);
        op_calloc(2, 1, some_sizes[i] / 3 + 1);
        op_free_sized(2);
    }
    save("huge-reuse-sized");

    /* Alignments. */
    for (int k = 0; k <= 22; k++) {
        op_aligned(OP_ALIGNED_ALLOC, k, (size_t)1 << k, k > 19 ? 100 : (size_t)3 << k);
        op_aligned(OP_MEMALIGN, 24 + k, (size_t)1 << k, 40);
    }
    for (int k = 0; k <= 22; k++)
        op_free_sized(k);
    for (int k = 0; k <= 22; k++)
        op_free(24 + k);
    save("aligned-all");
    for (int k = 0; k <= 14; k++)
        op_aligned(OP_POSIX_MEMALIGN, k, (size_t)1 << k, 1000);
    op_aligned(OP_POSIX_MEMALIGN, 20, 24, 100);  /* EINVAL */
    op_aligned(OP_POSIX_MEMALIGN, 21, 0, 100);   /* EINVAL */
    op_aligned(OP_ALIGNED_ALLOC, 22, 48, 100);   /* rounded up to 64 */
    op_aligned(OP_MEMALIGN, 23, 96, 1000);       /* rounded up to 128 */
    op_aligned(OP_MEMALIGN, 24, 0, 10);
    op_newest(8);
    op_newest(8);
    save("posix-memalign-and-odd");
    for (int i = 0; i < 16; i++) {
        op_malloc(2 * i, (size_t)i * 10 + 1);
        op_aligned(OP_ALIGNED_ALLOC, 2 * i + 1, (size_t)64 << (i % 8), (size_t)i * 100 + 1);
    }
    for (int i = 0; i < 32; i += 3)
        op_free(i);
    op_newest(8);
    save("aligned-mixed-with-pads");

    /* Failures. */
    for (int call = 0; call < 13; call++) {
        op_malloc(call, 500);
        op_absurd(call, call, call % 9);
    }
    for (int index = 0; index < 9; index++)
        op_absurd(30, 4, index); /* realloc(NULL, absurd) */
    save("absurd-all");
    op_malloc(0, 1 << 20);
    op_malloc(1, 1000);
    op_absurd(0, 4, 8);
    op_absurd(1, 5, 0);
    op_absurd(1, 7, 2); /* reallocf frees */
    op_malloc(1, 10);
    save("absurd-keeps-blocks");

    /* Threads. */
    for (int i = 0; i < 16; i++)
        op_remote_alloc(i, i % 3, 64, (size_t)i * 40);
    for (int i = 0; i < 16; i++)
        op_free(i);
    save("remote-alloc-local-free");
    for (int i = 0; i < 16; i++)
        op_malloc(i, (size_t)i * 70 + 1);
    for (int i = 0; i < 16; i++)
        op_remote_free(i, i % 3, 0);
    for (int i = 0; i < 16; i++)
        op_malloc(i, 200); /* after the remote frees are applied */
    save("local-alloc-remote-free");
    for (int i = 0; i < 8; i++)
        op_malloc(i, 1000);
    for (int i = 0; i < 8; i++)
        op_remote_free(i, 3, (size_t)i * 400); /* realloc in the helper, some to 0 */
    op_remote_alloc(10, 0, 16, 1000);
    op_remote_alloc(11, 0, 16, 1000);
    op_realloc(10, 600);  /* another thread's block, shrunk here */
    op_realloc(11, 3000); /* and grown */
    op_free_sized(10);
    op_free_sized(11);
    save("remote-realloc");
    for (int i = 0; i < 12; i++)
        op_remote_alloc(i, 0, 16, (size_t)i * 900);
    op(OP_HELPER_EXIT);
    for (int i = 0; i < 12; i += 2)
        op_free(i); /* into an orphaned heap */
    op_remote_alloc(20, 1, 16, 5000); /* a new helper adopts it */
    for (int i = 1; i < 12; i += 2)
        op_free(i);
    op(OP_HELPER_EXIT);
    op_free(20);
    save("orphan-and-adopt");
    for (int i = 0; i < 6; i++)
        op_remote_alloc(i, 0, 16, 100000);
    op(OP_HELPER_EXIT);
    for (int i = 0; i < 6; i++)
        op_calloc(10 + i, 1, 100000);
    save("calloc-after-helper-exit");

    /* Thresholds. */
    op_mallopt(0, 2); /* M_MMAP_THRESHOLD 1024 */
    for (int i = 0; i < 10; i++)
        op_malloc(i, (size_t)i * 3000 + 1000);
    op_realloc(3, 500);
    op_realloc(4, 100000);
    for (int i = 0; i < 10; i++)
        op_free_sized(i);
    op_mallopt(0, 8);  /* 262144: refused */
    op_mallopt(0, 9);  /* -1: refused */
    op_mallopt(1, 0);  /* M_TRIM_THRESHOLD 0 */
    op_mallopt(2, 3);  /* another parameter: 0 */
    for (int i = 0; i < 6; i++)
        op_malloc(i, 50000);
    op_newest(6);
    op(OP_TRIM); b(1);
    save("mallopt");
    for (int i = 0; i < 40; i++)
        op_malloc(i, i % 5 ? 3000 : 40000);
    for (int i = 0; i < 40; i += 5)
        op_free(i);
    op(OP_TRIM); b(0);
    op(OP_CHECK_ALL);
    save("trim-free-runs");

    /* Arenas: nested scopes with frees and reallocs inside, every size. */
    for (size_t i = 0; i < NSOME; i++)
        op_arena_alloc((int)i, (int)(i % 3), (size_t)16 << (i % 9), some_sizes[i]);
    op(OP_ARENA_MARK);
    for (int i = 0; i < 20; i++)
        op_arena_alloc(24 + i, i % 3, 64, (size_t)(i * 97) % 2000);
    op_free(30);
    op_free(43);
    op_realloc(25, 50000);
    op_realloc(43, 10);
    op(OP_ARENA_MARK);
    for (int i = 0; i < 10; i++)
        op_arena_alloc(44 + i, 0, 16, some_sizes[(size_t)i * 2 % NSOME]);
    op_realloc(3, 300000);
    op_arena_release(1);
    op(OP_CHECK_ALL);
    op_arena_release(0);
    op_arena_alloc(60, 1, 16, 5000);
    op(OP_ARENA_RESET);
    op_arena_alloc(61, 0, 16, 100);
    save("arena-scopes");
    /* Arena blocks freed and resized by the helper thread, then released. */
    op(OP_ARENA_MARK);
    for (int i = 0; i < 16; i++)
        op_arena_alloc(i, 0, 16, some_sizes[(size_t)i % NSOME]);
    for (int i = 0; i < 16; i += 2)
        op_remote_free(i, i % 4, 3000);
    op(OP_HELPER_EXIT);
    op_arena_alloc(20, 0, 16, 100);
    op_arena_release(0);
    op(OP_CHECK_ALL);
    save("arena-remote");

    /* Structured random sequences: valid operations in random order. */
    for (int f = 0; f < 12; f++) {
        int ops = 40 + (int)rnd(120);
        for (int i = 0; i < ops; i++) {
            int s = (int)rnd(f < 6 ? 16 : SLOTS);
            size_t n = rnd(4) ? rnd(1500) : some_sizes[rnd(NSOME)];
            switch (rnd(f >= 9 ? 15 : 12)) {
            case 0: case 1: case 2: op_malloc(s, n); break;
            case 3: op_calloc(s, (int)rnd(9), n); break;
            case 4: op_realloc(s, n); break;
            case 5: op_aligned((enum harness_op)(OP_ALIGNED_ALLOC + rnd(3)), s, (size_t)1 << rnd(14), n); break;
            case 6: case 7: op_free(s); break;
            case 8: op_free_sized(s); break;
            case 9: op_newest((int)rnd(8) + 1); break;
            case 10: if (f % 3 == 0) op_remote_alloc(s, (int)rnd(3), 64, n); else op_remote_free(s, (int)rnd(4), n); break;
            case 12: op_arena_alloc(s, (int)rnd(3), (size_t)1 << rnd(13), n); break;
            case 13: op(rnd(3) ? OP_ARENA_MARK : OP_ARENA_RESET); break;
            case 14: op_arena_release((int)rnd(8)); break;
            default: op((enum harness_op)rnd(OP_COUNT)); b(rnd(256)); b(rnd(256)); b(rnd(256)); break;
            }
        }
        char name[32];
        snprintf(name, sizeof name, "mixed-%d", f);
        save(name);
    }
    printf("%d inputs written to %s\n", files, dir);
    return 0;
}
