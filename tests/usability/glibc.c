/* glibc.c - Bimp's figures through glibc's own statistics interfaces:
 * mallinfo2/mallinfo after known allocations, malloc_info's XML and its
 * EINVAL, mallopt's supported and unsupported parameters.  Run with
 * LD_PRELOAD=<libbimp.so>; single-threaded, so every figure changes by
 * exactly what this program did.  One PASS/FAIL line per group,
 * `usability/glibc-*`. */
#include "../common.h"

#include <errno.h>
#include <malloc.h>

#define BLOCKS 100
#define SIZE 1000

int main(void)
{
    if (!bimp_is_loaded()) {
        puts("FAIL usability/glibc: malloc is not Bimp's (run with LD_PRELOAD=libbimp.so)");
        return 1;
    }
    /* Known allocations in chunks: uordblks (bytes in use) grows by at
     * least what was asked, and comes back exactly when they are freed. */
    void *blocks[BLOCKS];
    struct mallinfo2 m0 = mallinfo2();
    for (int i = 0; i < BLOCKS; i++) {
        blocks[i] = malloc(SIZE);
        memset(blocks[i], i, SIZE);
    }
    struct mallinfo2 m1 = mallinfo2();
    CHECK(m1.uordblks - m0.uordblks >= BLOCKS * SIZE);
    CHECK(m1.uordblks - m0.uordblks <= BLOCKS * (SIZE + 64));
    CHECK(m1.arena >= m1.uordblks);
    CHECK(m1.fordblks == m1.arena - m1.uordblks);
    CHECK(m1.hblks == m0.hblks && m1.hblkhd == m0.hblkhd);
    struct mallinfo old = mallinfo(); /* the int version agrees */
    CHECK((size_t)old.uordblks == m1.uordblks && (size_t)old.arena == m1.arena);
    for (int i = BLOCKS - 1; i >= 0; i--)
        free(blocks[i]);
    struct mallinfo2 m2 = mallinfo2();
    CHECK(m2.uordblks == m0.uordblks);
    group_end("usability", "glibc-mallinfo2-in-use");

    /* Huge blocks: hblks counts them, hblkhd their bytes. */
    m0 = mallinfo2();
    char *h1 = malloc(1 << 20), *h2 = malloc(3 << 20);
    CHECK(h1 && h2);
    m1 = mallinfo2();
    CHECK(m1.hblks == m0.hblks + 2);
    CHECK(m1.hblkhd - m0.hblkhd >= (4 << 20));
    CHECK(m1.hblkhd - m0.hblkhd <= (4 << 20) + (2 << 20));
    CHECK(m1.uordblks == m0.uordblks); /* not in the chunks */
    free(h1);
    m2 = mallinfo2();
    CHECK(m2.hblks == m0.hblks + 1);
    CHECK(m2.hblkhd - m0.hblkhd >= (3 << 20) && m2.hblkhd < m1.hblkhd);
    free(h2);
    m2 = mallinfo2();
    CHECK(m2.hblks == m0.hblks && m2.hblkhd == m0.hblkhd);
    group_end("usability", "glibc-mallinfo2-huge");

    /* malloc_info(0, fp): glibc's XML shape.  Any other options: EINVAL as
     * the result (glibc's), errno untouched. */
    FILE *fp = tmpfile();
    CHECK(fp != NULL);
    if (fp) {
        CHECK(malloc_info(0, fp) == 0);
        long len = ftell(fp);
        rewind(fp);
        static char xml[65536];
        size_t got = fread(xml, 1, sizeof xml - 1, fp);
        xml[got] = 0;
        CHECK(len > 0 && (size_t)len == got);
        CHECK(strncmp(xml, "<malloc version=\"1\">\n", 21) == 0);
        CHECK(got >= 10 && strcmp(xml + got - 10, "</malloc>\n") == 0);
        CHECK(strstr(xml, "<heap nr=\"0\">") != NULL);
        CHECK(strstr(xml, "<total type=\"mmap\" count=\"") != NULL);
        rewind(fp);
        errno = 0;
        CHECK(malloc_info(1, fp) == EINVAL);
        CHECK(errno == 0);
        CHECK(ftell(fp) == 0);
        fclose(fp);
    }
    group_end("usability", "glibc-malloc-info");

    /* mallopt: M_MMAP_THRESHOLD (up to 128 KiB) and M_TRIM_THRESHOLD are
     * supported, and take effect; anything else returns 0. */
    m0 = mallinfo2();
    char *p = malloc(100 * 1024);
    CHECK(mallinfo2().hblks == m0.hblks); /* 100 KiB: in a chunk */
    free(p);
    CHECK(mallopt(M_MMAP_THRESHOLD, 65536) == 1);
    p = malloc(100 * 1024);
    CHECK(mallinfo2().hblks == m0.hblks + 1); /* now huge */
    free(p);
    p = malloc(60 * 1024);
    CHECK(mallinfo2().hblks == m0.hblks); /* below the threshold */
    free(p);
    /* glibc's answers (2.36): 1 for every parameter and value below, 0 only
     * for M_MXFAST above 160.  A threshold above Bimp's maximum is taken as
     * the maximum; a negative one is ignored, as glibc ignores one too high. */
    CHECK(mallopt(M_MMAP_THRESHOLD, 256 * 1024) == 1);
    p = malloc(100 * 1024);
    CHECK(mallinfo2().hblks == m0.hblks); /* the threshold is Bimp's maximum now */
    free(p);
    CHECK(mallopt(M_MMAP_THRESHOLD, 65536) == 1 && mallopt(M_MMAP_THRESHOLD, -1) == 1);
    p = malloc(100 * 1024);
    CHECK(mallinfo2().hblks == m0.hblks + 1); /* unchanged by the negative value */
    free(p);
    CHECK(mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1);
    CHECK(mallopt(M_TRIM_THRESHOLD, 1 << 20) == 1);
    CHECK(mallopt(M_TRIM_THRESHOLD, -1) == 1);
    CHECK(mallopt(-99, 1) == 1);
    CHECK(mallopt(M_ARENA_MAX, 1) == 1 && mallopt(M_ARENA_MAX, 0) == 1 && mallopt(M_ARENA_TEST, 1) == 1);
    CHECK(mallopt(M_TOP_PAD, 0) == 1 && mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_CHECK_ACTION, 3) == 1);
    CHECK(mallopt(M_PERTURB, 0) == 1);
    CHECK(mallopt(M_MXFAST, 64) == 1 && mallopt(M_MXFAST, 161) == 0);
    group_end("usability", "glibc-mallopt");
    return total_failures != 0;
}
