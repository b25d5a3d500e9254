/* Device tree generator. Sequential-write libfdt: nodes are emitted in order and every libfdt
 * error ends the build through the FDT_TRY macro. */
#include "board/riscv/fdt.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>

#include "base/log.h"
#include "board/riscv/layout.h"
#include "dev/vmgenid.h"
#include "engine/rv64/rv64.h"

/* phandles */
#define PH_PLIC        1
#define PH_SYSCON      2
#define PH_CPU(i)      (0x100 + 2 * (i))
#define PH_CPU_INTC(i) (0x101 + 2 * (i))

/* cpu-local interrupt numbers (mip bit positions) */
#define IRQ_M_SOFT  3
#define IRQ_M_TIMER 7
#define IRQ_S_EXT   9
#define IRQ_M_EXT   11

#define FDT_TRY(expr)                                                                              \
    do {                                                                                           \
        int err_ = (expr);                                                                         \
        if (err_ < 0)                                                                              \
            return err_;                                                                           \
    } while (0)

/* A string-list literal such as "a\0b": sizeof keeps every terminating NUL. */
#define fdt_strlist(fdt, name, lit) fdt_property(fdt, name, lit, sizeof(lit))

static int fdt_reg(void *fdt, uint64_t base, uint64_t size)
{
    fdt32_t cells[4] = {
        cpu_to_fdt32((uint32_t)(base >> 32)),
        cpu_to_fdt32((uint32_t)base),
        cpu_to_fdt32((uint32_t)(size >> 32)),
        cpu_to_fdt32((uint32_t)size),
    };

    return fdt_property(fdt, "reg", cells, sizeof(cells));
}

static int fdt_begin_node_at(void *fdt, const char *name, uint64_t addr)
{
    char buf[64];

    snprintf(buf, sizeof(buf), "%s@%llx", name, (unsigned long long)addr);
    return fdt_begin_node(fdt, buf);
}

static int fdt_add_cpus(void *fdt, int nharts)
{
    char name[32];

    FDT_TRY(fdt_begin_node(fdt, "cpus"));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 1));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 0));
    FDT_TRY(fdt_property_u32(fdt, "timebase-frequency", (uint32_t)RV64_TIMEBASE_HZ));
    for (int i = 0; i < nharts; i++) {
        FDT_TRY(fdt_begin_node_at(fdt, "cpu", (uint64_t)i));
        FDT_TRY(fdt_property_u32(fdt, "phandle", PH_CPU(i)));
        FDT_TRY(fdt_property_string(fdt, "device_type", "cpu"));
        FDT_TRY(fdt_property_u32(fdt, "reg", (uint32_t)i));
        FDT_TRY(fdt_property_string(fdt, "status", "okay"));
        FDT_TRY(fdt_property_string(fdt, "compatible", "riscv"));
        FDT_TRY(fdt_property_string(fdt, "riscv,isa", RISCV_ISA_STRING));
        FDT_TRY(fdt_property_string(fdt, "riscv,isa-base", "rv64i"));
        FDT_TRY(
            fdt_strlist(fdt, "riscv,isa-extensions", "i\0m\0a\0f\0d\0c\0zicntr\0zicsr\0zifencei"));
        FDT_TRY(fdt_property_string(fdt, "mmu-type", "riscv,sv48"));
        FDT_TRY(fdt_begin_node(fdt, "interrupt-controller"));
        FDT_TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
        FDT_TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
        FDT_TRY(fdt_property_string(fdt, "compatible", "riscv,cpu-intc"));
        FDT_TRY(fdt_property_u32(fdt, "phandle", PH_CPU_INTC(i)));
        FDT_TRY(fdt_end_node(fdt));
        FDT_TRY(fdt_end_node(fdt));
    }
    FDT_TRY(fdt_begin_node(fdt, "cpu-map"));
    FDT_TRY(fdt_begin_node(fdt, "cluster0"));
    for (int i = 0; i < nharts; i++) {
        snprintf(name, sizeof(name), "core%d", i);
        FDT_TRY(fdt_begin_node(fdt, name));
        FDT_TRY(fdt_property_u32(fdt, "cpu", PH_CPU(i)));
        FDT_TRY(fdt_end_node(fdt));
    }
    FDT_TRY(fdt_end_node(fdt)); /* cluster0 */
    FDT_TRY(fdt_end_node(fdt)); /* cpu-map */
    return fdt_end_node(fdt);   /* cpus */
}

