/* listwalk: a long doubly linked list that is appended to, has elements
 * removed from its middle, and is walked to find them: the shape of bash's
 * indexed arrays (`a+=(v)` appends an element, `unset a[i]` walks back from
 * the newest element to i).  Each step allocates a few short-lived buffers
 * (as an interpreter does while it evaluates the statement), a 32-byte
 * element and its value string; every third step removes the element at
 * half the newest index.  The walks dominate the time: what decides it is
 * where the allocator put the elements, since a walk along elements that
 * lie in address order streams through memory, and one along scattered
 * elements misses the cache at every step. */
#include "common.h"

typedef struct element {
    uint64_t index;
    char *value;
    struct element *next, *prev;
} element;

static char *make_value(uint64_t i)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "v%llu", (unsigned long long)i);
    char *v = (char *)xmalloc((size_t)n + 1);
    memcpy(v, buf, (size_t)n + 1);
    return v;
}

int main(int argc, char **argv)
{
    double scale = bench_init("listwalk", argc, argv);
    size_t steps = scaled(scale, 90000);
    element head = { 0, NULL, &head, &head }; /* circular, as bash's */
    size_t live = 0, walked = 0;
    static const size_t temp_sizes[4] = { 88, 9, 24, 5 };
    static const int free_order[4] = { 3, 0, 2, 1 };
    for (size_t i = 0; i < steps; i++) {
        void *temp[4];
        for (int k = 0; k < 4; k++)
            temp[k] = xmalloc(temp_sizes[k]);
        element *e = (element *)xmalloc(sizeof *e);
        e->index = i;
        e->value = make_value(i);
        e->prev = head.prev; /* append */
        e->next = &head;
        head.prev->next = e;
        head.prev = e;
        live++;
        for (int k = 0; k < 4; k++)
            free(temp[free_order[k]]);
        if (i % 3 != 0)
            continue;
        uint64_t want = i / 2; /* walk back from the newest element */
        element *x = head.prev;
        while (x != &head && x->index > want) {
            x = x->prev;
            walked++;
        }
        if (x != &head && x->index == want) {
            x->prev->next = x->next;
            x->next->prev = x->prev;
            free(x->value);
            free(x);
            live--;
        }
    }
    size_t count = 0;
    uint64_t last = 0;
    for (element *x = head.next, *nx; x != &head; x = nx) {
        nx = x->next;
        char buf[32];
        snprintf(buf, sizeof buf, "v%llu", (unsigned long long)x->index);
        CHECK(strcmp(x->value, buf) == 0, "element %llu holds %s", (unsigned long long)x->index, x->value);
        CHECK(count == 0 || x->index > last, "list out of order at %llu", (unsigned long long)x->index);
        last = x->index;
        count++;
        free(x->value);
        free(x);
    }
    CHECK(count == live, "list has %zu elements, expected %zu", count, live);
    printf("listwalk: %zu steps, %zu elements left, %.1f M element visits\n", steps, live, walked / 1e6);
    return 0;
}
