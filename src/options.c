/* src/options.c - the option table (every BIMP_* variable), reading it from
 * the environment, the start-up banner, and mallopt. */

#include "internal.h"

/* ======================================================================== */
/* Options                                                                  */
/* ======================================================================== */

/* The values (their list: OPTIONS, src/options.h), with their defaults. */
#define OPTION_INITIAL(field, variable, initial, min, max, unit, meaning) .field = initial,
#define OPTION_NO_INITIAL(field, variable, meaning)
struct options opt = { OPTIONS(OPTION_INITIAL, OPTION_NO_INITIAL) };

void set_huge_threshold(size_t bytes)
{
    opt.huge_threshold = bytes < SMALL_MAX ? SMALL_MAX : bytes > HUGE_THRESHOLD_MAX ? HUGE_THRESHOLD_MAX : bytes;
}

static const char *const show_stats_words[] = { "0", "text", "json", NULL };

static const struct option {
    const char *name;
    size_t *value;       /* a number (parse_size), from min to max ... */
    size_t min, max;
    bool bytes;          /* a number of bytes: k, M and G are offered */
    const char *meaning;
    const char *const *words; /* ... or, if not NULL, words[v] also means v */
    char *text;          /* a string option instead: copied here (OPTION_TEXT_MAX bytes) */
} options[] = {
#define OPTION_ROW(field, variable, initial, min_, max_, unit, meaning_)                                 \
    { .name = variable, .value = &opt.field, .min = min_, .max = max_, .bytes = unit == OPT_BYTES,        \
      .words = unit == OPT_STATS_WORDS ? show_stats_words : NULL, .meaning = meaning_ },
#define OPTION_TEXT_ROW(field, variable, meaning_) { .name = variable, .text = opt.field, .meaning = meaning_ },
    OPTIONS(OPTION_ROW, OPTION_TEXT_ROW)
};

#define OPTION_COUNT (sizeof options / sizeof options[0])

/* A decimal number with an optional k, M or G suffix (powers of 1024). */
static bool parse_size(const char *v, size_t *out)
{
    size_t n = 0, scale = 1;
    if (*v < '0' || *v > '9')
        return false;
    for (; *v >= '0' && *v <= '9'; v++) {
        if (n > (SIZE_MAX - 9) / 10)
            return false;
        n = n * 10 + (size_t)(*v - '0');
    }
    switch (*v) {
    case 'k': case 'K': scale = (size_t)1 << 10; v++; break;
    case 'm': case 'M': scale = (size_t)1 << 20; v++; break;
    case 'g': case 'G': scale = (size_t)1 << 30; v++; break;
    }
    if (*v || n > SIZE_MAX / scale)
        return false;
    *out = n * scale;
    return true;
}

/* The edit distance of two names, at most 3 counted (more is "far"). */
static unsigned name_distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b);
    unsigned row[40], next[40];
    if (la >= 40 || lb >= 40)
        return 4;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        next[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned sub = row[j - 1] + (a[i - 1] != b[j - 1]);
            unsigned del = row[j] + 1, ins = next[j - 1] + 1;
            next[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(row, next, sizeof row);
    }
    return row[lb] < 4 ? row[lb] : 4;
}

/* The option whose name entry's ("NAME=value") is closest to: differing
 * in case or by at most two edits; NULL if none is. */
static const char *closest_option(const char *entry)
{
    size_t len = strcspn(entry, "=");
    const char *best = NULL;
    unsigned best_distance = 3;
    for (size_t k = 0; k < OPTION_COUNT; k++) {
        unsigned d = strncasecmp(entry, options[k].name, len) == 0 && !options[k].name[len]
                         ? 0 : name_distance(entry, len, options[k].name);
        if (d < best_distance)
            best = options[k].name, best_distance = d;
    }
    return best;
}

/* The option entry ("NAME=value") sets, or NULL. */
static const struct option *option_of(const char *entry)
{
    for (size_t k = 0; k < OPTION_COUNT; k++) {
        size_t len = strlen(options[k].name);
        if (strncmp(entry, options[k].name, len) == 0 && entry[len] == '=')
            return &options[k];
    }
    return NULL;
}

