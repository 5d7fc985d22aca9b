/* tinydata.c - started under a data limit of about 1 MB (the shell's
 * `ulimit -d 977`, as run.sh does), allocation still works: Bimp's heap
 * growth falls back to a single chunk when its usual step does not fit.
 * (glibc serves some 25,000 mallocs of 16 bytes there.)  Small on purpose:
 * its own data must fit the limit. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int n = 0;
    while (n < 100000 && malloc(16))
        n++;
    printf("%s faults/oom-tiny-data: %d mallocs of 16 bytes under a 1 MB data limit (1000 wanted)\n",
           n >= 1000 ? "PASS" : "FAIL", n);
    return 0;
}
