#include <libfdt.h>
#include <string.h>

#include "board/riscv/fdt.h"
#include "board/riscv/layout.h"
#include "harness.h"

static uint8_t blob[0x10000] __attribute__((aligned(8)));

static const char *prop_str(const void *fdt, const char *path, const char *name)
{
    int node = fdt_path_offset(fdt, path);

    return node < 0 ? NULL : fdt_getprop(fdt, node, name, NULL);
}

static uint32_t prop_u32(const void *fdt, const char *path, const char *name, int idx)
{
    int node = fdt_path_offset(fdt, path), len;
    const fdt32_t *p;

    if (node < 0)
        return 0xdeadbeef;
    p = fdt_getprop(fdt, node, name, &len);
    if (!p || len < 4 * (idx + 1))
        return 0xdeadbeef;
    return fdt32_to_cpu(p[idx]);
}

static uint64_t prop_u64(const void *fdt, const char *path, const char *name)
{
    int node = fdt_path_offset(fdt, path), len;
    const void *p;
    fdt64_t v;

    if (node < 0)
        return 0;
    p = fdt_getprop(fdt, node, name, &len);
    if (!p || len != 8)
        return 0;
    memcpy(&v, p, 8); /* properties are only 4-byte aligned */
    return fdt64_to_cpu(v);
}

