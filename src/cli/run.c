/* `vessel run`: argv (or --config FILE) -> a VM configuration (vm/vm_config.h), the VM run by
 * the VM core (vm/vm.h), and what it did printed on stderr. */
#include "cli/run.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "base/thread.h"
#include "cli/args.h"
#include "board/board.h"
#include "host/jail.h"
#include "vm/migrate.h"
#include "vm/migrate_tls.h"
#include "vm/seccomp.h"
#include "vm/vm.h"

static const char usage_run[] =
    "usage: vessel run --arch riscv64 --kernel IMAGE [OPTIONS]\n"
    "       vessel run --arch riscv64 --disk IMAGE [OPTIONS]     (boots from the disk)\n"
    "\n"
    "Boots a Linux kernel on Vessel's rv64 engine, with OpenSBI in M-mode, on a board\n"
    "like QEMU's riscv virt machine. Without --kernel the machine boots from its disks\n"
    "as a real one does: OpenSBI runs U-Boot, which boots the kernel, initrd and command\n"
    "line that /boot/extlinux/extlinux.conf names on the first disk that has one (e.g.\n"
    "an image made by `vessel image build`). The console is this terminal (or\n"
    "stdin/stdout).\n"
    "\n"
    "  --arch ARCH        guest architecture: riscv64 (default) or x86_64 (kvm engine:\n"
    "                     --kernel is a bzImage or an ELF vmlinux/PVH kernel; --mem 16M\n"
    "                     to 64G; virtio devices on x86_64 are virtio-pci with MSI-X;\n"
    "                     needs VT-x/AMD-V: without, run it nested, docs/nested.md)\n"
    "  --kernel IMAGE     RISC-V Linux Image (flat, with the \"RSC\\x05\" header)\n"
    "  --initrd FILE      initial ramdisk (e.g. initramfs.cpio.gz)\n"
    "  --append STR       kernel command line (e.g. \"console=ttyS0\")\n"
    "  --firmware FILE    OpenSBI fw_dynamic.bin or fw_jump.bin (default:\n"
    "                     $VESSEL_CACHE/riscv64/fw_dynamic.bin, VESSEL_CACHE defaulting\n"
    "                     to ~/.cache/vessel; scripts/fetch-guest.sh fills it)\n"
    "  --bootloader FILE  riscv64 without --kernel: the S-mode boot loader OpenSBI runs in\n"
    "                     the kernel's place (default: $VESSEL_CACHE/riscv64/u-boot/\n"
    "                     u-boot.bin, Debian's u-boot-qemu qemu-riscv64_smode, fetched by\n"
    "                     scripts/fetch-guest.sh); --initrd and --append need --kernel\n"
    "  --mem SIZE         guest RAM; K, M or G suffix, a bare number is MiB (default 512M;\n"
    "                     64M to 64G)\n"
    "  --cpus N           number of vCPUs (harts), 1 to 32 on riscv64, 1 to 64 on x86_64\n"
    "                     (default 1)\n"
    "  --trace FILE       write an instruction trace of the rv64 engine to FILE\n"
    "  --rv64-tier jit|interp\n"
    "                     the rv64 engine's tier: the JIT (the default on x86-64 hosts) or\n"
    "                     the interpreter (the reference; the only tier elsewhere)\n"
    "  --rv64-jit-cache SIZE\n"
    "                     the JIT's code cache for all harts (default 8M; 256K to 1G)\n"
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
    "  --config FILE      the whole VM as JSON (docs/vm-config.md; what `vessel serve`\n"
    "                     hands its VM processes); no other option goes with it\n"
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
    "                       {\"shutdown\": null}         press the guest's power button\n"
    "                                                  (an error where the board has none)\n"
    "                       {\"reboot\": null}           reset: the VM reboots in place\n"
    "  --restore PATH     continue a VM from a snapshot file instead of booting: RAM size,\n"
    "                     harts, kernel command line and boot files come from the file\n"
    "                     (no --kernel, --initrd, --append, --firmware, --bootloader, --mem,\n"
    "                     --cpus),\n"
    "                     and so do the engine and architecture (rv64/riscv64 or\n"
    "                     kvm/x86_64; --arch may be left out);\n"
    "                     give the same device options as when it was taken (--disk files\n"
    "                     must be the same, or a qcow2 overlay of the same size on the\n"
    "                     snapshot's disk; --console-socket and --net backends may differ)\n"
    "  --clone            with --restore (riscv64): this VM is one of several clones of the\n"
    "                     snapshot\n"
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
    "                     paths are not used; riscv64 without --kernel reboots through\n"
    "                     the default boot loader when it is there, else a reboot ends\n"
    "                     the VM)\n"
    "  --seccomp          confine every thread of the VM process to the system calls its\n"
    "                     role needs (seccomp-bpf; no privileges needed); a denied call\n"
    "                     ends the VM with one line naming the thread and the call\n"
    "  --jail             run the VM process jailed (needs root; implies --seccomp): its own\n"
    "                     uid and gid, no capabilities, new PID, mount, IPC and UTS\n"
    "                     namespaces, a root that holds only its files (docs/sandbox.md)\n"
    "  --jail-dir DIR     the jailed VM's own writable directory (created if missing): its\n"
    "                     --api-socket, --console-socket and --trace must be in it, and so\n"
    "                     must snapshot paths; snapshot overlays are made there\n"
    "  --jail-uid UID[:GID]  the uid (and gid) to run as (default: a free one of\n"
    "                     900000000-900065535, the gid of the same number)\n"
    "  --jail-uids FIRST-LAST  the range to take a free uid from\n"
    "  --jail-root DIR    the empty directory the jail's root is mounted on (default\n"
    "                     /run/vessel/jail; each VM mounts its own, invisible to others)\n"
    "  --print-seccomp    print each thread's allow-list for this --arch and --net, and exit\n"
    "  --migration-secret-file FILE\n"
    "                     with --incoming (required): the migration's secret, 16 to 256\n"
    "                     bytes of text in a file only its owner can read (mode 0600);\n"
    "                     `vessel migrate --secret-file` on the source gives the same one.\n"
    "                     A connection that does not prove it knows it is dropped and the\n"
    "                     wait goes on. The migration runs in a TLS 1.3 session keyed by\n"
    "                     the secret (always encrypted)\n"
    "  --incoming-timeout SECONDS\n"
    "                     with --incoming: receive the VM within SECONDS of starting to\n"
    "                     listen, waiting for the source included (default 3600)\n"
    "  --incoming-max-mem SIZE\n"
    "                     with --incoming and without --mem: the most guest RAM to accept\n"
    "                     from the source (default 4G); never more than the host has free\n"
    "  -h, --help         this text\n"
    "\n"
    "SIGTERM stops the VM cleanly (disks flushed and closed; exit status 3).\n"
    "\n"
    "Console: on a terminal, Ctrl-A x quits, Ctrl-A Ctrl-A sends a Ctrl-A, Ctrl-A h\n"
    "lists the keys. With stdin not a terminal, bytes pass through unchanged and the\n"
    "guest keeps running after end of input.\n"
    "\n"
    "Exit status:\n"
    "  0    the guest powered off (or the VM migrated away, or stopped after a snapshot);\n"
    "       a guest reboot restarts the VM in place on both architectures\n"
    "  1    usage error or bad input (missing or unusable files, bad sizes)\n"
    "  2    the VMM failed while setting up or running the guest\n"
    "  3    the guest crashed or the VMM stopped it (e.g. a fatal CPU engine error)\n"
    "  130  quit by the user with Ctrl-A x\n";

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("vessel: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(VM_STATUS_USAGE);
}

