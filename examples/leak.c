/* leak.c - a leak to find with Bimp's heap profile.  make_list keeps
 * 50,000 nodes of 112 bytes that nothing frees (a static function:
 * only the pprof tools, which read the symbol table, can name it).
 *
 *   cc -g -O1 -o leak leak.c
 *   BIMP_PROFILE_FILE=/tmp/leak LD_PRELOAD=../libbimp.so ./leak
 *   jeprof --text --lines ./leak /tmp/leak.heap
 */
#include <stdlib.h>
#include <string.h>

struct node { struct node *next; char payload[104]; };

static struct node *make_list(int n)
{
    struct node *head = NULL;
    for (int i = 0; i < n; i++) {
        struct node *x = malloc(sizeof *x); /* the leak: never freed */
        memset(x->payload, 'x', sizeof x->payload);
        x->next = head;
        head = x;
    }
    return head;
}

static struct node *kept;

int main(void)
{
    kept = make_list(50000);
    for (int round = 0; round < 100; round++) { /* and some memory that is freed */
        char *scratch = malloc(4096);
        memset(scratch, 0, 4096);
        free(scratch);
    }
    return kept == NULL;
}
