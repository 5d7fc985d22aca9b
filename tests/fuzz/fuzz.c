/* fuzz.c - libFuzzer entry point: each input is decoded by harness.c into
 * calls of Bimp's prefixed API, checked against a shadow model.  A failed
 * check prints what failed and aborts, which libFuzzer reports as a crash
 * and saves the input.  Build: make -C tests/fuzz fuzzer. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

static void die(const char *message)
{
    fprintf(stderr, "bimp fuzz: %s\n", message);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    harness_on_failure = die;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    harness_run(data, size);
    return 0;
}
