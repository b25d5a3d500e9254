#include "board/riscv/board.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/log.h"
#include "board/riscv/board_int.h"
#include "board/riscv/layout.h"
#include "state/snapconfig.h"

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

unsigned riscv_board_console_input(void *board, const uint8_t *buf, unsigned len)
{
    struct riscv_board *b = board;

    return uart16550_rx_push(&b->uart, buf, len);
}

void riscv_board_quit(void *board)
{
    struct riscv_board *b = board;

    atomic_store(&b->user_quit, 1);
    rv64_machine_stop(b->m, RV64_STOP_QUIT);
}

struct virtio_balloon *riscv_board_balloon(struct riscv_board *b)
{
    return b->virtio.balloon;
}

void riscv_board_generation_id(struct riscv_board *b, uint8_t guid[16])
{
    vmgenid_get(&b->vmgenid, guid);
}

/* --- boot --- */

/* Writes the device tree and the images into RAM and puts every hart at the firmware entry. */
static int board_load(struct riscv_board *b)
{
    uint8_t seed[32];
    struct riscv_fdt_config fc = {
        .ram_base = RISCV_RAM_BASE,
        .ram_size = b->cfg.ram_size,
        .nharts = b->cfg.nharts,
        .cmdline = b->cfg.cmdline,
        .initrd_start = b->plan.initrd_start,
        .initrd_end = b->plan.initrd_end,
        .virtio_slots = b->virtio.slots,
    };
    int err;

    if (!b->img.kernel) { /* a reboot after the images were dropped: read them again */
        err = riscv_images_load(&b->img, b->cfg.fw_path, b->cfg.kernel_path, b->cfg.initrd_path);
        if (!err)
            err = riscv_boot_plan(&b->img, RISCV_RAM_BASE, b->cfg.ram_size, &b->plan);
        if (err)
            return err;
        fc.initrd_start = b->plan.initrd_start;
        fc.initrd_end = b->plan.initrd_end;
    }
    /* A seed lets the guest's RNG start without waiting for entropy; optional. */
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed)) {
        fc.rng_seed = seed;
        fc.rng_seed_len = sizeof(seed);
    }
    err = riscv_fdt_build(b->fdt, sizeof(b->fdt), &fc);
    if (!err)
        err = riscv_boot_load(&b->ram, &b->img, &b->plan, b->fdt, sizeof(b->fdt));
    if (b->cfg.kernel_path)
        riscv_images_free(&b->img); /* not kept resident: a reboot reads the files again */
    if (err)
        return err;
    rv64_machine_set_mtime(b->m, 0);
    for (int i = 0; i < b->cfg.nharts; i++) {
        struct rv64_hart *h = rv64_machine_hart(b->m, i);
        rv64_hart_reset(h, b->plan.fw_addr, b->plan.fdt_addr, b->plan.info_addr);
        rv64_hart_set_mtimecmp(h, UINT64_MAX);
    }
    return 0;
}

static void board_reset_devices(struct riscv_board *b)
{
    clint_reset(&b->clint);
    uart16550_reset(&b->uart);
    goldfish_rtc_reset(&b->rtc);
    vmgenid_reset(&b->vmgenid);
    riscv_virtio_reset(&b->virtio); /* stops device threads before the PLIC forgets lines */
    plic_reset(&b->plic);
}

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

    err = plic_init(&b->plic, 2 * b->cfg.nharts, board_plic_irq, b);
    if (err)
        return err;
    err = clint_init(&b->clint, b->cfg.nharts, &board_clint_ops, b);
    if (err)
        return err;
    uart16550_init(&b->uart, &uart_irq, b->cfg.console_tx, b->cfg.console_opaque);
    b->uart.rx_drained = b->cfg.console_rx_ready;
    goldfish_rtc_init(&b->rtc, &rtc_irq);
    err = vmgenid_init(&b->vmgenid, &vmgenid_irq); /* a fresh VM: a random generation ID */
    if (err)
        return err;
    syscon_init(&b->syscon, board_syscon_action, b);
    for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
        err = bus_register(&b->bus, windows[i].base, windows[i].len, windows[i].ops, windows[i].dev,
                           windows[i].name);
        if (err) {
            log_err("board: registering %s at 0x%llx: %s", windows[i].name,
                    (unsigned long long)windows[i].base, strerror(-err));
            return err;
        }
    }
    /* virtio-mmio devices, in the RISCV_VIRTIO_BASE slots */
    return riscv_virtio_create(&b->virtio, &b->cfg.virtio, &b->ram, &b->bus, &b->plic);
}

int riscv_board_create(struct riscv_board **out, const struct riscv_board_config *cfg,
                       struct riscv_images *img)
{
    struct riscv_board *b;
    struct rv64_config rc;
    struct snap_reader restore = {.fd = -1};
    int err;

