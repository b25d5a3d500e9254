/* vessel: the command-line entry point. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/chardev/stdio.h"
#include "base/log.h"
#include "board/riscv/board.h"
#include "board/riscv/boot.h"
#include "board/riscv/layout.h"
#include "cli/args.h"
#include "engine/rv64/rv64.h"

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
    "       vessel --help | --version\n";

static const char usage_run[] =
    "usage: vessel run --arch riscv64 --kernel IMAGE [OPTIONS]\n"
    "\n"
    "Boots a Linux kernel on Vessel's rv64 engine, with OpenSBI in M-mode, on a board\n"
    "like QEMU's riscv virt machine. The console is this terminal (or stdin/stdout).\n"
    "\n"
    "  --arch ARCH        guest architecture: riscv64 (default)\n"
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
    "  -h, --help         this text\n"
    "\n"
    "Console: on a terminal, Ctrl-A x quits, Ctrl-A Ctrl-A sends a Ctrl-A, Ctrl-A h\n"
    "lists the keys. With stdin not a terminal, bytes pass through unchanged and the\n"
    "guest keeps running after end of input.\n"
    "\n"
    "Exit status:\n"
    "  0    the guest powered off\n"
    "  1    usage error or bad input (missing or unusable files, bad sizes)\n"
    "  2    the VMM failed while setting up or running the guest\n"
    "  3    the guest crashed or the VMM stopped it (e.g. a fatal CPU engine error)\n"
    "  130  quit by the user with Ctrl-A x\n";

struct run_opts {
    const char *arch, *kernel, *initrd, *append, *firmware, *trace;
    uint64_t mem;
    long cpus;
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
    static const struct option longopts[] = {
        {"arch", required_argument, NULL, O_ARCH},
        {"kernel", required_argument, NULL, O_KERNEL},
        {"initrd", required_argument, NULL, O_INITRD},
        {"append", required_argument, NULL, O_APPEND},
        {"firmware", required_argument, NULL, O_FIRMWARE},
        {"mem", required_argument, NULL, O_MEM},
        {"cpus", required_argument, NULL, O_CPUS},
        {"trace", required_argument, NULL, O_TRACE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, err;

    *o = (struct run_opts){.arch = "riscv64", .mem = DEFAULT_MEM, .cpus = 1};
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_ARCH: o->arch = optarg; break;
        case O_KERNEL: o->kernel = optarg; break;
        case O_INITRD: o->initrd = optarg; break;
        case O_APPEND: o->append = optarg; break;
        case O_FIRMWARE: o->firmware = optarg; break;
        case O_TRACE: o->trace = optarg; break;
        case O_MEM:
            err = args_parse_size(optarg, &o->mem);
            if (err)
                die_usage("--mem %s: %s", optarg,
                          err == -ERANGE ? "too large" : "expected a size like 512M or 2G");
            break;
        case O_CPUS:
            err = args_parse_int(optarg, 1, RV64_MAX_HARTS, &o->cpus);
            if (err)
                die_usage("--cpus %s: expected a number of harts from 1 to %d", optarg,
                          RV64_MAX_HARTS);
            break;
        case 'h': fputs(usage_run, stdout); exit(0);
        case ':': die_usage("run: option %s needs a value", argv[optind - 1]);
        default: die_usage("run: unknown option '%s' (see vessel run --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        die_usage("run: unexpected argument '%s' (see vessel run --help)", argv[optind]);
    if (strcmp(o->arch, "riscv64") != 0)
        die_usage("--arch %s: unknown architecture (supported: riscv64)", o->arch);
    if (!o->kernel)
        die_usage("run: --kernel IMAGE is required (see vessel run --help)");
    if (o->mem < RISCV_RAM_MIN || o->mem > RISCV_RAM_MAX)
        die_usage("--mem: %llu MiB is out of range (%llu MiB to %llu GiB)",
                  (unsigned long long)(o->mem >> 20), RISCV_RAM_MIN >> 20, RISCV_RAM_MAX >> 30);
    if (o->mem & 0xfff)
        die_usage("--mem: must be a multiple of 4 KiB");
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
    char *fw_default = NULL;
    enum riscv_board_exit why;
    int err;

    parse_run(argc, argv, &o);
    if (!o.firmware)
        o.firmware = fw_default = default_firmware();
    if (riscv_images_load(&img, o.firmware, o.kernel, o.initrd)) {
        free(fw_default);
        return EXIT_USAGE;
    }
    if (riscv_boot_plan(&img, RISCV_RAM_BASE, o.mem, &plan)) {
        riscv_images_free(&img);
        free(fw_default);
        return EXIT_USAGE;
    }

    err = chardev_stdio_open(&console);
    if (err) {
        riscv_images_free(&img);
        free(fw_default);
        return EXIT_VMM_ERROR;
    }
    struct riscv_board_config bc = {
        .ram_size = o.mem,
        .nharts = (int)o.cpus,
        .cmdline = o.append,
        .trace_path = o.trace,
        .console_tx = chardev_stdio_tx,
        .console_rx_ready = chardev_stdio_wake,
        .console_opaque = console,
    };
    err = riscv_board_create(&board, &bc, &img);
    if (!err) {
        struct chardev_stdio_sink sink = {
            .rx = riscv_board_console_input, .quit = riscv_board_quit, .opaque = board};
        err = chardev_stdio_start(console, &sink);
    }
    if (err) {
        riscv_board_destroy(board);
        chardev_stdio_close(console);
        free(fw_default);
        return EXIT_VMM_ERROR;
    }
    why = riscv_board_run(board);
    chardev_stdio_close(console); /* stops input first: it feeds the board */
    riscv_board_destroy(board);
    free(fw_default);
    switch (why) {
    case RISCV_EXIT_POWEROFF: return EXIT_POWEROFF;
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
    fprintf(stderr, "vessel: unknown command '%s' (see vessel --help)\n", argv[1]);
    return EXIT_USAGE;
}
