/* src/guard.c - guard sampling (BIMP_GUARD_RATE): one allocation in about
 * every BIMP_GUARD_RATE bytes gets a page of its own, with its end against
 * a page no access may touch, and after its free its page is closed too.
 * An overflow past the end, an underflow past the page's start, or any use
 * after free of that block then faults at the instruction that did it, and
 * the fault handler reports the block with the stacks where it was
 * allocated and freed.  The bytes of the page around the block are canary,
 * checked at its free, so that a small overflow within the page is found
 * there.  Cheap enough to be on in production (one block in many); over
 * many runs, each such bug is found without a debugger.
 *
 * The pool: one mapping of SLOTS pages between closed guard pages,
 *
 *     [guard][slot 0][guard][slot 1] ... [slot SLOTS-1][guard]
 *
 * made at the first guarded allocation, which also installs the handler.
 * A slot is unused, live or freed; a new block takes an unused slot, else
 * the one freed longest ago, so that a freed slot stays closed as long as
 * possible; with every slot live, the allocation is not guarded. */

#include "internal.h"

#define SLOTS 64
#define FRAMES 16
#define CANARY_BYTE 0xc5

enum { SLOT_UNUSED, SLOT_LIVE, SLOT_FREED };

typedef struct {
    uint8_t state;
    char *p;         /* the block */
    size_t n;        /* its bytes */
    uint64_t freed_at; /* the free's number, for the oldest */
    int made_depth, freed_depth;
    void *made[FRAMES], *freed[FRAMES];
} slot;

ATOMIC(uintptr_t) guard_lo;
ATOMIC(size_t) guard_len;
lock_t guard_lock;
static struct {
    size_t page;
    bool failed;     /* the pool could not be made: nothing is guarded */
    uint64_t frees;  /* guarded blocks freed: the count, and each free's number */
    uint64_t allocs; /* guarded blocks made */
    slot slots[SLOTS];
} gd;

static char *slot_page(size_t i)
{
    return (char *)load_relaxed(&guard_lo) + (2 * i + 1) * gd.page;
}

static char *page_of_block(const char *p)
{
    return (char *)p - ((uintptr_t)p & (gd.page - 1));
}

/* The report of guarded block s (a copy, taken under guard_lock, which is
 * not held now): what happened to it, where; then abort.  From the fault
 * handler (function NULL), or from free. */
static COLD _Noreturn void report(const char *what, const slot *s, const char *function, const char *detail)
{
    misuse_lines(what, s->p, function);
    text t = { .len = 0 };
    put_str(&t, "bimp: the block: ");
    put_uint(&t, s->n, 10, 0);
    put_str(&t, s->n == 1 ? " byte, guarded" : " bytes, guarded");
    put_str(&t, s->state == SLOT_FREED ? ", freed" : "");
    put_str(&t, detail);
    put_line(&t);
    put_stack("allocated at", s->made, s->made_depth);
    if (s->state == SLOT_FREED)
        put_stack("freed at", s->freed, s->freed_depth);
    os_fatal();
}

/* `; <label> 0x<a>, its byte <offset from p>`, for a report. */
static void put_access(text *t, const char *label, uintptr_t a, const char *p)
{
    put_str(t, label);
    put_uint(t, a, 16, 0);
    put_str(t, a < (uintptr_t)p ? ", its byte -" : ", its byte ");
    put_uint(t, a < (uintptr_t)p ? (uintptr_t)p - a : a - (uintptr_t)p, 10, 0);
    t->buf[t->len < sizeof t->buf ? t->len : sizeof t->buf - 1] = 0;
}

/* A fault at `address`: Bimp's if it lies in the pool.  Page 2i+1 of the
 * pool is slot i's; an even page is a guard, whose first half is taken as
 * past the end of the slot before it (blocks end at their page's end), its
 * second half as before the start of the slot after it. */
static void on_fault(void *address)
{
    if (!in_guard_pool(address))
        return;
    uintptr_t a = (uintptr_t)address, lo = load_relaxed(&guard_lo);
    size_t k = (a - lo) / gd.page, off = (a - lo) % gd.page, i;
    bool before = false;
    if (k % 2)
        i = (k - 1) / 2;
    else if (k > 0 && (off < gd.page / 2 || k == 2 * SLOTS))
        i = k / 2 - 1;
    else {
        i = k / 2;
        before = true;
    }
    slot s = gd.slots[i];
    if (s.state == SLOT_UNUSED) {
        misuse_lines("access to a guard page at", address, NULL);
        os_fatal();
    }
    text t = { .len = 0 };
    put_access(&t, "; the access at 0x", a, s.p);
    report(s.state == SLOT_FREED ? "use after free of" : before ? "underflow before the start of" : "overflow past the end of",
           &s, NULL, t.buf);
}

/* The pool, made once (under guard_lock); false if it cannot be. */
static bool pool(void)
{
    if (load_relaxed(&guard_lo) || gd.failed)
        return !gd.failed;
    gd.page = os_page_size();
    size_t len = (2 * SLOTS + 1) * gd.page;
    void *base = os_reserve(len);
    gd.failed = !base || !os_on_fault(on_fault);
    if (gd.failed)
        return false;
    store_relaxed(&guard_len, len);
    store_release(&guard_lo, (uintptr_t)base);
    return true;
}

