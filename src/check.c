/* src/check.c - the check mode (BIMP_CHECK=1): the program's own heap bugs
 * (overflows, writes after free, double frees, uses of freed blocks) found
 * at the next free of the block, when it is about to be reused, or at exit,
 * and reported with the stacks where the block was allocated and freed.
 *
 * Every allocation comes here (the countdown stays below zero, src/watch.c)
 * and gets a headered block of CANARY bytes more than it asked for:
 *
 *     [header][n bytes, filled with NEW_BYTE][canary ... to the usable end]
 *
 * and B_SAMPLED in its header, so that its free, realloc and
 * malloc_usable_size come here too.  A record per block, in a table by
 * address, keeps n and the two stacks.  free checks the canary, fills the n
 * bytes with FREED_BYTE, and holds the block back in the quarantine (a ring
 * of at most BIMP_CHECK_QUARANTINE bytes); the block that leaves it has its
 * fill and canary checked again and only then is freed, so a write after
 * free is seen before the block can be handed out again; and each free
 * checks SWEEP of the held-back blocks, round the ring, so that a write
 * after free shows even while memory is not short.  At exit, every
 * live block's canary and every held-back block are checked.  Only a
 * block's first FILL_MAX bytes are filled (a huge block's pages are not all
 * touched), and at most CANARY_MAX bytes of its slack are canary.  Arena
 * blocks are not checked: an arena's release frees them all at once. */

#include "internal.h"

#define CANARY ((size_t)16)
#define CANARY_MAX ((size_t)256)
#define FILL_MAX ((size_t)64 << 10)
#define NEW_BYTE 0xbe
#define FREED_BYTE 0xdf
#define FRAMES 20
#define STACKS (1u << 15)
#define NO_STACK UINT32_MAX
#define RING (1u << 16) /* blocks held back at most */
#define TABLE_MIN ((size_t)1 << 12)
#define SWEEP 2 /* held-back blocks checked at each free, round the ring */

typedef struct {
    void *p;              /* NULL: an empty slot */
    size_t n;             /* the bytes the program asked for */
    uint32_t made, freed; /* its stacks: allocated, freed (NO_STACK: none) */
    bool held;            /* freed, and in the quarantine */
} record;

typedef struct {
    uint64_t hash;
    uint32_t depth;
    void *frame[FRAMES];
} check_stack;

lock_t check_lock;
static struct {
    record *table;        /* open addressing by p; cap a power of two */
    size_t cap, count;
    check_stack *stacks;  /* STACKS, mapped at the first; never moved */
    void **ring;          /* the quarantine, oldest first from head */
    size_t head, held, held_bytes;
    size_t sweep;         /* the next to check, counted from head; past the last, the first */
} ck;

/* The canary byte at address a: never 0 nor ASCII, so that an off-by-one
 * terminator or character always shows. */
static inline uint8_t canary_at(const char *a)
{
    return (uint8_t)((uint32_t)((uintptr_t)a * 0x9e3779b1u) >> 24 | 0x80);
}

/* The canary's end: the block's usable end, at most CANARY_MAX past n. */
static char *canary_end(void *p, size_t n)
{
    size_t usable = usable_plain(p);
    return (char *)p + (usable - n > CANARY_MAX ? n + CANARY_MAX : usable);
}

/* ------------------------------------------------------------------------ */
/* The records and stacks (under check_lock)                                */
/* ------------------------------------------------------------------------ */

