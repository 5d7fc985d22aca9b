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

/* What a stack's samples add up to: the bytes and blocks they stand for
 * (each sample weighted by the inverse of its chance of being sampled;
 * blocks in 1/1024ths), and the samples and their requested bytes as they
 * are (what pprof-style tools read, and scale themselves). */
typedef struct {
    size_t bytes, blocks_1024, samples, sampled_bytes;
} tally;

typedef struct {
    uint64_t hash;
    uint32_t depth;
    void *frame[PROFILE_FRAMES];
    tally live, below, total; /* in use; freed below a top; ever sampled */
} profile_stack;

/* One sampled block: its stack and its share of the tallies. */
typedef struct {
    void *p;
    uint32_t stack;
    tally one;
} profile_sample;

lock_t profile_lock;
static struct {
    profile_stack *stacks;           /* PROFILE_STACKS, mapped at the first sample */
    profile_sample *samples;         /* PROFILE_SAMPLES, open addressing by p */
    size_t dropped;                  /* samples not kept: the tables were full */
} prof;

/* One allocation in about every BIMP_PROFILE_RATE bytes is sampled: malloc
 * counts the requested bytes down (src/watch.c), and the allocation that
 * crosses the next interval records its call stack.  The intervals are drawn from an exponential distribution, so every byte has
 * the same chance to be sampled, whatever the size of its block.  A sampled
 * block carries B_SAMPLED, so that its free tells the profile whether it was
 * freed below a top; the report at exit (or bimp_profile_dump) gives the
 * bytes still live and the bytes freed below a top by call stack, as text,
 * in the folded format of flame-graph tools and in pprof's heap format. */
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

/* An interval in bytes, exponential with the given mean (the profile's
 * and guard sampling's), from a generator of the thread's own, which
 * starts from the seed and the thread. */
static ATOMIC(uint64_t) interval_seed;

ptrdiff_t draw_interval(size_t mean)
{
    static PER_THREAD uint64_t rng;
    if (!rng)
        rng = load_relaxed(&interval_seed) ^ (uint64_t)(uintptr_t)&rng;
    uint64_t x = rng += 0x9e3779b97f4a7c15u; /* splitmix64 */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    x ^= x >> 31;
    double u = ((double)(x >> 11) + 1) / 9007199254740992.0;
    double bytes = neg_log(u) * (double)mean;
    return bytes < 1 ? 1 : bytes > 1e15 ? (ptrdiff_t)1e15 : (ptrdiff_t)bytes;
}

/* Intervals differ from run to run from here on (threads that have drawn
 * none yet). */
void seed_intervals(uint64_t seed)
{
    store_relaxed(&interval_seed, seed);
}