static void read_config(const char *path, struct vm_config *c)
{
    uint8_t *text;
    size_t len;
    char why[300];
    struct stat st = {0};
    int err = file_read_all(path, VM_CONFIG_MAX_LEN, &text, &len);

    if (err)
        die_usage("--config %s: %s", path, err == -EFBIG ? "file too large" : strerror(-err));
    err = vm_config_from_json((const char *)text, len, c, why, sizeof(why));
    memset(text, 0, len);
    free(text);
    if (err)
        die_usage("--config %s: %s", path, why);
    /* A configuration that holds a migration secret must be its owner's alone. */
    if (c->migration_secret && (stat(path, &st) < 0 || (st.st_mode & 077)))
        die_usage("--config %s: it holds a migration secret and others may read it (mode %03o; "
                  "make it 0600)",
                  path, (unsigned)(st.st_mode & 0777));
}

static void add_disk(struct vm_config *c, const char *arg)
{
    struct args_disk d;
    const char *why;

    if (c->ndisks == VM_MAX_DEVICES)
        die_usage("--disk %s: at most %d disks", arg, VM_MAX_DEVICES);
    if (args_parse_disk(arg, &d, &why))
        die_usage("--disk %s: %s", arg, why);
    c->disks[c->ndisks++] = (struct vm_disk){
        .path = vm_config_strdup(d.path), .readonly = d.readonly, .format = d.format};
}

