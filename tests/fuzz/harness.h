/* harness.h - the fuzzing harness shared by the libFuzzer entry point
 * (fuzz.c), the plain replay driver (replay.c) and the seed corpus writer
 * (gencorpus.c).
 *
 * harness_run decodes an arbitrary byte string into a sequence of calls to
 * Bimp's prefixed API (bimp_malloc, bimp_free, ...; Bimp is compiled into the
 * same binary with -DBIMP_PREFIX), keeps a shadow model of the live blocks,
 * and checks every result against it.  A failed check calls
 * harness_on_failure, which must not return.
 *
 * The encoding.  An input is a sequence of operations; each starts with an
 * opcode byte (taken modulo OP_COUNT) followed by its operands, read as
 * needed; a truncated input reads zeros.  Operands:
 *   slot   1 byte: one of SLOTS places for a live block (modulo SLOTS)
 *   size   1 to 3 bytes: the first byte's top 4 bits choose a class:
 *          0-7   small: ((b0 & 15) << 8 | b1) % 1025
 *          8     tiny: b0 & 15
 *          9-11  medium: 1025 + (b1 << 8 | b2)
 *          12    large: ((b0 & 15) << 16 | b1 << 8 | b2) % 600001
 *          13-14 a boundary size (table in harness.c, index b0 & 15)
 *                plus b1 % 17 - 8
 *          15    b0 & 8: huge, (b1 + 1) * 4 KiB, or (b1 - 239) * 256 KiB
 *                for b1 >= 240 (up to 4 MiB); else 128 KiB + (b1 << 8 | b2) * 7
 *   align  1 byte: < 200: 1 << (b % 13); < 240: 1 << (13 + b % 10);
 *          else (b - 240) * 24 (0 and non-powers of two)
 *   byte   1 byte, meaning given per operation
 * Arena operations work on one arena per input (created at its first
 * arena operation, destroyed at the end); arena blocks are freed, resized
 * and sent to the helper thread like any others.
 * At the end of the input every block still live is checked and freed. */
#ifndef BIMP_FUZZ_HARNESS_H
#define BIMP_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

enum {
    SLOTS = 64,
};

enum harness_op {
    OP_MALLOC,         /* slot size */
    OP_CALLOC,         /* slot byte(count % 9) size: size is divided by count */
    OP_REALLOC,        /* slot size */
    OP_REALLOCARRAY,   /* slot byte(count % 9) size */
    OP_REALLOCF,       /* slot size */
    OP_ALIGNED_ALLOC,  /* slot align size */
    OP_MEMALIGN,       /* slot align size */
    OP_POSIX_MEMALIGN, /* slot align size */
    OP_VALLOC,         /* slot size */
    OP_PVALLOC,        /* slot size */
    OP_FREE,           /* slot byte(errno to preserve) */
    OP_CFREE,          /* slot byte(errno to preserve) */
    OP_FREE_SIZED,     /* slot byte(errno): free_sized or free_aligned_sized as fits the block */
    OP_USABLE_SIZE,    /* slot: the block then carries a pattern over its whole usable size */
    OP_TRIM,           /* byte(pad in KiB): malloc_trim, then every block checked */
    OP_MALLINFO,       /* mallinfo2 and mallinfo */
    OP_MALLOPT,        /* byte(parameter) byte(value index) */
    OP_ABSURD,         /* slot byte(call) byte(size index): must fail with ENOMEM */
    OP_FREE_NEWEST,    /* byte(count % 8 + 1): free the newest blocks, newest first */
    OP_REMOTE_ALLOC,   /* slot byte(call) align size: the helper thread allocates */
    OP_REMOTE_FREE,    /* slot byte(call): the helper thread frees or reallocs (to size) */
    OP_HELPER_EXIT,    /* the helper thread exits; the next remote operation starts a new one */
    OP_CHECK_ALL,      /* every live block's contents and usable size */
    OP_ARENA_ALLOC,    /* slot byte(call: alloc, calloc, aligned) align size: from the input's arena */
    OP_ARENA_MARK,     /* a mark on the arena */
    OP_ARENA_RELEASE,  /* byte(which mark): release to it; the model drops what came after */
    OP_ARENA_RESET,    /* reset the arena */
    OP_COUNT
};

/* Run one input.  Returns the number of API calls made. */
unsigned long harness_run(const uint8_t *data, size_t size);

/* Called with a description of the first failed check; must not return. */
extern void (*harness_on_failure)(const char *message);

/* Set to trace every operation on stderr. */
extern int harness_trace;

/* Calls made so far, per operation, for drivers that report coverage. */
extern unsigned long harness_op_counts[OP_COUNT];
extern const char *const harness_op_names[OP_COUNT];

#endif
