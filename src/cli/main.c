/* vessel: the command-line entry point. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/chardev/socket.h"
#include "backend/chardev/stdio.h"
#include "backend/disk/disk.h"
#include "backend/net/net.h"
#include "base/log.h"
#include "board/riscv/board.h"
#include "board/riscv/boot.h"
#include "board/riscv/layout.h"
#include "cli/args.h"
#include "cli/disk_cmd.h"
#include "cli/migrate_cmd.h"
#include "cli/cmd_switch.h"
#include "cli/run_restore.h"
#include "cli/run_x86.h"
#include "cli/vm_cmd.h"
#include "engine/rv64/rv64.h"
#include "host/serve.h"
#include "host/shim.h"
#include "vm/api_socket.h"
#include "vm/control.h"
#include "vm/migrate.h"
#include "vm/snapshot.h"

#define VESSEL_VERSION "0.1.0"

/* Exit statuses of `vessel run` */
#define EXIT_POWEROFF  0
#define EXIT_USAGE     1
#define EXIT_VMM_ERROR 2
#define EXIT_STOPPED   3
#define EXIT_USER_QUIT 130

#define DEFAULT_MEM (512ULL << 20)

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
    "       vessel --help | --version\n";

static const char usage_run[] =
    "usage: vessel run --arch riscv64 --kernel IMAGE [OPTIONS]\n"
    "\n"
    "Boots a Linux kernel on Vessel's rv64 engine, with OpenSBI in M-mode, on a board\n"
    "like QEMU's riscv virt machine. The console is this terminal (or stdin/stdout).\n"
    "\n"
    "  --arch ARCH        guest architecture: riscv64 (default) or x86_64 (kvm engine:\n"
    "                     --kernel is a bzImage or an ELF vmlinux/PVH kernel; --mem 16M\n"
    "                     to 64G; virtio devices on x86_64 are virtio-pci)\n"
    "  --kernel IMAGE     RISC-V Linux Image (flat, with the \"RSC\\x05\" header)\n"
    "  --initrd FILE      initial ramdisk (e.g. initramfs.cpio.gz)\n"
    "  --append STR       kernel command line (e.g. \"console=ttyS0\")\n"
    "  --firmware FILE    OpenSBI fw_dynamic.bin or fw_jump.bin (default:\n"
    "                     $VESSEL_CACHE/riscv64/fw_dynamic.bin, VESSEL_CACHE defaulting\n"
    "                     to ~/.cache/vessel; scripts/fetch-guest.sh fills it)\n"
    "  --mem SIZE         guest RAM; K, M or G suffix, a bare number is MiB (default 512M;\n"
    "                     64M to 64G)\n"
    "  --cpus N           number of harts, 1 to 32 (default 1)\n"
    "  --trace FILE       write an instruction trace of the rv64 engine to FILE\n"
    "  --disk PATH[,ro][,format=raw|qcow2]\n"
    "                     a virtio-blk disk (repeatable; /dev/vda, vdb, ... in order);\n"
    "                     ro: read-only; format: default probed from the file\n"
    "  --rng              a virtio-rng device fed by the host's getrandom()\n"
    "  --console-socket PATH\n"
    "                     a virtio-console port (/dev/hvc0 in the guest) on a unix socket\n"
    "                     that vessel listens on at PATH (one client at a time)\n"
    "  --net user[,hostfwd=tcp:[HOSTADDR]:HOSTPORT-:GUESTPORT]...[,mac=MAC]\n"
    "                     a virtio-net NIC (repeatable: eth0, eth1, ...) on user-mode NAT:\n"
    "                     DHCP gives the guest 10.0.2.15, the host's loopback is 10.0.2.2,\n"
    "                     DNS 10.0.2.3; each hostfwd forwards a host port to the guest\n"
    "                     (udp: too; HOSTADDR defaults to 0.0.0.0)\n"
    "  --net tap,ifname=NAME[,mac=MAC]\n"
    "                     a NIC on an existing tap interface\n"
    "  --net switch,path=PATH[,mac=MAC]\n"
    "                     a NIC on the `vessel switch PATH` virtual Ethernet switch\n"
    "                     MAC: e.g. 52:54:00:12:34:56; default 52:54:00 plus 3 bytes\n"
    "                     unique to this process and NIC\n"
    "  --balloon SIZE     a virtio-balloon device asking for SIZE back from the guest at\n"
    "                     start (0 for none yet); change it at run time via --api-socket\n"
    "  --api-socket PATH  control socket (unix, line-based): one JSON command per line,\n"
    "                     one JSON answer per line:\n"
    "                       {\"balloon_target_mib\": N}  balloon size N MiB -> {\"ok\":true}\n"
    "                       {\"stats\": null}            balloon, guest memory stats, VMM RSS\n"
    "                       {\"snapshot\": {\"path\": P, \"then\": \"resume\"|\"stop\"}}\n"
    "                                                  write the VM's state to P\n"
    "                                                  (riscv64 and x86_64)\n"
    "                       {\"migrate\": {\"to\": \"HOST:PORT\"}}, {\"migrate_status\": null},\n"
    "                       {\"migrate_cancel\": null}  live migration (vessel migrate;\n"
    "                                                  riscv64 and x86_64)\n"
    "  --restore PATH     continue a VM from a snapshot file instead of booting: RAM size,\n"
    "                     harts, kernel command line and boot files come from the file\n"
    "                     (no --kernel, --initrd, --append, --firmware, --mem, --cpus),\n"
    "                     and so do the engine and architecture (rv64/riscv64 or\n"
    "                     kvm/x86_64; --arch may be left out);\n"
    "                     give the same device options as when it was taken (--disk files\n"
    "                     must be the same, or a qcow2 overlay of the same size on the\n"
    "                     snapshot's disk; --console-socket and --net backends may differ)\n"
    "  --clone            with --restore: this VM is one of several clones of the snapshot\n"
    "                     (they share its RAM pages copy-on-write). The guest gets a new VM\n"
    "                     generation ID and its interrupt (Linux's vmgenid driver reseeds\n"
    "                     the kernel RNG); every --net without mac= gets a new random,\n"
    "                     locally administered MAC. Linux reads the MAC when its driver\n"
    "                     probes, so a running guest uses the new one after a reboot or a\n"
    "                     re-probe (echo virtioN > /sys/bus/virtio/drivers/virtio_net/unbind,\n"
    "                     then the same to .../bind; virtioN is the basename of the link\n"
    "                     /sys/class/net/eth0/device); until then it sends with the old one.\n"
    "                     A writable --disk that is the snapshot's own disk gets a new\n"
    "                     qcow2 overlay per clone (DIR/STEM-clone-XXXXXXXX.qcow2, printed);\n"
    "                     or give each clone its own overlay (vessel disk create NEW\n"
    "                     --backing DISK) or read-only disks\n"
    "  --incoming [HOST:]PORT\n"
    "                     receive a live migration instead of booting: listen on PORT\n"
    "                     (HOST: the address to listen on, default all), wait for\n"
    "                     `vessel migrate --to THISHOST:PORT` on the source, then run the\n"
    "                     VM; machine settings come from the source, device options as\n"
    "                     for --restore (the same disk files: shared storage); --mem and\n"
    "                     --cpus, when given, are what the source's VM must have; give\n"
    "                     --arch x86_64 to receive an x86_64 (kvm) VM; --kernel, --initrd\n"
    "                     and --firmware are what a later guest reboot boots (the source's\n"
    "                     paths are not used: without them a reboot ends the VM)\n"
    "  -h, --help         this text\n"
    "\n"
    "Console: on a terminal, Ctrl-A x quits, Ctrl-A Ctrl-A sends a Ctrl-A, Ctrl-A h\n"
    "lists the keys. With stdin not a terminal, bytes pass through unchanged and the\n"
    "guest keeps running after end of input.\n"
    "\n"
    "Exit status:\n"
    "  0    the guest powered off (or the VM migrated away, or stopped after a snapshot)\n"
    "  1    usage error or bad input (missing or unusable files, bad sizes)\n"
    "  2    the VMM failed while setting up or running the guest\n"
    "  3    the guest crashed or the VMM stopped it (e.g. a fatal CPU engine error)\n"
    "  130  quit by the user with Ctrl-A x\n";