static struct vm_seccomp_opts seccomp_opts(const struct vm_config *c);

/* --print-seccomp: each thread role's allow-list for this VM (--arch, --net). */
static void print_allow_lists(const struct vm_config *c)
{
    struct vm_seccomp_opts o;

    if (c->arch && !board_find(c->arch))
        die_usage("--arch %s: unknown architecture", c->arch);
    o = seccomp_opts(c);
    vm_seccomp_print(stdout, &o);
}

/* --jail-uid UID[:GID] or --jail-uids FIRST-LAST into j. */
static int parse_uids(const char *s, bool range, struct vm_jail *j)
{
    unsigned long a, b = 0;
    char *end;

    errno = 0;
    a = strtoul(s, &end, 10);
    if (errno || end == s || !a || a > 0xfffffffeul)
        return -EINVAL;
    if (range) {
        if (*end != '-')
            return -EINVAL;
        b = strtoul(end + 1, &end, 10);
        if (errno || *end || b < a || b > 0xfffffffeul)
            return -EINVAL;
        j->uid_first = (uint32_t)a;
        j->uid_count = (uint32_t)(b - a + 1);
        return 0;
    }
    j->uid_first = (uint32_t)a;
    j->uid_count = 1;
    if (*end == ':') {
        b = strtoul(end + 1, &end, 10);
        if (errno || !b || b > 0xfffffffeul)
            return -EINVAL;
        j->gid = (int64_t)b;
    }
    return *end ? -EINVAL : 0;
}

