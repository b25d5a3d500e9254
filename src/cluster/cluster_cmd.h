/* `vessel cluster ...` (docs/cluster.md): execs the cluster helper script with python3. */
#ifndef VESSEL_CLUSTER_CLUSTER_CMD_H
#define VESSEL_CLUSTER_CLUSTER_CMD_H

#include <stddef.h>

/* Where the helper is (see cluster_cmd.c); 0 or -errno (-ENOENT: nowhere). */
int cluster_helper_path(char *out, size_t cap);

/* argv[0] is "cluster". Returns only on failure (exit status 1); else the helper's exit
 * status is the process's. */
int cli_cluster(int argc, char **argv);

#endif
