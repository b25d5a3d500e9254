/* THE VM: one running virtual machine, whatever its architecture. It owns guest RAM, the virtio
 * devices and their backends, the console, the control socket, the engine handle (through
 * engine/engine.h) and the board handle (through board/board.h), and drives the lifecycle once
 * for every board: create (boot | restore | incoming migration), run (a guest reboot restarts
 * it in place), snapshot, migrate, destroy. */
#ifndef VESSEL_VM_VM_H
#define VESSEL_VM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "vm/migrate.h"
#include "vm/snapshot.h"
#include "vm/vm_config.h"

/* Exit statuses of a VM process (`vessel run`), one set for every architecture. */
#define VM_STATUS_POWEROFF  0   /* powered off, migrated away, or stopped after a snapshot */
#define VM_STATUS_USAGE     1   /* bad usage or input (unusable files, bad sizes) */
#define VM_STATUS_VMM_ERROR 2   /* the VMM failed while setting up or running the guest */
#define VM_STATUS_STOPPED   3   /* the guest crashed or the VMM stopped it */
#define VM_STATUS_USER_QUIT 130 /* quit by the user (Ctrl-A x) */

/* Why vm_run returned. */
enum vm_end {
    VM_END_POWEROFF,  /* the guest powered off */
    VM_END_USER_QUIT, /* vm_quit() */
    VM_END_STOPPED,   /* the guest crashed or the engine stopped it (logged) */
    VM_END_VMM_ERROR, /* the VMM failed while running, e.g. reloading for a reboot (logged) */
    VM_END_SNAPSHOT,  /* stopped after a snapshot ({"then": "stop"}) */
    VM_END_MIGRATED,  /* the VM moved to another host (live migration completed) */
};

/* The exit status (VM_STATUS_*) for an end. */
int vm_end_status(enum vm_end end);

struct vm;

/* Creates the VM cfg describes (vm_config_check()ed): boots it, restores it from cfg->restore,
 * or listens on cfg->incoming and receives it from a migration source. Opens its backends, the
 * console on stdin/stdout and the control socket. Returns 0, or VM_STATUS_USAGE (bad input:
 * one line on stderr) or VM_STATUS_VMM_ERROR (logged), with nothing left behind. */
int vm_create(struct vm **out, const struct vm_config *cfg);
/* Runs the guest until it ends; a guest reboot restarts it in place. */
enum vm_end vm_run(struct vm *vm);
/* Stops the control socket and the console, destroys the devices, the board and RAM, and
 * closes the backends. NULL is fine. */
void vm_destroy(struct vm *vm);

/* Thread-safe: the user asked to quit (vm_run returns VM_END_USER_QUIT). */
void vm_quit(void *vm);
/* Thread-safe: the VMM stops the VM (e.g. on SIGTERM; vm_run returns VM_END_STOPPED). */
void vm_terminate(struct vm *vm);
/* Thread-safe: presses the guest's power button (-EOPNOTSUPP when the board has none), or
 * with reboot resets the machine (the VM reboots in place). 0 or -errno. */
int vm_power(struct vm *vm, bool reboot);

/* Thread-safe (not from a vCPU): pauses the vCPUs at an instruction boundary and stops the
 * devices, writes the whole VM to path (docs/state-format.md), then resumes it with the guest's
 * clock where it was paused, or with stop makes vm_run return VM_END_SNAPSHOT. When the VM
 * resumes, each writable disk is frozen as the snapshot's and the VM continues on a new qcow2
 * overlay on top of it (unless keep_disks): res lists them. The file appears under path only
 * once complete and synced (the guest already runs again while it is synced). 0 or -errno
 * (logged; the VM then continues: on its old disks, unless the failure came after the switch,
 * which res then lists). */
int vm_snapshot(struct vm *vm, const char *path, bool stop, bool keep_disks,
                struct snapshot_result *res);

/* What the VM counted since it was created (metrics; a guest reboot clears nothing): each
 * vCPU's host CPU time, the engine's counters summed over the vCPUs (engine_ops.counters names
 * them), and each disk's and NIC's device counters, in configuration order. */
#define VM_STATS_CPUS_MAX 64
struct vm_stats {
    int ncpus;
    uint64_t cpu_ns[VM_STATS_CPUS_MAX];
    const char *const *counter_names; /* NULL-terminated; NULL when the engine counts nothing */
    uint64_t counters[ENGINE_COUNTERS_MAX];
    int ndisks, nnets;
    struct virtio_blk_stats disks[VM_MAX_DEVICES];
    struct virtio_net_stats nets[VM_MAX_DEVICES];
};
/* Thread-safe, at any time after vm_create. */
void vm_get_stats(struct vm *vm, struct vm_stats *st);

/* What a VM's creation did, for the command line's report. */
enum vm_origin { VM_BOOTED, VM_RESTORED, VM_RECEIVED };
struct vm_info {
    enum vm_origin origin;
    const char *restore_path;
    uint64_t ram_size;
    int ncpus;
    double load_ms;          /* creating the machine and loading its state */
    double ready_ms;         /* from then until it was ready to run */
    uint64_t pages_received; /* VM_RECEIVED */
    bool clone;
    bool has_generation_id;
    uint8_t generation_id[16];
    int nnets;
    uint8_t macs[VM_MAX_DEVICES][6];
};
void vm_get_info(struct vm *vm, struct vm_info *info);
/* The last migration's status (state MIGRATE_NONE when there was none). */
void vm_migration_status(struct vm *vm, struct migrate_status *st);

#endif
