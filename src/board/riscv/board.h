/* The riscv board: guest RAM, the MMIO devices of layout.h, the device tree, the boot images
 * and the rv64 engine, created in one place and in one order. */
#ifndef VESSEL_BOARD_RISCV_BOARD_H
#define VESSEL_BOARD_RISCV_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "board/riscv/boot.h"
#include "board/riscv/virtio_devs.h"
#include "vm/snapshot.h"

struct riscv_board_config {
    uint64_t ram_size;
    int nharts;
    const char *cmdline;    /* kernel command line, NULL for none */
    const char *trace_path; /* rv64 instruction trace, or NULL */
    /* Where the images came from. When kernel_path is set the board drops its copies after
     * loading them into RAM and a guest reboot reads the files again (a reboot after they
     * changed or vanished fails cleanly); without it the copies stay for reboots. */
    const char *fw_path, *kernel_path, *initrd_path;
    /* Console output: every byte the guest writes to the UART (called on a hart thread). */
    void (*console_tx)(void *opaque, uint8_t byte);
    /* The console UART can take more input (called on a hart thread); may be NULL. */
    void (*console_rx_ready)(void *opaque);
    void *console_opaque;
    struct virtio_devset_config virtio; /* virtio-mmio devices (disks, rng, console socket) */
    /* Restore from this state file instead of booting: no images are loaded (the paths above
     * serve a later guest reboot); ram_size, nharts and the devices must match the file's
     * (riscv_board_check_restore). */
    const char *restore_path;
    /* With restore_path: guest RAM already filled by an incoming migration (the board takes it
     * over and leaves *incoming_ram empty); the state file then has no memory section. */
    struct gmem *incoming_ram;
    /* With restore_path: this VM is a clone of the snapshot. Its VM generation ID changes
     * (the guest gets an interrupt and reseeds its RNG) and each NIC takes virtio.net_macs[i]
     * (all zero: keep the saved MAC) instead of the saved one. */
    bool clone;
};

enum riscv_board_exit {
    RISCV_EXIT_POWEROFF,  /* the guest powered off */
    RISCV_EXIT_USER_QUIT, /* riscv_board_quit() */
    RISCV_EXIT_STOPPED,   /* the engine stopped the guest (fatal error, guest failure code) */
    RISCV_EXIT_VMM_ERROR, /* the VMM failed while running (e.g. reloading for a reboot) */
    RISCV_EXIT_SNAPSHOT,  /* stopped after a snapshot ({"then": "stop"}) */
    RISCV_EXIT_MIGRATED,  /* the VM moved to another host (live migration completed) */
};

struct riscv_board;

/* Takes ownership of *img (freed by riscv_board_destroy, or here on failure). Returns 0 or
 * -errno (logged). Callers that want to tell "the images do not fit" (bad input) from VMM
 * failures run riscv_boot_plan() first. */
int riscv_board_create(struct riscv_board **out, const struct riscv_board_config *cfg,
                       struct riscv_images *img);
void riscv_board_destroy(struct riscv_board *b);

/* Runs the guest until it powers off or is stopped; a guest reboot reloads and restarts it. */
enum riscv_board_exit riscv_board_run(struct riscv_board *b);

/* Thread-safe: input bytes for the console UART; returns how many it took (0 when full). */
unsigned riscv_board_console_input(void *board, const uint8_t *buf, unsigned len);
/* Thread-safe: the user asked to quit. */
void riscv_board_quit(void *board);
/* The virtio-balloon device (for the control channel), or NULL when the VM has none. */
struct virtio_balloon *riscv_board_balloon(struct riscv_board *b);

/* Thread-safe (not from a hart): pauses the harts at an instruction boundary, stops the virtio
 * device threads, writes the whole VM to path (docs/state-format.md: CONFIG, MACHINE, one CPU
 * section per hart, one DEVICE section per device, MEMORY), then resumes with the guest's
 * clock where it was paused, or with stop set makes riscv_board_run return
 * RISCV_EXIT_SNAPSHOT. When the VM resumes, each writable disk is frozen as the snapshot's and
 * the VM continues on a new qcow2 overlay on top of it (unless keep_disks): res lists them.
 * The file appears under path only once complete and synced (the guest already runs again
 * while it is synced). res: also the whole call's and the pause's durations. Returns 0 or
 * -errno (logged; the VM then resumes in either case: on its old disks, unless the failure
 * came after the switch - the file's final sync and rename - which res then lists). */
int riscv_board_snapshot(struct riscv_board *b, const char *path, bool stop, bool keep_disks,
                         struct snapshot_result *res);
/* The VM generation ID the guest sees now (16 bytes). */
void riscv_board_generation_id(struct riscv_board *b, uint8_t guid[16]);
/* Restore, before creating the board: opens and checks path (header, checksums, engine and
 * architecture) and that cfg (ram_size, nharts, virtio devices) matches the snapshot's
 * machine configuration (a qcow2 overlay of the same size may stand for the disk it is an
 * overlay of); the one-line reason goes to why. 0, or -errno. */
int riscv_board_check_restore(const char *path, const struct riscv_board_config *cfg, char *why,
                              size_t whylen);

/* As riscv_board_check_restore, for a configuration (CONFIG JSON) received from a migration
 * source. */
int riscv_board_check_config(const char *json, size_t len, const struct riscv_board_config *cfg,
                             char *why, size_t whylen);

/* A board created from an incoming migration keeps its virtio devices stopped until this
 * (the source's "go"). */
void riscv_board_start_devices(struct riscv_board *b);
/* After an incoming migration: every NIC announces the guest's MAC (virtio_net_announce). */
void riscv_board_announce(struct riscv_board *b);

struct migrate_vm;
/* What live migration (vm/migrate.h) needs of this board. */
void riscv_board_migrate_vm(struct riscv_board *b, struct migrate_vm *vm);

#endif
