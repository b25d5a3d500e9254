/* The x86 board: RAM in two KVM slots around the MMIO gap, COM1, i8042, CMOS, ACPI PM, the PCI
 * host, ACPI tables, then the kernel; the kvm engine runs it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "board/x86/acpi.h"
#include "board/x86/board_int.h"
#include "board/x86/layout.h"
#include "state/snapconfig.h"

static void board_irq(void *opaque, int line, int level)
{
    struct x86_board *b = opaque;

    kvm_engine_irq_line(b->kvm, (unsigned)line, level);
}

static void board_action(void *opaque, enum x86_action act)
{
    struct x86_board *b = opaque;

    kvm_engine_stop(b->kvm, act == X86_ACT_POWEROFF ? ENGINE_STOP_POWEROFF : ENGINE_STOP_RESET);
}

static void board_pci_reset(void *opaque)
{
    board_action(opaque, X86_ACT_RESET);
}

unsigned x86_board_console_input(void *board, const uint8_t *buf, unsigned len)
{
    struct x86_board *b = board;

    return uart16550_rx_push(&b->com1, buf, len);
}

void x86_board_quit(void *board)
{
    struct x86_board *b = board;

    atomic_store(&b->user_quit, 1);
    kvm_engine_stop(b->kvm, ENGINE_STOP_QUIT);
}

static int board_add_devices(struct x86_board *b)
{
    const struct irq_line com1_irq = {board_irq, b, X86_IRQ_COM1};
    const struct {
        struct bus *bus;
        uint64_t base, len;
        const struct bus_ops *ops;
        void *dev;
        const char *name;
    } windows[] = {
        {&b->pio, X86_PORT_I8042_DATA, 5, &x86_i8042_ops, &b->legacy, "i8042"},
        {&b->pio, X86_PORT_CMOS, 2, &x86_cmos_ops, &b->legacy, "cmos"},
        {&b->pio, X86_PORT_DEBUG, 1, &x86_sink_ops, NULL, "post"},
        {&b->pio, X86_PORT_COM1, X86_PORT_COM1_LEN, &uart16550_bus_ops, &b->com1, "com1"},
        {&b->pio, X86_PORT_PM1A_EVT, X86_PORT_PM1A_CNT + 2 - X86_PORT_PM1A_EVT, &x86_pm_ops,
         &b->legacy, "acpi-pm"},
        {&b->pio, X86_PORT_PCI_CONFIG, 8, &x86_pci_cf8_ops, &b->pci, "pci-cf8"},
        {&b->mmio, X86_PCI_ECAM_BASE, X86_PCI_ECAM_SIZE, &x86_pci_ecam_ops, &b->pci, "pci-ecam"},
    };
    int err;

    uart16550_init(&b->com1, &com1_irq, b->cfg.console_tx, b->cfg.console_opaque);
    b->com1.rx_drained = b->cfg.console_rx_ready;
    x86_legacy_init(&b->legacy, board_action, b);
    x86_pci_init(&b->pci, board_pci_reset, b);
    for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
        err = bus_register(windows[i].bus, windows[i].base, windows[i].len, windows[i].ops,
                           windows[i].dev, windows[i].name);
        if (err) {
            log_err("x86: registering %s at 0x%llx: %s", windows[i].name,
                    (unsigned long long)windows[i].base, strerror(-err));
            return err;
        }
    }
    return 0;
}

/* The bytes of RAM above the low part sit above the MMIO gap, at 4 GiB. */
static void ram_set_hole(struct gmem *m, uint64_t ram_size)
{
    if (ram_size > x86_low_ram(ram_size))
        gmem_set_hole(m, x86_low_ram(ram_size), X86_HIGH_RAM_START - x86_low_ram(ram_size));
}

int x86_board_ram_create(struct gmem *m, uint64_t ram_size)
{
    int err = gmem_create(m, 0, ram_size);

    if (!err)
        ram_set_hole(m, ram_size);
    return err;
}

static int board_add_virtio(struct x86_board *b)
{
    const struct x86_virtio_host host = {
        .ram = &b->ram,
        .pci = &b->pci,
        .mmio = &b->mmio,
        .kvm = b->kvm,
        .irq_set = board_irq,
        .irq_opaque = b,
    };

    /* devices address all of RAM (a restored region gets its hole here) */
    ram_set_hole(&b->ram, b->cfg.ram_size);
    return x86_virtio_create(&b->virtio, &b->cfg.virtio, &host);
}

static int board_add_memory(struct x86_board *b)
{
    uint64_t low = x86_low_ram(b->cfg.ram_size);
    int err;

    err = kvm_engine_add_memory(b->kvm, 0, 0, low, b->ram.hva);
    if (!err && b->cfg.ram_size > low)
        err = kvm_engine_add_memory(b->kvm, 1, X86_HIGH_RAM_START, b->cfg.ram_size - low,
                                    b->ram.hva + low);
    return err;
}