    b = calloc(1, sizeof(*b));
    if (!b) {
        riscv_images_free(img);
        return -ENOMEM;
    }
    b->cfg = *cfg;
    b->img = *img;
    memset(img, 0, sizeof(*img));
    b->ram.fd = -1;
    pthread_mutex_init(&b->snap_lock, NULL);
    if (cfg->restore_path) { /* no images: RAM, harts and devices come from the state file */
        err = snapshot_open(&restore, cfg->restore_path, "rv64", "riscv64");
        if (!err)
            err = riscv_board_restore_ram(b, &restore);
        if (err)
            goto fail_free;
    } else {
        err = riscv_boot_plan(&b->img, RISCV_RAM_BASE, cfg->ram_size, &b->plan);
        if (!err)
            err = gmem_create(&b->ram, RISCV_RAM_BASE, cfg->ram_size);
    }
    if (err) {
        log_err("board: creating %llu MiB of guest RAM: %s",
                (unsigned long long)(cfg->ram_size >> 20), strerror(-err));
        goto fail_free;
    }
    bus_init(&b->bus);
    rc = (struct rv64_config){
        .nharts = cfg->nharts, .ram = &b->ram, .bus = &b->bus, .trace_path = cfg->trace_path};
    err = rv64_machine_create(&b->m, &rc);
    if (err) {
        log_err("board: creating the rv64 machine: %s", strerror(-err));
        goto fail_ram;
    }
    err = board_add_devices(b);
    if (err)
        goto fail_devices;
    err = cfg->restore_path ? riscv_board_restore_state(b, &restore) : board_load(b);
    if (err)
        goto fail_devices;
    snap_reader_close(&restore);
    *out = b;
    return 0;

fail_devices:
    riscv_virtio_destroy(&b->virtio);
    goldfish_rtc_destroy(&b->rtc);
    vmgenid_destroy(&b->vmgenid);
    uart16550_destroy(&b->uart);
    clint_destroy(&b->clint);
    plic_destroy(&b->plic);
    rv64_machine_destroy(b->m);
fail_ram:
    gmem_destroy(&b->ram);
fail_free:
    snap_reader_close(&restore);
    riscv_images_free(&b->img);
    pthread_mutex_destroy(&b->snap_lock);
    free(b);
    return err;
}

void riscv_board_destroy(struct riscv_board *b)
{
    if (!b)
        return;
    rv64_machine_destroy(b->m);
    riscv_virtio_destroy(&b->virtio);
    goldfish_rtc_destroy(&b->rtc);
    vmgenid_destroy(&b->vmgenid);
    uart16550_destroy(&b->uart);
    clint_destroy(&b->clint);
    plic_destroy(&b->plic);
    gmem_destroy(&b->ram);
    riscv_images_free(&b->img);
    pthread_mutex_destroy(&b->snap_lock);
    free(b);
}

enum riscv_board_exit riscv_board_run(struct riscv_board *b)
{
    for (;;) {
        enum rv64_stop why;
        int err;

        if (atomic_load(&b->snap_stop))
            return RISCV_EXIT_SNAPSHOT;
        why = rv64_machine_run(b->m);
        switch (why) {
        case RV64_STOP_POWEROFF: return RISCV_EXIT_POWEROFF;
        case RV64_STOP_REBOOT:
            log_info("guest reboot");
            pthread_mutex_lock(&b->snap_lock); /* no snapshot of a half-reloaded guest */
            if (atomic_load(&b->migrated)) {   /* the VM moved while it asked to reboot */
                pthread_mutex_unlock(&b->snap_lock);
                return RISCV_EXIT_MIGRATED;
            }
            board_reset_devices(b);
            err = board_load(b);
            /* A migration in progress must send the reloaded images again. */
            gmem_mark_dirty(&b->ram, b->ram.hva, b->ram.size);
            pthread_mutex_unlock(&b->snap_lock);
            if (err) {
                log_err("board: reloading the guest for a reboot failed");
                return RISCV_EXIT_VMM_ERROR;
            }
            continue;
        case RV64_STOP_QUIT:
            if (atomic_load(&b->migrated))
                return RISCV_EXIT_MIGRATED;
            if (atomic_load(&b->snap_stop))
                return RISCV_EXIT_SNAPSHOT;
            return atomic_load(&b->user_quit) ? RISCV_EXIT_USER_QUIT : RISCV_EXIT_STOPPED;
        case RV64_STOP_NONE:
        case RV64_STOP_ERROR: return RISCV_EXIT_STOPPED;
        }
        return RISCV_EXIT_STOPPED;
    }
}
