/* src/profile.c - the heap profile (BIMP_PROFILE): sampling, call stacks,
 * reports. */

#include "internal.h"

/* ======================================================================== */
/* Heap profile (BIMP_PROFILE)                                              */
/* ======================================================================== */

/* The heap profile's tables. */
#define PROFILE_FRAMES 24
#define PROFILE_STACKS 4096          /* distinct stacks kept; later ones count as "other" */
#define PROFILE_SAMPLES (1u << 16)   /* sampled blocks live at once, at most */

typedef struct {
    uint64_t hash;
    uint32_t depth;
    void *frame[PROFILE_FRAMES];
    size_t live_bytes, live_samples, below_bytes, below_samples;
} profile_stack;

lock_t profile_lock;
static struct {
    profile_stack *stacks;           /* PROFILE_STACKS, mapped at the first sample */
    struct { void *p; uint32_t stack; size_t weight; } *samples; /* open addressing by p */
    size_t dropped;                  /* samples not kept: the tables were full */
    uint64_t rng;
} prof;

/* One allocation in about every BIMP_PROFILE_RATE bytes is sampled: malloc
 * counts the requested bytes down (mine.countdown; a few instructions, and
 * all of it when the profile is off, which sets the countdown out of reach),
 * and the allocation that crosses zero records its call stack.  The
 * intervals are drawn from an exponential distribution, so every byte has
 * the same chance to be sampled, whatever the size of its block.  A sampled
 * block carries B_SAMPLED, so that its free tells the profile whether it was
 * freed below a top; the report at exit (or bimp_profile_dump) gives the
 * bytes still live and the bytes freed below a top by call stack, as text
 * and in the folded format of flame-graph tools. */
/* -ln(u) for u in (0, 1], without libm: u = m 2^e, ln m by its atanh series. */
static double neg_log(double u)
{
    int e = 0;
    while (u < 1) {
        u *= 2;
        e--;
    }
    double y = (u - 1) / (u + 1), y2 = y * y, term = y, sum = 0;
    for (int k = 1; k < 40; k += 2, term *= y2)
        sum += term / k;
    return -(2 * sum + e * 0.6931471805599453);
}

/* 1 - e^-x for x >= 0: the chance that a block of x intervals' bytes is sampled. */
static double sampled_share(double x)
{
    if (x > 40)
        return 1;
    int halvings = 0;
    while (x > 0.5) {
        x /= 2;
        halvings++;
    }
    double e = 1, term = 1; /* e^-x by its series, then squared back */
    for (int k = 1; k < 20; k++) {
        term *= -x / k;
        e += term;
    }
    while (halvings-- > 0)
        e *= e;
    return 1 - e;
}

/* The next interval, in bytes: exponential with mean opt.profile_rate. */
ptrdiff_t next_interval(void)
{
    if (!opt.profile)
        return PTRDIFF_MAX;
    uint64_t x = prof.rng += 0x9e3779b97f4a7c15u; /* splitmix64: racy between threads, harmless */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    x ^= x >> 31;
    double u = ((double)(x >> 11) + 1) / 9007199254740992.0;
    double bytes = neg_log(u) * (double)opt.profile_rate;
    return bytes < 1 ? 1 : bytes > 1e15 ? (ptrdiff_t)1e15 : (ptrdiff_t)bytes;
}

/* The stack of this sample, found or added; PROFILE_STACKS if the table is full. */
static uint32_t stack_index(void **frame, int depth)
{
    uint64_t hash = 1469598103934665603u;
    for (int i = 0; i < depth; i++)
        hash = (hash ^ (uint64_t)(uintptr_t)frame[i]) * 1099511628211u;
    for (uint32_t k = 0, i = (uint32_t)hash % PROFILE_STACKS; k < PROFILE_STACKS;
         k++, i = (i + 1) % PROFILE_STACKS) {
        profile_stack *s = &prof.stacks[i];
        if (s->depth == 0) {
            s->hash = hash;
            s->depth = (uint32_t)depth;
            memcpy(s->frame, frame, (size_t)depth * sizeof *frame);
            return i;
        }
        if (s->hash == hash && s->depth == (uint32_t)depth &&
            memcmp(s->frame, frame, (size_t)depth * sizeof *frame) == 0)
            return i;
    }
    return PROFILE_STACKS;
}

static inline uint32_t sample_slot(const void *p)
{
    return (uint32_t)(((uintptr_t)p >> 4) * 0x9e3779b1u) % PROFILE_SAMPLES;
}