/* ACPI tables, kernel, initrd, command line and the boot CPU state. */
static int board_load(struct x86_board *b)
{
    struct kvm_boot_cpu cpu;
    int n, err;

    n = x86_acpi_build(b->ram.hva + X86_ACPI_ADDR, X86_ACPI_SIZE, X86_ACPI_ADDR, b->cfg.ncpus);
    if (n < 0) {
        log_err("x86: ACPI tables for %d CPUs do not fit in %llu KiB", b->cfg.ncpus,
                X86_ACPI_SIZE >> 10);
        return n;
    }
    err = x86_boot_load(&b->ram, &b->kernel, b->cfg.initrd, b->cfg.initrd_len, b->cfg.cmdline,
                        X86_ACPI_ADDR, &cpu);
    if (err)
        return -EINVAL; /* the images do not fit: the user's input */
    err = kvm_engine_setup_boot_cpu(b->kvm, &cpu);
    return err == -EINVAL ? -EIO : err;
}

int x86_board_create(struct x86_board **out, const struct x86_board_config *cfg)
{
    struct kvm_engine_config kc;
    struct snap_reader restore = {.fd = -1};
    struct x86_board *b;
    char why[256];
    int err;

    b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->cfg = *cfg;
    b->ram.fd = -1;
    pthread_mutex_init(&b->snap_lock, NULL);
    if (!cfg->restore_path &&
        x86_kernel_parse(&b->kernel, cfg->kernel, cfg->kernel_len, why, sizeof(why))) {
        log_err("%s", why);
        err = -EINVAL;
        goto fail_free;
    }
    if (cfg->ram_size < X86_RAM_MIN || cfg->ram_size > X86_RAM_MAX || (cfg->ram_size & 0xfff)) {
        err = -EINVAL;
        goto fail_free;
    }
    if (cfg->restore_path) { /* no kernel: RAM, vCPUs and devices come from the state file */
        err = snapshot_open(&restore, cfg->restore_path, "kvm", "x86_64");
        if (!err)
            err = x86_board_restore_ram(b, &restore);
        if (err) {
            err = err == -ENOMEM ? err : -EINVAL;
            goto fail_free;
        }
    } else {
        err = x86_board_ram_create(&b->ram, cfg->ram_size);
        if (err) {
            log_err("x86: creating %llu MiB of guest RAM: %s",
                    (unsigned long long)(cfg->ram_size >> 20), strerror(-err));
            err = err == -EINVAL ? -ENOMEM : err;
            goto fail_free;
        }
    }
    bus_init(&b->pio);
    bus_init(&b->mmio);
    kc = (struct kvm_engine_config){.ncpus = cfg->ncpus, .pio = &b->pio, .mmio = &b->mmio};
    err = kvm_engine_create(&b->kvm, &kc);
    if (err) {
        err = err == -EINVAL ? -EIO : err;
        goto fail_ram;
    }
    err = board_add_memory(b);
    if (err) {
        err = -EIO;
        goto fail_engine;
    }
    err = board_add_devices(b);
    if (err) {
        err = -EIO;
        goto fail_devices;
    }
    err = board_add_virtio(b);
    if (err) {
        err = -EIO;
        goto fail_devices;
    }
    err = cfg->restore_path ? x86_board_restore_state(b, &restore) : board_load(b);
    if (err)
        goto fail_virtio;
    snap_reader_close(&restore);
    *out = b;
    return 0;

fail_virtio:
    x86_virtio_destroy(&b->virtio);
fail_devices:
    x86_pci_destroy(&b->pci);
    x86_legacy_destroy(&b->legacy);
    uart16550_destroy(&b->com1);
fail_engine:
    kvm_engine_destroy(b->kvm);
fail_ram:
    gmem_destroy(&b->ram);
fail_free:
    snap_reader_close(&restore);
    pthread_mutex_destroy(&b->snap_lock);
    free(b);
    return err;
}

struct virtio_balloon *x86_board_balloon(struct x86_board *b)
{
    return b->virtio.balloon;
}

void x86_board_destroy(struct x86_board *b)
{
    if (!b)
        return;
    x86_virtio_destroy(&b->virtio); /* device threads raise interrupts through the engine */
    kvm_engine_destroy(b->kvm);
    x86_pci_destroy(&b->pci);
    x86_legacy_destroy(&b->legacy);
    uart16550_destroy(&b->com1);
    gmem_destroy(&b->ram);
    pthread_mutex_destroy(&b->snap_lock);
    free(b->mig_vs);
    free(b->mig_log);
    free(b);
}

enum x86_board_exit x86_board_run(struct x86_board *b)
{
    switch (kvm_engine_run(b->kvm)) {
    case ENGINE_STOP_POWEROFF: return X86_EXIT_POWEROFF;
    case ENGINE_STOP_RESET: return X86_EXIT_RESET;
    case ENGINE_STOP_QUIT:
        if (atomic_load(&b->migrated))
            return X86_EXIT_MIGRATED;
        if (atomic_load(&b->snap_stop))
            return X86_EXIT_SNAPSHOT;
        return atomic_load(&b->user_quit) ? X86_EXIT_USER_QUIT : X86_EXIT_STOPPED;
    case ENGINE_STOP_ERROR: return X86_EXIT_VMM_ERROR;
    case ENGINE_STOP_CRASH:
    case ENGINE_STOP_NONE: break;
    }
    return X86_EXIT_STOPPED;
}