enum option_fault { NOT_AN_OPTION, TOO_LONG, NOT_A_NUMBER, OUT_OF_RANGE };

/* One warning line: the variable, why it is ignored, and what is accepted. */
static void warn_option(const char *entry, const struct option *o, enum option_fault why)
{
    text t = { .len = 0 };
    put_str(&t, "bimp: ignoring ");
    put_str(&t, entry);
    if (why == NOT_AN_OPTION) {
        const char *best = closest_option(entry);
        put_str(&t, ": not an option of Bimp");
        if (best) {
            put_str(&t, " (did you mean ");
            put_str(&t, best);
            put_str(&t, "?)");
        }
    } else if (why == TOO_LONG) {
        put_str(&t, ": longer than 255 bytes, default kept");
    } else {
        put_str(&t, why == NOT_A_NUMBER ? ": not a number; " : ": out of range; ");
        if (o->max == 1) {
            put_str(&t, "0 (off) or 1 (on)");
        } else {
            put_str(&t, "from ");
            put_uint(&t, o->min, 10, 0);
            put_str(&t, " to ");
            put_uint(&t, o->max, 10, 0);
            put_str(&t, o->bytes ? " (k, M, G: powers of 1024)" : "");
        }
        for (size_t w = 1; o->words && o->words[w]; w++) {
            put_str(&t, o->words[w + 1] ? ", " : " or ");
            put_str(&t, o->words[w]);
        }
        put_str(&t, ", default kept");
    }
    put_line(&t);
}

/* Read every BIMP_ variable once the environment exists; a value that does
 * not parse gets one warning line.  A BIMP_ name that is no option gets
 * one only if it is close to an option's (a typo), or BIMP_VERBOSE is set:
 * a build system or test runner may export BIMP_ variables of its own, and
 * every process it starts would print the line. */
static void read_options(void)
{
    int ready = 0;
    const char *entry;
    bool unknown = false, show_stats_set = false, profile_set = false;
    for (size_t i = 0; (entry = os_environ(i, &ready)); i++) {
        if (strncmp(entry, "BIMP_", 5) != 0)
            continue;
        const struct option *o = option_of(entry);
        unknown |= !o;
        if (!o)
            continue;
        const char *v = entry + strlen(o->name) + 1;
        size_t value = SIZE_MAX;
        for (size_t w = 0; o->words && o->words[w]; w++)
            if (strcmp(v, o->words[w]) == 0)
                value = w;
        if (o->text && strlen(v) >= OPTION_TEXT_MAX)
            warn_option(entry, o, TOO_LONG);
        else if (o->text)
            memcpy(o->text, v, strlen(v) + 1);
        else if (value == SIZE_MAX && !parse_size(v, &value))
            warn_option(entry, o, NOT_A_NUMBER);
        else if (value < o->min || value > o->max)
            warn_option(entry, o, OUT_OF_RANGE);
        else {
            *o->value = value;
            opt.pool_keep_set |= o->value == &opt.pool_keep_bytes;
            show_stats_set |= o->value == &opt.show_stats;
            profile_set |= o->value == &opt.profile;
        }
    }
    /* A file named for the statistics or the profile, and nothing said of
     * them: they are wanted (text statistics, the profile on). */
    if (opt.stats_file[0] && !show_stats_set)
        opt.show_stats = STATS_TEXT;
    if (opt.profile_file[0] && !profile_set)
        opt.profile = 1;
    for (size_t i = 0; unknown && (entry = os_environ(i, &ready)); i++) /* once BIMP_VERBOSE is known */
        if (strncmp(entry, "BIMP_", 5) == 0 && !option_of(entry) && (opt.verbose || closest_option(entry)))
            warn_option(entry, NULL, NOT_AN_OPTION);
    set_huge_threshold(opt.huge_threshold); /* BIMP_MMAP_THRESHOLD's floor */
    if (opt.check && (opt.profile || opt.guard_rate)) {
        /* The check mode follows every block: the profile's samples and
         * guarded blocks would be blocks it does not follow. */
        if (opt.profile) {
            text t = { .len = 0 };
            put_str(&t, "bimp: BIMP_CHECK=1: the heap profile is off");
            put_line(&t);
        }
        opt.profile = 0;
        opt.guard_rate = 0;
    }
    store_relaxed(&g.options_read, ready);
}