/* Record block p, n bytes, as a sample: its stack (captured here, with no
 * lock held: the unwinder may allocate) and its weight, the bytes it stands
 * for (n divided by its chance of being sampled). */
void profile_record(void *p, size_t n)
{
    /* The unwinder's own allocations (libgcc is loaded at its first use)
     * are not sampled: unwinding from inside it aborts. */
    static PER_THREAD bool unwinding;
    if (unwinding)
        return;
    void *frame[PROFILE_FRAMES];
    unwinding = true;
    int depth = os_backtrace(frame, PROFILE_FRAMES);
    unwinding = false;
    int first = 0; /* Bimp's own frames (malloc, sampling) are not kept */
    while (first < depth && os_object_of(frame[first]) == os_object_of((void *)&profile_record))
        first++;
    depth -= first;
    memmove(frame, frame + first, (size_t)(depth > 0 ? depth : 0) * sizeof *frame);
    if (depth <= 0)
        return;
    size_t weight = (size_t)((double)(n ? n : 1) / sampled_share((double)(n ? n : 1) / (double)opt.profile_rate));
    lock(&profile_lock);
    if (!prof.stacks) {
        prof.stacks = os_map(PROFILE_STACKS * sizeof *prof.stacks, os_page_size());
        prof.samples = os_map(PROFILE_SAMPLES * sizeof *prof.samples, os_page_size());
    }
    uint32_t s = prof.stacks && prof.samples ? stack_index(frame, depth) : PROFILE_STACKS;
    uint32_t i = sample_slot(p), k = 0;
    while (s < PROFILE_STACKS && prof.samples[i].p && k++ < PROFILE_SAMPLES)
        i = (i + 1) % PROFILE_SAMPLES;
    if (s == PROFILE_STACKS || k >= PROFILE_SAMPLES) {
        prof.dropped++;
    } else {
        prof.samples[i].p = p;
        prof.samples[i].stack = s;
        prof.samples[i].weight = weight;
        prof.stacks[s].live_bytes += weight;
        prof.stacks[s].live_samples++;
        fetch_or(&header_of(p)->info, B_SAMPLED);
    }
    unlock(&profile_lock);
}

/* Sampled block b is freed (below a top if `below`) or resized: the profile
 * lets it go.  Returns its info without B_SAMPLED.  A block marked sampled
 * that the profile does not hold had its header overwritten. */
uint32_t unsample(block *b, bool below)
{
    void *p = payload_of(b);
    bool found = false;
    lock(&profile_lock);
    for (uint32_t i = sample_slot(p), k = 0; prof.samples && prof.samples[i].p && k < PROFILE_SAMPLES;
         i = (i + 1) % PROFILE_SAMPLES, k++) {
        if (prof.samples[i].p != p)
            continue;
        profile_stack *s = &prof.stacks[prof.samples[i].stack];
        found = true;
        s->live_bytes -= prof.samples[i].weight;
        s->live_samples--;
        if (below) {
            s->below_bytes += prof.samples[i].weight;
            s->below_samples++;
        }
        /* Take it out, and move back what follows it in its run (open addressing). */
        uint32_t hole = i;
        for (uint32_t j = (i + 1) % PROFILE_SAMPLES; prof.samples[j].p; j = (j + 1) % PROFILE_SAMPLES) {
            uint32_t home = sample_slot(prof.samples[j].p);
            if ((j > hole && (home <= hole || home > j)) || (j < hole && home <= hole && home > j)) {
                prof.samples[hole] = prof.samples[j];
                hole = j;
            }
        }
        prof.samples[hole].p = NULL;
        break;
    }
    unlock(&profile_lock);
    if (!found)
        corrupt(b, OVERWRITTEN_HEADER, NULL);
    return fetch_and(&b->info, ~B_SAMPLED) & ~B_SAMPLED;
}

/* The allocation that crossed the countdown: a new interval, then the
 * allocation itself, then (if the profile is on) its sample. */

/* A frame as people read it: `symbol+0xoffset (object)`, or the object
 * and offset when the symbol is not exported.  `folded`: no spaces or ';'. */
static void put_frame(text *t, void *pc, bool folded)
{
    const char *symbol, *object;
    uintptr_t offset;
    os_symbol(pc, &symbol, &object, &offset);
    const char *base = object;
    for (const char *c = object; *c; c++)
        if (*c == '/')
            base = c + 1;
    put_str(t, symbol ? symbol : base);
    put_str(t, "+0x");
    put_uint(t, offset, 16, 0);
    if (!folded && symbol) {
        put_str(t, " (");
        put_str(t, base);
        put_str(t, ")");
    }
}

