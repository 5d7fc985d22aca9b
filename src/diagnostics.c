/* src/diagnostics.c - the text formatter, the one fatal path (misuse) and the
 * one path for damaged metadata (corrupt). */

#include "internal.h"

/* ======================================================================== */
/* Diagnostics                                                              */
/* ======================================================================== */


void put_str(text *t, const char *s)
{
    while (*s && t->len < sizeof t->buf)
        t->buf[t->len++] = *s++;
}

void put_uint(text *t, unsigned long long v, unsigned base, int width)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (width-- > n && t->len < sizeof t->buf)
        t->buf[t->len++] = ' ';
    while (n > 0 && t->len < sizeof t->buf)
        t->buf[t->len++] = digits[--n];
}

/* End the line and write it to fd; a line longer than the buffer is cut
 * with "...", and keeps its newline. */
void put_line_to(text *t, int fd)
{
    if (t->len == sizeof t->buf) {
        t->len -= 4;
        put_str(t, "...");
    }
    put_str(t, "\n");
    os_write(fd, t->buf, t->len);
    t->len = 0;
}

void put_line(text *t)
{
    put_line_to(t, 2);
}

/* n in people's units: 1234567 is "1.2 M", or "1.2 MiB" for bytes. */
void put_human(text *t, size_t n, bool bytes)
{
    static const char *const units[2][5] = { { "", " k", " M", " G", " T" },
                                             { " B", " KiB", " MiB", " GiB", " TiB" } };
    size_t base = bytes ? 1024 : 1000, whole = n, tenths = 0;
    int u = 0;
    while (whole >= base && u < 4) {
        tenths = (whole % base) * 10 / base;
        whole /= base;
        u++;
    }
    put_uint(t, whole, 10, 0);
    if (u > 0 && whole < 100) {
        put_str(t, ".");
        put_uint(t, tenths, 10, 0);
    }
    put_str(t, units[bytes][u]);
}

/* Pad the line with spaces to column `col`. */
void put_column(text *t, size_t col)
{
    size_t start = t->len;
    while (start > 0 && t->buf[start - 1] != '\n')
        start--;
    while (t->len - start < col && t->len < sizeof t->buf)
        t->buf[t->len++] = ' ';
}

/* Which process a report is of: `pid N (program)`. */
void put_process(text *t)
{
    put_str(t, "pid ");
    put_uint(t, (unsigned long long)os_pid(), 10, 0);
    put_str(t, " (");
    put_str(t, os_program_name());
    put_str(t, ")");
}

/* A file name from a pattern: %p becomes the process id. */
void expand_pid(text *t, const char *pattern)
{
    for (const char *c = pattern; *c; c++) {
        if (c[0] == '%' && c[1] == 'p') {
            put_uint(t, (unsigned long long)os_pid(), 10, 0);
            c++;
        } else {
            char one[2] = { *c, 0 };
            put_str(t, one);
        }
    }
}

/* A report file for BIMP_STATS_FILE, BIMP_PROFILE_FILE or BIMP_DUMP_FILE:
 * the pattern with %p expanded, then `suffix`; created or truncated (or
 * with `append`, opened at its end).  Standard error, with a line that says
 * so, if it cannot be created.  The caller closes it (not 2). */
int create_report(const char *pattern, const char *suffix, bool append)
{
    text path = { .len = 0 };
    expand_pid(&path, pattern);
    put_str(&path, suffix);
    path.buf[path.len < sizeof path.buf ? path.len : sizeof path.buf - 1] = 0;
    int fd = os_create(path.buf, append);
    if (fd >= 0)
        return fd;
    text t = { .len = 0 };
    put_str(&t, "bimp: cannot create ");
    put_str(&t, path.buf);
    put_str(&t, ", writing to stderr instead");
    put_line(&t);
    return 2;
}

/* ` (in <function>)`: the function the program called, by the name it
 * called it (bimp_free in the prefixed library). */
static void put_function(text *t, const char *function)
{
    put_str(t, " (in ");
#ifdef BIMP_PREFIX
    if (strncmp(function, "bimp_", 5) != 0)
        put_str(t, "bimp_");
#endif
    put_str(t, function);
    put_str(t, ")");
}

/* A frame as people read it: its function's name where a symbol is known,
 * else `object+0xoffset`.  No spaces or ';' (folded stacks). */
