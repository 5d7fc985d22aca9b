/* double-free-cfree.c - cfree twice a small block.
 * Expect: bimp: double free of <p> (in cfree) */
#include "misuse.h"

int main(void)
{
    cfree_fn cfree_ = (cfree_fn)entry("cfree");
    char *p = malloc(40);
    memset(p, 'c', 40);
    announce(p);
    cfree_(p);
    cfree_(launder(p));
    return survived();
}
