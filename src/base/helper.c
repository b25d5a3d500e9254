/* Finding and running helper scripts (helper.h). */
#include "base/helper.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The path of this binary (from /proc/self/exe) into out. */
static int self_path(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);

    if (n < 0)
        return -errno;
    if ((size_t)n >= cap - 1)
        return -ENAMETOOLONG;
    out[n] = '\0';
    return 0;
}

int helper_path(const char *env, const char *srcdir, const char *name, char *out, size_t cap)
{
    const char *given = getenv(env);
    char dir[PATH_MAX], *slash;
    int err;

    if (given && *given) {
        if (access(given, R_OK))
            return -errno;
        return (size_t)snprintf(out, cap, "%s", given) >= cap ? -ENAMETOOLONG : 0;
    }
    if ((err = self_path(dir, sizeof(dir))))
        return err;
    slash = strrchr(dir, '/');
    if (!slash)
        return -EINVAL;
    *slash = '\0';
    if ((size_t)snprintf(out, cap, "%s/../libexec/vessel/%s", dir, name) >= cap)
        return -ENAMETOOLONG;
    if (!access(out, R_OK))
        return 0;
    if ((size_t)snprintf(out, cap, "%s/../src/%s/%s", dir, srcdir, name) >= cap)
        return -ENAMETOOLONG;
    return access(out, R_OK) ? -ENOENT : 0;
}

int helper_exec(const char *what, const char *path, int argc, char **argv)
{
    char self[PATH_MAX];
    char **args;
    int err = self_path(self, sizeof(self));

    if (err) {
        fprintf(stderr, "%s: readlink /proc/self/exe: %s\n", what, strerror(-err));
        return err;
    }
    if (setenv("VESSEL_BIN", self, 1)) {
        err = -errno;
        fprintf(stderr, "%s: setenv VESSEL_BIN: %s\n", what, strerror(errno));
        return err;
    }
    /* python3 HELPER ARGS... : argv[0] (the command's name) becomes the helper's path. */
    args = calloc((size_t)argc + 2, sizeof(*args));
    if (!args) {
        fprintf(stderr, "%s: out of memory\n", what);
        return -ENOMEM;
    }
    args[0] = "python3";
    args[1] = (char *)path;
    for (int i = 1; i < argc; i++)
        args[i + 1] = argv[i];
    execvp("python3", args);
    err = -errno;
    fprintf(stderr, "%s: cannot run python3 %s: %s\n", what, path, strerror(errno));
    free(args);
    return err;
}
