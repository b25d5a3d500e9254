/* The riscv board (board/riscv/board.h): its devices wired to the rv64 engine, the boot of
 * OpenSBI and Linux, and its board_ops table. */
#include "board/riscv/board.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/log.h"
#include "board/riscv/board_int.h"

/* --- interrupt and timer wiring into the engine --- */

static void board_plic_irq(void *opaque, int ctx, int level)
{
    struct riscv_board *b = opaque;

    rv64_hart_set_irq(rv64_machine_hart(b->m, ctx / 2), (ctx & 1) ? RV64_MIP_SEIP : RV64_MIP_MEIP,
                      level);
}

static void board_set_msip(void *opaque, int hart, int level)
{
    struct riscv_board *b = opaque;

    rv64_hart_set_irq(rv64_machine_hart(b->m, hart), RV64_MIP_MSIP, level);
}

static uint64_t board_get_mtimecmp(void *opaque, int hart)
{
    struct riscv_board *b = opaque;

    return rv64_hart_mtimecmp(rv64_machine_hart(b->m, hart));
}

static void board_set_mtimecmp(void *opaque, int hart, uint64_t val)
{
    struct riscv_board *b = opaque;

    rv64_hart_set_mtimecmp(rv64_machine_hart(b->m, hart), val);
}

static uint64_t board_get_mtime(void *opaque)
{
    struct riscv_board *b = opaque;

    return rv64_machine_mtime(b->m);
}

static void board_set_mtime(void *opaque, uint64_t val)
{
    struct riscv_board *b = opaque;

    rv64_machine_set_mtime(b->m, val);
}

static const struct clint_ops board_clint_ops = {
    .set_msip = board_set_msip,
    .get_mtimecmp = board_get_mtimecmp,
    .set_mtimecmp = board_set_mtimecmp,
    .get_mtime = board_get_mtime,
    .set_mtime = board_set_mtime,
};

static void board_syscon_action(void *opaque, enum syscon_action act, uint32_t code)
{
    struct riscv_board *b = opaque;

    switch (act) {
    case SYSCON_ACT_POWEROFF: rv64_machine_stop(b->m, RV64_STOP_POWEROFF); break;
    case SYSCON_ACT_REBOOT: rv64_machine_stop(b->m, RV64_STOP_REBOOT); break;
    case SYSCON_ACT_FAIL:
        log_err("guest reported failure through the test device (code %u)", code);
        rv64_machine_stop(b->m, RV64_STOP_ERROR);
        break;
    }
}

static unsigned board_console_input(void *board, const uint8_t *buf, unsigned len)
{
    struct riscv_board *b = board;

    return uart16550_rx_push(&b->uart, buf, len);
}

/* The power button: the guest's virtio_input driver turns it into KEY_POWER on an input device
 * (systemd-logind powers off). -ENODEV while no driver runs it. */
static int board_power_button(void *board)
{
    struct riscv_board *b = board;

    return virtio_input_press(b->button, INPUT_KEY_POWER);
}

static void board_quiesce(void *board, bool stop)
{
    struct riscv_board *b = board;

    if (stop)
        virtio_dev_quiesce(virtio_input_dev(b->button));
    else
        virtio_dev_unquiesce(virtio_input_dev(b->button));
}

static int board_new_generation(void *board)
{
    struct riscv_board *b = board;

    return vmgenid_new_generation(&b->vmgenid);
}

static void board_generation_id(void *board, uint8_t guid[16])
{
    struct riscv_board *b = board;

    vmgenid_get(&b->vmgenid, guid);
}

static void *board_engine(void *board)
{
    struct riscv_board *b = board;

    return b->m;
}

/* --- boot --- */

/* A kernel (with its initrd), or else the boot loader. */
static int images_load(struct riscv_images *img, const struct board_params *p)
{
    if (!p->kernel && p->bootloader)
        return riscv_images_load_bootloader(img, p->firmware, p->bootloader);
    return riscv_images_load(img, p->firmware, p->kernel, p->initrd);
}

/* Reads the images (a reboot reads the files again), writes the device tree and the images
 * into RAM and puts every hart at the firmware entry. */
