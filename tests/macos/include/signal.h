#ifndef STUB_SIGNAL_H
#define STUB_SIGNAL_H
#include "_types.h"
/* macOS's numbers (sys/signal.h). */
#define SIGILL 4
#define SIGTRAP 5
#define SIGABRT 6
#define SIGFPE 8
#define SIGKILL 9
#define SIGBUS 10
#define SIGSEGV 11
#define SIGSYS 12
#define SIGSTOP 17
#define SA_RESTART 0x0002
typedef unsigned int sigset_t;
struct sigaction {
    void (*sa_handler)(int);
    sigset_t sa_mask;
    int sa_flags;
};
int sigaction(int signo, const struct sigaction *act, struct sigaction *old);
int sigemptyset(sigset_t *set);
#endif
