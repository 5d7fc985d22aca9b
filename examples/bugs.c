/* bugs.c - a word counter with one heap bug of your choice, to compare the
 * tools that find heap bugs (README, "Finding heap bugs").
 *
 *   bugs none|overflow|use-after-free|double-free [draws]
 *
 * It draws `draws` words (default 3,000,000) from a vocabulary of 20,000
 * and counts them in a hash table of nodes, each word a string of its own;
 * a word seen RETIRE times is retired (its node freed, made again at its
 * next draw); at the end everything is freed.  The bugs:
 *   overflow        a word of 12 letters gets 12 bytes, its terminator
 *                   written one past them (the classic off-by-one; other
 *                   lengths get their byte, and malloc's rounding hides it)
 *   use-after-free  a one-entry cache of the last word counted keeps its
 *                   node after the node is retired, and the word's next
 *                   count goes into the freed node
 *   double-free     the last node is freed twice at the end
 * It prints what it counted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 65536
#define VOCABULARY 20000
#define RETIRE 4

typedef struct node {
    struct node *next;
    char *word;
    long count;
} node;

static node *table[BUCKETS];
static struct {
    char word[16];
    node *n;
} cache; /* the last word counted */
static enum { NONE, OVERFLOW, USE_AFTER_FREE, DOUBLE_FREE } bug;

unsigned hash(const char *w)
{
    unsigned h = 2166136261u;
    for (; *w; w++)
        h = (h ^ (unsigned char)*w) * 16777619u;
    return h % BUCKETS;
}

char *copy_word(const char *w)
{
    size_t len = strlen(w);
    char *c = malloc(bug == OVERFLOW && len == 12 ? len : len + 1);
    strcpy(c, w);
    return c;
}

/* Count w; retire its node when it reaches RETIRE (1 if it did). */
int count(const char *w)
{
    if (cache.n && strcmp(cache.word, w) == 0) {
        cache.n->count++; /* after a retirement, into a freed node */
        return 0;
    }
    node **at = &table[hash(w)];
    while (*at && strcmp((*at)->word, w) != 0)
        at = &(*at)->next;
    if (!*at) {
        node *n = malloc(sizeof *n);
        n->next = NULL;
        n->word = copy_word(w);
        n->count = 0;
        *at = n;
    }
    node *n = *at;
    strcpy(cache.word, w);
    cache.n = n;
    if (++n->count < RETIRE)
        return 0;
    *at = n->next;
    free(n->word);
    free(n);
    if (bug != USE_AFTER_FREE) /* the bug: the cache keeps the freed node */
        cache.n = NULL;
    return 1;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "none";
    long draws = argc > 2 ? atol(argv[2]) : 3000000;
    bug = strcmp(what, "overflow") == 0         ? OVERFLOW
          : strcmp(what, "use-after-free") == 0 ? USE_AFTER_FREE
          : strcmp(what, "double-free") == 0    ? DOUBLE_FREE
                                                : NONE;
    static char vocabulary[VOCABULARY][16];
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < VOCABULARY; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t len = 3 + x % 10; /* 3 to 12 letters */
        for (size_t k = 0; k < len; k++)
            vocabulary[i][k] = (char)('a' + (x >> (8 + 4 * k)) % 16);
    }
    long retired = 0, left = 0, counted = 0;
    for (long i = 0; i < draws; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int k = (int)(x % VOCABULARY);
        retired += count(vocabulary[(x >> 40) % 4 ? k % 64 : k]); /* a few words often */
        if ((x >> 20) % 3 == 0)
            retired += count(vocabulary[k]); /* and a word twice in a row now and then */
    }
    node *final = NULL; /* the last node: freed after the others */
    for (int b = 0; b < BUCKETS; b++)
        for (node *n = table[b], *next; n; n = next) {
            next = n->next;
            counted += n->count;
            left++;
            free(n->word);
            free(final);
            final = n;
        }
    free(final);
    if (bug == DOUBLE_FREE)
        free(final);
    printf("%ld words left, %ld retired, %ld counts left\n", left, retired, counted);
    return 0;
}
