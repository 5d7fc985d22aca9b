/* arena.c - request-scoped memory: each request builds a parse-like tree of
 * small nodes (16-200 bytes), a few larger buffers and a growing string
 * (realloc), reads it, and drops it whole.  The nested variant also handles
 * sub-requests, each a subtree dropped when it is done.
 *
 * usage: arena API [scale] [nested]
 *   API: bimp      Bimp's arenas (bimp_arena_*; run with libbimp.so preloaded):
 *                  one arena, a mark per scope, released at its end
 *        bimp-new  Bimp's arenas, one created and destroyed per scope (as
 *                  mimalloc's heaps are)
 *        malloc    malloc and free of every node (under any allocator)
 *        obstack   glibc's obstack (obstack_free to the first object)
 *        mimalloc  mimalloc's heaps (mi_heap_*; run with libmimalloc preloaded):
 *                  a heap per request, and one per sub-request
 * The API's functions are looked up at run time, so that one binary serves
 * every column and malloc is always the preloaded allocator's.
 * Prints the checksum of the trees read; with `bimp`, the time a release
 * of a whole request took, per request and per chunk it spanned. */
#include "common.h"

#include <obstack.h>
#include <time.h>

typedef struct node {
    struct node *child, *next;
    uint32_t kind, len;
    char text[];
} node;

/* What a request allocates from, whichever the API. */
enum api { BIMP, MALLOC, OBSTACK, MIMALLOC };
static enum api api;
static int arena_per_scope; /* bimp-new */

/* Bimp's and mimalloc's functions, found at run time. */
static void *(*arena_create)(void);
static void (*arena_destroy)(void *);
static void *(*arena_alloc)(void *, size_t);
static void *(*arena_mark)(void *);
static void (*arena_release)(void *, void *);
static void *(*mi_heap_new_)(void);
static void (*mi_heap_destroy_)(void *);
static void *(*mi_heap_malloc_)(void *, size_t);
static void *(*mi_heap_realloc_)(void *, void *, size_t);

#define obstack_chunk_alloc malloc
#define obstack_chunk_free free

/* One scope of memory: a request's, or a sub-request's. */
typedef struct {
    void *arena;          /* BIMP: the arena; MIMALLOC: the heap */
    void *mark;           /* BIMP: where the scope began */
    struct obstack *ob;   /* OBSTACK */
    void *first;          /* OBSTACK: the scope's first object */
} scope;

static struct obstack ob;
static void *bimp_arena_;

static void *get(scope *s, size_t n)
{
    switch (api) {
    case BIMP:
        return arena_alloc(s->arena, n);
    case MALLOC:
        return malloc(n);
    case OBSTACK: {
        void *p = obstack_alloc(s->ob, n);
        if (!s->first)
            s->first = p;
        return p;
    }
    default:
        return mi_heap_malloc_(s->arena, n);
    }
}

/* A buffer grows from `old` bytes to n. */
static void *grow(scope *s, void *p, size_t old, size_t n)
{
    switch (api) {
    case BIMP:
    case MALLOC:
        return realloc(p, n);
    case OBSTACK: {
        void *q = obstack_alloc(s->ob, n); /* the old copy goes with the scope */
        memcpy(q, p, old);
        return q;
    }
    default:
        return mi_heap_realloc_(s->arena, p, n);
    }
}

static void begin(scope *s)
{
    memset(s, 0, sizeof *s);
    switch (api) {
    case BIMP:
        if (arena_per_scope) {
            s->arena = arena_create();
        } else {
            s->arena = bimp_arena_;
            s->mark = arena_mark(bimp_arena_);
        }
        break;
    case OBSTACK:
        s->ob = &ob;
        break;
    case MIMALLOC:
        s->arena = mi_heap_new_();
        break;
    default:
        break;
    }
}

static void free_tree(node *n)
{
    while (n) {
        node *next = n->next;
        free_tree(n->child);
        free(n);
        n = next;
    }
}

static uint64_t release_ns, releases, released_chunks;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Drop everything the scope allocated: `tree` and `bufs` are what plain
 * malloc must free one by one. */
static void end(scope *s, node *tree, void **bufs, int nbufs, size_t bytes)
{
    switch (api) {
    case BIMP: {
        uint64_t t0 = now_ns();
        if (arena_per_scope)
            arena_destroy(s->arena);
        else
            arena_release(s->arena, s->mark);
        release_ns += now_ns() - t0;
        releases++;
        released_chunks += bytes / (256 << 10) + 1;
        break;
    }
    case MALLOC:
        free_tree(tree);
        for (int i = 0; i < nbufs; i++)
            free(bufs[i]);
        break;
    case OBSTACK:
        if (s->first)
            obstack_free(s->ob, s->first);
        break;
    default:
        mi_heap_destroy_(s->arena);
        break;
    }
}

/* Build a tree of `count` nodes as a parser would (a stack of open nodes,
 * each new one a child of the innermost), with `nbufs` buffers of 4-64 KiB
 * and a string grown by realloc; read it back; return its checksum. */
