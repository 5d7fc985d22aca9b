/* src/options.h - every run-time option (BIMP_* variable) in one list, and
 * what src/options.c offers the rest: the values (opt), reading them.
 * Included by internal.h, in its place: private, not installed. */
#ifndef BIMP_OPTIONS_H
#define BIMP_OPTIONS_H

#pragma GCC visibility push(hidden)

/* Every run-time option, once, in the order the banner and the JSON report
 * give them: NUMBER(field, variable, default, min, max, unit, meaning) or
 * TEXT(field, variable, meaning), a string of at most OPTION_TEXT_MAX bytes
 * with the 0 (a file name; default empty).  A number's unit: OPT_COUNT,
 * OPT_BYTES (k, M and G are offered) or OPT_STATS_WORDS (BIMP_SHOW_STATS's
 * words).  The list makes struct options (opt.field, read everywhere), its
 * defaults, and src/options.c's table, which reads the variables from the
 * environment (ignored in setuid and setgid programs), warns of bad ones,
 * and prints them.  A new option: a line here, and its use. */
#define OPTIONS(NUMBER, TEXT)                                                                            \
    NUMBER(verbose, "BIMP_VERBOSE", 0, 0, 1, OPT_COUNT, "print version, build and options at start-up") \
    NUMBER(show_stats, "BIMP_SHOW_STATS", STATS_OFF, 0, STATS_JSON, OPT_STATS_WORDS,                     \
           "statistics at exit: 1 or text, 2 or json")                                                   \
    TEXT(stats_file, "BIMP_STATS_FILE", "file for them, %p the pid (default: stderr); alone, turns on text") \
    TEXT(program, "BIMP_PROGRAM", "statistics and profile at exit only from this program (default: all)") \
    NUMBER(profile, "BIMP_PROFILE", 0, 0, 1, OPT_COUNT, "heap profile: sample allocations, report at exit") \
    NUMBER(profile_rate, "BIMP_PROFILE_RATE", (size_t)512 << 10, 1, (size_t)1 << 40, OPT_BYTES,          \
           "bytes allocated per sample, on average")                                                     \
    TEXT(profile_file, "BIMP_PROFILE_FILE",                                                              \
         "the profile's files, %p the pid (default: text on stderr); alone, turns it on")                \
    NUMBER(dump_bytes, "BIMP_DUMP_BYTES", 0, 0, (size_t)1 << 50, OPT_BYTES,                              \
           "live reports: a dump every so many bytes allocated")                                         \
    NUMBER(dump_seconds, "BIMP_DUMP_SECONDS", 0, 0, 86400, OPT_COUNT, "live reports: a dump every so many seconds") \
    NUMBER(dump_signal, "BIMP_DUMP_SIGNAL", 0, 0, 64, OPT_COUNT,                                         \
           "live reports: a dump when this signal comes (e.g. 12, SIGUSR2)")                             \
    TEXT(dump_file, "BIMP_DUMP_FILE", "the dumps' prefix, %p the pid (default: bimp.%p)")                \
    /* at most half a chunk, so a chunk holds two, and never below SMALL_MAX                          \
     * (set_huge_threshold keeps both, wherever the value comes from) */                                \
    NUMBER(huge_threshold, "BIMP_MMAP_THRESHOLD", HUGE_THRESHOLD_MAX, 0, HUGE_THRESHOLD_MAX, OPT_BYTES,  \
           "bytes above which a request gets a mapping of its own")                                    \
    /* unless the program or the environment sets it (pool_keep_set), the pool                         \
     * may keep more (POOL_KEEP_SHARE), as glibc's threshold is dynamic until set */                   \
    NUMBER(pool_keep_bytes, "BIMP_TRIM_THRESHOLD", 8 * CHUNK, 0, (size_t)1 << 40, OPT_BYTES,             \
           "bytes of free chunks kept with their pages")                                                 \
    NUMBER(purge_delay_ms, "BIMP_PURGE_DELAY", 1000, 0, 3600000, OPT_COUNT,                              \
           "milliseconds a free chunk keeps its pages")                                                  \
    NUMBER(huge_cache_max, "BIMP_HUGE_CACHE", (size_t)128 << 20, 0, (size_t)1 << 40, OPT_BYTES,          \
           "bytes of freed huge blocks kept for reuse")                                                  \
    NUMBER(huge_delay_ms, "BIMP_HUGE_DELAY", 1000, 0, 3600000, OPT_COUNT,                                \
           "milliseconds a freed huge block is kept")                                                    \
    NUMBER(check, "BIMP_CHECK", 0, 0, 1, OPT_COUNT,                                                      \
           "check mode: canaries, freed and new blocks filled, stacks in reports")                       \
    NUMBER(check_quarantine, "BIMP_CHECK_QUARANTINE", (size_t)16 << 20, 0, (size_t)1 << 40, OPT_BYTES,   \
           "check mode: bytes of freed blocks held back before reuse")                                   \
    NUMBER(guard_rate, "BIMP_GUARD_RATE", GUARD_RATE_DEFAULT, 0, (size_t)1 << 50, OPT_BYTES,             \
           "guard sampling: bytes allocated per guarded block, on average; 0 off")

#define HUGE_THRESHOLD_MAX (CHUNK / 2)
/* Guard sampling's default: a guarded block per so many bytes allocated. */
#define GUARD_RATE_DEFAULT ((size_t)64 << 20)
#define OPTION_TEXT_MAX 256
/* BIMP_SHOW_STATS's values: 0 off, 1 the text report, 2 JSON. */
enum { STATS_OFF, STATS_TEXT, STATS_JSON };
enum option_unit { OPT_COUNT, OPT_BYTES, OPT_STATS_WORDS };

#define OPTION_FIELD(field, variable, initial, min, max, unit, meaning) size_t field;
#define OPTION_TEXT_FIELD(field, variable, meaning) char field[OPTION_TEXT_MAX];
struct options {
    OPTIONS(OPTION_FIELD, OPTION_TEXT_FIELD)
    bool pool_keep_set; /* BIMP_TRIM_THRESHOLD or mallopt set pool_keep_bytes */
};
#undef OPTION_FIELD
#undef OPTION_TEXT_FIELD
extern struct options opt;

void set_huge_threshold(size_t bytes); /* the option and mallopt */
void take_options(void);                /* once, before the first allocation */
void put_options_json(text *t, int fd);

#pragma GCC visibility pop

#endif
