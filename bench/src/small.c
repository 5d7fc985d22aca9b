/* small: small-object heavy work with 16-64 byte nodes: linked lists
 * (push, filter, reverse, splice), an unbalanced binary search tree (insert,
 * lookup, delete) and a chained hash table with string keys (insert, lookup,
 * delete, rehash).  A bitmap kept on the side is the ground truth for the
 * tree and hash table contents. */
#include "common.h"

static rng_t rng;

/* ---------- linked lists: 16-byte nodes ---------- */

typedef struct lnode { struct lnode *next; uint32_t key; uint32_t check; } lnode;

static lnode *lpush(lnode *head, uint32_t key)
{
    lnode *x = (lnode *)xmalloc(sizeof(lnode));
    x->next = head;
    x->key = key;
    x->check = ~key;
    return x;
}

static void lists(size_t rounds)
{
    enum { NL = 64 };
    for (size_t r = 0; r < rounds; r++) {
        lnode *l[NL] = { 0 };
        uint64_t sum = 0, count = 0;
        for (int i = 0; i < 40000; i++) {
            uint32_t k = (uint32_t)rng_next(&rng);
            int which = (int)rng_below(&rng, NL);
            l[which] = lpush(l[which], k);
            sum += k;
            count++;
        }
        /* filter: drop keys divisible by 3 */
        for (int j = 0; j < NL; j++) {
            lnode **pp = &l[j];
            while (*pp) {
                lnode *x = *pp;
                CHECK(x->check == ~x->key, "list node corrupted");
                if (x->key % 3 == 0) {
                    *pp = x->next;
                    sum -= x->key;
                    count--;
                    free(x);
                } else {
                    pp = &x->next;
                }
            }
        }
        /* reverse each list, then splice neighbours together */
        for (int j = 0; j < NL; j++) {
            lnode *prev = NULL, *x = l[j];
            while (x) { lnode *nx = x->next; x->next = prev; prev = x; x = nx; }
            l[j] = prev;
        }
        for (int j = 0; j + 1 < NL; j += 2) {
            lnode **pp = &l[j];
            while (*pp) pp = &(*pp)->next;
            *pp = l[j + 1];
            l[j + 1] = NULL;
        }
        /* copy every list (allocation burst), free the originals, then the copies */
        lnode *copies[NL] = { 0 };
        for (int j = 0; j < NL; j++)
            for (lnode *x = l[j]; x; x = x->next) copies[j] = lpush(copies[j], x->key);
        for (int j = 0; j < NL; j++)
            for (lnode *x = l[j], *nx; x; x = nx) { nx = x->next; free(x); }
        uint64_t sum2 = 0, count2 = 0;
        for (int j = 0; j < NL; j++)
            for (lnode *x = copies[j], *nx; x; x = nx) {
                nx = x->next;
                CHECK(x->check == ~x->key, "list copy corrupted");
                sum2 += x->key;
                count2++;
                free(x);
            }
        CHECK(sum2 == sum && count2 == count, "list contents wrong after filter/reverse/splice/copy");
    }
}

/* ---------- binary search tree: 32-byte nodes ---------- */

typedef struct tnode { struct tnode *l, *r; uint32_t key; uint32_t check; uint64_t pad; } tnode;

static int tinsert(tnode **t, uint32_t key)
{
    while (*t) {
        if (key == (*t)->key) return 0;
        t = key < (*t)->key ? &(*t)->l : &(*t)->r;
    }
    tnode *x = (tnode *)xmalloc(sizeof(tnode));
    x->l = x->r = NULL;
    x->key = key;
    x->check = key * 2654435761u;
    x->pad = key;
    *t = x;
    return 1;
}

static int tfind(tnode *t, uint32_t key)
{
    while (t) {
        if (key == t->key) return 1;
        t = key < t->key ? t->l : t->r;
    }
    return 0;
}

static int tdelete(tnode **t, uint32_t key)
{
    while (*t && (*t)->key != key) t = key < (*t)->key ? &(*t)->l : &(*t)->r;
    if (!*t) return 0;
    tnode *x = *t;
    if (!x->l) *t = x->r;
    else if (!x->r) *t = x->l;
    else { /* replace by the successor */
        tnode **sp = &x->r;
        while ((*sp)->l) sp = &(*sp)->l;
        tnode *s = *sp;
        *sp = s->r;
        s->l = x->l;
        s->r = x->r;
        *t = s;
    }
    free(x);
    return 1;
}

static void twalk_free(tnode *t, uint32_t *last, int *first, uint64_t *count)
{
    while (t) { /* in-order, recursing left, looping right */
        twalk_free(t->l, last, first, count);
        CHECK(t->check == t->key * 2654435761u && t->pad == t->key, "tree node corrupted");
        CHECK(*first || t->key > *last, "tree out of order");
        *first = 0;
        *last = t->key;
        (*count)++;
        tnode *r = t->r;
        free(t);
        t = r;
    }
}

