/* The x86 board's insides, shared by board.c (creation, run) and snapshot.c (snapshot and
 * restore). */
#ifndef VESSEL_BOARD_X86_BOARD_INT_H
#define VESSEL_BOARD_X86_BOARD_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "board/x86/board.h"
#include "board/x86/boot.h"
#include "board/x86/legacy.h"
#include "board/x86/pci.h"
#include "board/x86/virtio_devs.h"
#include "bus/bus.h"
#include "dev/uart16550.h"
#include "engine/kvm/kvm.h"
#include "mem/gmem.h"
#include "state/snapfile.h"

struct x86_board {
    struct x86_board_config cfg;
    struct x86_kernel kernel;
    struct gmem ram;
    struct bus pio, mmio;
    struct kvm_engine *kvm;
    struct uart16550 com1;
    struct x86_legacy legacy;
    struct x86_pci pci;
    struct x86_virtio virtio;
    atomic_int user_quit;
    pthread_mutex_t snap_lock; /* one snapshot at a time */
    atomic_int snap_stop;      /* the engine stopped after a snapshot with "then": "stop" */
    /* Live migration (migrate.c): the VM state read at the pause (its kvmclock is what resume
     * sets back), why the pause failed (0: it did not), the slots' dirty log as read, and
     * whether the VM moved away. */
    struct kvm_vm_state *mig_vs;
    int mig_err;
    uint64_t *mig_log;
    atomic_int migrated;
    atomic_int held; /* paused for good after an unconfirmed handover: no resume, no snapshot */
    bool incoming;   /* created from an incoming migration: devices wait for the go-ahead */
};

/* snapshot.c: restore steps of x86_board_create. restore_ram maps the file's memory section
 * as guest RAM (before the engine registers it); restore_state loads the vCPUs, the in-kernel
 * interrupt controllers and timer, the devices and the clock (after every device exists).
 * Return 0 or -errno (logged, naming the file). */
int x86_board_restore_ram(struct x86_board *b, const struct snap_reader *r);
int x86_board_restore_state(struct x86_board *b, const struct snap_reader *r);
/* snapshot.c: the CONFIG section's JSON (malloc'd; NULL when out of memory), and the machine,
 * vCPU and device sections of a paused VM (vs read while paused; buf of x86_board_state_buf_size() bytes).
 * 0 or -errno. */
char *x86_board_config_json(const struct x86_board *b);
int x86_board_write_state(struct x86_board *b, struct snap_writer *w, const struct kvm_vm_state *vs,
                          uint8_t *buf);
size_t x86_board_state_buf_size(void);

#endif