void put_frame(text *t, void *pc)
{
    const char *symbol, *object;
    uintptr_t offset;
    os_symbol(pc, &symbol, &object, &offset);
    if (symbol) {
        put_str(t, symbol);
        return;
    }
    const char *base = object;
    for (const char *c = object; *c; c++)
        if (*c == '/')
            base = c + 1;
    put_str(t, base);
    put_str(t, "+0x");
    put_uint(t, offset, 16, 0);
}

/* A stack line, `bimp:   <label> <frame> <- <frame> ...`, from the
 * program's frame that called Bimp outwards (Bimp's own frames at its
 * start are skipped), named as the heap profile names frames.  Nothing if
 * only Bimp's frames are there. */
void put_stack(const char *label, void *const *frame, int depth)
{
    text t = { .len = 0 };
    int first = 0;
    while (first < depth && os_object_of(frame[first]) == os_object_of((void *)&put_stack))
        first++;
    if (first >= depth)
        return;
    put_str(&t, "bimp:   ");
    put_str(&t, label);
    put_str(&t, " ");
    for (int f = first; f < depth; f++) {
        put_str(&t, f > first ? " <- " : "");
        put_frame(&t, frame[f]);
    }
    put_line(&t);
}

/* The calling thread's stack, up to `max` frames, or 0 frames: while this
 * thread unwinds already, or holds a lock of Bimp's before the unwinder has
 * run once.  The first unwind allocates (glibc loads libgcc_s), at whatever
 * moment a report or a sample asks for it: those allocations, kept for the
 * life of the process, go aside (watch() sends them to huge_alloc, outside
 * the break), so that they pin no top of a heap. */
static ATOMIC(bool) unwinder_ready;
PER_THREAD bool unwinding;

/* Stacks taken before, by the stack address of capture_stack's frame and
 * its return address.  One is taken again only if it is the same: the
 * return address into each of its frames is still where it was on the
 * stack, read from the calling thread's own stack, frame by frame, as long
 * as they agree.  (libgcc's CFA of frame k is its callee's: the return
 * address into frame k lies just below it.)  The check mode takes two stacks
 * per block, and most come from a few places: glibc's unwinder costs about
 * 15,000 instructions a stack, the check a few dozen. */
#define CACHED_STACKS 256
#define CACHED_WAYS 8 /* stacks of one key (capture_stack's caller and place) */
#define CACHED_FRAMES 40
typedef struct {
    int depth;
    void *frame[CACHED_FRAMES];
    uintptr_t cfa[CACHED_FRAMES];
} cached_stack;
static cached_stack *stack_cache; /* CACHED_STACKS, mapped at the first */
static unsigned stack_cache_next;  /* the way the next stack goes to */
lock_t stack_cache_lock; /* held across fork, as every lock of Bimp's */

static size_t cache_set(uintptr_t cfa, const void *ret)
{
    return (size_t)((cfa ^ (uintptr_t)ret * 0x9e3779b1u) >> 4) % (CACHED_STACKS / CACHED_WAYS) * CACHED_WAYS;
}

/* The cached stack whose frame 2 (capture_stack's caller) is entered at
 * `ret` from capture_stack's frame at `cfa`, if the calling thread's stack
 * holds it still: its depth, copied to frame (up to max); else 0. */
static NOINLINE int from_cache(uintptr_t cfa, void *ret, void **frame, int max)
{
    int depth = 0;
    lock(&stack_cache_lock);
    for (size_t w = 0; stack_cache && w < CACHED_WAYS && !depth; w++) {
        cached_stack *c = &stack_cache[cache_set(cfa, ret) + w];
        if (c->depth <= 2 || c->depth > max || c->cfa[2] != cfa || c->frame[2] != ret)
            continue;
        int k = 2;
        while (k < c->depth && *(void **)(c->cfa[k] - sizeof(void *)) == c->frame[k])
            k++;
        if (k == c->depth) {
            depth = c->depth;
            memcpy(frame, c->frame, (size_t)depth * sizeof *frame);
        }
    }
    unlock(&stack_cache_lock);
    return depth;
}