struct run_opts {
    const char *arch, *kernel, *initrd, *append, *firmware, *trace;
    uint64_t mem;
    long cpus;
    struct args_disk disks[RISCV_VIRTIO_SLOTS];
    int ndisks;
    bool rng;
    const char *console_socket;
    struct net_config nets[RISCV_VIRTIO_SLOTS];
    int nnets;
    bool balloon;
    uint64_t balloon_bytes;
    const char *api_socket;
    const char *restore;
    const char *incoming;
    bool mem_set, cpus_set; /* with --incoming: what the source's VM must have */
    bool clone;
};

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("vessel: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(EXIT_USAGE);
}

static void parse_run(int argc, char **argv, struct run_opts *o)
{
    enum { O_ARCH = 256, O_KERNEL, O_INITRD, O_APPEND, O_FIRMWARE, O_MEM, O_CPUS, O_TRACE };
    enum { O_DISK = 320, O_RNG, O_CONSOLE_SOCKET };
    enum { O_NET = 340, O_BALLOON, O_API_SOCKET, O_RESTORE, O_INCOMING, O_CLONE };
    static const struct option longopts[] = {
        {"arch", required_argument, NULL, O_ARCH},
        {"kernel", required_argument, NULL, O_KERNEL},
        {"initrd", required_argument, NULL, O_INITRD},
        {"append", required_argument, NULL, O_APPEND},
        {"firmware", required_argument, NULL, O_FIRMWARE},
        {"mem", required_argument, NULL, O_MEM},
        {"cpus", required_argument, NULL, O_CPUS},
        {"trace", required_argument, NULL, O_TRACE},
        {"disk", required_argument, NULL, O_DISK},
        {"rng", no_argument, NULL, O_RNG},
        {"console-socket", required_argument, NULL, O_CONSOLE_SOCKET},
        {"net", required_argument, NULL, O_NET},
        {"balloon", required_argument, NULL, O_BALLOON},
        {"api-socket", required_argument, NULL, O_API_SOCKET},
        {"restore", required_argument, NULL, O_RESTORE},
        {"incoming", required_argument, NULL, O_INCOMING},
        {"clone", no_argument, NULL, O_CLONE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *why;
    char nwhy[200];
    int c, err;
    bool machine_set = false; /* --mem or --cpus given */
    bool arch_set = false;

    *o = (struct run_opts){.arch = "riscv64", .mem = DEFAULT_MEM, .cpus = 1};
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_ARCH:
            o->arch = optarg;
            arch_set = true;
            break;
        case O_KERNEL: o->kernel = optarg; break;
        case O_INITRD: o->initrd = optarg; break;
        case O_APPEND: o->append = optarg; break;
        case O_FIRMWARE: o->firmware = optarg; break;
        case O_TRACE: o->trace = optarg; break;
        case O_MEM:
            machine_set = o->mem_set = true;
            err = args_parse_size(optarg, &o->mem);
            if (err)
                die_usage("--mem %s: %s", optarg,
                          err == -ERANGE ? "too large" : "expected a size like 512M or 2G");
            break;
        case O_CPUS:
            machine_set = o->cpus_set = true;
            err = args_parse_int(optarg, 1, RV64_MAX_HARTS, &o->cpus);
            if (err)
                die_usage("--cpus %s: expected a number of harts from 1 to %d", optarg,
                          RV64_MAX_HARTS);
            break;
        case O_DISK:
            if (o->ndisks == RISCV_VIRTIO_SLOTS)
                die_usage("--disk %s: at most %d disks", optarg, RISCV_VIRTIO_SLOTS);
            if (args_parse_disk(optarg, &o->disks[o->ndisks], &why))
                die_usage("--disk %s: %s", optarg, why);
            o->ndisks++;
            break;
        case O_RNG: o->rng = true; break;
        case O_CONSOLE_SOCKET:
            if (!*optarg)
                die_usage("--console-socket: expected a socket path");
            o->console_socket = optarg;
            break;
        case O_NET:
            if (o->nnets == RISCV_VIRTIO_SLOTS)
                die_usage("--net %s: at most %d NICs", optarg, RISCV_VIRTIO_SLOTS);
            if (net_config_parse(optarg, &o->nets[o->nnets], nwhy, sizeof(nwhy)))
                die_usage("--net %s: %s", optarg, nwhy);
            o->nnets++;
            break;
        case O_BALLOON:
            o->balloon = true;
            o->balloon_bytes = 0;
            if (strcmp(optarg, "0") != 0 && args_parse_size(optarg, &o->balloon_bytes))
                die_usage("--balloon %s: expected a size like 256M or 1G (or 0)", optarg);
            break;
        case O_API_SOCKET:
            if (!*optarg)
                die_usage("--api-socket: expected a socket path");
            o->api_socket = optarg;
            break;
        case O_RESTORE: o->restore = optarg; break;
        case O_INCOMING: o->incoming = optarg; break;
        case O_CLONE: o->clone = true; break;
        case 'h': fputs(usage_run, stdout); exit(0);
        case ':': die_usage("run: option %s needs a value", argv[optind - 1]);
        default: die_usage("run: unknown option '%s' (see vessel run --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        die_usage("run: unexpected argument '%s' (see vessel run --help)", argv[optind]);
    if (strcmp(o->arch, "riscv64") != 0 && strcmp(o->arch, "x86_64") != 0)
        die_usage("--arch %s: unknown architecture (supported: riscv64, x86_64)", o->arch);
    if (o->restore && o->incoming)
        die_usage("--restore and --incoming do not go together");
    if (o->restore && (o->kernel || o->initrd || o->append || o->firmware || machine_set))
        die_usage("--restore: the snapshot sets the machine; --kernel, --initrd, --append, "
                  "--firmware, --mem and --cpus do not go with it");
    /* The file says which engine and architecture it is for. */
    if (o->restore && cli_restore_is_x86(o->restore) != !strcmp(o->arch, "x86_64")) {
        if (arch_set)
            die_usage("--restore %s: the snapshot is not for --arch %s", o->restore, o->arch);
        o->arch = cli_restore_is_x86(o->restore) ? "x86_64" : "riscv64";
    }
    if (o->incoming) {
        char host[256], port[8];
        if (migrate_parse_hostport(o->incoming, host, sizeof(host), port, sizeof(port)))
            die_usage("--incoming %s: expected PORT or HOST:PORT", o->incoming);
    }
    if (o->clone && !o->restore)
        die_usage("--clone: goes with --restore PATH (a clone of that snapshot)");
    if (o->clone && strcmp(o->arch, "riscv64"))
        die_usage("--clone: clones are for riscv64 snapshots only so far");
    if (!o->kernel && !o->restore && !o->incoming)
        die_usage("run: --kernel IMAGE is required (see vessel run --help)");
    if (!strcmp(o->arch, "x86_64")) {
        const char *bad = cli_x86_check_mem(o->mem);
        if (bad)
            die_usage("--mem: %s", bad);
        if (o->firmware || o->trace)
            die_usage("run: --firmware and --trace are not supported with --arch x86_64 yet");
        if (o->ndisks + o->rng + (o->console_socket != NULL) + o->nnets + o->balloon >
            X86_VIRTIO_MAX)
            die_usage("run: more than %d virtio devices", X86_VIRTIO_MAX);
        if (o->balloon && o->balloon_bytes > o->mem)
            die_usage("--balloon: %llu MiB is more than the guest's RAM (%llu MiB)",
                      (unsigned long long)(o->balloon_bytes >> 20),
                      (unsigned long long)(o->mem >> 20));
        return;
    }
    if (!o->restore && !o->incoming && (o->mem < RISCV_RAM_MIN || o->mem > RISCV_RAM_MAX))
        die_usage("--mem: %llu MiB is out of range (%llu MiB to %llu GiB)",
                  (unsigned long long)(o->mem >> 20), RISCV_RAM_MIN >> 20, RISCV_RAM_MAX >> 30);
    if (o->mem & 0xfff)
        die_usage("--mem: must be a multiple of 4 KiB");
    if (o->balloon && o->balloon_bytes > o->mem)
        die_usage("--balloon: %llu MiB is more than the guest's RAM (%llu MiB)",
                  (unsigned long long)(o->balloon_bytes >> 20), (unsigned long long)(o->mem >> 20));
    if (o->ndisks + o->rng + (o->console_socket != NULL) + o->nnets + o->balloon >
        RISCV_VIRTIO_SLOTS)
        die_usage("run: more than %d virtio devices (--disk, --rng, --console-socket, --net, "
                  "--balloon)",
                  RISCV_VIRTIO_SLOTS);
}

/* The host side of the virtio devices; opened before the board so that a bad file is a
 * usage error (exit 1). */
struct run_backends {
    struct disk *disks[RISCV_VIRTIO_SLOTS];
    int ndisks;
    struct chardev_socket *console;
    struct net_backend *nets[RISCV_VIRTIO_SLOTS];
    uint8_t macs[RISCV_VIRTIO_SLOTS][6];
    int nnets;
};

static void backends_close(struct run_backends *r)
{
    for (int i = 0; i < r->ndisks; i++)
        disk_close(r->disks[i]);
    chardev_socket_close(r->console);
    for (int i = 0; i < r->nnets; i++)
        net_backend_close(r->nets[i]);
    *r = (struct run_backends){0};
}

static int backends_open(struct run_backends *r, const struct run_opts *o)
{
    *r = (struct run_backends){0};
    for (int i = 0; i < o->ndisks; i++) {
        if (disk_open(&r->disks[i], o->disks[i].path, o->disks[i].format, o->disks[i].readonly)) {
            fprintf(stderr, "vessel: --disk %s: cannot open the disk (see above)\n",
                    o->disks[i].path);
            backends_close(r);
            return -1;
        }
        r->ndisks++;
    }
    if (o->console_socket && chardev_socket_listen(&r->console, o->console_socket)) {
        fprintf(stderr, "vessel: --console-socket %s: cannot listen there (see above)\n",
                o->console_socket);
        backends_close(r);
        return -1;
    }
    for (int i = 0; i < o->nnets; i++) {
        if (net_backend_open(&r->nets[i], &o->nets[i])) {
            fprintf(stderr, "vessel: --net: cannot open network backend %d (see above)\n", i);
            backends_close(r);
            return -1;
        }
        if (o->nets[i].mac_set)
            memcpy(r->macs[i], o->nets[i].mac, 6);
        else
            net_mac_default(r->macs[i], i);
        r->nnets++;
    }
    return 0;
}

/* The default firmware from the guest artifact cache; the returned string is malloc'd. */
static char *default_firmware(void)
{
    const char *cache = getenv("VESSEL_CACHE"), *home = getenv("HOME");
    char *path = NULL;
    int n;

    if (cache && *cache)
        n = asprintf(&path, "%s/riscv64/fw_dynamic.bin", cache);
    else if (home && *home)
        n = asprintf(&path, "%s/.cache/vessel/riscv64/fw_dynamic.bin", home);
    else
        die_usage("no --firmware given and neither VESSEL_CACHE nor HOME is set");
    if (n < 0)
        die_usage("out of memory");
    if (access(path, R_OK) != 0)
        die_usage("no --firmware given and %s: %s (run scripts/fetch-guest.sh or pass "
                  "--firmware)",
                  path, strerror(errno));
    return path;
}

static int cmd_run(int argc, char **argv)
{
    struct run_opts o;
    struct riscv_images img;
    struct riscv_boot_plan plan;
    struct riscv_board *board = NULL;
    struct chardev_stdio *console = NULL;
    struct run_backends be;
    struct api_socket *api = NULL;
    struct control ctl = {0};
    char *fw_default = NULL;
    enum riscv_board_exit why;
    char restore_why[600];
    double t_restore = 0, t_loaded = 0;
    struct migrate_incoming in = {.lfd = -1, .fd = -1, .state_fd = -1};
    struct gmem in_ram = {.fd = -1};
    struct migrate_vm mvm;
    struct migration *mig = NULL;
    int err;

    parse_run(argc, argv, &o);
    if (!strcmp(o.arch, "x86_64")) {
        if (backends_open(&be, &o))
            return EXIT_USAGE;
        struct x86_run_opts xo = {.kernel = o.kernel,
                                  .initrd = o.initrd,
                                  .append = o.append,
                                  .mem = o.mem,
                                  .cpus = (int)o.cpus,
                                  .virtio = {.disks = be.disks,
                                             .ndisks = be.ndisks,
                                             .rng = o.rng,
                                             .console_socket = be.console,
                                             .nets = be.nets,
                                             .net_macs = (const uint8_t(*)[6])be.macs,
                                             .nnets = be.nnets,
                                             .balloon = o.balloon,
                                             .balloon_bytes = o.balloon_bytes},
                                  .restore = o.restore,
                                  .api_socket = o.api_socket,
                                  .incoming = o.incoming,
                                  .want_mem = o.mem_set ? o.mem : 0,
                                  .want_cpus = o.cpus_set ? (int)o.cpus : 0};
        err = cli_run_x86(&xo);
        backends_close(&be);
        return err;
    }
    if (o.restore &&
        cli_restore_open(o.restore, &o.mem, &o.cpus, &o.append, &o.firmware, &o.kernel, &o.initrd))
        return EXIT_USAGE;
    if (o.incoming) {
        struct cli_incoming_want want = {.mem = o.mem_set ? o.mem : 0,
                                         .cpus = o.cpus_set ? o.cpus : 0};
        err = cli_incoming_accept(&in, o.incoming, &want, &o.mem, &o.cpus, &o.append, &o.firmware,
                                  &o.kernel, &o.initrd);
        if (err) {
            migrate_incoming_close(&in);
            return err == 1 ? EXIT_USAGE : EXIT_VMM_ERROR;
        }
        o.restore = in.state_path; /* filled before the board is created */
    }
    if (!o.firmware)
        o.firmware = fw_default = default_firmware();
    if (o.restore)
        memset(&img, 0, sizeof(img)); /* nothing is loaded: RAM comes from the snapshot */
    else if (riscv_images_load(&img, o.firmware, o.kernel, o.initrd)) {
        free(fw_default);
        return EXIT_USAGE;
    }
    if (!o.restore && riscv_boot_plan(&img, RISCV_RAM_BASE, o.mem, &plan)) {
        riscv_images_free(&img);
        free(fw_default);
        return EXIT_USAGE;
    }

    if ((o.clone && cli_clone_disks(o.disks, o.ndisks)) || backends_open(&be, &o)) {
        riscv_images_free(&img);
        free(fw_default);
        if (o.incoming)
            migrate_answer(&in, "the destination's device backends failed to open");
        migrate_incoming_close(&in);
        return EXIT_USAGE;
    }
    for (int i = 0; o.clone && i < be.nnets; i++)
        if (!o.nets[i].mac_set)
            net_mac_random(be.macs[i]); /* a clone's NICs do not keep the snapshot's MACs */
    err = chardev_stdio_open(&console);
    if (err) {
        riscv_images_free(&img);
        backends_close(&be);
        free(fw_default);
        return EXIT_VMM_ERROR;
    }
    struct riscv_board_config bc = {
        .ram_size = o.mem,
        .nharts = (int)o.cpus,
        .cmdline = o.append,
        .trace_path = o.trace,
        .fw_path = o.firmware,
        .kernel_path = o.kernel,
        .initrd_path = o.initrd,
        .console_tx = chardev_stdio_tx,
        .console_rx_ready = chardev_stdio_wake,
        .console_opaque = console,
        .virtio = {.disks = be.disks,
                   .ndisks = be.ndisks,
                   .rng = o.rng,
                   .console_socket = be.console,
                   .nets = be.nets,
                   .net_macs = (const uint8_t(*)[6])be.macs,
                   .nnets = be.nnets,
                   .balloon = o.balloon,
                   .balloon_bytes = o.balloon_bytes},
        .restore_path = o.restore,
        .clone = o.clone,
    };
    if (o.incoming) {
        err = cli_incoming_receive(&in, &bc, &in_ram);
        if (err) {
            chardev_stdio_close(console);
            backends_close(&be);
            migrate_incoming_close(&in);
            gmem_destroy(&in_ram);
            return err == 1 ? EXIT_USAGE : EXIT_VMM_ERROR;
        }
        bc.incoming_ram = &in_ram;
    } else if (o.restore &&
               riscv_board_check_restore(o.restore, &bc, restore_why, sizeof(restore_why))) {
        if (restore_why[0])
            fprintf(stderr, "vessel: --restore %s: %s\n", o.restore, restore_why);
        chardev_stdio_close(console);
        backends_close(&be);
        return EXIT_USAGE;
    }
    t_restore = snapshot_now_ms();
    err = riscv_board_create(&board, &bc, &img);
    t_loaded = snapshot_now_ms();
    if (o.incoming) {
        /* The source waits for this answer: on "go" the VM runs here, else nothing remains. */
        if (migrate_commit(&in, err ? "the destination could not load the state" : NULL) && !err)
            err = -ECONNABORTED;
        if (!err) {
            riscv_board_start_devices(board);
            riscv_board_announce(board); /* switches learn the guest's new port at once */
        }
        migrate_incoming_close(&in);
        gmem_destroy(&in_ram); /* empty unless the board did not take it */
    }
    if (!err) {
        struct chardev_stdio_sink sink = {
            .rx = riscv_board_console_input, .quit = riscv_board_quit, .opaque = board};
        err = chardev_stdio_start(console, &sink);
    }
    if (!err && o.api_socket) {
        ctl.balloon = riscv_board_balloon(board);
        ctl.snapshot = cli_riscv_snapshot;
        ctl.snapshot_opaque = board;
        riscv_board_migrate_vm(board, &mvm);
        ctl.migration = mig = migration_new(&mvm);
        if (!mig)
            err = -ENOMEM;
    }
    if (!err && o.api_socket) {
        if (api_socket_start(&api, o.api_socket, &ctl)) {
            fprintf(stderr, "vessel: --api-socket %s: cannot listen there (see above)\n",
                    o.api_socket);
            err = EXIT_USAGE;
        }
    }
    if (err) {
        migration_free(mig);
        riscv_board_destroy(board);
        chardev_stdio_close(console);
        backends_close(&be);
        free(fw_default);
        return err == EXIT_USAGE ? EXIT_USAGE : EXIT_VMM_ERROR;
    }
    if (o.incoming)
        cli_incoming_report(&in, t_loaded - t_restore, snapshot_now_ms() - t_restore);
    else if (o.restore)
        cli_restore_report(o.restore, snapshot_now_ms() - t_restore, o.mem);
    if (o.clone)
        cli_clone_report(board, be.macs, be.nnets);
    why = riscv_board_run(board);
    if (why == RISCV_EXIT_MIGRATED)
        api_socket_linger(api, 2000);
    api_socket_stop(api);
    if (why == RISCV_EXIT_MIGRATED)
        cli_migrated_report(mig);
    migration_free(mig);
    chardev_stdio_close(console); /* stops input first: it feeds the board */
    riscv_board_destroy(board);
    backends_close(&be);
    free(fw_default);
    switch (why) {
    case RISCV_EXIT_POWEROFF:
    case RISCV_EXIT_SNAPSHOT:
    case RISCV_EXIT_MIGRATED: return EXIT_POWEROFF;
    case RISCV_EXIT_USER_QUIT: return EXIT_USER_QUIT;
    case RISCV_EXIT_VMM_ERROR: return EXIT_VMM_ERROR;
    case RISCV_EXIT_STOPPED: break;
    }
    log_err("the guest was stopped (see the messages above)");
    return EXIT_STOPPED;
}

int main(int argc, char **argv)
{
    /* A closed stdout must become EPIPE on write, not a silent death. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
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
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "disk"))
        return cli_disk(argc - 1, argv + 1);
    if (!strcmp(argv[1], "migrate"))
        return cli_migrate(argc - 1, argv + 1);
    if (!strcmp(argv[1], "switch"))
        return cmd_switch(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info"))
        return cli_info();
    if (!strcmp(argv[1], "serve"))
        return host_serve_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "vm"))
        return cli_vm(argc - 1, argv + 1);
    if (!strcmp(argv[1], "console"))
        return cli_console(argc - 1, argv + 1);
    if (!strcmp(argv[1], "cluster"))
        return cli_cluster(argc - 1, argv + 1);
    if (!strcmp(argv[1], "vm-shim")) /* internal: started by `vessel serve` */
        return host_shim_main(argc - 1, argv + 1);
    fprintf(stderr, "vessel: unknown command '%s' (see vessel --help)\n", argv[1]);
    return EXIT_USAGE;
}
