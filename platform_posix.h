/* platform_posix.h - the parts of the platform contract (platform.h) that
 * every POSIX system implements alike.  Included once, by the platform file
 * of the build (platform_linux.c, platform_mac.c), which defines POSIX_CLOCK,
 * the clock os_now_ms reads, before including it. */
#ifndef BIMP_PLATFORM_POSIX_H
#define BIMP_PLATFORM_POSIX_H

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* An anonymous mapping of `size` bytes aligned to `align`: over-mapped by
 * the alignment, then the unaligned head and the tail are cut away. */
void *os_map(size_t size, size_t align)
{
    size_t page = os_page_size();
    if (align <= page) {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    if (size + align < size) {
        errno = ENOMEM;
        return NULL;
    }
    char *raw = mmap(NULL, size + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    char *p = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    if (p > raw)
        munmap(raw, (size_t)(p - raw));
    if (p + size < raw + size + align)
        munmap(p + size, (size_t)(raw + size + align - (p + size)));
    return p;
}

void *os_map_at(void *at, size_t size)
{
    int flags = MAP_PRIVATE | MAP_ANON;
#ifdef MAP_FIXED_NOREPLACE
    flags |= MAP_FIXED_NOREPLACE; /* where the kernel does not know it, `at` is a hint */
#endif
    char *p = mmap(at, size, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (p != at) {
        munmap(p, size);
        return NULL;
    }
    return p;
}

void os_unmap(void *p, size_t size)
{
    munmap(p, size);
}

uint64_t os_now_ms(void)
{
    struct timespec t;
    clock_gettime(POSIX_CLOCK, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

void os_yield(void)
{
    sched_yield();
}

static pthread_key_t exit_key;

int os_thread_init(void (*on_exit)(void *), void (*prepare)(void), void (*parent)(void),
                   void (*child)(void))
{
    int err = pthread_key_create(&exit_key, on_exit);
    return err ? err : pthread_atfork(prepare, parent, child);
}

void os_thread_arm(void *arg)
{
    pthread_setspecific(exit_key, arg);
}

/* os_environ over the system's environment array; `secure` for a setuid or
 * otherwise privileged program, whose environment Bimp ignores. */
static const char *environ_entry(char **env, bool secure, size_t i, int *ready)
{
    *ready = env != NULL;
    if (!env || secure)
        return NULL;
    for (size_t k = 0; k < i; k++)
        if (!env[k])
            return NULL;
    return env[i];
}

void os_write(int fd, const char *msg, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, msg, len);
        if (n <= 0 && errno != EINTR)
            return;
        if (n > 0) {
            msg += n;
            len -= (size_t)n;
        }
    }
}

int os_backtrace(void **frame, int max)
{
    return backtrace(frame, max);
}

void *os_object_of(const void *pc)
{
    Dl_info info;
    return dladdr(pc, &info) ? info.dli_fbase : NULL;
}

void os_symbol(const void *pc, const char **symbol, const char **object, uintptr_t *offset)
{
    Dl_info info;
    if (!dladdr(pc, &info)) {
        *symbol = NULL;
        *object = "?";
        *offset = (uintptr_t)pc;
        return;
    }
    *symbol = info.dli_sname;
    *object = info.dli_fname && info.dli_fname[0] ? info.dli_fname : "?";
    *offset = (uintptr_t)pc - (uintptr_t)(info.dli_sname ? info.dli_saddr : info.dli_fbase);
}

long os_pid(void)
{
    return (long)getpid();
}

int os_create(const char *path, bool append)
{
    return open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
}

/* The signals a program's faults and the kernel own (and SIGABRT, Bimp's
 * own abort) are refused. */
bool os_on_signal(int signo, void (*handler)(int))
{
    static const int refused[] = { SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT, SIGSYS };
    for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++)
        if (signo == refused[k])
            return false;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return signo > 0 && sigaction(signo, &sa, NULL) == 0;
}

void *os_reserve(size_t size)
{
    void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANON, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

bool os_protect(void *p, size_t size, bool open)
{
    return mprotect(p, size, open ? PROT_READ | PROT_WRITE : PROT_NONE) == 0;
}

/* The fault handler: Bimp's first, then the one it replaced, called as it
 * asked to be (SA_SIGINFO or not); a default or ignored action is put back
 * and the access, run again, takes it. */
static void (*fault_mine)(void *address);
static struct sigaction fault_before[2]; /* SIGSEGV, SIGBUS */

static void on_fault(int signo, siginfo_t *info, void *context)
{
    fault_mine(info->si_addr);
    struct sigaction *before = &fault_before[signo == SIGBUS];
    if (before->sa_flags & SA_SIGINFO)
        before->sa_sigaction(signo, info, context);
    else if (before->sa_handler == SIG_DFL || before->sa_handler == SIG_IGN)
        sigaction(signo, before, NULL);
    else
        before->sa_handler(signo);
}

bool os_on_fault(void (*mine)(void *address))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    fault_mine = mine;
    return sigaction(SIGSEGV, &sa, &fault_before[0]) == 0 && sigaction(SIGBUS, &sa, &fault_before[1]) == 0;
}

void os_close(int fd)
{
    close(fd);
}

_Noreturn void os_fatal(void)
{
    abort();
}

#endif
