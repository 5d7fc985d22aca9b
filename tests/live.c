/* live.c - a program for the live reports (BIMP_DUMP_*), run by
 * tests/live.sh: it allocates and frees for `seconds` (argument 1, in
 * steps of a millisecond, about 1.5 MB a step), raises SIGUSR2 once at
 * `signal_at` seconds (argument 2; 0: never) and calls bimp_dump once
 * at `call_at` seconds (argument 3; 0: never), looked up with dlsym so
 * that it runs under LD_PRELOAD.  Prints the milliseconds since its start
 * at which it raised and called. */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3, signal_at = argc > 2 ? atof(argv[2]) : 0;
    double call_at = argc > 3 ? atof(argv[3]) : 0, start = now(), t;
    void (*dump)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "bimp_dump");
    static void *keep[1000];
    unsigned long n = 0;
    do {
        for (int i = 0; i < 1000; i++) {
            free(keep[(i * 7) % 1000]);
            keep[(i * 7) % 1000] = malloc(16 + n++ % 2000);
        }
        usleep(1000);
        t = now() - start;
        if (signal_at > 0 && t >= signal_at) {
            printf("raised %.0f\n", t * 1000);
            fflush(stdout);
            raise(SIGUSR2);
            signal_at = 0;
        }
        if (call_at > 0 && t >= call_at && dump) {
            printf("called %.0f\n", t * 1000);
            fflush(stdout);
            dump();
            call_at = 0;
        }
    } while (t < seconds);
    printf("allocations %lu\n", n);
    return 0;
}
