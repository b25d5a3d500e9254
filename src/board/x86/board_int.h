/* The x86 board's insides, shared by board.c (creation, boot, reset), state.c (its snapshot
 * sections) and virtio_devs.c (virtio-pci functions). */
#ifndef VESSEL_BOARD_X86_BOARD_INT_H
#define VESSEL_BOARD_X86_BOARD_INT_H

#include <stdatomic.h>

#include "board/board.h"
#include "board/x86/irqfd.h"
#include "board/x86/legacy.h"
#include "board/x86/pci.h"
#include "bus/bus.h"
#include "dev/uart16550.h"
#include "engine/kvm/kvm.h"
#include "mem/gmem.h"
#include "virtio/pci.h"

#define X86_VIRTIO_MAX       16 /* devices; they take PCI slots 1..X86_VIRTIO_MAX */
#define X86_VIRTIO_SLOT_BASE 1
#define X86_MSIX_MAX         (VIRTIO_MAX_QUEUES + 1) /* vectors of one virtio-pci function */

/* A virtio-pci function's MSI-X vectors: vector v is KVM GSI gsi + v, raised by writing fd[v]
 * (an irqfd); valid[v] once the guest gave it a message KVM took (atomic). */
struct x86_msi_fn {
    struct x86_board *b;
    unsigned gsi, n;
    int fd[X86_MSIX_MAX];
    int valid[X86_MSIX_MAX];
};

struct x86_board {
    struct board_params p;
    struct gmem *ram; /* the VM's */
    struct bus pio, mmio;
    struct kvm_engine *kvm;
    struct uart16550 com1;
    struct x86_legacy legacy;
    struct x86_pci pci;
    struct virtio_pci *virtio[X86_VIRTIO_MAX]; /* the transports, PCI slot BASE + i */
    struct x86_msi_fn msi[X86_VIRTIO_MAX];     /* their MSI-X vectors */
    int nvirtio;
    unsigned msi_next;        /* the next free MSI GSI */
    struct x86_irqfds irqfds; /* virtio INTx through KVM irqfds */
};

/* virtio_devs.c: board_ops attach_virtio and virtio_done; destroy before the engine (device
 * interrupts go through it). */
int x86_virtio_attach(void *board, struct virtio_dev *vdev);
int x86_virtio_done(void *board);
void x86_virtio_destroy(struct x86_board *b);

/* state.c: the board's snapshot sections (board_ops save, load, load_done). */
int x86_board_save(void *board, struct snap_writer *w);
int x86_board_load(void *board, const struct snap_reader *r, const char *path);
int x86_board_load_done(void *board, const struct snap_reader *r, const char *path);

/* The bytes of RAM above the low part sit above the MMIO gap, at 4 GiB (board_ops ram_layout);
 * the slots that map them (ram_slots). Also used by the tests. */
void x86_ram_layout(struct gmem *ram);
int x86_ram_slots(uint64_t ram_size, struct board_ram_slot *slots);

#endif
