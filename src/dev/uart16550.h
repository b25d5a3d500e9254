/* ns16550a UART: eight byte-wide registers (reg-shift 0), a receive FIFO fed by a host
 * backend, transmit straight to the backend, and a level interrupt output computed the way
 * Linux's 8250 driver expects it. */
#ifndef VESSEL_DEV_UART16550_H
#define VESSEL_DEV_UART16550_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bus/bus.h"
#include "dev/irq.h"

#define UART16550_FIFO_SIZE 16

/* Register offsets (DLAB selects DLL/DLM at 0 and 1) */
#define UART_RBR 0 /* read: receive buffer; write: THR */
#define UART_IER 1
#define UART_IIR 2 /* read: interrupt identification; write: FCR */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI  0x01
#define UART_IER_THRI 0x02
#define UART_IER_RLSI 0x04
#define UART_IER_MSI  0x08

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI    0x00
#define UART_IIR_THRI   0x02
#define UART_IIR_RDI    0x04
#define UART_IIR_RLSI   0x06
#define UART_IIR_FIFO   0xc0

#define UART_FCR_ENABLE   0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10

#define UART_LSR_DR   0x01
#define UART_LSR_OE   0x02
#define UART_LSR_BI   0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_CTS  0x10
#define UART_MSR_DSR  0x20
#define UART_MSR_RI   0x40
#define UART_MSR_DCD  0x80

/* Everything a snapshot needs; plain data. */
struct uart16550_state {
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr, dll, dlm;
    uint8_t thr_ipending; /* THRE interrupt pending until IIR read or THR written */
    uint8_t rx[UART16550_FIFO_SIZE];
    uint8_t rx_head, rx_count;
};

struct uart16550 {
    pthread_mutex_t lock;
    struct uart16550_state s;
    struct irq_line irq;
    int irq_level;
    /* Called with the UART lock held for every transmitted byte, and (rx_drained, if set)
     * when the guest has emptied the RX FIFO so that the backend can offer more input. */
    void (*tx)(void *opaque, uint8_t byte);
    void (*rx_drained)(void *opaque);
    void *tx_opaque;
};

extern const struct bus_ops uart16550_bus_ops;

void uart16550_init(struct uart16550 *u, const struct irq_line *irq,
                    void (*tx)(void *opaque, uint8_t byte), void *tx_opaque);
void uart16550_destroy(struct uart16550 *u);
/* Back to the power-on state (guest reboot); the RX FIFO is emptied. */
void uart16550_reset(struct uart16550 *u);
/* Queues up to len input bytes into the RX FIFO; returns how many fit (0 when full). */
unsigned uart16550_rx_push(struct uart16550 *u, const uint8_t *buf, unsigned len);

/* Snapshot state (version UART16550_SAVE_VERSION): u32 version, then the bytes ier, lcr, mcr,
 * lsr, msr, scr, fcr, dll, dlm, thr_ipending, rx_head, rx_count and the 16-byte RX FIFO. load
 * (machine paused) recomputes and drives the interrupt line; 0 or -EINVAL. */
#define UART16550_SAVE_VERSION 1
#define UART16550_SAVE_MAX     (4 + 12 + UART16550_FIFO_SIZE)
ssize_t uart16550_save(struct uart16550 *u, void *buf, size_t cap);
int uart16550_load(struct uart16550 *u, const void *buf, size_t len);

uint64_t uart16550_read(void *opaque, uint64_t off, unsigned size);
void uart16550_write(void *opaque, uint64_t off, unsigned size, uint64_t val);

#endif