static uint64_t build(scope *s, rng_t *r, int count, void **bufs, int nbufs, node **out, size_t *bytes)
{
    node *open[64];
    int depth = 0;
    node *root = get(s, sizeof(node) + 8);
    root->child = root->next = NULL;
    root->kind = 0;
    root->len = 8;
    memset(root->text, 0, 8);
    open[depth++] = root;
    size_t cap = 64, used = 0, total = 0;
    char *str = get(s, cap);
    for (int i = 0; i < count; i++) {
        uint64_t x = rng_next(r);
        uint32_t len = (uint32_t)(x % 177); /* node sizes 24-200 bytes */
        node *n = get(s, sizeof(node) + len);
        n->child = NULL;
        n->kind = (uint32_t)(x >> 32) & 15;
        n->len = len;
        memset(n->text, (int)n->kind, len);
        node *parent = open[depth - 1];
        n->next = parent->child;
        parent->child = n;
        total += sizeof(node) + len;
        if ((x >> 40) % 4 == 0 && depth < 64)
            open[depth++] = n;
        else if ((x >> 40) % 4 == 1 && depth > 1)
            depth--;
        if (i % 64 == 0) { /* the string grows now and then */
            if (used + 40 > cap) {
                size_t old = cap;
                cap *= 2;
                str = grow(s, str, old, cap);
            }
            memset(str + used, 'a' + i % 26, 40);
            used += 40;
        }
        if (nbufs && i % (count / nbufs + 1) == 0) {
            size_t n_buf = (size_t)4096 << (x >> 50) % 5;
            char *b = get(s, n_buf);
            memset(b, 1, n_buf);
            bufs[--nbufs] = b;
            total += n_buf;
        }
    }
    if (nbufs)
        bufs[--nbufs] = str;
    else if (api == MALLOC)
        free(str);
    *out = root;
    *bytes = total + cap;
    /* read the tree back */
    uint64_t sum = used;
    node *stack[4096];
    int sp = 0;
    stack[sp++] = root;
    while (sp) {
        node *n = stack[--sp];
        sum = sum * 31 + n->kind + n->len + (n->len ? (unsigned char)n->text[n->len - 1] : 0);
        for (node *c = n->child; c; c = c->next)
            if (sp < 4096)
                stack[sp++] = c;
    }
    return sum;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        bench_fail("usage: arena bimp|malloc|obstack|mimalloc [scale] [nested]");
    const char *which = argv[1];
    double scale = bench_init("arena", argc > 2 ? 2 : 1, argv + 1);
    int nested = argc > 3 && strcmp(argv[3], "nested") == 0;
    if (strcmp(which, "bimp") == 0 || strcmp(which, "bimp-new") == 0) {
        api = BIMP;
        arena_per_scope = which[4] != 0;
        arena_create = (void *(*)(void))dlsym(RTLD_DEFAULT, "bimp_arena_create");
        arena_destroy = (void (*)(void *))dlsym(RTLD_DEFAULT, "bimp_arena_destroy");
        arena_alloc = (void *(*)(void *, size_t))dlsym(RTLD_DEFAULT, "bimp_arena_alloc");
        arena_mark = (void *(*)(void *))dlsym(RTLD_DEFAULT, "bimp_arena_mark");
        arena_release = (void (*)(void *, void *))dlsym(RTLD_DEFAULT, "bimp_arena_release");
        CHECK(arena_create && arena_destroy && arena_alloc && arena_mark && arena_release,
              "no bimp_arena_* in this process: preload libbimp.so");
        bimp_arena_ = arena_create();
    } else if (strcmp(which, "malloc") == 0) {
        api = MALLOC;
    } else if (strcmp(which, "obstack") == 0) {
        api = OBSTACK;
        obstack_init(&ob);
    } else if (strcmp(which, "mimalloc") == 0) {
        api = MIMALLOC;
        mi_heap_new_ = (void *(*)(void))dlsym(RTLD_DEFAULT, "mi_heap_new");
        mi_heap_destroy_ = (void (*)(void *))dlsym(RTLD_DEFAULT, "mi_heap_destroy");
        mi_heap_malloc_ = (void *(*)(void *, size_t))dlsym(RTLD_DEFAULT, "mi_heap_malloc");
        mi_heap_realloc_ = (void *(*)(void *, void *, size_t))dlsym(RTLD_DEFAULT, "mi_heap_realloc");
        CHECK(mi_heap_new_ && mi_heap_destroy_ && mi_heap_malloc_ && mi_heap_realloc_,
              "no mi_heap_* in this process: preload libmimalloc.so");
    } else {
        bench_fail("unknown API %s", which);
    }
    int requests = (int)scaled(scale, 2000);
    rng_t r = rng_make(42);
    uint64_t sum = 0;
    for (int q = 0; q < requests; q++) {
        scope req;
        begin(&req);
        void *bufs[8];
        node *tree;
        size_t bytes;
        if (!nested) {
            sum += build(&req, &r, 6000, bufs, 6, &tree, &bytes);
            end(&req, tree, bufs, 6, bytes);
            continue;
        }
        /* a request's own tree, then sub-requests, each dropped when done */
        sum += build(&req, &r, 2000, bufs, 2, &tree, &bytes);
        for (int k = 0; k < 8; k++) {
            scope sub;
            begin(&sub);
            void *sbufs[2];
            node *stree;
            size_t sbytes;
            sum += build(&sub, &r, 500, sbufs, 1, &stree, &sbytes);
            end(&sub, stree, sbufs, 1, sbytes);
        }
        end(&req, tree, bufs, 2, bytes);
    }
    if (api == BIMP)
        arena_destroy(bimp_arena_);
    printf("arena %s%s: %d requests, checksum %016llx\n", which, nested ? " nested" : "", requests,
           (unsigned long long)sum);
    if (api == BIMP && releases)
        printf("arena %s: release %.0f ns per scope, %.1f ns per chunk spanned\n", which,
               (double)release_ns / (double)releases, (double)release_ns / (double)released_chunks);
    return 0;
}
