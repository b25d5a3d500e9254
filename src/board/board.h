/* The board seam: what the VM core (src/vm/) asks of a machine, whichever it is (the riscv
 * "virt"-style board on rv64, the x86 board on kvm). Each board exports one const table; its
 * per-VM state is the opaque board pointer. A board owns its machine: the RAM layout and memory
 * slots, the engine it runs on, the legacy devices and interrupt controllers, the virtio
 * transports and where they sit, the firmware tables and the loading of boot images. The VM
 * core owns everything else: RAM itself, the virtio devices and their backends, the console,
 * snapshots, migration, reboots, the control socket. */
#ifndef VESSEL_BOARD_BOARD_H
#define VESSEL_BOARD_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "mem/gmem.h"
#include "state/snapfile.h"
#include "virtio/devset.h"

/* A memory slot of the engine: guest RAM bytes [offset, offset + size) of the gmem region. */
struct board_ram_slot {
    int slot;
    uint64_t offset, size;
};
#define BOARD_RAM_SLOTS_MAX 2

/* What a board is created with. */
struct board_params {
    struct gmem *ram; /* guest RAM (board_ops.ram_base, laid out by ram_layout); the VM's */
    int ncpus;
    /* Boot files (paths; read at every boot, so a reboot sees the files as they are then)
     * and the kernel command line; any may be NULL. */
    const char *firmware, *kernel, *initrd, *cmdline;
    /* Without a kernel: the boot loader that takes the kernel's place and boots the guest's
     * own kernel from its disk, as on a real machine (riscv: U-Boot as OpenSBI's payload). */
    const char *bootloader;
    const char *trace_path; /* engine instruction trace, or NULL (boards that support it) */
    const char *tier;    /* engine tier ("jit", "interp"; NULL: the default; boards with tiers) */
    uint64_t code_cache; /* bytes of translated-code cache (0: the default; boards with tiers) */
    /* Console output: every byte the guest writes to the console UART (from a vCPU thread),
     * and "the UART can take more input" (may be NULL). */
    void (*console_tx)(void *opaque, uint8_t byte);
    void (*console_rx_ready)(void *opaque);
    void *console_opaque;
};

struct board_ops {
    const char *arch;                /* "riscv64", "x86_64": recorded in state files */
    const struct engine_ops *engine; /* the engine the board runs on */
    uint64_t ram_base;               /* guest physical address of RAM byte 0 */
    uint64_t ram_min, ram_max;       /* RAM sizes the board takes (multiples of 4 KiB) */
    int max_cpus, max_virtio;        /* vCPUs, virtio devices */
    bool firmware, trace;            /* takes a firmware file, an instruction trace */
    bool tiers;                      /* takes an engine tier and a code cache size */
    const char *default_firmware;    /* file name in $VESSEL_CACHE/ARCH/ when none is given */
    /* The boot loader (board_params.bootloader) when neither a kernel nor a boot loader is
     * given: a file name in $VESSEL_CACHE/ARCH/; NULL when the board needs a kernel. */
    const char *default_bootloader;
    bool generation_id; /* clones get a new VM generation ID (a VM fork signal
                                        * the guest sees) */
    /* Lays out RAM of its size: holes the guest does not see (e.g. x86's MMIO gap). */
    void (*ram_layout)(struct gmem *ram);
    /* The engine's memory slots over RAM of ram_size bytes; returns how many (at most
     * BOARD_RAM_SLOTS_MAX). */
    int (*ram_slots)(uint64_t ram_size, struct board_ram_slot *slots);

    /* Creates the machine and its engine on p->ram, without loading anything. 0 or -errno
     * (logged). */
    int (*create)(void **board, const struct board_params *p);
    /* Destroys it; the VM destroyed the virtio devices before. */
    void (*destroy)(void *board);
    /* The engine handle for board_ops.engine. */
    void *(*engine_handle)(void *board);

    /* Gives a created virtio device its transport (virtio/devset.h's virtio_attach_fn): the
     * next slot, window and interrupt line. The board destroys the transport, not the device.
     * virtio_done: after the last device (may be NULL). 0 or -errno (logged). */
    int (*attach_virtio)(void *board, struct virtio_dev *vdev);
    int (*virtio_done)(void *board);

    /* Reads and checks the boot images of p (p->ram may be NULL: ram_size is the RAM they must
     * fit) without creating anything: 0, or -EINVAL (logged on one line naming the file). For
     * telling bad input from an engine this host cannot run. */
    int (*check_boot)(const struct board_params *p, uint64_t ram_size);
    /* Loads the boot images and firmware tables into RAM and puts the vCPUs at the entry: at
     * creation and after every reset. 0, -EINVAL when the images are unusable or do not fit
     * (logged on one line naming the file: the user's input), or another -errno. */
    int (*boot)(void *board);
    /* A guest reset: the board's devices back to their power-on state (the VM resets the
     * virtio devices and the engine; boot follows). */
    void (*reset)(void *board);

    /* Snapshots: the board's own device sections of a paused machine (SNAP_DEVICE), and
     * loading them on restore: load before the virtio devices are loaded, load_done after
     * them (interrupt controllers take the lines' saved levels last). 0 or -errno (logged,
     * naming path). */
    int (*save)(void *board, struct snap_writer *w);
    int (*load)(void *board, const struct snap_reader *r, const char *path);
    int (*load_done)(void *board, const struct snap_reader *r, const char *path);

    /* Thread-safe: presses the guest-visible power button (the guest is asked to power off;
     * it may ignore it). NULL when the board has none. 0, -ENODEV when the guest does not
     * drive the button (no driver: it would never see the press), or another -errno. */
    int (*power_button)(void *board);
    /* Stops (stop) or restarts the threads of the board's own devices (e.g. a virtio device it
     * owns) together with the VM's virtio devices: none writes guest memory in between
     * (snapshots, migration). NULL when the board has none. */
    void (*quiesce)(void *board, bool stop);
    /* Thread-safe: console input for the console UART; returns how many bytes it took. */
    unsigned (*console_input)(void *board, const uint8_t *buf, unsigned len);
    /* Clones (generation_id): a new VM generation ID with its interrupt, and the current one
     * (16 bytes). */
    int (*new_generation)(void *board);
    void (*generation_id_get)(void *board, uint8_t guid[16]);
};

/* Every board, by architecture name; NULL for an unknown one. */
const struct board_ops *board_find(const char *arch);
/* The boards, for listing (NULL-terminated). */
extern const struct board_ops *const board_list[];

#endif
