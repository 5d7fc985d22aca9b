/* arena-server.c - request-scoped memory with a Bimp arena (the README's
 * "Arenas" example, whole).
 *
 * Each line of standard input is a request: fields, then '?', then queries,
 * as in `user=ada,lang=c?user lang shell`.  The request's tree (its fields
 * and queries) is built in an arena; each query is answered with scratch
 * memory that one release drops, while the tree stays; the whole request
 * goes in one release at the end.  No free anywhere.
 *
 *   cc arena-server.c -I.. -L.. -lbimp -Wl,-rpath,$PWD/..   (from examples/)
 *   printf 'user=ada,lang=c?user shell lang\n' | ./arena-server
 */
#include <bimp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct field {
    struct field *next;
    const char *name, *value;
} field;

typedef struct query {
    struct query *next;
    const char *name;
} query;

typedef struct {
    field *fields;
    query *queries;
} request;

/* Arena memory, or the end of the program: a server would answer "busy". */
static void *take(bimp_arena *a, size_t n)
{
    void *p = bimp_arena_alloc(a, n);
    if (!p) {
        perror("bimp_arena_alloc");
        exit(1);
    }
    return p;
}

static const char *copy(bimp_arena *a, const char *s, size_t n)
{
    char *p = take(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* The request of one line: `name=value,...?query query ...`. */
static request *parse(bimp_arena *a, const char *line)
{
    request *r = take(a, sizeof *r);
    r->fields = NULL;
    r->queries = NULL;
    const char *q = strchr(line, '?'), *end = q ? q : line + strcspn(line, "\n");
    field **next_field = &r->fields;
    query **next_query = &r->queries;
    for (const char *s = line; s < end;) {
        size_t len = strcspn(s, ",?\n"), eq = strcspn(s, "=,?\n");
        if (eq < len) {
            field *f = take(a, sizeof *f);
            f->name = copy(a, s, eq);
            f->value = copy(a, s + eq + 1, len - eq - 1);
            f->next = NULL;
            *next_field = f;
            next_field = &f->next;
        }
        s += len + (s[len] == ',');
    }
    for (const char *s = q ? q + 1 : end; *s && *s != '\n';) {
        size_t len = strcspn(s, " \n");
        if (len) {
            query *k = take(a, sizeof *k);
            k->name = copy(a, s, len);
            k->next = NULL;
            *next_query = k;
            next_query = &k->next;
        }
        s += len + (s[len] == ' ');
    }
    return r;
}

/* The answer to one query, in scratch memory: `name: value` or `name: -`. */
static const char *run_query(bimp_arena *a, const request *r, const query *k)
{
    const char *value = "-";
    for (const field *f = r->fields; f; f = f->next)
        if (strcmp(f->name, k->name) == 0)
            value = f->value;
    size_t n = strlen(k->name) + strlen(value) + 3;
    char *answer = take(a, n);
    snprintf(answer, n, "%s: %s", k->name, value);
    return answer;
}

/* Answer every request on `in`; each request's memory goes in one release. */
static void serve(FILE *in, FILE *out)
{
    bimp_arena *a = bimp_arena_create();
    bimp_mark *start = a ? bimp_arena_mark(a) : NULL;
    if (!start) {
        perror("bimp_arena_create");
        exit(1);
    }
    char line[4096];
    while (fgets(line, sizeof line, in)) {
        request *tree = parse(a, line);
        for (query *q = tree->queries; q; q = q->next) {
            bimp_mark *sub = bimp_arena_mark(a);
            fprintf(out, "%s\n", run_query(a, tree, q)); /* scratch memory of one query */
            bimp_arena_release(a, sub);                  /* ... gone, the tree stays */
        }
        bimp_arena_release(a, start); /* the whole request */
    }
    bimp_arena_destroy(a);
}

int main(void)
{
    serve(stdin, stdout);
    struct bimp_stats s;
    bimp_stats(&s);
    fprintf(stderr, "arena-server: %zu arena allocations, %zu releases, %zu arenas left\n",
            s.arena_allocations, s.arena_releases, s.arenas);
    return 0;
}
