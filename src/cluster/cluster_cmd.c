/* `vessel cluster ...`: the pool of hosts on Pacemaker + Corosync (docs/cluster.md).
 *
 * The commands drive the cluster's own tools (cibadmin, crm_resource, crm_attribute, crm_mon,
 * corosync, pacemakerd) and, for the lab, namespaces, veths and cgroups; that is a job for a
 * script, so this file only finds the helper that does it and execs it with python3:
 *   $VESSEL_CLUSTER_HELPER, else
 *   <dir of this binary>/../libexec/vessel/vessel-cluster   (installed by `make install`), else
 *   <dir of this binary>/../src/cluster/vessel-cluster      (a build tree: build/vessel).
 * The helper gets this binary's path in $VESSEL_BIN, so that the agents and the lab run the
 * same `vessel`. */
#include "cluster/cluster_cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_USAGE 1

/* The directory of /proc/self/exe into dir (cap bytes). */
static int self_dir(char *dir, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", dir, cap - 1);
    char *slash;

    if (n < 0)
        return -errno;
    if ((size_t)n >= cap - 1)
        return -ENAMETOOLONG;
    dir[n] = '\0';
    slash = strrchr(dir, '/');
    if (!slash)
        return -EINVAL;
    *slash = '\0';
    return 0;
}

int cluster_helper_path(char *out, size_t cap)
{
    static const char *const rel[] = {"../libexec/vessel/vessel-cluster",
                                      "../src/cluster/vessel-cluster"};
    const char *env = getenv("VESSEL_CLUSTER_HELPER");
    char dir[PATH_MAX];
    int err;

    if (env && *env) {
        if (access(env, R_OK))
            return -errno;
        if ((size_t)snprintf(out, cap, "%s", env) >= cap)
            return -ENAMETOOLONG;
        return 0;
    }
    if ((err = self_dir(dir, sizeof(dir))))
        return err;
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        if ((size_t)snprintf(out, cap, "%s/%s", dir, rel[i]) >= cap)
            return -ENAMETOOLONG;
        if (!access(out, R_OK))
            return 0;
    }
    return -ENOENT;
}

int cli_cluster(int argc, char **argv)
{
    char helper[PATH_MAX], self[PATH_MAX];
    ssize_t n;
    int err = cluster_helper_path(helper, sizeof(helper));

    if (err) {
        fprintf(stderr,
                "vessel: cluster: the helper script is missing (%s): set VESSEL_CLUSTER_HELPER "
                "or run `make install`\n",
                strerror(-err));
        return EXIT_USAGE;
    }
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0 || (size_t)n >= sizeof(self) - 1) {
        fprintf(stderr, "vessel: cluster: readlink /proc/self/exe: %s\n",
                n < 0 ? strerror(errno) : "path too long");
        return EXIT_USAGE;
    }
    self[n] = '\0';
    if (setenv("VESSEL_BIN", self, 1)) {
        fprintf(stderr, "vessel: cluster: setenv VESSEL_BIN: %s\n", strerror(errno));
        return EXIT_USAGE;
    }
    /* python3 HELPER ARGS... : argv[0] ("cluster") becomes the helper's path. */
    char **args = calloc((size_t)argc + 2, sizeof(*args));
    if (!args) {
        fputs("vessel: cluster: out of memory\n", stderr);
        return EXIT_USAGE;
    }
    args[0] = "python3";
    args[1] = helper;
    for (int i = 1; i < argc; i++)
        args[i + 1] = argv[i];
    execvp("python3", args);
    fprintf(stderr, "vessel: cluster: cannot run python3 %s: %s\n", helper, strerror(errno));
    free(args);
    return EXIT_USAGE;
}