/* The `top` stacks with the most bytes of `below` (or live) bytes, largest first. */
static int top_stacks(uint32_t *out, int top, bool below)
{
    int n = 0;
    for (uint32_t i = 0; prof.stacks && i < PROFILE_STACKS; i++) {
        size_t v = below ? prof.stacks[i].below_bytes : prof.stacks[i].live_bytes;
        if (!prof.stacks[i].depth || !v)
            continue;
        int at = n < top ? n++ : top;
        while (at > 0) {
            const profile_stack *o = &prof.stacks[out[at - 1]];
            if ((below ? o->below_bytes : o->live_bytes) >= v)
                break;
            if (at < top)
                out[at] = out[at - 1];
            at--;
        }
        if (at < top)
            out[at] = i;
    }
    return n;
}

static void profile_table(int fd, bool below)
{
    uint32_t top[10];
    int n = top_stacks(top, 10, below);
    size_t total = 0;
    for (uint32_t i = 0; prof.stacks && i < PROFILE_STACKS; i++)
        total += below ? prof.stacks[i].below_bytes : prof.stacks[i].live_bytes;
    text t = { .len = 0 };
    put_str(&t, below ? "bimp: freed below a top (where the program is not stack-shaped), by call stack: "
                      : "bimp: live now (at exit: never freed), by call stack: ");
    put_human(&t, total, true);
    put_line_to(&t, fd);
    for (int k = 0; k < n; k++) {
        const profile_stack *s = &prof.stacks[top[k]];
        size_t v = below ? s->below_bytes : s->live_bytes;
        put_str(&t, "bimp:   ");
        put_human(&t, v, true);
        put_column(&t, 20);
        put_uint(&t, total ? v * 100 / total : 0, 10, 3);
        put_str(&t, "%  ");
        for (int f = 0; f < (int)s->depth && f < 4; f++) {
            put_str(&t, f ? " <- " : "");
            put_frame(&t, s->frame[f], false);
        }
        put_line_to(&t, fd);
    }
}

/* The text report: a header, the live bytes and the bytes freed below a
 * top by call stack (the ten largest of each). */
void profile_dump(int fd)
{
    lock(&profile_lock);
    text t = { .len = 0 };
    put_str(&t, "bimp " BIMP_VERSION ": heap profile of ");
    put_process(&t);
    put_str(&t, ", one sample per ");
    put_human(&t, opt.profile_rate, true);
    put_str(&t, " allocated on average");
    if (prof.dropped) {
        put_str(&t, ", ");
        put_uint(&t, prof.dropped, 10, 0);
        put_str(&t, " samples dropped (tables full)");
    }
    put_line_to(&t, fd);
    profile_table(fd, false);
    profile_table(fd, true);
    unlock(&profile_lock);
}

/* Folded stacks, for flame graphs: `outermost;...;innermost bytes`, one
 * line per stack with live bytes (or bytes freed below a top). */
void profile_folded(int fd, bool below)
{
    lock(&profile_lock);
    for (uint32_t i = 0; prof.stacks && i < PROFILE_STACKS; i++) {
        const profile_stack *s = &prof.stacks[i];
        size_t v = below ? s->below_bytes : s->live_bytes;
        if (!s->depth || !v)
            continue;
        text t = { .len = 0 };
        for (int f = (int)s->depth - 1; f >= 0; f--) {
            put_frame(&t, s->frame[f], true);
            put_str(&t, f ? ";" : " ");
        }
        put_uint(&t, v, 10, 0);
        put_line_to(&t, fd);
    }
    unlock(&profile_lock);
}

/* BIMP_PROFILE at exit: the text report to BIMP_PROFILE_FILE (%p: the pid)
 * or stderr, and beside the file NAME.live.folded and NAME.below.folded. */
void profile_at_exit(void)
{
    if (!opt.profile_file[0]) {
        profile_dump(2);
        return;
    }
    static const char *const suffix[3] = { "", ".live.folded", ".below.folded" };
    for (int k = 0; k < 3; k++) {
        int fd = create_report(opt.profile_file, suffix[k]);
        if (k == 0)
            profile_dump(fd);
        else if (fd != 2) /* folded stacks go to their file only */
            profile_folded(fd, k == 2);
        if (fd != 2)
            os_close(fd);
    }
}

EXPORT void bimp_profile_dump(int fd)
{
    int saved = errno;
    profile_dump(fd);
    errno = saved;
}

EXPORT void bimp_profile_folded(int fd, int below)
{
    int saved = errno;
    profile_folded(fd, below != 0);
    errno = saved;
}

