/* `vessel cluster ...`: the pool of hosts on Pacemaker + Corosync (docs/cluster.md).
 *
 * The commands drive the cluster's own tools (cibadmin, crm_resource, crm_attribute, crm_mon,
 * corosync, pacemakerd) and, for the lab, namespaces, veths and cgroups; that is a job for a
 * script, so this file only finds the helper that does it and execs it with python3
 * (base/helper.h): $VESSEL_CLUSTER_HELPER, else libexec/vessel/vessel-cluster beside an
 * installed binary, else src/cluster/vessel-cluster in a build tree. The helper gets this
 * binary's path in $VESSEL_BIN, so that the agents and the lab run the same `vessel`. */
#include "cluster/cluster_cmd.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "base/helper.h"

#define EXIT_USAGE 1

int cluster_helper_path(char *out, size_t cap)
{
    return helper_path("VESSEL_CLUSTER_HELPER", "cluster", "vessel-cluster", out, cap);
}

int cli_cluster(int argc, char **argv)
{
    char helper[PATH_MAX];
    int err = cluster_helper_path(helper, sizeof(helper));

    if (err) {
        fprintf(stderr,
                "vessel: cluster: the helper script is missing (%s): set VESSEL_CLUSTER_HELPER "
                "or run `make install`\n",
                strerror(-err));
        return EXIT_USAGE;
    }
    helper_exec("vessel: cluster", helper, argc, argv);
    return EXIT_USAGE;
}
