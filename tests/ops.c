/* ops.c - random sequences of every API call, with the debug build's
 * checkers run over the whole heap after every operation: any broken
 * invariant (a block on the wrong bin, two free neighbours, a lost byte)
 * aborts at the operation that broke it.  Contents and alignment are
 * checked on the way.  Run under a BIMP_DEBUG build.
 * Usage: ops <name> <operations> <seed> */
#include "common.h"

#include <malloc.h>

enum { SLOTS = 600 };

static struct {
    char *p;
    size_t n;
    uintptr_t seed;
} slot[SLOTS];

static size_t random_size(uint64_t *s)
{
    uint64_t r = rnd(s);
    switch (r % 20) {
    case 0:
        return r % 300000;         /* up to huge */
    case 1 ... 4:
        return 1000 + r % 40000;   /* medium */
    default:
        return r % 1000;           /* small */
    }
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "ops";
    long ops = argc > 2 ? atol(argv[2]) : 20000;
    uint64_t s = argc > 3 ? strtoull(argv[3], 0, 10) : 1;
    void (*check_heap)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "bimp_check_heap");
    void (*free_sized)(void *, size_t) = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
    CHECK(bimp_is_loaded() && check_heap && free_sized);
    if (!check_heap || !free_sized) {
        group_end(name, "random-operations");
        return 1;
    }
    int bad = 0;
    long op = 0;
    for (; op < ops && (op % 64 || !out_of_time()); op++) {
        int i = (int)(rnd(&s) % SLOTS);
        if (slot[i].p) {
            bad += !intact(slot[i].p, slot[i].n, slot[i].seed);
            uint64_t r = rnd(&s) % 8;
            if (r < 3) {
                size_t n = random_size(&s) + 1;
                char *q = realloc(slot[i].p, n);
                size_t keep = n < slot[i].n ? n : slot[i].n;
                bad += !q || !intact(q, keep, slot[i].seed) || ((uintptr_t)q & 15);
                slot[i].p = q;
                slot[i].n = n;
            } else if (r < 4) {
                free_sized(slot[i].p, slot[i].n);
                slot[i].p = NULL;
            } else {
                free(slot[i].p);
                slot[i].p = NULL;
            }
        } else {
            size_t n = random_size(&s);
            uint64_t r = rnd(&s) % 10;
            if (r < 6) {
                slot[i].p = malloc(n);
            } else if (r < 8) {
                slot[i].p = calloc(1, n);
                for (size_t k = 0; slot[i].p && k < n; k++)
                    bad += slot[i].p[k] != 0;
            } else {
                size_t a = (size_t)32 << (rnd(&s) % 8);
                slot[i].p = memalign(a, n);
                bad += ((uintptr_t)slot[i].p & (a - 1)) != 0;
            }
            bad += !slot[i].p || malloc_usable_size(slot[i].p) < n;
            slot[i].n = n;
        }
        if (slot[i].p) {
            slot[i].seed = (uintptr_t)rnd(&s);
            fill(slot[i].p, slot[i].n, slot[i].seed);
        }
        check_heap();
    }
    for (int i = 0; i < SLOTS; i++) {
        if (slot[i].p) {
            bad += !intact(slot[i].p, slot[i].n, slot[i].seed);
            free(slot[i].p);
            check_heap();
        }
    }
    CHECK(bad == 0);
    snprintf(group_note, sizeof group_note, "%ld operations", op);
    group_end(name, "random-operations");
    return total_failures != 0;
}
