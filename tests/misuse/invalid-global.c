/* invalid-global.c - free the address of a global variable.
 * Expect: bimp: invalid pointer <p> (in free) */
#include "misuse.h"

_Alignas(64) char global_buffer[256] = "a global, not a heap block";

int main(void)
{
    char *p = global_buffer + 64;
    announce(p);
    free(launder(p));
    return survived();
}
