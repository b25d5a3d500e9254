/* The x86 board: guest RAM, the port and MMIO devices of layout.h, ACPI tables, the Linux/PVH
 * boot and the kvm engine, created in one place and in one order. */
#ifndef VESSEL_BOARD_X86_BOARD_H
#define VESSEL_BOARD_X86_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "board/x86/virtio_devs.h"
#include "vm/snapshot.h"

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
    /* The boot files' paths, recorded in snapshots (NULL when unknown). */
    const char *kernel_path, *initrd_path;
    /* Continue from this snapshot file instead of booting: kernel and initrd are not used;
     * RAM size, vCPUs and devices must match the file (x86_board_check_restore). */
    const char *restore_path;
    /* With restore_path: guest RAM a live migration filled (x86_board_ram_create's layout,
     * ram_size bytes); the board takes it over and leaves *incoming_ram empty, and the state
     * file then has no memory section. */
    struct gmem *incoming_ram;
};

enum x86_board_exit {
    X86_EXIT_POWEROFF,  /* ACPI S5 */
    X86_EXIT_RESET,     /* the guest reset the machine (i8042, 0xcf9, ACPI reset) */
    X86_EXIT_USER_QUIT, /* x86_board_quit() */
    X86_EXIT_STOPPED,   /* the guest crashed or the engine stopped it (logged) */
    X86_EXIT_VMM_ERROR,
    X86_EXIT_SNAPSHOT, /* stopped after a snapshot ({"then": "stop"}) */
    X86_EXIT_MIGRATED, /* the VM moved to another host (live migration) */
};

struct x86_board;
struct gmem;
struct migrate_vm;

/* Guest RAM as the board lays it out for ram_size bytes: one zeroed region at guest physical
 * 0 whose bytes from x86_low_ram(ram_size) on appear at 4 GiB (above the MMIO gap). 0 or
 * -errno. */
int x86_board_ram_create(struct gmem *m, uint64_t ram_size);

/* Returns 0, -EINVAL for a kernel that is not x86 or images that do not fit (reason logged,
 * a usage error), or another -errno for VMM failures (logged). */
int x86_board_create(struct x86_board **out, const struct x86_board_config *cfg);
void x86_board_destroy(struct x86_board *b);
enum x86_board_exit x86_board_run(struct x86_board *b);

/* Thread-safe (the API thread): pauses every vCPU at an instruction boundary and the virtio
 * devices, writes the VM's state to path (docs/state-format.md), then resumes the VM with the
 * guest's kvmclock set back to the paused value, or with stop ends x86_board_run with
 * X86_EXIT_SNAPSHOT. When it resumes, each writable disk is frozen as the snapshot's and the
 * VM continues on a qcow2 overlay on top of it, unless keep_disks (as riscv_board_snapshot).
 * res: the moves, the whole call's and the pause's durations. Returns 0 or -errno (logged;
 * the VM continues: on its old disks, unless the failure came after the switch - the file's
 * final sync and rename - which res then lists). */
int x86_board_snapshot(struct x86_board *b, const char *path, bool stop, bool keep_disks,
                       struct snapshot_result *res);
/* Checks that path is a readable kvm/x86_64 state file and that cfg (ram_size, ncpus, virtio
 * devices) matches its machine configuration. 0, or -errno: logged when the file is at fault,
 * else a one-line reason in why. */
int x86_board_check_restore(const char *path, const struct x86_board_config *cfg, char *why,
                            size_t whylen);
/* Like x86_board_check_restore for a machine configuration (a state file's CONFIG JSON,
 * e.g. from a migration source). 0, or -errno with a one-line reason in why. */
int x86_board_check_config(const char *json, size_t len, const struct x86_board_config *cfg,
                           char *why, size_t whylen);
/* Fills vm with the board's live-migration callbacks (vm/migrate.h). */
void x86_board_migrate_vm(struct x86_board *b, struct migrate_vm *vm);
/* A board created from an incoming migration keeps its virtio devices stopped until this
 * (the source's "go"). */
void x86_board_start_devices(struct x86_board *b);
/* After an incoming migration: every NIC announces the guest's MAC (virtio_net_announce). */
void x86_board_announce(struct x86_board *b);
/* Maps a KVM dirty log of npages pages (one bit each, as KVM_GET_DIRTY_LOG returns it) that
 * begins at page first of a region of region_pages pages onto the region's bitmap (ORs them
 * in; bits past either end are ignored). */
void x86_dirty_log_map(uint64_t *region, uint64_t region_pages, const uint64_t *slot,
                       uint64_t first, uint64_t npages);
/* The balloon device, or NULL. */
struct virtio_balloon *x86_board_balloon(struct x86_board *b);

/* Thread-safe: console input for COM1; returns how many bytes it took. */
unsigned x86_board_console_input(void *board, const uint8_t *buf, unsigned len);
/* Thread-safe: the user asked to quit. */
void x86_board_quit(void *board);

#endif