static void tree(size_t rounds)
{
    enum { KEYS = 1 << 20 };
    unsigned char *present = (unsigned char *)xmalloc(KEYS / 8);
    for (size_t r = 0; r < rounds; r++) {
        memset(present, 0, KEYS / 8);
        tnode *root = NULL;
        uint64_t count = 0;
        for (int i = 0; i < 300000; i++) {
            uint32_t k = rng_below(&rng, KEYS);
            int op = (int)rng_below(&rng, 10);
            int here = (present[k >> 3] >> (k & 7)) & 1;
            if (op < 6) {
                CHECK(tinsert(&root, k) == !here, "tree insert disagrees with ground truth");
                if (!here) count++;
                present[k >> 3] |= (unsigned char)(1 << (k & 7));
            } else if (op < 8) {
                CHECK(tfind(root, k) == here, "tree lookup disagrees with ground truth");
            } else {
                CHECK(tdelete(&root, k) == here, "tree delete disagrees with ground truth");
                if (here) count--;
                present[k >> 3] &= (unsigned char)~(1 << (k & 7));
            }
        }
        uint32_t last = 0;
        int first = 1;
        uint64_t seen = 0;
        twalk_free(root, &last, &first, &seen);
        CHECK(seen == count, "tree has %llu nodes, expected %llu", (unsigned long long)seen,
              (unsigned long long)count);
    }
    free(present);
}

/* ---------- chained hash table: 32-byte entries, 8-24 byte string keys ---------- */

typedef struct hent { struct hent *next; char *key; uint64_t hash; uint32_t val; uint32_t pad; } hent;
typedef struct { hent **b; size_t nb, n; } htab;

static uint64_t hstr(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

static char *keystr(uint32_t k)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "key:%u:%x", k, k * 7u);
    char *s = (char *)xmalloc((size_t)n + 1);
    memcpy(s, buf, (size_t)n + 1);
    return s;
}

static hent **hslot(htab *t, const char *key, uint64_t h)
{
    hent **pp = &t->b[h & (t->nb - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key) != 0)) pp = &(*pp)->next;
    return pp;
}

static void hgrow(htab *t)
{
    size_t nb = t->nb * 2;
    hent **b = (hent **)xcalloc(nb, sizeof(hent *));
    for (size_t i = 0; i < t->nb; i++)
        for (hent *e = t->b[i], *nx; e; e = nx) {
            nx = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    free(t->b);
    t->b = b;
    t->nb = nb;
}

static void hashtable(size_t rounds)
{
    enum { KEYS = 1 << 18 };
    unsigned char *present = (unsigned char *)xmalloc(KEYS);
    for (size_t r = 0; r < rounds; r++) {
        memset(present, 0, KEYS);
        htab t = { (hent **)xcalloc(16, sizeof(hent *)), 16, 0 };
        for (int i = 0; i < 300000; i++) {
            uint32_t k = rng_below(&rng, KEYS);
            int op = (int)rng_below(&rng, 10);
            char *key = keystr(k); /* temporary key string, like a parsed token */
            uint64_t h = hstr(key);
            hent **pp = hslot(&t, key, h);
            CHECK((*pp != NULL) == (present[k] != 0), "hash table disagrees with ground truth");
            if (op < 5) {
                if (!*pp) {
                    hent *e = (hent *)xmalloc(sizeof(hent));
                    e->next = NULL;
                    e->key = key;
                    e->hash = h;
                    e->val = k;
                    *pp = e;
                    key = NULL;
                    present[k] = 1;
                    if (++t.n > t.nb) hgrow(&t);
                }
            } else if (op < 8) {
                if (*pp) CHECK((*pp)->val == k, "hash table value corrupted");
            } else if (*pp) {
                hent *e = *pp;
                *pp = e->next;
                free(e->key);
                free(e);
                present[k] = 0;
                t.n--;
            }
            free(key);
        }
        size_t seen = 0, expect = 0;
        for (size_t i = 0; i < KEYS; i++) expect += present[i];
        for (size_t i = 0; i < t.nb; i++)
            for (hent *e = t.b[i], *nx; e; e = nx) {
                nx = e->next;
                CHECK(present[e->val] && e->hash == hstr(e->key), "hash entry corrupted");
                seen++;
                free(e->key);
                free(e);
            }
        CHECK(seen == expect && seen == t.n, "hash table has %zu entries, expected %zu", seen, expect);
        free(t.b);
    }
    free(present);
}

int main(int argc, char **argv)
{
    double scale = bench_init("small", argc, argv);
    rng = rng_make(4);
    lists(scaled(scale, 60));
    tree(scaled(scale, 12));
    hashtable(scaled(scale, 10));
    printf("small: lists, tree and hash table checked\n");
    return 0;
}
