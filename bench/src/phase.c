/* phase: program phases.  Each phase builds a big linked structure (many nodes
 * of varied size), keeps about 1% of the nodes alive and frees the rest.  Even
 * phases free in allocation order (FIFO), odd phases in reverse order (LIFO).
 * Survivors live on for several phases, so the heap gets fragmented by
 * long-lived islands between freed space. */
#include "common.h"

typedef struct node {
    struct node *next;
    uint64_t tag;
    uint32_t size; /* total block size */
    uint32_t id;
} node;

#define KEEP_PHASES 6 /* survivors of phase p are freed in phase p + KEEP_PHASES */

static rng_t rng;

static node *new_node(uint32_t id)
{
    uint32_t r = rng_below(&rng, 100);
    size_t n = sizeof(node) + (r < 80 ? rng_range(&rng, 0, 48) : r < 98 ? rng_range(&rng, 49, 300)
                                                                       : rng_range(&rng, 301, 3000));
    node *x = (node *)xmalloc(n);
    x->next = NULL;
    x->tag = rng_next(&rng);
    x->size = (uint32_t)n;
    x->id = id;
    stamp(x + 1, n - sizeof(node), x->tag);
    return x;
}

static void free_node(node *x, uint64_t *count)
{
    VERIFY(x + 1, x->size - sizeof(node), x->tag);
    free(x);
    (*count)++;
}

int main(int argc, char **argv)
{
    double scale = bench_init("phase", argc, argv);
    rng = rng_make(2);
    size_t phases = scaled(scale, 40);
    size_t per_phase = 200000;
    if (scale < 0.5) per_phase = scaled(scale * 2, 200000);
    node *keep[KEEP_PHASES] = { 0 };
    uint64_t kept_count[KEEP_PHASES] = { 0 };
    uint64_t made = 0, freed = 0, kept_total = 0;

    for (size_t ph = 0; ph < phases; ph++) {
        int fifo = (ph % 2) == 0;
        node *head = NULL, *tail = NULL;
        size_t n = per_phase + rng_below(&rng, (uint32_t)(per_phase / 4 + 1));
        for (size_t i = 0; i < n; i++) {
            node *x = new_node((uint32_t)i);
            made++;
            if (fifo) { /* append: walking from head frees oldest first */
                if (tail) tail->next = x; else head = x;
                tail = x;
            } else { /* push: walking from head frees newest first */
                x->next = head;
                head = x;
            }
        }
        /* free the survivors of an old phase, in the middle of this one */
        int slot = (int)(ph % KEEP_PHASES);
        uint64_t c = 0;
        for (node *x = keep[slot], *nx; x; x = nx) { nx = x->next; free_node(x, &c); }
        CHECK(c == kept_count[slot], "phase %zu: survivor list has %llu nodes, expected %llu", ph,
              (unsigned long long)c, (unsigned long long)kept_count[slot]);
        freed += c;
        keep[slot] = NULL;
        kept_count[slot] = 0;
        /* keep ~1%, free the rest in list order */
        uint32_t expect_id = fifo ? 0 : (uint32_t)(n - 1);
        for (node *x = head, *nx; x; x = nx) {
            nx = x->next;
            CHECK(x->id == expect_id, "phase %zu: list order broken (id %u, expected %u)", ph, x->id, expect_id);
            expect_id += fifo ? 1 : (uint32_t)-1;
            if (rng_below(&rng, 100) == 0) {
                x->next = keep[slot];
                keep[slot] = x;
                kept_count[slot]++;
                kept_total++;
            } else {
                free_node(x, &freed);
            }
        }
    }
    for (int s = 0; s < KEEP_PHASES; s++) {
        uint64_t c = 0;
        for (node *x = keep[s], *nx; x; x = nx) { nx = x->next; free_node(x, &c); }
        CHECK(c == kept_count[s], "final survivor count mismatch");
        freed += c;
    }
    CHECK(freed == made, "made %llu nodes but freed %llu", (unsigned long long)made, (unsigned long long)freed);
    printf("phase: %zu phases, %llu nodes, %llu kept for later phases\n", phases,
           (unsigned long long)made, (unsigned long long)kept_total);
    return 0;
}
