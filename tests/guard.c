/* guard.c - a program with one heap bug, for guard sampling (tests/guard.sh).
 *
 *   guard overflow   allocates and frees blocks of 16 to 200 bytes, then
 *                    writes one byte past a 64-byte block and frees it, and
 *                    goes on; exits 0 if nothing stops it
 *   guard uaf        the same, but writes into the block after its free
 *   guard chain      installs a SIGSEGV handler of its own, allocates (so
 *                    that Bimp installs its handler after it), then faults
 *                    on a page of its own: its handler must run (exit 42)
 *   guard chain-ours the handler as above, then reads past a guarded
 *                    48-byte block: Bimp's report, not the program's handler
 *
 * Run with BIMP_GUARD_RATE set; the first line of stdout is the buggy block. */
#include "common.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

static char *keep[256];
static unsigned long rng = 12345;

static unsigned next_random(void)
{
    rng = rng * 6364136223846793005ul + 1442695040888963407ul;
    return (unsigned)(rng >> 33);
}

/* Blocks come and go, as in a program's ordinary work. */
static void churn(int rounds)
{
    for (int i = 0; i < rounds; i++) {
        unsigned k = next_random() % 256;
        free(keep[k]);
        keep[k] = malloc(16 + next_random() % 185);
        if (keep[k])
            keep[k][0] = 1;
    }
}

__attribute__((noinline)) char *victim(size_t n)
{
    char *volatile p = malloc(n);
    return p;
}

static void on_segv(int sig)
{
    (void)sig;
    static const char msg[] = "the program's handler\n";
    if (write(1, msg, sizeof msg - 1) < 0)
        _exit(43);
    _exit(42);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    rng ^= (unsigned long)getpid();
    if (strncmp(mode, "chain", 5) == 0) {
        signal(SIGSEGV, on_segv);
        free(malloc(8)); /* a thread's first block is never guarded */
        char *p = victim(48);
        printf("%p\n", (void *)p);
        fflush(stdout);
        if (strcmp(mode, "chain") == 0) {
            volatile char *own = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            own[0] = 1;
        } else {
            volatile char c = ((volatile char *)p)[48];
            (void)c;
        }
        return 3;
    }
    bool uaf = strcmp(mode, "uaf") == 0;
    if (!uaf && strcmp(mode, "overflow") != 0) {
        fprintf(stderr, "usage: guard overflow|uaf|chain|chain-ours\n");
        return 2;
    }
    churn(2000);
    char *p = victim(64);
    printf("%p\n", (void *)p);
    fflush(stdout);
    memset(p, 'a', 64);
    if (uaf) {
        free(p);
        ((volatile char *)p)[20] = 'x';
    } else {
        ((volatile char *)p)[64] = 'x';
        free(p);
    }
    churn(2000);
    for (int k = 0; k < 256; k++)
        free(keep[k]);
    return 0;
}