TEST(riscv_fdt_contents)
{
    const uint8_t seed[4] = {1, 2, 3, 4};
    struct riscv_fdt_config cfg = {
        .ram_base = RISCV_RAM_BASE,
        .ram_size = 256ULL << 20,
        .nharts = 2,
        .cmdline = "console=ttyS0 panic=-1",
        .initrd_start = 0x8f000000,
        .initrd_end = 0x8f123456,
        .virtio_slots = 1u << 2,
        .rng_seed = seed,
        .rng_seed_len = sizeof(seed),
    };
    const char *s;
    int len, node;

    CHECK_EQ(riscv_fdt_build(blob, sizeof(blob), &cfg), 0);
    CHECK_EQ(fdt_check_header(blob), 0);
    CHECK_EQ(fdt_totalsize(blob), sizeof(blob)); /* free space kept for OpenSBI */

    s = prop_str(blob, "/chosen", "bootargs");
    CHECK(s && !strcmp(s, "console=ttyS0 panic=-1"));
    s = prop_str(blob, "/chosen", "stdout-path");
    CHECK(s && !strcmp(s, "/soc/serial@10000000"));
    CHECK_EQ(prop_u64(blob, "/chosen", "linux,initrd-start"), 0x8f000000);
    CHECK_EQ(prop_u64(blob, "/chosen", "linux,initrd-end"), 0x8f123456);
    CHECK(fdt_getprop(blob, fdt_path_offset(blob, "/chosen"), "rng-seed", &len) && len == 4);

    CHECK_EQ(prop_u32(blob, "/memory@80000000", "reg", 1), 0x80000000);
    CHECK_EQ(prop_u32(blob, "/memory@80000000", "reg", 3), 256u << 20);

    CHECK_EQ(prop_u32(blob, "/cpus", "timebase-frequency", 0), 10000000);
    s = prop_str(blob, "/cpus/cpu@1", "riscv,isa");
    CHECK(s && !strcmp(s, "rv64imafdc_zicntr_zicsr_zifencei"));
    s = prop_str(blob, "/cpus/cpu@1", "mmu-type");
    CHECK(s && !strcmp(s, "riscv,sv48"));
    node = fdt_path_offset(blob, "/cpus/cpu@0");
    CHECK_EQ(fdt_stringlist_count(blob, node, "riscv,isa-extensions"), 9);
    CHECK_EQ(fdt_stringlist_search(blob, node, "riscv,isa-extensions", "zifencei"), 8);
    CHECK(fdt_path_offset(blob, "/cpus/cpu@2") < 0);
    CHECK(fdt_path_offset(blob, "/cpus/cpu-map/cluster0/core1") >= 0);
    node = fdt_path_offset(blob, "/cpus/cpu@1/interrupt-controller");
    CHECK(node >= 0);
    CHECK_EQ(fdt_node_check_compatible(blob, node, "riscv,cpu-intc"), 0);

    /* PLIC: M context then S context per hart, pointing at each hart's intc */
    node = fdt_path_offset(blob, "/soc/plic@c000000");
    CHECK_EQ(fdt_node_check_compatible(blob, node, "riscv,plic0"), 0);
    CHECK_EQ(prop_u32(blob, "/soc/plic@c000000", "riscv,ndev", 0), RISCV_PLIC_NDEV);
    CHECK_EQ(prop_u32(blob, "/soc/plic@c000000", "interrupts-extended", 1), 11);
    CHECK_EQ(prop_u32(blob, "/soc/plic@c000000", "interrupts-extended", 3), 9);
    CHECK_EQ(prop_u32(blob, "/soc/plic@c000000", "interrupts-extended", 4),
             fdt_get_phandle(blob, fdt_path_offset(blob, "/cpus/cpu@1/interrupt-controller")));
    CHECK_EQ(prop_u32(blob, "/soc/clint@2000000", "interrupts-extended", 1), 3);
    CHECK_EQ(prop_u32(blob, "/soc/clint@2000000", "interrupts-extended", 3), 7);

    CHECK_EQ(prop_u32(blob, "/soc/serial@10000000", "clock-frequency", 0), 3686400);
    CHECK_EQ(prop_u32(blob, "/soc/serial@10000000", "interrupts", 0), RISCV_IRQ_UART0);
    CHECK_EQ(prop_u32(blob, "/soc/serial@10000000", "interrupt-parent", 0),
             fdt_get_phandle(blob, fdt_path_offset(blob, "/soc/plic@c000000")));
    node = fdt_path_offset(blob, "/soc/rtc@101000");
    CHECK_EQ(fdt_node_check_compatible(blob, node, "google,goldfish-rtc"), 0);
    node = fdt_path_offset(blob, "/soc/vmgenid@102000");
    CHECK_EQ(fdt_node_check_compatible(blob, node, "microsoft,vmgenid"), 0);
    CHECK_EQ(prop_u32(blob, "/soc/vmgenid@102000", "reg", 1), (uint32_t)RISCV_VMGENID_BASE);
    CHECK_EQ(prop_u32(blob, "/soc/vmgenid@102000", "reg", 3), 16);
    CHECK_EQ(prop_u32(blob, "/soc/vmgenid@102000", "interrupts", 0), RISCV_IRQ_VMGENID);
    node = fdt_path_offset(blob, "/soc/test@100000");
    CHECK_EQ(fdt_node_check_compatible(blob, node, "sifive,test0"), 0);
    CHECK_EQ(fdt_node_check_compatible(blob, node, "syscon"), 0);
    CHECK_EQ(prop_u32(blob, "/poweroff", "value", 0), 0x5555);
    CHECK_EQ(prop_u32(blob, "/reboot", "value", 0), 0x7777);
    CHECK_EQ(prop_u32(blob, "/reboot", "regmap", 0), fdt_get_phandle(blob, node));

    CHECK(fdt_path_offset(blob, "/soc/virtio_mmio@10003000") >= 0);
    CHECK_EQ(prop_u32(blob, "/soc/virtio_mmio@10003000", "interrupts", 0), 3);
    CHECK(fdt_path_offset(blob, "/soc/virtio_mmio@10001000") < 0);
    CHECK(fdt_path_offset(blob, "/soc/virtio_mmio@10009000") < 0); /* no power button asked */

    /* the power button: one more virtio-mmio node, after the VM's, with its own PLIC source */
    cfg.power_button = true;
    CHECK_EQ(riscv_fdt_build(blob, sizeof(blob), &cfg), 0);
    node = fdt_path_offset(blob, "/soc/virtio_mmio@10009000");
    CHECK(node >= 0);
    CHECK_EQ(fdt_node_check_compatible(blob, node, "virtio,mmio"), 0);
    CHECK_EQ(prop_u32(blob, "/soc/virtio_mmio@10009000", "reg", 1), (uint32_t)RISCV_BUTTON_BASE);
    CHECK_EQ(prop_u32(blob, "/soc/virtio_mmio@10009000", "interrupts", 0), RISCV_IRQ_BUTTON);
    CHECK(node > fdt_path_offset(blob, "/soc/virtio_mmio@10003000"));
}

TEST(riscv_fdt_no_initrd_and_errors)
{
    struct riscv_fdt_config cfg = {
        .ram_base = RISCV_RAM_BASE, .ram_size = 64ULL << 20, .nharts = 32};
    static uint8_t tiny[256];

    CHECK_EQ(riscv_fdt_build(blob, sizeof(blob), &cfg), 0);
    CHECK(fdt_getprop(blob, fdt_path_offset(blob, "/chosen"), "linux,initrd-start", NULL) == NULL);
    CHECK(fdt_path_offset(blob, "/cpus/cpu@1f") >= 0);
    CHECK_EQ(riscv_fdt_build(tiny, sizeof(tiny), &cfg), -28);
    cfg.nharts = 0;
    CHECK_EQ(riscv_fdt_build(blob, sizeof(blob), &cfg), -22);
}
