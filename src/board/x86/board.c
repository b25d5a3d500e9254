/* The x86 board (board/x86/board.h): RAM in two KVM slots around the MMIO gap, COM1, i8042,
 * CMOS, ACPI PM, the PCI host, ACPI tables, then the kernel; the kvm engine runs it. */
#include "board/x86/board.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "board/x86/acpi.h"
#include "board/x86/board_int.h"
#include "board/x86/boot.h"
#include "board/x86/layout.h"

#define KERNEL_MAX (256u << 20)
#define INITRD_MAX (1u << 30)

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

static unsigned board_console_input(void *board, const uint8_t *buf, unsigned len)
{
    struct x86_board *b = board;

    return uart16550_rx_push(&b->com1, buf, len);
}

/* The ACPI fixed-feature power button (the FADT says so): the guest's OS sees a power button
 * press through the SCI and decides (acpid, systemd-logind: a clean power-off). */
static int board_power_button(void *board)
{
    struct x86_board *b = board;

    x86_pm_power_button(&b->legacy);
    return 0;
}

static void *board_engine(void *board)
{
    struct x86_board *b = board;

    return b->kvm;
}

static int board_add_devices(struct x86_board *b)
{
    const struct irq_line com1_irq = {board_irq, b, X86_IRQ_COM1};
    const struct irq_line sci = {board_irq, b, X86_IRQ_SCI};
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

    uart16550_init(&b->com1, &com1_irq, b->p.console_tx, b->p.console_opaque);
    b->com1.rx_drained = b->p.console_rx_ready;
    x86_legacy_init(&b->legacy, board_action, b, &sci);
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

void x86_ram_layout(struct gmem *ram)
{
    uint64_t low = x86_low_ram(ram->size);

    if (ram->size > low)
        gmem_set_hole(ram, low, X86_HIGH_RAM_START - low);
}

/* Slot 0 is low RAM at region offset 0, slot 1 (when RAM reaches past the gap) the rest, at
 * region offset x86_low_ram, guest physical 4 GiB. */
int x86_ram_slots(uint64_t ram_size, struct board_ram_slot *slots)
{
    uint64_t low = x86_low_ram(ram_size);

    slots[0] = (struct board_ram_slot){.slot = 0, .offset = 0, .size = low};
    if (ram_size <= low)
        return 1;
    slots[1] = (struct board_ram_slot){.slot = 1, .offset = low, .size = ram_size - low};
    return 2;
}

static int board_add_memory(struct x86_board *b)
{
    struct board_ram_slot s[BOARD_RAM_SLOTS_MAX];
    int n = x86_ram_slots(b->ram->size, s), err = 0;

    for (int i = 0; !err && i < n; i++)
        err = kvm_engine_add_memory(b->kvm, s[i].slot, s[i].offset ? X86_HIGH_RAM_START : 0,
                                    s[i].size, b->ram->hva + s[i].offset);
    return err;
}

static int read_image(const char *what, const char *path, size_t max, uint8_t **buf, size_t *len)
{
    int err = file_read_all(path, max, buf, len);

    if (err)
        log_err("%s %s: %s", what, path, err == -EFBIG ? "file too large" : strerror(-err));
    return err;
}

/* Reads the kernel and checks that it is one this board boots; the initrd must be readable. */
static int read_kernel(const struct board_params *p, struct x86_kernel *k, uint8_t **kernel,
                       size_t *len)
{
    char why[256];
    int err, fd;

    if (!p->kernel) {
        log_err("x86: no kernel to boot");
        return -EINVAL;
    }
    err = read_image("kernel", p->kernel, KERNEL_MAX, kernel, len);
    if (!err && x86_kernel_parse(k, *kernel, *len, why, sizeof(why))) {
        log_err("kernel %s: %s", p->kernel, why);
        free(*kernel);
        *kernel = NULL;
        err = -EINVAL;
    }
    /* open, not access(): a reboot reads the files again on the main thread, whose running
     * seccomp filter has openat and close but no access */
    if (!err && p->initrd && ((fd = open(p->initrd, O_RDONLY | O_CLOEXEC)) < 0 || close(fd))) {
        log_err("initrd %s: %s", p->initrd, strerror(errno));
        free(*kernel);
        *kernel = NULL;
        err = -EINVAL;
    }
    return err ? -EINVAL : 0;
}

static int board_check_boot(const struct board_params *p, uint64_t ram_size)
{
    struct x86_kernel k;
    uint8_t *kernel;
    size_t len;
    int err = read_kernel(p, &k, &kernel, &len);

    (void)ram_size;
    if (!err)
        free(kernel);
    return err;
}

/* ACPI tables, kernel, initrd, command line and the boot CPU state; the files are read at every
 * boot. */
static int board_boot(void *board)
{
    struct x86_board *b = board;
    struct kvm_boot_cpu cpu;
    struct x86_kernel k;
    uint8_t *kernel = NULL, *initrd = NULL;
    size_t kernel_len = 0, initrd_len = 0;
    int n, err;

    err = read_kernel(&b->p, &k, &kernel, &kernel_len);
    if (!err && b->p.initrd)
        err = read_image("initrd", b->p.initrd, INITRD_MAX, &initrd, &initrd_len);
    if (err) {
        err = -EINVAL; /* the user's input */
        goto out;
    }
    n = x86_acpi_build(b->ram->hva + X86_ACPI_ADDR, X86_ACPI_SIZE, X86_ACPI_ADDR, b->p.ncpus);
    if (n < 0) {
        log_err("x86: ACPI tables for %d CPUs do not fit in %llu KiB", b->p.ncpus,
                X86_ACPI_SIZE >> 10);
        err = n;
        goto out;
    }
    err = x86_boot_load(b->ram, &k, initrd, initrd_len, b->p.cmdline, X86_ACPI_ADDR, &cpu);
    if (err) {
        err = -EINVAL; /* the images do not fit: the user's input */
        goto out;
    }
    err = kvm_engine_setup_boot_cpu(b->kvm, &cpu);
    err = err == -EINVAL ? -EIO : err;
out:
    free(kernel);
    free(initrd);
    return err;
}

/* After the VM reset the virtio devices and the engine. */
static void board_reset(void *board)
{
    struct x86_board *b = board;

    uart16550_reset(&b->com1);
    x86_legacy_reset(&b->legacy);
    x86_pci_reset(&b->pci); /* MSI-X off, INTx enabled, vectors forgotten */
}

static void board_destroy(void *board)
{
    struct x86_board *b = board;

    if (!b)
        return;
    x86_virtio_destroy(b); /* transports raise interrupts through the engine */
    kvm_engine_destroy(b->kvm);
    x86_pci_destroy(&b->pci);
    x86_legacy_destroy(&b->legacy);
    uart16550_destroy(&b->com1);
    free(b);
}

static int board_create(void **out, const struct board_params *p)
{
    struct kvm_engine_config kc;
    struct x86_board *b = calloc(1, sizeof(*b));
    int err;

    if (!b)
        return -ENOMEM;
    b->p = *p;
    b->ram = p->ram;
    bus_init(&b->pio);
    bus_init(&b->mmio);
    kc = (struct kvm_engine_config){.ncpus = p->ncpus, .pio = &b->pio, .mmio = &b->mmio};
    err = kvm_engine_create(&b->kvm, &kc);
    if (err) {
        free(b);
        return err == -EINVAL ? -EIO : err;
    }
    x86_irqfds_init(&b->irqfds, b->kvm);
    b->msi_next = X86_MSI_GSI_BASE;
    err = board_add_memory(b);
    if (!err)
        err = board_add_devices(b);
    if (err) {
        board_destroy(b);
        return -EIO;
    }
    *out = b;
    return 0;
}

const struct board_ops x86_board_ops = {
    .arch = "x86_64",
    .engine = &kvm_engine_ops,
    .ram_base = 0,
    .ram_min = X86_RAM_MIN,
    .ram_max = X86_RAM_MAX,
    .max_cpus = KVM_MAX_VCPUS,
    .max_virtio = X86_VIRTIO_MAX,
    .ram_layout = x86_ram_layout,
    .ram_slots = x86_ram_slots,
    .create = board_create,
    .destroy = board_destroy,
    .engine_handle = board_engine,
    .attach_virtio = x86_virtio_attach,
    .virtio_done = x86_virtio_done,
    .check_boot = board_check_boot,
    .boot = board_boot,
    .reset = board_reset,
    .save = x86_board_save,
    .load = x86_board_load,
    .load_done = x86_board_load_done,
    .power_button = board_power_button,
    .console_input = board_console_input,
};