/* The next interval of the profile, in bytes. */
ptrdiff_t next_interval(void)
{
    return opt.profile ? draw_interval(opt.profile_rate) : PTRDIFF_MAX;
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

static void tally_add(tally *to, const tally *one, int sign)
{
    to->bytes += (size_t)sign * one->bytes;
    to->blocks_1024 += (size_t)sign * one->blocks_1024;
    to->samples += (size_t)sign * one->samples;
    to->sampled_bytes += (size_t)sign * one->sampled_bytes;
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
    void *frame[PROFILE_FRAMES];
    int depth = capture_stack(frame, PROFILE_FRAMES);
    int first = 0; /* Bimp's own frames (malloc, sampling) are not kept */
    while (first < depth && os_object_of(frame[first]) == os_object_of((void *)&profile_record))
        first++;
    depth -= first;
    memmove(frame, frame + first, (size_t)(depth > 0 ? depth : 0) * sizeof *frame);
    if (depth <= 0)
        return;
    double share = sampled_share((double)(n ? n : 1) / (double)opt.profile_rate);
    tally one = { .bytes = (size_t)((double)(n ? n : 1) / share), .blocks_1024 = (size_t)(1024 / share),
                  .samples = 1, .sampled_bytes = n };
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
        prof.samples[i].one = one;
        tally_add(&prof.stacks[s].live, &one, 1);
        tally_add(&prof.stacks[s].total, &one, 1);
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
        tally_add(&s->live, &prof.samples[i].one, -1);
        if (below)
            tally_add(&s->below, &prof.samples[i].one, 1);
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

/* The tally of stack s that a report is of: live, or freed below a top. */
static const tally *of(const profile_stack *s, bool below)
{
    return below ? &s->below : &s->live;
}

/* The `top` stacks with the most bytes of `below` (or live) bytes, largest first. */
static int top_stacks(uint32_t *out, int top, bool below)
{
    int n = 0;
    for (uint32_t i = 0; prof.stacks && i < PROFILE_STACKS; i++) {
        size_t v = of(&prof.stacks[i], below)->bytes;
        if (!prof.stacks[i].depth || !v)
            continue;
        int at = n < top ? n++ : top;
        while (at > 0 && of(&prof.stacks[out[at - 1]], below)->bytes < v) {
            if (at < top)
                out[at] = out[at - 1];
            at--;
        }
        if (at < top)
            out[at] = i;
    }
    return n;
}

/* The text table: bytes, share, blocks, and the innermost frames. */
static void profile_table(int fd, bool below)
{
    uint32_t top[10];
    int n = top_stacks(top, 10, below);
    tally total = { 0 };
    for (uint32_t i = 0; prof.stacks && i < PROFILE_STACKS; i++)
        tally_add(&total, of(&prof.stacks[i], below), 1);
    text t = { .len = 0 };
    put_str(&t, below ? "bimp: freed below a top (where the program is not stack-shaped), by call stack: "
                      : "bimp: live now (at exit: never freed), by call stack: ");
    put_human(&t, total.bytes, true);
    put_str(&t, " in ");
    put_human(&t, total.blocks_1024 / 1024, false);
    put_str(&t, " blocks");
    put_line_to(&t, fd);
    for (int k = 0; k < n; k++) {
        const profile_stack *s = &prof.stacks[top[k]];
        const tally *v = of(s, below);
        put_str(&t, "bimp:   ");
        put_human(&t, v->bytes, true);
        put_column(&t, 20);
        put_uint(&t, total.bytes ? v->bytes * 100 / total.bytes : 0, 10, 3);
        put_str(&t, "%  ");
        put_human(&t, v->blocks_1024 / 1024, false);
        put_str(&t, " blocks");
        put_column(&t, 44);
        for (int f = 0; f < (int)s->depth && f < 6; f++) {
            put_str(&t, f ? " <- " : "");
            put_frame(&t, s->frame[f]);
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
        if (!s->depth || !of(s, below)->bytes)
            continue;
        text t = { .len = 0 };
        for (int f = (int)s->depth - 1; f >= 0; f--) {
            put_frame(&t, s->frame[f]);
            put_str(&t, f ? ";" : " ");
        }
        put_uint(&t, of(s, below)->bytes, 10, 0);
        put_line_to(&t, fd);
    }
    unlock(&profile_lock);
}

/* One count pair of the pprof heap format: `samples: bytes`. */
static void put_pair(text *t, const tally *v)
{
    put_uint(t, v->samples, 10, 8);
    put_str(t, ": ");
    put_uint(t, v->sampled_bytes, 10, 8);
}

/* The profile in the heap format of gperftools, which jeprof (jemalloc)
 * and google-pprof (gperftools) read: `heap_v2/RATE` tells them to scale
 * each stack's samples by the chance of sampling them (as Bimp does for its
 * text), the in-use columns are the live samples (or, with `below`, the
 * samples freed below a top), the allocated columns every sample taken,
 * and the process's mappings follow, for the tools to find the code of
 * each address. */
void profile_pprof(int fd, bool below)
{
    lock(&profile_lock);
    tally in_use = { 0 }, total = { 0 };
    for (uint32_t i = 0; prof.stacks && i < PROFILE_STACKS; i++) {
        tally_add(&in_use, of(&prof.stacks[i], below), 1);
        tally_add(&total, &prof.stacks[i].total, 1);
    }
    text t = { .len = 0 };
    put_str(&t, "heap profile: ");
    put_pair(&t, &in_use);
    put_str(&t, " [");
    put_pair(&t, &total);
    put_str(&t, "] @ heap_v2/");
    put_uint(&t, opt.profile_rate, 10, 0);
    put_line_to(&t, fd);
    for (uint32_t i = 0; prof.stacks && i < PROFILE_STACKS; i++) {
        const profile_stack *s = &prof.stacks[i];
        if (!s->depth || !s->total.samples)
            continue;
        put_pair(&t, of(s, below));
        put_str(&t, " [");
        put_pair(&t, &s->total);
        put_str(&t, "] @");
        /* The tools take the first address as a pc and step the others
         * back into their call instructions: step the first back too,
         * as it is a return address, so --lines names the call's line. */
        for (uint32_t f = 0; f < s->depth; f++) {
            put_str(&t, " 0x");
            put_uint(&t, (uintptr_t)s->frame[f] - (f == 0), 16, 0);
        }
        put_line_to(&t, fd);
    }
    unlock(&profile_lock);
    put_str(&t, "\nMAPPED_LIBRARIES:");
    put_line_to(&t, fd);
    os_write_maps(fd);
}

/* The profile's files: the text report at `pattern` (%p: the pid), and
 * beside it PATTERN.heap and PATTERN.below.heap (pprof's heap format),
 * PATTERN.live.folded and PATTERN.below.folded (flame graphs). */
void profile_files(const char *pattern)
{
    static const char *const suffix[5] = { "", ".heap", ".below.heap", ".live.folded", ".below.folded" };
    for (int k = 0; k < 5; k++) {
        int fd = create_report(pattern, suffix[k], false);
        if (k == 0)
            profile_dump(fd);
        else if (fd != 2 && k < 3) /* the rest go to their own files only */
            profile_pprof(fd, k == 2);
        else if (fd != 2)
            profile_folded(fd, k == 4);
        if (fd != 2)
            os_close(fd);
    }
}

/* BIMP_PROFILE at exit: the files beside BIMP_PROFILE_FILE, or the text
 * report on standard error. */
void profile_at_exit(void)
{
    if (opt.profile_file[0])
        profile_files(opt.profile_file);
    else
        profile_dump(2);
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

