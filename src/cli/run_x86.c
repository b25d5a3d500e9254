/* `vessel run --arch x86_64` and `vessel info`. */
#include "base/clock.h"
#include "cli/run_x86.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/chardev/stdio.h"
#include "base/file.h"
#include "base/log.h"
#include "board/x86/board.h"
#include "board/x86/boot.h"
#include "board/x86/layout.h"
#include "cli/run_restore.h"
#include "engine/kvm/kvm.h"
#include "mem/gmem.h"
#include "vm/api_socket.h"
#include "vm/control.h"
#include "vm/migrate.h"
#include "state/snapconfig.h"
#include "vm/snapshot.h"

#define KERNEL_MAX (256u << 20)
#define INITRD_MAX (1u << 30)

const char *cli_x86_check_mem(uint64_t mem)
{
    static char why[96];

    if (mem < X86_RAM_MIN || mem > X86_RAM_MAX) {
        snprintf(why, sizeof(why), "%llu MiB is out of range (%llu MiB to %llu GiB)",
                 (unsigned long long)(mem >> 20), X86_RAM_MIN >> 20, X86_RAM_MAX >> 30);
        return why;
    }
    if (mem & 0xfff)
        return "must be a multiple of 4 KiB";
    return NULL;
}

bool cli_restore_is_x86(const char *path)
{
    char h[40];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool x86;

    if (fd < 0)
        return false;
    x86 = pread(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h) && !memcmp(h, "VESSELST", 8) &&
          !strncmp(h + 24, "x86_64", 16);
    close(fd);
    return x86;
}

static int read_image(const char *opt, const char *path, size_t max, uint8_t **buf, size_t *len)
{
    int err = file_read_all(path, max, buf, len);

    if (err)
        fprintf(stderr, "vessel: %s %s: %s\n", opt, path,
                err == -EFBIG ? "file too large" : strerror(-err));
    return err;
}

static int snapshot_hook(void *board, const struct control_cmd *cmd, struct snapshot_result *res)
{
    return x86_board_snapshot(board, cmd->path, cmd->stop, cmd->keep_disks, res);
}

/* The machine a snapshot was taken of: RAM, vCPUs and boot files from its CONFIG section.
 * Lives until exit (the board keeps pointers to the strings). 0, or 1 (logged: bad input). */
static struct snapshot_config restored;

static int restore_config(const char *path, struct x86_run_opts *o)
{
    const char *bad;

    if (snapshot_read_config_file(path, "kvm", "x86_64", &restored))
        return 1; /* logged */
    bad = cli_x86_check_mem(restored.ram_size);
    if (bad || restored.nharts > KVM_MAX_VCPUS) {
        fprintf(stderr, "vessel: --restore %s: the snapshot's machine does not fit: %s\n", path,
                bad ? bad : "too many vCPUs");
        return 1;
    }
    o->mem = restored.ram_size;
    o->cpus = restored.nharts;
    /* Boot files for a later guest reboot are this host's own (--kernel, --initrd): paths
     * sent by the source are not trusted with this host's files. */
    if (!o->append)
        o->append = restored.cmdline;
    return 0;
}

/* --incoming: a refusal goes to stderr and to the source. Returns 2. */
static int refuse(struct migrate_incoming *in, const char *why)
{
    fprintf(stderr, "vessel: incoming migration: %s\n", why);
    migrate_answer(in, why);
    return 2;
}

/* --incoming: listens, waits for a source and takes its machine (RAM, vCPUs, command line) from
 * its configuration; what o->want_* asks for must match. 0, 1 (bad input, one line on stderr)
 * or 2 (failed or refused; logged). */
static int incoming_accept(struct migrate_incoming *in, struct x86_run_opts *o)
{
    char why[240];
    const char *bad;

    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        fprintf(stderr, "vessel: --arch x86_64 needs KVM: /dev/kvm: %s\n", strerror(errno));
        return 2;
    }
    if (migrate_listen(in, o->incoming))
        return 1; /* logged */
    fprintf(stderr, "vessel: waiting for a migration on %s\n", o->incoming);
    if (migrate_accept(in, "kvm", "x86_64"))
        return 2;
    if (snapshot_config_parse(in->config_json, in->config_len, &restored, why, sizeof(why)))
        return refuse(in, why);
    bad = cli_x86_check_mem(restored.ram_size);
    if (bad || restored.nharts < 1 || restored.nharts > KVM_MAX_VCPUS) {
        snprintf(why, sizeof(why), "the VM's %llu MiB of RAM and %d vCPUs do not fit here: %s",
                 (unsigned long long)(restored.ram_size >> 20), restored.nharts,
                 bad ? bad : "vCPU count out of range");
        return refuse(in, why);
    }
    if ((o->want_mem && o->want_mem != restored.ram_size) ||
        (o->want_cpus && o->want_cpus != restored.nharts)) {
        snprintf(why, sizeof(why),
                 "the VM has %llu MiB of RAM and %d vCPUs; this destination was started for "
                 "%llu MiB and %d vCPUs",
                 (unsigned long long)(restored.ram_size >> 20), restored.nharts,
                 (unsigned long long)((o->want_mem ? o->want_mem : restored.ram_size) >> 20),
                 o->want_cpus ? o->want_cpus : restored.nharts);
        return refuse(in, why);
    }
    o->mem = restored.ram_size;
    o->cpus = restored.nharts;
    o->append = restored.cmdline;
    o->kernel = restored.kernel;
    o->initrd = restored.initrd;
    return 0;
}