static void parse_run(int argc, char **argv, struct vm_config *c)
{
    enum { O_ARCH = 256, O_KERNEL, O_INITRD, O_APPEND, O_FIRMWARE, O_MEM, O_CPUS, O_TRACE };
    enum { O_DISK = 320, O_RNG, O_CONSOLE_SOCKET, O_CONFIG, O_BOOTLOADER };
    enum { O_NET = 340, O_BALLOON, O_API_SOCKET, O_RESTORE, O_INCOMING, O_CLONE };
    enum { O_SECCOMP = 360, O_JAIL, O_JAIL_DIR, O_JAIL_UID, O_JAIL_UIDS, O_JAIL_ROOT };
    enum { O_PRINT_SECCOMP = 380, O_TIER, O_JIT_CACHE };
    enum { O_MIG_SECRET = 400, O_INCOMING_TIMEOUT, O_INCOMING_MAX_MEM };
    static const struct option longopts[] = {
        {"arch", required_argument, NULL, O_ARCH},
        {"kernel", required_argument, NULL, O_KERNEL},
        {"initrd", required_argument, NULL, O_INITRD},
        {"append", required_argument, NULL, O_APPEND},
        {"firmware", required_argument, NULL, O_FIRMWARE},
        {"bootloader", required_argument, NULL, O_BOOTLOADER},
        {"mem", required_argument, NULL, O_MEM},
        {"cpus", required_argument, NULL, O_CPUS},
        {"trace", required_argument, NULL, O_TRACE},
        {"disk", required_argument, NULL, O_DISK},
        {"rng", no_argument, NULL, O_RNG},
        {"console-socket", required_argument, NULL, O_CONSOLE_SOCKET},
        {"config", required_argument, NULL, O_CONFIG},
        {"net", required_argument, NULL, O_NET},
        {"balloon", required_argument, NULL, O_BALLOON},
        {"api-socket", required_argument, NULL, O_API_SOCKET},
        {"restore", required_argument, NULL, O_RESTORE},
        {"incoming", required_argument, NULL, O_INCOMING},
        {"clone", no_argument, NULL, O_CLONE},
        {"seccomp", no_argument, NULL, O_SECCOMP},
        {"jail", no_argument, NULL, O_JAIL},
        {"jail-dir", required_argument, NULL, O_JAIL_DIR},
        {"jail-uid", required_argument, NULL, O_JAIL_UID},
        {"jail-uids", required_argument, NULL, O_JAIL_UIDS},
        {"jail-root", required_argument, NULL, O_JAIL_ROOT},
        {"print-seccomp", no_argument, NULL, O_PRINT_SECCOMP},
        {"rv64-tier", required_argument, NULL, O_TIER},
        {"rv64-jit-cache", required_argument, NULL, O_JIT_CACHE},
        {"migration-secret-file", required_argument, NULL, O_MIG_SECRET},
        {"incoming-timeout", required_argument, NULL, O_INCOMING_TIMEOUT},
        {"incoming-max-mem", required_argument, NULL, O_INCOMING_MAX_MEM},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    bool print_seccomp = false;
    char why[600];
    long cpus;
    int ch, nopts = 0;

    memset(c, 0, sizeof(*c));
    c->jail.gid = -1;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        nopts++;
        switch (ch) {
        case O_ARCH: c->arch = vm_config_strdup(optarg); break;
        case O_KERNEL: c->kernel = vm_config_strdup(optarg); break;
        case O_INITRD: c->initrd = vm_config_strdup(optarg); break;
        case O_APPEND: c->cmdline = vm_config_strdup(optarg); break;
        case O_FIRMWARE: c->firmware = vm_config_strdup(optarg); break;
        case O_BOOTLOADER: c->bootloader = vm_config_strdup(optarg); break;
        case O_TRACE: c->trace = vm_config_strdup(optarg); break;
        case O_MEM:
            c->mem_set = true;
            if ((errno = -args_parse_size(optarg, &c->mem)))
                die_usage("--mem %s: %s", optarg,
                          errno == ERANGE ? "too large" : "expected a size like 512M or 2G");
            break;
        case O_CPUS:
            c->cpus_set = true;
            if (args_parse_int(optarg, 1, 1024, &cpus))
                die_usage("--cpus %s: expected a number of vCPUs from 1 up", optarg);
            c->cpus = (int)cpus;
            break;
        case O_DISK: add_disk(c, optarg); break;
        case O_RNG: c->rng = true; break;
        case O_CONSOLE_SOCKET:
            if (!*optarg)
                die_usage("--console-socket: expected a socket path");
            c->console_socket = vm_config_strdup(optarg);
            break;
        case O_CONFIG: config = optarg; break;
        case O_NET:
            if (c->nnets == VM_MAX_DEVICES)
                die_usage("--net %s: at most %d NICs", optarg, VM_MAX_DEVICES);
            c->nets[c->nnets++] = vm_config_strdup(optarg);
            break;
        case O_BALLOON:
            c->balloon = true;
            c->balloon_bytes = 0;
            if (strcmp(optarg, "0") != 0 && args_parse_size(optarg, &c->balloon_bytes))
                die_usage("--balloon %s: expected a size like 256M or 1G (or 0)", optarg);
            break;
        case O_API_SOCKET:
            if (!*optarg)
                die_usage("--api-socket: expected a socket path");
            c->api_socket = vm_config_strdup(optarg);
            break;
        case O_RESTORE: c->restore = vm_config_strdup(optarg); break;
        case O_INCOMING: c->incoming = vm_config_strdup(optarg); break;
        case O_CLONE: c->clone = true; break;
        case O_SECCOMP: c->seccomp = true; break;
        case O_JAIL: c->jail.on = true; break;
        case O_JAIL_DIR: c->jail.dir = vm_config_strdup(optarg); break;
        case O_JAIL_ROOT: c->jail.root = vm_config_strdup(optarg); break;
        case O_PRINT_SECCOMP: print_seccomp = true; break;
        case O_JAIL_UID:
        case O_JAIL_UIDS:
            if (parse_uids(optarg, ch == O_JAIL_UIDS, &c->jail))
                die_usage("%s %s: expected %s", argv[optind - 1], optarg,
                          ch == O_JAIL_UIDS ? "FIRST-LAST (uids, FIRST <= LAST)"
                                            : "UID or UID:GID (numbers above 0)");
            break;
        case O_TIER: c->rv64_tier = vm_config_strdup(optarg); break;
        case O_JIT_CACHE:
            if ((errno = -args_parse_size(optarg, &c->rv64_jit_cache)))
                die_usage("--rv64-jit-cache %s: %s", optarg, args_size_error(-errno));
            break;
        case O_MIG_SECRET: {
            char secret[MIGRATE_SECRET_MAX + 1];
            if (migrate_secret_read(optarg, secret, why, sizeof(why)))
                die_usage("--migration-secret-file %s", why);
            free(c->migration_secret);
            c->migration_secret = vm_config_strdup(secret);
            memset(secret, 0, sizeof(secret));
            break;
        }
        case O_INCOMING_TIMEOUT:
            if (args_parse_int(optarg, 1, 7 * 86400, &cpus))
                die_usage("--incoming-timeout %s: expected seconds from 1 to 604800", optarg);
            c->incoming_timeout_s = (uint32_t)cpus;
            break;
        case O_INCOMING_MAX_MEM:
            if (args_parse_size(optarg, &c->incoming_max_mem))
                die_usage("--incoming-max-mem %s: expected a size like 4G", optarg);
            break;
        case 'h': fputs(usage_run, stdout); exit(0);
        case ':': die_usage("run: option %s needs a value", argv[optind - 1]);
        default: die_usage("run: unknown option '%s' (see vessel run --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        die_usage("run: unexpected argument '%s' (see vessel run --help)", argv[optind]);
    if (!c->jail.on && (c->jail.dir || c->jail.root || c->jail.uid_count))
        die_usage("--jail-dir, --jail-uid(s) and --jail-root go with --jail");
    if (print_seccomp) {
        print_allow_lists(c);
        exit(0);
    }
    if (config) {
        if (nopts > 1)
            die_usage("--config: no other option goes with it (the file has the whole VM)");
        vm_config_free(c);
        read_config(config, c);
    }
    if (vm_config_check(c, NULL, why, sizeof(why)))
        die_usage("%s", why);
}

/* What the VM's creation did, on stderr (the console may be in raw mode: \r\n). */
static void report_start(struct vm *vm)
{
    struct vm_info i;

    vm_get_info(vm, &i);
    if (i.origin == VM_RECEIVED)
        fprintf(stderr,
                "\rvessel: incoming migration complete: %llu MiB of RAM received; VM loaded %.2f "
                "ms and running %.2f ms after the last byte\r\n",
                (unsigned long long)((i.pages_received * 4096) >> 20), i.load_ms,
                i.load_ms + i.ready_ms);
    else if (i.origin == VM_RESTORED)
        fprintf(stderr, "vessel: restored %s in %.2f ms (%llu MiB of RAM mapped copy-on-write)\r\n",
                i.restore_path, i.load_ms + i.ready_ms, (unsigned long long)(i.ram_size >> 20));
    if (!i.clone)
        return;
    fprintf(stderr, "vessel: clone: VM generation ID ");
    for (int k = 0; k < 16; k++)
        fprintf(stderr, "%02x", i.generation_id[k]);
    for (int k = 0; k < i.nnets; k++)
        fprintf(stderr, ", eth%d %02x:%02x:%02x:%02x:%02x:%02x", k, i.macs[k][0], i.macs[k][1],
                i.macs[k][2], i.macs[k][3], i.macs[k][4], i.macs[k][5]);
    fprintf(stderr, "\r\n");
}

static void report_end(struct vm *vm, enum vm_end end)
{
    struct migrate_status st;

    if (end == VM_END_STOPPED)
        log_err("the guest was stopped (see the messages above)");
    if (end != VM_END_MIGRATED)
        return;
    vm_migration_status(vm, &st);
    fprintf(stderr,
            "\r\nvessel: the VM migrated to %s (%.0f ms, downtime %.1f ms, %u passes, %llu MiB "
            "sent); it runs there now\r\n",
            st.to, st.elapsed_ms, st.downtime_ms, st.passes,
            (unsigned long long)(st.sent_bytes >> 20));
}

/* What the allow-lists depend on: the engine and the backends this VM has. */
static struct vm_seccomp_opts seccomp_opts(const struct vm_config *c)
{
    const struct board_ops *b = board_find(c->arch ? c->arch : VM_DEFAULT_ARCH);
    struct vm_seccomp_opts o = {.kvm = b && !strcmp(b->engine->name, "kvm")};
    struct net_config n;
    char why[200];

    for (int i = 0; i < c->nnets; i++)
        o.user_net |= !net_config_parse(c->nets[i], &n, why, sizeof(why)) && n.kind == NET_USER;
    return o;
}

/* The per-thread allow-lists (vm/seccomp.h). */
static int start_seccomp(const struct vm_config *c)
{
    struct vm_seccomp_opts o = seccomp_opts(c);

    return vm_seccomp_start(&o) ? VM_STATUS_VMM_ERROR : 0;
}

/* SIGTERM stops the VM cleanly (its disks flushed and closed; exit status 3); before the VM
 * exists it ends the process at once. The signal is blocked in every thread but this one. */
static _Atomic(struct vm *) running_vm;
static atomic_bool run_over;

static void *sigterm_thread(void *arg)
{
    sigset_t *set = arg;
    int sig;

    while (!sigwait(set, &sig) && !atomic_load(&run_over)) {
        struct vm *vm = atomic_load(&running_vm);
        if (!vm)
            _exit(VM_STATUS_STOPPED);
        log_warn("SIGTERM: stopping the VM");
        vm_terminate(vm);
    }
    return NULL;
}

int cli_run(int argc, char **argv)
{
    struct vm_config cfg;
    struct vm *vm;
    enum vm_end end;
    sigset_t set;
    pthread_t th;
    int st;

    parse_run(argc, argv, &cfg);
    /* SIGTERM is blocked before any thread exists (the sandbox's spawner included), so that
     * every thread inherits the mask and only the signal thread takes it. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    /* GnuTLS for migration (vm/migrate_tls.h): loaded and its priorities built while the
     * library and /etc/gnutls are still there and every system call allowed */
    if ((cfg.jail.on || cfg.seccomp) && mig_tls_preload()) {
        fputs("vessel: a sandboxed VM needs GnuTLS to migrate (see above)\n", stderr);
        vm_config_free(&cfg);
        return VM_STATUS_USAGE;
    }
    if (cfg.jail.on && (st = host_jail_enter(&cfg))) {
        vm_config_free(&cfg);
        return st;
    }
    if (cfg.seccomp && (st = start_seccomp(&cfg))) {
        vm_config_free(&cfg);
        return st;
    }
    if (thread_create(&th, THREAD_SIGNAL, sigterm_thread, &set)) {
        fputs("vessel: cannot start the signal thread\n", stderr);
        vm_config_free(&cfg);
        return VM_STATUS_VMM_ERROR;
    }
    st = vm_create(&vm, &cfg);
    if (!st && vm_seccomp_active() && thread_enter(THREAD_MAIN_RUN)) {
        log_err("seccomp: loading the main thread's running filter failed");
        vm_destroy(vm);
        vm_config_free(&cfg);
        return VM_STATUS_VMM_ERROR;
    }
    if (st) {
        vm_config_free(&cfg);
        return st;
    }
    atomic_store(&running_vm, vm);
    report_start(vm);
    end = vm_run(vm);
    report_end(vm, end);
    atomic_store(&run_over, true);
    pthread_kill(th, SIGTERM);
    pthread_join(th, NULL);
    vm_destroy(vm);
    vm_config_free(&cfg);
    return vm_end_status(end);
}
