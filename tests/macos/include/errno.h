#ifndef STUB_ERRNO_H
#define STUB_ERRNO_H
extern int *__error(void);
#define errno (*__error())
#define EINTR 4
#define ENOMEM 12
#define EINVAL 22
#define EAGAIN 35
#endif
