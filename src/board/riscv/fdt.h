/* The riscv board's device tree, generated with libfdt. Node names and properties follow
 * QEMU's virt machine, so Linux and OpenSBI find what they expect there. */
#ifndef VESSEL_BOARD_RISCV_FDT_H
#define VESSEL_BOARD_RISCV_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct riscv_fdt_config {
    uint64_t ram_base, ram_size;
    int nharts;
    const char *cmdline;               /* NULL: empty */
    uint64_t initrd_start, initrd_end; /* initrd_end == 0: no initrd */
    uint32_t virtio_slots;             /* bit i: virtio-mmio slot i is populated */
    const uint8_t *rng_seed;           /* /chosen/rng-seed, or NULL */
    size_t rng_seed_len;
    bool power_button; /* the virtio-input power button at RISCV_BUTTON_BASE */
};

#define RISCV_ISA_STRING "rv64imafdc_zicntr_zicsr_zifencei"

/* Builds the tree into buf; the blob's totalsize is bufsize so that firmware can add nodes
 * in place. Returns 0, -ENOSPC when buf is too small, -EINVAL for a bad config. */
int riscv_fdt_build(void *buf, size_t bufsize, const struct riscv_fdt_config *cfg);

#endif