/* interrupts-extended = <intc(hart) irq_a intc(hart) irq_b> for every hart */
static int fdt_irqs_per_hart(void *fdt, const char *name, int nharts, uint32_t a, uint32_t b)
{
    fdt32_t cells[4 * RV64_MAX_HARTS];

    for (int i = 0; i < nharts; i++) {
        cells[4 * i + 0] = cpu_to_fdt32(PH_CPU_INTC(i));
        cells[4 * i + 1] = cpu_to_fdt32(a);
        cells[4 * i + 2] = cpu_to_fdt32(PH_CPU_INTC(i));
        cells[4 * i + 3] = cpu_to_fdt32(b);
    }
    return fdt_property(fdt, name, cells, (int)(sizeof(cells[0]) * 4 * (size_t)nharts));
}

static int fdt_add_plic_child(void *fdt, uint32_t irq)
{
    FDT_TRY(fdt_property_u32(fdt, "interrupt-parent", PH_PLIC));
    return fdt_property_u32(fdt, "interrupts", irq);
}

static int fdt_add_soc(void *fdt, const struct riscv_fdt_config *cfg)
{
    FDT_TRY(fdt_begin_node(fdt, "soc"));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 2));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 2));
    FDT_TRY(fdt_property_string(fdt, "compatible", "simple-bus"));
    FDT_TRY(fdt_property(fdt, "ranges", NULL, 0));

    FDT_TRY(fdt_begin_node_at(fdt, "clint", RISCV_CLINT_BASE));
    FDT_TRY(fdt_strlist(fdt, "compatible", "sifive,clint0\0riscv,clint0"));
    FDT_TRY(fdt_reg(fdt, RISCV_CLINT_BASE, RISCV_CLINT_SIZE));
    FDT_TRY(fdt_irqs_per_hart(fdt, "interrupts-extended", cfg->nharts, IRQ_M_SOFT, IRQ_M_TIMER));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin_node_at(fdt, "plic", RISCV_PLIC_BASE));
    FDT_TRY(fdt_property_u32(fdt, "phandle", PH_PLIC));
    FDT_TRY(fdt_strlist(fdt, "compatible", "sifive,plic-1.0.0\0riscv,plic0"));
    FDT_TRY(fdt_reg(fdt, RISCV_PLIC_BASE, RISCV_PLIC_SIZE));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 0));
    FDT_TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
    FDT_TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
    FDT_TRY(fdt_property_u32(fdt, "riscv,ndev", RISCV_PLIC_NDEV));
    /* context 2*hart is M-mode (MEIP), 2*hart+1 is S-mode (SEIP) */
    FDT_TRY(fdt_irqs_per_hart(fdt, "interrupts-extended", cfg->nharts, IRQ_M_EXT, IRQ_S_EXT));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin_node_at(fdt, "serial", RISCV_UART0_BASE));
    FDT_TRY(fdt_property_string(fdt, "compatible", "ns16550a"));
    FDT_TRY(fdt_reg(fdt, RISCV_UART0_BASE, RISCV_UART0_SIZE));
    FDT_TRY(fdt_property_u32(fdt, "clock-frequency", RISCV_UART0_CLOCK_HZ));
    FDT_TRY(fdt_add_plic_child(fdt, RISCV_IRQ_UART0));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin_node_at(fdt, "rtc", RISCV_RTC_BASE));
    FDT_TRY(fdt_property_string(fdt, "compatible", "google,goldfish-rtc"));
    FDT_TRY(fdt_reg(fdt, RISCV_RTC_BASE, RISCV_RTC_SIZE));
    FDT_TRY(fdt_add_plic_child(fdt, RISCV_IRQ_RTC));
    FDT_TRY(fdt_end_node(fdt));

    /* VM generation ID (Linux: drivers/virt/vmgenid.c); reg covers the GUID only. */
    FDT_TRY(fdt_begin_node_at(fdt, "vmgenid", RISCV_VMGENID_BASE));
    FDT_TRY(fdt_property_string(fdt, "compatible", "microsoft,vmgenid"));
    FDT_TRY(fdt_reg(fdt, RISCV_VMGENID_BASE, VMGENID_SIZE));
    FDT_TRY(fdt_add_plic_child(fdt, RISCV_IRQ_VMGENID));
    FDT_TRY(fdt_end_node(fdt));

    /* "sifive,test*" for OpenSBI's reset driver, "syscon" for Linux's syscon-poweroff/reboot */
    FDT_TRY(fdt_begin_node_at(fdt, "test", RISCV_SYSCON_BASE));
    FDT_TRY(fdt_property_u32(fdt, "phandle", PH_SYSCON));
    FDT_TRY(fdt_strlist(fdt, "compatible", "sifive,test1\0sifive,test0\0syscon"));
    FDT_TRY(fdt_reg(fdt, RISCV_SYSCON_BASE, RISCV_SYSCON_SIZE));
    FDT_TRY(fdt_end_node(fdt));

    /* virtio-mmio transports: one node per populated slot of layout.h. */
    for (int i = 0; i < RISCV_VIRTIO_SLOTS; i++) {
        uint64_t base = RISCV_VIRTIO_BASE + (uint64_t)i * RISCV_VIRTIO_SIZE;
        if (!(cfg->virtio_slots & (1u << i)))
            continue;
        FDT_TRY(fdt_begin_node_at(fdt, "virtio_mmio", base));
        FDT_TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
        FDT_TRY(fdt_reg(fdt, base, RISCV_VIRTIO_SIZE));
        FDT_TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
        FDT_TRY(fdt_add_plic_child(fdt, (uint32_t)(RISCV_IRQ_VIRTIO0 + i)));
        FDT_TRY(fdt_end_node(fdt));
    }
    /* The power button: one more virtio-mmio device, after the VM's (a virtio-input). */
    if (cfg->power_button) {
        FDT_TRY(fdt_begin_node_at(fdt, "virtio_mmio", RISCV_BUTTON_BASE));
        FDT_TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
        FDT_TRY(fdt_reg(fdt, RISCV_BUTTON_BASE, RISCV_BUTTON_SIZE));
        FDT_TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
        FDT_TRY(fdt_add_plic_child(fdt, RISCV_IRQ_BUTTON));
        FDT_TRY(fdt_end_node(fdt));
    }
    return fdt_end_node(fdt); /* soc */
}

