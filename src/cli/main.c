/* vessel: the command-line entry point; each command lives in its own file of src/cli/. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cmd_switch.h"
#include "cli/disk_cmd.h"
#include "cli/migrate_cmd.h"
#include "cli/run.h"
#include "cli/serve_cmd.h"
#include "cli/vm_cmd.h"
#include "cluster/cluster_cmd.h"
#include "host/shim.h"
#include "image/image_cmd.h"

#define VESSEL_VERSION "0.1.0"

static const char usage_main[] =
    "usage: vessel run [OPTIONS]     run a virtual machine (see vessel run --help)\n"
    "       vessel switch PATH       run a virtual Ethernet switch (see vessel switch --help)\n"
    "       vessel info              which engines this host supports, and why not\n"
    "       vessel serve [OPTIONS]   the host daemon: HTTP+JSON API (see vessel serve --help)\n"
    "       vessel vm COMMAND ...    manage the daemon's VMs (see vessel vm --help)\n"
    "       vessel console NAME|ID   attach to a VM's console (Ctrl-] detaches)\n"
    "       vessel disk create|info|check ...  disk images (see vessel disk --help)\n"
    "       vessel migrate --api-socket PATH --to HOST:PORT  live-migrate a running VM\n"
    "                                (see vessel migrate --help)\n"
    "       vessel cluster COMMAND   VMs on a Pacemaker cluster of hosts, and its lab\n"
    "                                (see vessel cluster --help, docs/cluster.md)\n"
    "       vessel image build debian ...  a bootable Debian disk image from Debian's\n"
    "                                packages (see vessel image --help)\n"
    "       vessel --help | --version\n";

int main(int argc, char **argv)
{
    /* A closed stdout must become EPIPE on write, not a silent death. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        fputs(usage_main, stderr);
        return 1;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("vessel %s\n", VESSEL_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "run"))
        return cli_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "disk"))
        return cli_disk(argc - 1, argv + 1);
    if (!strcmp(argv[1], "migrate"))
        return cli_migrate(argc - 1, argv + 1);
    if (!strcmp(argv[1], "switch"))
        return cmd_switch(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info"))
        return cli_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "serve"))
        return cli_serve(argc - 1, argv + 1);
    if (!strcmp(argv[1], "vm"))
        return cli_vm(argc - 1, argv + 1);
    if (!strcmp(argv[1], "console"))
        return cli_console(argc - 1, argv + 1);
    if (!strcmp(argv[1], "cluster"))
        return cli_cluster(argc - 1, argv + 1);
    if (!strcmp(argv[1], "image"))
        return cli_image(argc - 1, argv + 1);
    if (!strcmp(argv[1], "vm-shim")) /* internal: started by `vessel serve` */
        return host_shim_main(argc - 1, argv + 1);
    fprintf(stderr, "vessel: unknown command '%s' (see vessel --help)\n", argv[1]);
    return 1;
}