static void to_cache(const void *const *frame, const uintptr_t *cfa, int depth)
{
    lock(&stack_cache_lock);
    if (!stack_cache)
        stack_cache = os_map(CACHED_STACKS * sizeof *stack_cache, os_page_size());
    if (stack_cache) {
        cached_stack *c = &stack_cache[cache_set(cfa[2], frame[2]) + stack_cache_next++ % CACHED_WAYS];
        c->depth = depth;
        memcpy(c->frame, frame, (size_t)depth * sizeof *frame);
        memcpy(c->cfa, cfa, (size_t)depth * sizeof *cfa);
    }
    unlock(&stack_cache_lock);
}

NOINLINE int capture_stack(void **frame, int max)
{
    if (unwinding || (locks_held && !load_relaxed(&unwinder_ready)))
        return 0;
    /* This frame's CFA: a frame pointer's frame is [saved rbp][return]. */
    uintptr_t here = (uintptr_t)__builtin_frame_address(0) + 2 * sizeof(void *);
    void *ret = __builtin_return_address(0);
    int depth = load_relaxed(&unwinder_ready) ? from_cache(here, ret, frame, max) : 0;
    if (depth)
        return depth;
    ptrdiff_t *countdown = my_countdown(), saved = *countdown;
    unwinding = true;
    *countdown = -1; /* every allocation meanwhile to watch(), which sends it aside */
    void *frames[CACHED_FRAMES];
    uintptr_t cfa[CACHED_FRAMES];
    int want = max < CACHED_FRAMES ? max : CACHED_FRAMES;
    depth = load_relaxed(&unwinder_ready) ? os_unwind(frames, cfa, want) : -1;
    if (depth > 2 && cfa[2] == here && frames[2] == ret) {
        memcpy(frame, frames, (size_t)depth * sizeof *frame);
        to_cache((const void *const *)frames, cfa, depth);
    } else {
        depth = os_backtrace(frame, max);
    }
    *countdown = saved;
    unwinding = false;
    store_relaxed(&unwinder_ready, true);
    return depth;
}

/* After a fatal line: `bimp:   at <frame> <- <frame> ...`, the stack of
 * the failing call; a line that says why if there is none (a failure
 * inside the unwinder, whose heap is damaged, gets none at all). */
static void put_call_stack(void)
{
    void *frame[32];
    int depth = capture_stack(frame, 32);
    if (depth == 0 && locks_held && !load_relaxed(&unwinder_ready)) {
        text t = { .len = 0 };
        put_str(&t, "bimp:   (no call stack: the unwinder is not loaded yet, and a lock is held)");
        put_line(&t);
        return;
    }
    put_stack("at", frame, depth);
}

/* A misuse's first lines: `bimp: <what> <pointer> (in <function>)` and the
 * call stack; no `(in ...)` with function NULL (a fault in the program). */
void misuse_lines(const char *what, const void *p, const char *function)
{
    text t = { .len = 0 };
    put_str(&t, "bimp: ");
    put_str(&t, what);
    put_str(&t, " 0x");
    put_uint(&t, (uintptr_t)p, 16, 0);
    if (function)
        put_function(&t, function);
    put_line(&t);
    put_call_stack();
}

/* The one fatal path: the misuse's lines, then abort. */
COLD _Noreturn void fatal(const char *what, const void *p, const char *function)
{
    misuse_lines(what, p, function);
    os_fatal();
}


/* The one path for damaged metadata: `bimp: heap corruption at <block>
 * (in <function>): <why>` and the call stack, then abort.  `function` may be NULL where the
 * check sits below every entry point (merging, bins). */
COLD _Noreturn void corrupt(const void *block_at, const char *why, const char *function)
{
    text t = { .len = 0 };
    put_str(&t, "bimp: heap corruption at 0x");
    put_uint(&t, (uintptr_t)block_at + HEADER, 16, 0);
    if (function)
        put_function(&t, function);
    put_str(&t, ": ");
    put_str(&t, why);
    put_line(&t);
    put_call_stack();
    os_fatal();
}



/* A JSON string: quotes, backslashes and control characters escaped. */
void put_json_str(text *t, const char *s)
{
    put_str(t, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char two[3] = { '\\', (char)c, 0 };
            put_str(t, two);
        } else if (c < 0x20) {
            put_str(t, "\\u00");
            put_uint(t, c >> 4, 16, 0);
            put_uint(t, c & 15, 16, 0);
        } else {
            char one[2] = { (char)c, 0 };
            put_str(t, one);
        }
    }
    put_str(t, "\"");
}

