/* The x86 board: guest RAM, the port and MMIO devices of layout.h, ACPI tables, the Linux/PVH
 * boot and the kvm engine, created in one place and in one order. */
#ifndef VESSEL_BOARD_X86_BOARD_H
#define VESSEL_BOARD_X86_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "board/x86/virtio_devs.h"

struct x86_board_config {
    uint64_t ram_size;
    int ncpus;
    const uint8_t *kernel; /* the kernel file (bzImage or ELF), not owned */
    size_t kernel_len;
    const uint8_t *initrd; /* or NULL; not owned */
    size_t initrd_len;
    const char *cmdline; /* or NULL */
    /* Console output: every byte the guest writes to COM1 (called on a vCPU thread). */
    void (*console_tx)(void *opaque, uint8_t byte);
    void (*console_rx_ready)(void *opaque);
    void *console_opaque;
    struct virtio_devset_config virtio; /* virtio-pci devices */
};

enum x86_board_exit {
    X86_EXIT_POWEROFF,  /* ACPI S5 */
    X86_EXIT_RESET,     /* the guest reset the machine (i8042, 0xcf9, ACPI reset) */
    X86_EXIT_USER_QUIT, /* x86_board_quit() */
    X86_EXIT_STOPPED,   /* the guest crashed or the engine stopped it (logged) */
    X86_EXIT_VMM_ERROR,
};

struct x86_board;

/* Returns 0, -EINVAL for a kernel that is not x86 or images that do not fit (reason logged,
 * a usage error), or another -errno for VMM failures (logged). */
int x86_board_create(struct x86_board **out, const struct x86_board_config *cfg);
void x86_board_destroy(struct x86_board *b);
enum x86_board_exit x86_board_run(struct x86_board *b);

/* Thread-safe: console input for COM1; returns how many bytes it took. */
unsigned x86_board_console_input(void *board, const uint8_t *buf, unsigned len);
/* Thread-safe: the user asked to quit. */
void x86_board_quit(void *board);

#endif