/* --incoming: checks that this VM's devices take the source's configuration, answers the
 * source and receives guest RAM into *ram (laid out as the board lays it out) and the rest into
 * the incoming state file. 0, 1 (the devices differ; one line on stderr) or 2 (failed). */
static int incoming_receive(struct migrate_incoming *in, const struct x86_board_config *bc,
                            struct gmem *ram)
{
    char why[600];
    int err;

    if (x86_board_check_config(in->config_json, in->config_len, bc, why, sizeof(why))) {
        refuse(in, why[0] ? why : "the machine configuration does not fit");
        return 1;
    }
    err = x86_board_ram_create(ram, bc->ram_size);
    if (err) {
        fprintf(stderr, "vessel: incoming migration: creating %llu MiB of guest RAM: %s\n",
                (unsigned long long)(bc->ram_size >> 20), strerror(-err));
        migrate_answer(in, "the destination cannot allocate the VM's RAM");
        return 2;
    }
    return migrate_take_vm(in, ram, bc->virtio.disks, bc->virtio.ndisks) ? 2 : 0;
}

int cli_run_x86(const struct x86_run_opts *opts)
{
    struct x86_run_opts o = *opts;
    struct x86_kernel k;
    struct x86_board *board = NULL;
    struct chardev_stdio *console = NULL;
    struct api_socket *api = NULL;
    struct control ctl = {0};
    struct migrate_incoming in = {.lfd = -1, .fd = -1, .state_fd = -1};
    struct gmem in_ram = {.fd = -1};
    struct migrate_vm mvm;
    struct migration *mig = NULL;
    uint8_t *kernel = NULL, *initrd = NULL;
    size_t kernel_len = 0, initrd_len = 0;
    enum x86_board_exit why;
    char reason[600];
    double t0 = 0, t_loaded = 0;
    int err, status = 1;

    if (o.incoming) {
        status = incoming_accept(&in, &o);
        if (status)
            goto out;
        status = 1;
        o.restore = in.state_path; /* filled before the board is created */
    } else if (o.restore) {
        if (restore_config(o.restore, &o))
            return 1;
    } else {
        if (read_image("--kernel", o.kernel, KERNEL_MAX, &kernel, &kernel_len))
            return 1;
        if (x86_kernel_parse(&k, kernel, kernel_len, reason, sizeof(reason))) {
            fprintf(stderr, "vessel: --kernel %s: %s\n", o.kernel, reason);
            goto out;
        }
    }
    /* Cheap check for the common case; the engine checks the API and capabilities itself. */
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        fprintf(stderr, "vessel: --arch x86_64 needs KVM: /dev/kvm: %s%s\n", strerror(errno),
                errno == ENOENT ? " (no KVM on this host; see vessel info)" : "");
        status = 2;
        goto out;
    }
    if (!o.restore && o.initrd &&
        read_image("--initrd", o.initrd, INITRD_MAX, &initrd, &initrd_len))
        goto out;
    struct x86_board_config bc = {
        .ram_size = o.mem,
        .ncpus = o.cpus,
        .kernel = kernel,
        .kernel_len = kernel_len,
        .initrd = initrd,
        .initrd_len = initrd_len,
        .cmdline = o.append,
        .virtio = o.virtio,
        .kernel_path = o.kernel,
        .initrd_path = o.initrd,
        .restore_path = o.restore,
    };
    if (o.incoming) {
        status = incoming_receive(&in, &bc, &in_ram);
        if (status)
            goto out;
        status = 1;
        bc.incoming_ram = &in_ram;
    } else if (o.restore && x86_board_check_restore(o.restore, &bc, reason, sizeof(reason))) {
        if (reason[0])
            fprintf(stderr, "vessel: --restore %s: %s\n", o.restore, reason);
        goto out;
    }
    err = chardev_stdio_open(&console);
    if (!err) {
        bc.console_tx = chardev_stdio_tx;
        bc.console_rx_ready = chardev_stdio_wake;
        bc.console_opaque = console;
        t0 = clock_now_ms();
        err = x86_board_create(&board, &bc);
        t_loaded = clock_now_ms();
    }
    if (o.incoming) {
        /* The source waits for this answer: on "go" the VM runs here, else nothing remains. */
        if (migrate_commit(&in, err ? "the destination could not load the state" : NULL) && !err)
            err = -ECONNABORTED;
        if (!err) {
            x86_board_start_devices(board);
            x86_board_announce(board); /* switches learn the guest's new port at once */
        }
        migrate_incoming_close(&in);
        gmem_destroy(&in_ram); /* empty unless the board did not take it */
    }
    if (err) {
        x86_board_destroy(board);
        chardev_stdio_close(console);
        status = err == -EINVAL && !o.incoming ? 1 : 2;
        goto out;
    }
    struct chardev_stdio_sink sink = {
        .rx = x86_board_console_input, .quit = x86_board_quit, .opaque = board};
    err = chardev_stdio_start(console, &sink);
    if (!err && o.api_socket) {
        ctl.balloon = x86_board_balloon(board);
        ctl.snapshot = snapshot_hook;
        ctl.snapshot_opaque = board;
        x86_board_migrate_vm(board, &mvm);
        ctl.migration = mig = migration_new(&mvm);
        if (!mig)
            err = -ENOMEM;
        else if (api_socket_start(&api, o.api_socket, &ctl)) {
            fprintf(stderr, "vessel: --api-socket %s: cannot listen there (see above)\n",
                    o.api_socket);
            migration_free(mig);
            x86_board_destroy(board);
            chardev_stdio_close(console);
            goto out;
        }
    }
    if (err) {
        migration_free(mig);
        x86_board_destroy(board);
        chardev_stdio_close(console);
        status = 2;
        goto out;
    }
    if (o.incoming)
        cli_incoming_report(&in, t_loaded - t0, clock_now_ms() - t0);
    else if (o.restore)
        fprintf(stderr, "vessel: restored %s in %.2f ms (%llu MiB of RAM mapped copy-on-write)\r\n",
                o.restore, clock_now_ms() - t0, (unsigned long long)(o.mem >> 20));
    why = x86_board_run(board);
    if (why == X86_EXIT_MIGRATED)
        api_socket_linger(api, 2000); /* `vessel migrate` reads the final status */
    api_socket_stop(api);
    if (why == X86_EXIT_MIGRATED)
        cli_migrated_report(mig);
    migration_free(mig);
    chardev_stdio_close(console);
    x86_board_destroy(board);
    switch (why) {
    case X86_EXIT_POWEROFF:
    case X86_EXIT_RESET:
    case X86_EXIT_SNAPSHOT:
    case X86_EXIT_MIGRATED: status = 0; break;
    case X86_EXIT_USER_QUIT: status = 130; break;
    case X86_EXIT_VMM_ERROR: status = 2; break;
    case X86_EXIT_STOPPED:
        log_err("the guest was stopped (see the messages above)");
        status = 3;
        break;
    }
out:
    migrate_incoming_close(&in);
    gmem_destroy(&in_ram);
    free(kernel);
    free(initrd);
    return status;
}

int cli_info(void)
{
    struct kvm_host_info info;
    char why[256];
    int err = kvm_probe(&info, why, sizeof(why));

    printf("vessel engines on this host:\n");
    printf("  rv64  riscv64 guests: supported (Vessel's own emulator, no host support needed)\n");
    if (err) {
        printf("  kvm   x86_64 guests:  not supported: %s\n", why);
        return 0;
    }
    printf("  kvm   x86_64 guests:  supported (KVM API %d, up to %d vCPUs%s%s%s)\n",
           info.api_version, info.max_vcpus, info.signature[0] ? ", host hypervisor \"" : "",
           info.signature, info.signature[0] ? "\"" : "");
    if (info.pvm)
        printf("        PVM host: only PVM guest kernels run at full speed; other kernels' "
               "supervisor code is emulated slowly, and stock Linux kernels stop with an "
               "emulation failure%s\n",
               info.hw_virt ? "" : " (no vmx/svm in /proc/cpuinfo)");
    else
        printf("        hardware-assisted (%s)\n", "vmx/svm in /proc/cpuinfo");
    return 0;
}
