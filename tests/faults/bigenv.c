/* bigenv.c - a program started with a huge environment under Bimp: 20,000
 * variables, about 5 MB (one of them 100 KB).  `bigenv launch LIB` builds
 * that environment (with LD_PRELOAD=LIB), raises the stack limit so that
 * the kernel accepts it, and executes `bigenv check`, which verifies it runs
 * under Bimp with the whole environment, changes the environment (setenv,
 * putenv and unsetenv make glibc copy its 20,000-entry array), allocates,
 * and starts a shell that runs `env` with that environment and counts its
 * lines, so real programs start up under Bimp with it too.
 * Usage: bigenv launch <libbimp.so> */
#include "../common.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

enum { VARS = 20000, VALUE = 240, HUGE_VALUE = 100000 };
extern char **environ;

static int check(void)
{
    CHECK(bimp_is_loaded());
    int count = 0, ours = 0;
    for (char **e = environ; *e; e++) {
        count++;
        ours += strncmp(*e, "HUGE_ENV_VAR_", 13) == 0;
    }
    CHECK(count >= VARS && ours == VARS);
    const char *last = getenv("HUGE_ENV_VAR_19999");
    CHECK(last && strlen(last) == VALUE && last[0] == 'a' + 19999 % 26);
    const char *huge = getenv("HUGE_ENV_VAR_10000");
    CHECK(huge && strlen(huge) == HUGE_VALUE);
    CHECK(setenv("HUGE_ENV_NEW", "set after start-up", 1) == 0);
    CHECK(strcmp(getenv("HUGE_ENV_NEW"), "set after start-up") == 0);
    static char put[] = "HUGE_ENV_PUT=put";
    CHECK(putenv(put) == 0);
    CHECK(unsetenv("HUGE_ENV_VAR_5") == 0 && getenv("HUGE_ENV_VAR_5") == NULL);
    CHECK(getenv("HUGE_ENV_VAR_19999") == last);
    void *p[1000];
    for (int i = 0; i < 1000; i++) {
        p[i] = malloc((size_t)i * 31);
        if (p[i])
            memset(p[i], i, (size_t)i * 31);
    }
    for (int i = 0; i < 1000; i++)
        free(p[i]);
    /* env (under Bimp, with the whole environment) prints one line per
     * variable; the 100 KB one is one line too. */
    int status = system("n=$(env | grep -c '^HUGE_ENV_VAR_'); test \"$n\" -eq 19999");
    CHECK(status == 0);
    group_end("faults", "huge-environment");
    return total_failures != 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "check") == 0)
        return check();
    if (argc < 3 || strcmp(argv[1], "launch") != 0) {
        fprintf(stderr, "usage: bigenv launch <libbimp.so>\n");
        return 2;
    }
    struct rlimit st;
    getrlimit(RLIMIT_STACK, &st);
    if (st.rlim_cur != RLIM_INFINITY && st.rlim_cur < ((rlim_t)64 << 20)) {
        st.rlim_cur = (rlim_t)64 << 20;
        if (st.rlim_max != RLIM_INFINITY && st.rlim_max < st.rlim_cur)
            st.rlim_cur = st.rlim_max;
        setrlimit(RLIMIT_STACK, &st);
    }
    char **env = calloc(VARS + 8, sizeof *env);
    int n = 0;
    for (int i = 0; i < VARS; i++) {
        size_t len = i == 10000 ? HUGE_VALUE : VALUE;
        char *v = malloc(len + 40);
        int k = snprintf(v, 40, "HUGE_ENV_VAR_%d=", i);
        memset(v + k, 'a' + i % 26, len);
        v[k + len] = 0;
        env[n++] = v;
    }
    char *preload = malloc(strlen(argv[2]) + 20);
    sprintf(preload, "LD_PRELOAD=%s", argv[2]);
    env[n++] = preload;
    env[n++] = "PATH=/usr/bin:/bin";
    env[n] = NULL;
    char *args[] = { argv[0], "check", NULL };
    execve("/proc/self/exe", args, env);
    printf("FAIL faults/huge-environment: execve: %s\n", strerror(errno));
    return 1;
}