static void print_options(void)
{
    text t = { .len = 0 };
    put_str(&t, "bimp " BIMP_VERSION ": loaded; align ");
    put_uint(&t, GRANULE, 10, 0);
    put_str(&t, ", chunk ");
    put_human(&t, CHUNK, true);
    if (!THREADED)
        put_str(&t, ", single-threaded");
#ifdef BIMP_SET_ERRNO
    put_str(&t, ", BIMP_SET_ERRNO");
#endif
#ifdef BIMP_DEBUG
    put_str(&t, ", debug checks");
#endif
#ifdef BIMP_PREFIX
    put_str(&t, "; prefixed build: bimp_malloc and the rest, malloc itself is not replaced");
#endif
    put_line(&t);
    for (size_t k = 0; k < OPTION_COUNT; k++) {
        put_str(&t, "bimp: ");
        put_str(&t, options[k].name);
        put_column(&t, 28);
        put_str(&t, "= ");
        if (options[k].text)
            put_str(&t, options[k].text[0] ? options[k].text : "(unset)");
        else
            put_uint(&t, *options[k].value, 10, 0);
        put_str(&t, " ");
        put_column(&t, 42);
        put_str(&t, options[k].meaning);
        put_line(&t);
    }
}


/* Options are read once the environment exists: at the first allocation,
 * or, if that came too early in start-up, at the first slow path after. */
NOINLINE void take_options(void)
{
    lock(&g.lock);
    bool first = !load_relaxed(&g.options_read);
    if (first)
        read_options();
    first &= load_relaxed(&g.options_read) != 0;
    unlock(&g.lock);
    if (first && opt.verbose)
        print_options();
    if (first)
        watch_start();
}

/* Options are read, and BIMP_VERBOSE's banner printed, when the library is
 * loaded, also in a program that never allocates; an allocation that comes
 * earlier (another library's constructor) reads them first. */
static CONSTRUCTOR void options_at_load(void)
{
    if (!load_relaxed(&g.options_read))
        take_options();
}

/* The options in force as the members of a JSON object: "NAME": value, ...
 * (what fills t is written to fd as it goes). */
void put_options_json(text *t, int fd)
{
    for (size_t k = 0; k < OPTION_COUNT; k++) {
        if (t->len > sizeof t->buf - OPTION_TEXT_MAX - 64) {
            os_write(fd, t->buf, t->len);
            t->len = 0;
        }
        put_str(t, k ? ", \"" : "\"");
        put_str(t, options[k].name);
        put_str(t, "\": ");
        if (options[k].text)
            put_json_str(t, options[k].text);
        else
            put_uint(t, *options[k].value, 10, 0);
    }
}

/* glibc's mallopt parameter numbers: Bimp includes no libc-specific header. */
enum { M_MXFAST = 1, M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3 };

/* glibc's answers: 1 for every parameter and value, known or not, but a
 * fastbin size above 160 (0).  Bimp honours the two thresholds; the
 * rest (fastbin size, arenas, top pad, mmap count, check action, perturb)
 * have no counterpart here and are accepted as glibc accepts them. */
EXPORT int mallopt(int param, int value)
{
    switch (param) {
    case M_MXFAST:
        return (size_t)value <= 160; /* glibc's MAX_FAST_SIZE on 64-bit */
    case M_MMAP_THRESHOLD: /* above Bimp's maximum: the maximum; negative: ignored */
        if (value >= 0)
            set_huge_threshold((size_t)value);
        return 1;
    case M_TRIM_THRESHOLD: /* negative: as glibc, a threshold never reached */
        opt.pool_keep_bytes = value < 0 ? SIZE_MAX : (size_t)value;
        opt.pool_keep_set = true;
        return 1;
    default:
        return 1;
    }
}

