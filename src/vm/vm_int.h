/* The VM's insides, shared by the files of src/vm/ that implement vm.h: vm.c (create, destroy),
 * vm_devices.c (backends and virtio devices), vm_run.c (running, reboots, pausing),
 * vm_state.c (the state sections), vm_snapshot.c, vm_migrate.c and vm_incoming.c. */
#ifndef VESSEL_VM_VM_INT_H
#define VESSEL_VM_VM_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "backend/chardev/socket.h"
#include "backend/chardev/stdio.h"
#include "board/board.h"
#include "state/snapconfig.h"
#include "virtio/blk.h"
#include "vm/api_socket.h"
#include "vm/control.h"
#include "vm/vm.h"

struct vm_device {
    struct virtio_dev *vdev;
    void *dev;
    void (*destroy)(void *dev);
};

struct vm {
    const struct vm_config *cfg;
    const struct board_ops *bops;
    const struct engine_ops *eops;
    void *board, *engine;
    struct gmem ram;
    uint64_t ram_size;
    int ncpus;
    /* The boot files a (re)boot reads and the command line: the configuration's, or with a
     * restore the snapshot's (restored). */
    const char *firmware, *kernel, *initrd, *cmdline, *bootloader;
    /* malloc'd: $VESSEL_CACHE/ARCH/<the board's default firmware, boot loader> */
    char *default_firmware, *default_bootloader;
    struct snapshot_config restored; /* restore and incoming: the saved machine */

    /* backends (vm_devices.c), in configuration order */
    struct disk *disks[VM_MAX_DEVICES];
    int ndisks;
    char *clone_overlays[VM_MAX_DEVICES]; /* --clone: the overlay disk i writes to, or NULL */
    struct chardev_socket *console_sock;
    struct net_config netcfg[VM_MAX_DEVICES];
    struct net_backend *nets[VM_MAX_DEVICES];
    uint8_t macs[VM_MAX_DEVICES][6];
    int nnets;
    struct virtio_devset_config devset; /* what the devices are made of */

    /* virtio devices in slot order (the board holds their transports) */
    struct vm_device dev[VM_MAX_DEVICES];
    int ndev;
    struct virtio_blk *blk[VM_MAX_DEVICES]; /* the first ndisks devices */
    struct virtio_balloon *balloon;

    struct chardev_stdio *console;
    struct control ctl;
    struct migration *mig;
    struct api_socket *api;

    /* Lifecycle. lock keeps snapshots, migrations' pauses and a reboot's reload apart. */
    pthread_mutex_t lock;
    atomic_int user_quit, snap_stop, migrated;
    atomic_int terminated; /* vm_terminate: the VMM stops the VM */
    atomic_int held;       /* paused for good after an unconfirmed handover: no resume/snapshot */
    bool devices_held;     /* created from an incoming migration: devices wait for the go-ahead */
    /* vm_pause: the guest clock read at the pause, and whether the pause failed */
    uint64_t pause_clock;
    int pause_err;
    bool paused;       /* under lock: vm_pause paused the engine and the devices */
    uint64_t *mig_log; /* live migration source: a buffer for one slot's dirty log */

    struct vm_info info;
};

/* vm_devices.c: backends from the configuration (one line on stderr naming the option that
 * failed: bad input), and the virtio devices on them through the board. */
int vm_backends_open(struct vm *vm);
void vm_backends_close(struct vm *vm);
/* --clone: a new qcow2 overlay for every writable disk that is the snapshot's own (before the
 * backends open); new random MACs for NICs without mac=. 0 or -1 (logged). */
int vm_clone_disks(struct vm *vm);
int vm_devices_create(struct vm *vm);
void vm_devices_destroy(struct vm *vm);
/* Stops (quiesce) or restarts the device threads: no device touches guest memory between. */
void vm_devices_quiesce(struct vm *vm);
void vm_devices_unquiesce(struct vm *vm);
/* A guest reset: as if each driver had written status 0. */
void vm_devices_reset(struct vm *vm);
/* After an incoming migration: every NIC announces the guest's MAC. */
void vm_devices_announce(struct vm *vm);
/* Makes every writable disk's writes durable (a migration hands the disks over). */
void vm_disks_flush(struct vm *vm);
/* A migration source lets go of its writable disks' locks once it wrote them for the last time
 * (the destination takes them), and takes them back when the VM runs on here. */
void vm_disks_lock(struct vm *vm, bool on);

/* vm_state.c: the CONFIG section's JSON of this VM (malloc'd; NULL when out of memory); the
 * CPU, MACHINE and DEVICE sections of the paused VM (the guest clock as read at the pause);
 * whether this VM's devices can take a saved configuration (-EINVAL, reason in why); and
 * loading a state file's sections into a created VM. 0 or -errno (logged). */
char *vm_config_json(const struct vm *vm);
int vm_write_state(struct vm *vm, struct snap_writer *w, uint64_t clock);
int vm_check_saved(const struct vm *vm, const struct snapshot_config *saved, char *why,
                   size_t whylen);
int vm_load_state(struct vm *vm, const struct snap_reader *r, const char *path);

/* vm_run.c: pause and resume the whole VM under vm->lock (pause takes it, resume drops it).
 * pause: 0; -EBUSY when the VM is held (nothing done, no resume); or another -errno (logged)
 * when the engine cannot pause (the VM is ending; resume must follow as after 0). pause_clock
 * is the guest clock at the pause, which resume sets back. */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);

/* vm_migrate.c: the migration source's callbacks (vm/migrate.h) for this VM. */
void vm_migrate_vm(struct vm *vm, struct migrate_vm *mvm);
/* vm_incoming.c: listens on cfg->incoming, accepts a source and takes its machine (RAM, vCPUs,
 * command line) into vm->restored; 0, VM_STATUS_USAGE or VM_STATUS_VMM_ERROR (logged). Then,
 * once the backends are open, receive checks the devices and receives RAM and the state, and
 * commit answers the source after the VM was created (err: it was not). */
int vm_incoming_accept(struct vm *vm, struct migrate_incoming *in);
int vm_incoming_receive(struct vm *vm, struct migrate_incoming *in);
int vm_incoming_commit(struct vm *vm, struct migrate_incoming *in, int err);

#endif
