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
#define SA_ONSTACK 0x0001
#define SA_RESTART 0x0002
#define SA_NODEFER 0x0010
#define SA_SIGINFO 0x0040
#define SIG_DFL ((void (*)(int))0)
#define SIG_IGN ((void (*)(int))1)
typedef unsigned int sigset_t;
typedef struct __siginfo {
    int si_signo, si_errno, si_code;
    int si_pid;
    unsigned int si_uid;
    int si_status;
    void *si_addr;
} siginfo_t;
union __sigaction_u {
    void (*__sa_handler)(int);
    void (*__sa_sigaction)(int, struct __siginfo *, void *);
};
struct sigaction {
    union __sigaction_u __sigaction_u;
    sigset_t sa_mask;
    int sa_flags;
};
#define sa_handler __sigaction_u.__sa_handler
#define sa_sigaction __sigaction_u.__sa_sigaction
int sigaction(int signo, const struct sigaction *act, struct sigaction *old);
int sigemptyset(sigset_t *set);
#endif