static int fdt_add_syscon_action(void *fdt, const char *name, const char *compat, uint32_t val)
{
    FDT_TRY(fdt_begin_node(fdt, name));
    FDT_TRY(fdt_property_string(fdt, "compatible", compat));
    FDT_TRY(fdt_property_u32(fdt, "regmap", PH_SYSCON));
    FDT_TRY(fdt_property_u32(fdt, "offset", 0));
    FDT_TRY(fdt_property_u32(fdt, "value", val));
    return fdt_end_node(fdt);
}

static int fdt_build_tree(void *fdt, const struct riscv_fdt_config *cfg)
{
    char serial[64];

    snprintf(serial, sizeof(serial), "/soc/serial@%llx", (unsigned long long)RISCV_UART0_BASE);

    FDT_TRY(fdt_finish_reservemap(fdt));
    FDT_TRY(fdt_begin_node(fdt, ""));
    FDT_TRY(fdt_property_u32(fdt, "#address-cells", 2));
    FDT_TRY(fdt_property_u32(fdt, "#size-cells", 2));
    FDT_TRY(fdt_property_string(fdt, "compatible", "riscv-virtio"));
    FDT_TRY(fdt_property_string(fdt, "model", "vessel,riscv-virt"));

    FDT_TRY(fdt_begin_node(fdt, "chosen"));
    FDT_TRY(fdt_property_string(fdt, "bootargs", cfg->cmdline ? cfg->cmdline : ""));
    FDT_TRY(fdt_property_string(fdt, "stdout-path", serial));
    if (cfg->initrd_end) {
        FDT_TRY(fdt_property_u64(fdt, "linux,initrd-start", cfg->initrd_start));
        FDT_TRY(fdt_property_u64(fdt, "linux,initrd-end", cfg->initrd_end));
    }
    if (cfg->rng_seed && cfg->rng_seed_len)
        FDT_TRY(fdt_property(fdt, "rng-seed", cfg->rng_seed, (int)cfg->rng_seed_len));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin_node(fdt, "aliases"));
    FDT_TRY(fdt_property_string(fdt, "serial0", serial));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_begin_node_at(fdt, "memory", cfg->ram_base));
    FDT_TRY(fdt_property_string(fdt, "device_type", "memory"));
    FDT_TRY(fdt_reg(fdt, cfg->ram_base, cfg->ram_size));
    FDT_TRY(fdt_end_node(fdt));

    FDT_TRY(fdt_add_cpus(fdt, cfg->nharts));
    FDT_TRY(fdt_add_soc(fdt, cfg));
    FDT_TRY(fdt_add_syscon_action(fdt, "poweroff", "syscon-poweroff", 0x5555));
    FDT_TRY(fdt_add_syscon_action(fdt, "reboot", "syscon-reboot", 0x7777));
    FDT_TRY(fdt_end_node(fdt)); /* root */
    return fdt_finish(fdt);
}

int riscv_fdt_build(void *buf, size_t bufsize, const struct riscv_fdt_config *cfg)
{
    int err;

    if (cfg->nharts < 1 || cfg->nharts > RV64_MAX_HARTS || bufsize > INT32_MAX ||
        (cfg->rng_seed_len > 256))
        return -EINVAL;
    err = fdt_create(buf, (int)bufsize);
    if (!err)
        err = fdt_build_tree(buf, cfg);
    /* Give the free space back to the blob: OpenSBI edits the tree in place. */
    if (!err)
        err = fdt_open_into(buf, buf, (int)bufsize);
    if (err) {
        log_err("fdt: building the device tree failed: %s", fdt_strerror(err));
        return err == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
    }
    return 0;
}