static size_t slot_of(const void *p, size_t cap)
{
    return (size_t)((((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15u) >> 20) & (cap - 1);
}

static record *find(const void *p)
{
    for (size_t i = ck.table ? slot_of(p, ck.cap) : 0; ck.table; i = (i + 1) & (ck.cap - 1)) {
        if (ck.table[i].p == p)
            return &ck.table[i];
        if (!ck.table[i].p)
            break;
    }
    return NULL;
}

static void place(record *table, size_t cap, const record *r)
{
    size_t i = slot_of(r->p, cap);
    while (table[i].p)
        i = (i + 1) & (cap - 1);
    table[i] = *r;
}

/* Room for one more record: the table doubles when half full. */
static bool room(void)
{
    if ((ck.count + 1) * 2 <= ck.cap)
        return true;
    size_t cap = ck.cap ? ck.cap * 2 : TABLE_MIN;
    record *table = os_map(cap * sizeof *table, os_page_size());
    if (!table)
        return false;
    for (size_t k = 0; k < ck.cap; k++)
        if (ck.table[k].p)
            place(table, cap, &ck.table[k]);
    if (ck.table)
        os_unmap(ck.table, ck.cap * sizeof *ck.table);
    ck.table = table;
    ck.cap = cap;
    return true;
}

/* Take r out, moving back the records after it that may go where it was. */
static void erase(record *r)
{
    size_t mask = ck.cap - 1, hole = (size_t)(r - ck.table);
    for (size_t i = (hole + 1) & mask; ck.table[i].p; i = (i + 1) & mask) {
        size_t home = slot_of(ck.table[i].p, ck.cap);
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            ck.table[hole] = ck.table[i];
            hole = i;
        }
    }
    ck.table[hole].p = NULL;
    ck.count--;
}

/* The stack's number in the table, found or added; NO_STACK if none. */
static uint32_t intern(void *const *frame, int depth)
{
    if (depth <= 0 || (!ck.stacks && !(ck.stacks = os_map(STACKS * sizeof *ck.stacks, os_page_size()))))
        return NO_STACK;
    uint64_t hash = 1469598103934665603u;
    for (int i = 0; i < depth; i++)
        hash = (hash ^ (uint64_t)(uintptr_t)frame[i]) * 1099511628211u;
    for (uint32_t k = 0, i = (uint32_t)hash & (STACKS - 1); k < STACKS; k++, i = (i + 1) & (STACKS - 1)) {
        check_stack *s = &ck.stacks[i];
        if (s->depth == 0) {
            s->hash = hash;
            memcpy(s->frame, frame, (size_t)depth * sizeof *frame);
            s->depth = (uint32_t)depth;
            return i;
        }
        if (s->hash == hash && s->depth == (uint32_t)depth && memcmp(s->frame, frame, (size_t)depth * sizeof *frame) == 0)
            return i;
    }
    return NO_STACK;
}

/* ------------------------------------------------------------------------ */
/* Reports                                                                  */
/* ------------------------------------------------------------------------ */

/* Bytes of [from, to) of p that differ from what was written there: the
 * canary (canary) or FREED_BYTE; the first and last of them. */
typedef struct {
    size_t count, first, last;
} damage;

static damage changed(const char *p, size_t from, size_t to, bool canary)
{
    damage d = { 0, 0, 0 };
    if (!canary) { /* the fill, which may be long: whole words first */
        uint64_t word;
        memset(&word, FREED_BYTE, sizeof word);
        while (from + sizeof word <= to && memcmp(p + from, &word, sizeof word) == 0)
            from += sizeof word;
    }
    for (size_t i = from; i < to; i++) {
        uint8_t want = canary ? canary_at(p + i) : FREED_BYTE;
        if ((uint8_t)p[i] != want) {
            d.first = d.count++ ? d.first : i;
            d.last = i;
        }
    }
    return d;
}

static void put_stack_of(const char *label, uint32_t s)
{
    if (s != NO_STACK)
        put_stack(label, ck.stacks[s].frame, (int)ck.stacks[s].depth);
}

/* The report: the misuse's lines, the block and its damage, the stacks
 * where it was allocated and freed; then abort.  `where` names the damage
 * ("" for none); d says which bytes. */
static COLD _Noreturn void report(const char *what, void *p, const char *function, const record *r,
                                  const char *where, damage d)
{
    misuse_lines(what, p, function);
    text t = { .len = 0 };
    put_str(&t, "bimp: the block: ");
    put_uint(&t, r->n, 10, 0);
    put_str(&t, r->n == 1 ? " byte" : " bytes");
    put_str(&t, r->held ? ", freed" : "");
    if (d.count) {
        put_str(&t, "; ");
        put_str(&t, where);
        put_str(&t, d.count == 1 ? ": byte " : ": bytes ");
        put_uint(&t, d.first, 10, 0);
        if (d.last > d.first) {
            put_str(&t, "-");
            put_uint(&t, d.last, 10, 0);
        }
        put_str(&t, " of it (");
        put_uint(&t, d.count, 10, 0);
        put_str(&t, d.count == 1 ? " changed, now 0x" : " changed, the first now 0x");
        put_uint(&t, (uint8_t)((char *)p)[d.first], 16, 0);
        put_str(&t, ")");
    }
    put_line(&t);
    put_stack_of("allocated at", r->made);
    if (r->held)
        put_stack_of("freed at", r->freed);
    os_fatal();
}

/* What changed in block r since Bimp wrote it: its fill if it is held
 * back, then its canary. */
static damage damage_of(const record *r)
{
    damage d = { 0, 0, 0 };
    if (r->held)
        d = changed(r->p, 0, r->n < FILL_MAX ? r->n : FILL_MAX, false);
    if (!d.count)
        d = changed(r->p, r->n, (size_t)(canary_end(r->p, r->n) - (char *)r->p), true);
    return d;
}

/* A write found in block r (by damage_of) is reported: after its free if
 * it is held back, else past its end. */
static COLD _Noreturn void report_damage(const record *r, damage d, const char *function)
{
    if (r->held)
        report("write after free to", r->p, function, r, "written after its free", d);
    report("overflow past the end of", r->p, function, r, "written past its end", d);
}

/* Block r is as Bimp left it, or the write is reported. */
static void check_block(const record *r, const char *function)
{
    damage d = damage_of(r);
    if (d.count)
        report_damage(r, d, function);
}

/* The record of block p, copied, for a check outside the lock.  A block that
 * carries B_SAMPLED with no record had its header overwritten. */
static record copy_of(void *p, const char *function)
{
    lock(&check_lock);
    record *r = find(p);
    record copy = r ? *r : (record){ .p = NULL };
    unlock(&check_lock);
    if (!r)
        corrupt(header_of(p), OVERWRITTEN_HEADER, function);
    return copy;
}

/* ------------------------------------------------------------------------ */
/* The quarantine                                                           */
/* ------------------------------------------------------------------------ */

/* The oldest held-back block leaves the quarantine (under the lock): its
 * record, which is taken out. */
static record leave(void)
{
    void *p = ck.ring[ck.head];
    ck.head = (ck.head + 1) % RING;
    ck.held--;
    ck.sweep -= ck.sweep > 0;
    record *r = find(p);
    record copy = *r;
    ck.held_bytes -= usable_plain(p);
    erase(r);
    return copy;
}

/* Blocks that left the quarantine: checked, then freed. */
static void let_go(const record *gone, size_t count, const char *function)
{
    for (size_t k = 0; k < count; k++)
        check_block(&gone[k], function);
    for (size_t k = 0; k < count; k++)
        release_plain(gone[k].p, function);
}

/* Everything held back goes (memory ran short); whether there was any. */
static bool let_all_go(void)
{
    bool any = false;
    for (;;) {
        record gone[16];
        size_t count = 0;
        lock(&check_lock);
        while (count < 16 && ck.held)
            gone[count++] = leave();
        unlock(&check_lock);
        if (!count)
            return any;
        let_go(gone, count, "malloc");
        any = true;
    }
}

/* ------------------------------------------------------------------------ */
/* The operations                                                           */
/* ------------------------------------------------------------------------ */

void *check_alloc(size_t n, size_t align)
{
    if (n > PTRDIFF_MAX - CANARY) {
        errno = ENOMEM;
        return NULL;
    }
    void *frame[FRAMES];
    int depth = capture_stack(frame, FRAMES);
    void *p = alloc_plain(n + CANARY, align);
    if (!p && let_all_go())
        p = alloc_plain(n + CANARY, align);
    if (!p)
        return NULL;
    memset(p, NEW_BYTE, n < FILL_MAX ? n : FILL_MAX);
    for (char *a = (char *)p + n, *end = canary_end(p, n); a < end; a++)
        *a = (char)canary_at(a);
    lock(&check_lock);
    record r = { .p = p, .n = n, .made = intern(frame, depth), .freed = NO_STACK };
    bool kept = room();
    if (kept) {
        place(ck.table, ck.cap, &r);
        ck.count++;
    }
    unlock(&check_lock);
    if (kept) /* else an unchecked block: the table could not grow */
        fetch_or(&header_of(p)->info, B_SAMPLED);
    return p;
}

void check_free(void *p, const char *function)
{
    void *frame[FRAMES];
    int depth = capture_stack(frame, FRAMES);
    record gone[4];
    size_t count = 0;
    lock(&check_lock);
    if (!ck.ring)
        ck.ring = os_map(RING * sizeof *ck.ring, os_page_size());
    record *r = find(p);
    record copy = r ? *r : (record){ .p = NULL };
    if (!r || r->held || !ck.ring) {
        unlock(&check_lock);
        if (!r)
            corrupt(header_of(p), OVERWRITTEN_HEADER, function);
        if (copy.held)
            report("double free of", p, function, &copy, "", (damage){ 0, 0, 0 });
        check_block(&copy, function);
        release_plain(p, function); /* no quarantine: no memory for its ring */
        return;
    }
    damage d = damage_of(r);
    if (d.count) {
        unlock(&check_lock);
        report_damage(&copy, d, function);
    }
    memset(p, FREED_BYTE, r->n < FILL_MAX ? r->n : FILL_MAX);
    r->held = true;
    r->freed = intern(frame, depth);
    ck.ring[(ck.head + ck.held++) % RING] = p;
    ck.held_bytes += usable_plain(p);
    while (count < 4 && ck.held && (ck.held_bytes > opt.check_quarantine || ck.held == RING))
        gone[count++] = leave();
    for (int k = 0; k < SWEEP && ck.held; k++) {
        ck.sweep = ck.sweep < ck.held ? ck.sweep : 0;
        record *h = find(ck.ring[(ck.head + ck.sweep++) % RING]);
        d = damage_of(h);
        if (d.count) {
            record held = *h;
            unlock(&check_lock);
            report_damage(&held, d, function);
        }
    }
    unlock(&check_lock);
    let_go(gone, count, function);
}

void *check_resize(void *p, size_t n, const char *function)
{
    record r = copy_of(p, function);
    if (r.held)
        report("use of freed block", p, function, &r, "", (damage){ 0, 0, 0 });
    check_block(&r, function);
    return move_block(p, r.n, n, function); /* always: the old block is held back, checked */
}

size_t check_usable(void *p, const char *function)
{
    record r = copy_of(p, function);
    if (r.held)
        report("use of freed block", p, function, &r, "", (damage){ 0, 0, 0 });
    return r.n;
}

/* At exit: every live block's canary, every held-back block. */
void check_at_exit(void)
{
    if (!opt.check)
        return;
    lock(&check_lock);
    for (size_t i = 0; i < ck.cap; i++) {
        record r = ck.table[i];
        if (!r.p)
            continue;
        damage d = damage_of(&r);
        if (d.count) {
            unlock(&check_lock);
            report_damage(&r, d, "exit");
        }
    }
    unlock(&check_lock);
}
