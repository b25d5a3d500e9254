#include <string.h>

#include "dev/uart16550.h"
#include "harness.h"

static int irq_level;
static int irq_calls;
static uint8_t txbuf[64];
static unsigned txlen;

static void fake_irq(void *opaque, int line, int level)
{
    irq_level = level;
    irq_calls++;
}

static void fake_tx(void *opaque, uint8_t byte)
{
    if (txlen < sizeof(txbuf))
        txbuf[txlen++] = byte;
}

static void uart_setup(struct uart16550 *u)
{
    const struct irq_line irq = {fake_irq, NULL, 10};

    irq_level = 0;
    irq_calls = 0;
    txlen = 0;
    uart16550_init(u, &irq, fake_tx, NULL);
}

#define RD(u, r)    ((uint8_t)uart16550_read(u, r, 1))
#define WR(u, r, v) uart16550_write(u, r, 1, v)

TEST(uart_reset_state_and_scratch)
{
    struct uart16550 u;

    uart_setup(&u);
    CHECK_EQ(RD(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
    CHECK_EQ(RD(&u, UART_IIR), UART_IIR_NO_INT);
    CHECK_EQ(RD(&u, UART_IER), 0);
    CHECK_EQ(RD(&u, UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
    WR(&u, UART_SCR, 0xa5);
    CHECK_EQ(RD(&u, UART_SCR), 0xa5);
    CHECK_EQ(irq_level, 0);
    uart16550_destroy(&u);
}

TEST(uart_dlab_divisor_latch)
{
    struct uart16550 u;

    uart_setup(&u);
    WR(&u, UART_LCR, UART_LCR_DLAB | 0x03);
    WR(&u, UART_RBR, 0x01);
    WR(&u, UART_IER, 0x02);
    CHECK_EQ(RD(&u, UART_RBR), 0x01);
    CHECK_EQ(RD(&u, UART_IER), 0x02);
    CHECK_EQ(txlen, 0); /* DLL write is not a transmit */
    WR(&u, UART_LCR, 0x03);
    CHECK_EQ(RD(&u, UART_LCR), 0x03);
    CHECK_EQ(RD(&u, UART_IER), 0); /* the real IER was untouched */
    WR(&u, UART_LCR, UART_LCR_DLAB | 0x03);
    CHECK_EQ(RD(&u, UART_IER), 0x02);
    uart16550_destroy(&u);
}

TEST(uart_transmit_and_thre_interrupt)
{
    struct uart16550 u;

    uart_setup(&u);
    WR(&u, UART_RBR, 'h');
    WR(&u, UART_RBR, 'i');
    CHECK_EQ(txlen, 2);
    CHECK(!memcmp(txbuf, "hi", 2));
    CHECK_EQ(irq_level, 0); /* ETBEI off */
    /* enabling ETBEI with THR empty raises THRI at once */
    WR(&u, UART_IER, UART_IER_THRI);
    CHECK_EQ(irq_level, 1);
    CHECK_EQ(RD(&u, UART_IIR), UART_IIR_THRI);
    /* reading IIR acknowledged it */
    CHECK_EQ(irq_level, 0);
    CHECK_EQ(RD(&u, UART_IIR), UART_IIR_NO_INT);
    /* writing THR empties it again: a new THRE interrupt */
    WR(&u, UART_RBR, '!');
    CHECK_EQ(irq_level, 1);
    /* disabling ETBEI drops it; re-enabling raises it again (8250 THRE test) */
    WR(&u, UART_IER, 0);
    CHECK_EQ(irq_level, 0);
    WR(&u, UART_IER, UART_IER_THRI);
    CHECK_EQ(RD(&u, UART_IIR), UART_IIR_THRI);
    WR(&u, UART_IER, 0);
    WR(&u, UART_IER, UART_IER_THRI);
    CHECK_EQ(RD(&u, UART_IIR), UART_IIR_THRI);
    CHECK_EQ(RD(&u, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT), UART_LSR_THRE | UART_LSR_TEMT);
    uart16550_destroy(&u);
}

TEST(uart_receive_fifo_and_rdi)
{
    struct uart16550 u;
    uint8_t many[40];

    uart_setup(&u);
    CHECK_EQ(uart16550_rx_push(&u, (const uint8_t *)"ab", 2), 2);
    CHECK_EQ(RD(&u, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
    CHECK_EQ(irq_level, 0); /* ERBFI off */
    WR(&u, UART_IER, UART_IER_RDI);
    CHECK_EQ(irq_level, 1);
    CHECK_EQ(RD(&u, UART_IIR), UART_IIR_RDI);
    CHECK_EQ(RD(&u, UART_RBR), 'a');
    CHECK_EQ(irq_level, 1);
    CHECK_EQ(RD(&u, UART_RBR), 'b');
    CHECK_EQ(irq_level, 0);
    CHECK_EQ(RD(&u, UART_LSR) & UART_LSR_DR, 0);
    CHECK_EQ(RD(&u, UART_IIR), UART_IIR_NO_INT);
    /* the FIFO takes what fits and says so */
    memset(many, 'z', sizeof(many));
    CHECK_EQ(uart16550_rx_push(&u, many, sizeof(many)), UART16550_FIFO_SIZE);
    CHECK_EQ(uart16550_rx_push(&u, many, 1), 0);
    /* RDI outranks THRI */
    WR(&u, UART_IER, UART_IER_RDI | UART_IER_THRI);
    CHECK_EQ(RD(&u, UART_IIR), UART_IIR_RDI);
    /* FCR: enabling FIFOs shows in IIR; clearing RX empties it */
    WR(&u, UART_IIR, UART_FCR_ENABLE);
    CHECK_EQ(RD(&u, UART_LSR) & UART_LSR_DR, 0);
    CHECK_EQ(uart16550_rx_push(&u, many, 3), 3);
    WR(&u, UART_IIR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
    CHECK_EQ(RD(&u, UART_LSR) & UART_LSR_DR, 0);
    CHECK_EQ(RD(&u, UART_IIR), UART_IIR_FIFO | UART_IIR_THRI);
    CHECK_EQ(RD(&u, UART_IIR), UART_IIR_FIFO | UART_IIR_NO_INT);
    uart16550_destroy(&u);
}

TEST(uart_loopback_and_reset)
{
    struct uart16550 u;

    uart_setup(&u);
    WR(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2);
    CHECK_EQ(RD(&u, UART_MSR) & 0xf0, UART_MSR_CTS | UART_MSR_DCD);
    WR(&u, UART_RBR, 0x5a);
    CHECK_EQ(txlen, 0);
    CHECK_EQ(RD(&u, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
    CHECK_EQ(RD(&u, UART_RBR), 0x5a);
    CHECK_EQ(uart16550_rx_push(&u, (const uint8_t *)"x", 1), 0); /* held while looped */
    WR(&u, UART_IER, UART_IER_THRI);
    CHECK_EQ(irq_level, 1);
    uart16550_reset(&u);
    CHECK_EQ(irq_level, 0);
    CHECK_EQ(RD(&u, UART_MCR), 0);
    CHECK_EQ(RD(&u, UART_IER), 0);
    uart16550_destroy(&u);
}