static int board_boot(void *board)
{
    struct riscv_board *b = board;
    struct riscv_images img;
    struct riscv_boot_plan plan;
    uint8_t seed[32];
    struct riscv_fdt_config fc = {
        .ram_base = RISCV_RAM_BASE,
        .ram_size = b->ram->size,
        .nharts = b->p.ncpus,
        .cmdline = b->p.cmdline,
        .power_button = true,
    };
    int err;

    err = images_load(&img, &b->p);
    if (err)
        return -EINVAL; /* logged, naming the file */
    err = riscv_boot_plan(&img, RISCV_RAM_BASE, b->ram->size, &plan);
    if (err) {
        riscv_images_free(&img);
        return -EINVAL;
    }
    for (int i = 0; i < b->nvirtio; i++)
        fc.virtio_slots |= 1u << i;
    fc.initrd_start = plan.initrd_start;
    fc.initrd_end = plan.initrd_end;
    /* A seed lets the guest's RNG start without waiting for entropy; optional. */
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed)) {
        fc.rng_seed = seed;
        fc.rng_seed_len = sizeof(seed);
    }
    err = riscv_fdt_build(b->fdt, sizeof(b->fdt), &fc);
    if (!err)
        err = riscv_boot_load(b->ram, &img, &plan, b->fdt, sizeof(b->fdt));
    riscv_images_free(&img);
    if (err)
        return err;
    rv64_machine_set_mtime(b->m, 0);
    for (int i = 0; i < b->p.ncpus; i++) {
        struct rv64_hart *h = rv64_machine_hart(b->m, i);
        rv64_hart_reset(h, plan.fw_addr, plan.fdt_addr, plan.info_addr);
        rv64_hart_set_mtimecmp(h, UINT64_MAX);
    }
    return 0;
}

static int board_check_boot(const struct board_params *p, uint64_t ram_size)
{
    struct riscv_images img;
    struct riscv_boot_plan plan;
    int err = images_load(&img, p);

    if (!err) {
        err = riscv_boot_plan(&img, RISCV_RAM_BASE, ram_size, &plan);
        riscv_images_free(&img);
    }
    return err ? -EINVAL : 0; /* logged */
}

/* After the VM reset the virtio devices: device threads no longer drive PLIC lines. */
static void board_reset(void *board)
{
    struct riscv_board *b = board;

    virtio_reg_write(virtio_input_dev(b->button), VIRTIO_REG_STATUS, 0);
    clint_reset(&b->clint);
    uart16550_reset(&b->uart);
    goldfish_rtc_reset(&b->rtc);
    vmgenid_reset(&b->vmgenid);
    plic_reset(&b->plic);
}

/* --- creation --- */

static int board_add_devices(struct riscv_board *b)
{
    const struct irq_line uart_irq = {plic_set_level, &b->plic, RISCV_IRQ_UART0};
    const struct irq_line rtc_irq = {plic_set_level, &b->plic, RISCV_IRQ_RTC};
    const struct irq_line vmgenid_irq = {plic_set_level, &b->plic, RISCV_IRQ_VMGENID};
    const struct {
        uint64_t base, len;
        const struct bus_ops *ops;
        void *dev;
        const char *name;
    } windows[] = {
        {RISCV_SYSCON_BASE, RISCV_SYSCON_SIZE, &syscon_bus_ops, &b->syscon, "syscon"},
        {RISCV_RTC_BASE, RISCV_RTC_SIZE, &goldfish_rtc_bus_ops, &b->rtc, "rtc"},
        {RISCV_VMGENID_BASE, RISCV_VMGENID_SIZE, &vmgenid_bus_ops, &b->vmgenid, "vmgenid"},
        {RISCV_CLINT_BASE, RISCV_CLINT_SIZE, &clint_bus_ops, &b->clint, "clint"},
        {RISCV_PLIC_BASE, RISCV_PLIC_SIZE, &plic_bus_ops, &b->plic, "plic"},
        {RISCV_UART0_BASE, RISCV_UART0_SIZE, &uart16550_bus_ops, &b->uart, "uart0"},
    };
    int err;

    err = plic_init(&b->plic, 2 * b->p.ncpus, board_plic_irq, b);
    if (err)
        return err;
    err = clint_init(&b->clint, b->p.ncpus, &board_clint_ops, b);
    if (err)
        return err;
    uart16550_init(&b->uart, &uart_irq, b->p.console_tx, b->p.console_opaque);
    b->uart.rx_drained = b->p.console_rx_ready;
    goldfish_rtc_init(&b->rtc, &rtc_irq);
    err = vmgenid_init(&b->vmgenid, &vmgenid_irq); /* a fresh VM: a random generation ID */
    if (err)
        return err;
    syscon_init(&b->syscon, board_syscon_action, b);
    err = riscv_button_create(b);
    if (err)
        return err;
    for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
        err = bus_register(&b->bus, windows[i].base, windows[i].len, windows[i].ops, windows[i].dev,
                           windows[i].name);
        if (err) {
            log_err("board: registering %s at 0x%llx: %s", windows[i].name,
                    (unsigned long long)windows[i].base, strerror(-err));
            return err;
        }
    }
    return 0;
}

