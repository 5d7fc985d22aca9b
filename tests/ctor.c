/* ctor.c - run with LD_PRELOAD="libctor.so libbimp.so": the block the other
 * library allocated in its constructor is intact and frees cleanly. */
#include "common.h"

int main(void)
{
    char **block = dlsym(RTLD_DEFAULT, "ctor_block");
    CHECK(bimp_is_loaded());
    CHECK(block && *block && strcmp(*block, "allocated in a constructor") == 0);
    if (block && *block) {
        *block = realloc(*block, 1000);
        CHECK(*block && strcmp(*block, "allocated in a constructor") == 0);
        free(*block);
    }
    group_end("default", "preload-constructor");
    return total_failures != 0;
}
