/* invalid-stack.c - free a 16-aligned address on the stack.
 * Expect: bimp: invalid pointer <p> (in free) */
#include "misuse.h"

int main(void)
{
    _Alignas(16) char frame[256];
    memset(frame, 0, sizeof frame);
    char *p = frame + 128;
    announce(p);
    free(launder(p));
    return survived() + frame[0];
}