static void board_destroy(void *board)
{
    struct riscv_board *b = board;

    if (!b)
        return;
    rv64_machine_destroy(b->m);
    riscv_virtio_destroy(b);
    riscv_button_destroy(b);
    goldfish_rtc_destroy(&b->rtc);
    vmgenid_destroy(&b->vmgenid);
    uart16550_destroy(&b->uart);
    clint_destroy(&b->clint);
    plic_destroy(&b->plic);
    free(b);
}

static int board_create(void **out, const struct board_params *p)
{
    struct riscv_board *b = calloc(1, sizeof(*b));
    struct rv64_config rc;
    int err;

    if (!b)
        return -ENOMEM;
    b->p = *p;
    b->ram = p->ram;
    bus_init(&b->bus);
    rc = (struct rv64_config){.nharts = p->ncpus,
                              .ram = p->ram,
                              .bus = &b->bus,
                              .trace_path = p->trace_path,
                              .jit_cache_size = (size_t)p->code_cache};
    if (p->tier && rv64_tier_parse(p->tier, &rc.tier)) {
        log_err("board: unknown rv64 tier %s", p->tier);
        free(b);
        return -EINVAL;
    }
    err = rv64_machine_create(&b->m, &rc);
    if (err) {
        log_err("board: creating the rv64 machine: %s", strerror(-err));
        free(b);
        return err;
    }
    err = board_add_devices(b);
    if (err) {
        board_destroy(b);
        return err;
    }
    *out = b;
    return 0;
}

static int board_ram_slots(uint64_t ram_size, struct board_ram_slot *slots)
{
    slots[0] = (struct board_ram_slot){.slot = 0, .offset = 0, .size = ram_size};
    return 1;
}

const struct board_ops riscv_board_ops = {
    .arch = "riscv64",
    .engine = &rv64_engine_ops,
    .ram_base = RISCV_RAM_BASE,
    .ram_min = RISCV_RAM_MIN,
    .ram_max = RISCV_RAM_MAX,
    .max_cpus = RV64_MAX_HARTS,
    .max_virtio = RISCV_VIRTIO_SLOTS,
    .firmware = true,
    .trace = true,
    .tiers = true,
    .default_firmware = "fw_dynamic.bin",
    .default_bootloader = "u-boot/u-boot.bin",
    .generation_id = true,
    .ram_slots = board_ram_slots,
    .create = board_create,
    .destroy = board_destroy,
    .engine_handle = board_engine,
    .attach_virtio = riscv_virtio_attach,
    .check_boot = board_check_boot,
    .boot = board_boot,
    .reset = board_reset,
    .save = riscv_board_save,
    .load = riscv_board_load,
    .load_done = riscv_board_load_done,
    .power_button = board_power_button,
    .quiesce = board_quiesce,
    .console_input = board_console_input,
    .new_generation = board_new_generation,
    .generation_id_get = board_generation_id,
};