/* The slot for a new block: unused, else freed longest ago; SLOTS if none. */
static size_t free_slot(void)
{
    size_t best = SLOTS;
    for (size_t i = 0; i < SLOTS; i++) {
        if (gd.slots[i].state == SLOT_UNUSED)
            return i;
        if (gd.slots[i].state == SLOT_FREED && (best == SLOTS || gd.slots[i].freed_at < gd.slots[best].freed_at))
            best = i;
    }
    return best;
}

void *guard_alloc(size_t n)
{
    void *frame[FRAMES];
    /* (A request the huge threshold sends to a mapping keeps its mapping:
     * mallopt's M_MMAP_THRESHOLD may put that below a page, and mallinfo
     * counts those blocks.) */
    if (n == 0 || n > os_page_size() || n > opt.huge_threshold || locks_held)
        return NULL;
    int depth = capture_stack(frame, FRAMES);
    lock(&guard_lock);
    size_t i = pool() ? free_slot() : SLOTS;
    char *mem = i < SLOTS ? slot_page(i) : NULL;
    if (!mem || !os_protect(mem, gd.page, true)) {
        unlock(&guard_lock);
        return NULL;
    }
    slot *s = &gd.slots[i];
    s->p = mem + gd.page - align_up(n, GRANULE); /* its end against the guard page */
    s->n = n;
    s->state = SLOT_LIVE;
    s->made_depth = depth;
    memcpy(s->made, frame, (size_t)depth * sizeof *frame);
    s->freed_depth = 0;
    gd.allocs++;
    memset(mem, CANARY_BYTE, (size_t)(s->p - mem));
    memset(s->p + n, CANARY_BYTE, (size_t)(mem + gd.page - s->p) - n);
    unlock(&guard_lock);
    return s->p;
}

/* The slot of live guarded block p (guard_lock held), or the misuse
 * reported, the lock let go first: a freed block's (`freed_what`), or an
 * invalid pointer. */
static slot *live_slot(void *p, const char *freed_what, const char *function)
{
    size_t k = ((uintptr_t)p - load_relaxed(&guard_lo)) / gd.page;
    slot *s = k % 2 ? &gd.slots[(k - 1) / 2] : NULL;
    if (s && s->p == p && s->state == SLOT_LIVE)
        return s;
    slot copy = s ? *s : (slot){ .state = SLOT_UNUSED };
    unlock(&guard_lock);
    if (copy.p == p && copy.state == SLOT_FREED)
        report(freed_what, &copy, function, "");
    fatal("invalid pointer", p, function);
}

/* The canary around s's block is whole (guard_lock held), or the write is
 * reported, the lock let go first. */
static void check_canary(slot *s, const char *function)
{
    char *mem = page_of_block(s->p);
    for (char *a = mem; a < mem + gd.page; a++) {
        if (a == s->p)
            a += s->n;
        if (a < mem + gd.page && (uint8_t)*a != CANARY_BYTE) {
            slot copy = *s;
            text t = { .len = 0 };
            put_access(&t, "; written at 0x", (uintptr_t)a, s->p);
            unlock(&guard_lock);
            report(a < s->p ? "underflow before the start of" : "overflow past the end of", &copy, function, t.buf);
        }
    }
}

void guard_free(void *p, const char *function)
{
    void *frame[FRAMES];
    int saved = errno;
    int depth = capture_stack(frame, FRAMES);
    lock(&guard_lock);
    slot *s = live_slot(p, "double free of", function);
    check_canary(s, function);
    s->state = SLOT_FREED;
    s->freed_at = ++gd.frees;
    s->freed_depth = depth;
    memcpy(s->freed, frame, (size_t)depth * sizeof *frame);
    os_protect(page_of_block(s->p), gd.page, false);
    os_purge(page_of_block(s->p), gd.page); /* its memory back: nothing may read it */
    unlock(&guard_lock);
    errno = saved;
}

void *guard_resize(void *p, size_t n, const char *function)
{
    lock(&guard_lock);
    slot *s = live_slot(p, "use of freed block", function);
    size_t keep = s->n;
    unlock(&guard_lock);
    return move_block(p, keep, n, function);
}

size_t guard_usable(void *p, const char *function)
{
    lock(&guard_lock);
    size_t n = live_slot(p, "use of freed block", function)->n;
    unlock(&guard_lock);
    return n;
}

void guard_sized(void *p, size_t size, const char *function)
{
    lock(&guard_lock);
    size_t n = live_slot(p, "double free of", function)->n;
    unlock(&guard_lock);
    if (size != n)
        fatal("wrong size for", p, function);
}

/* For the statistics: guarded blocks made and freed. */
void guard_counts(size_t *allocs, size_t *frees)
{
    lock(&guard_lock);
    *allocs = (size_t)gd.allocs;
    *frees = (size_t)gd.frees;
    unlock(&guard_lock);
}
