/* `vessel run --arch x86_64` and `vessel info`. */
#include "cli/run_x86.h"

#include <errno.h>
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
#include "engine/kvm/kvm.h"

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

static int read_image(const char *opt, const char *path, size_t max, uint8_t **buf, size_t *len)
{
    int err = file_read_all(path, max, buf, len);

    if (err)
        fprintf(stderr, "vessel: %s %s: %s\n", opt, path,
                err == -EFBIG ? "file too large" : strerror(-err));
    return err;
}

int cli_run_x86(const struct x86_run_opts *o)
{
    struct x86_kernel k;
    struct x86_board *board = NULL;
    struct chardev_stdio *console = NULL;
    uint8_t *kernel = NULL, *initrd = NULL;
    size_t kernel_len = 0, initrd_len = 0;
    enum x86_board_exit why;
    char reason[256];
    int err, status = 1;

    if (read_image("--kernel", o->kernel, KERNEL_MAX, &kernel, &kernel_len))
        return 1;
    if (x86_kernel_parse(&k, kernel, kernel_len, reason, sizeof(reason))) {
        fprintf(stderr, "vessel: --kernel %s: %s\n", o->kernel, reason);
        goto out;
    }
    /* Cheap check for the common case; the engine checks the API and capabilities itself. */
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        fprintf(stderr, "vessel: --arch x86_64 needs KVM: /dev/kvm: %s%s\n", strerror(errno),
                errno == ENOENT ? " (no KVM on this host; see vessel info)" : "");
        status = 2;
        goto out;
    }
    if (o->initrd && read_image("--initrd", o->initrd, INITRD_MAX, &initrd, &initrd_len))
        goto out;
    err = chardev_stdio_open(&console);
    if (err) {
        status = 2;
        goto out;
    }
    struct x86_board_config bc = {
        .ram_size = o->mem,
        .ncpus = o->cpus,
        .kernel = kernel,
        .kernel_len = kernel_len,
        .initrd = initrd,
        .initrd_len = initrd_len,
        .cmdline = o->append,
        .console_tx = chardev_stdio_tx,
        .console_rx_ready = chardev_stdio_wake,
        .console_opaque = console,
        .virtio = o->virtio,
    };
    err = x86_board_create(&board, &bc);
    if (err) {
        chardev_stdio_close(console);
        status = err == -EINVAL ? 1 : 2;
        goto out;
    }
    struct chardev_stdio_sink sink = {
        .rx = x86_board_console_input, .quit = x86_board_quit, .opaque = board};
    err = chardev_stdio_start(console, &sink);
    if (err) {
        x86_board_destroy(board);
        chardev_stdio_close(console);
        status = 2;
        goto out;
    }
    why = x86_board_run(board);
    chardev_stdio_close(console);
    x86_board_destroy(board);
    switch (why) {
    case X86_EXIT_POWEROFF:
    case X86_EXIT_RESET: status = 0; break;
    case X86_EXIT_USER_QUIT: status = 130; break;
    case X86_EXIT_VMM_ERROR: status = 2; break;
    case X86_EXIT_STOPPED:
        log_err("the guest was stopped (see the messages above)");
        status = 3;
        break;
    }
out:
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
