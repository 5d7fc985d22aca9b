/* ctorlib.c - a preloaded library whose constructor allocates before Bimp
 * has seen any other call from the program. */
#include <stdlib.h>
#include <string.h>

__attribute__((visibility("default"))) char *ctor_block;

__attribute__((constructor)) static void allocate_early(void)
{
    void *scratch[32];
    for (int i = 0; i < 32; i++)
        scratch[i] = malloc((size_t)i * 100);
    ctor_block = strdup("allocated in a constructor");
    for (int i = 31; i >= 0; i--)
        free(scratch[i]);
}
