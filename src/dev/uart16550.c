/* ns16550a UART model. Transmission is instantaneous: THR and the transmit shift register are
 * always empty again by the time the guest looks, so LSR.THRE and LSR.TEMT stay set. */
#include "dev/uart16550.h"

#include <errno.h>
#include <string.h>

#include "base/sbuf.h"

#define UART_MSR_DELTAS (UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_TERI | UART_MSR_DDCD)
#define UART_LSR_ERRORS (UART_LSR_OE | 0x04 /* PE */ | 0x08 /* FE */ | UART_LSR_BI)

static uint8_t uart_iir_id(const struct uart16550_state *s)
{
    if ((s->ier & UART_IER_RLSI) && (s->lsr & UART_LSR_ERRORS))
        return UART_IIR_RLSI;
    if ((s->ier & UART_IER_RDI) && (s->lsr & UART_LSR_DR))
        return UART_IIR_RDI;
    if ((s->ier & UART_IER_THRI) && s->thr_ipending)
        return UART_IIR_THRI;
    if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_DELTAS))
        return UART_IIR_MSI;
    return UART_IIR_NO_INT;
}

/* Called with the lock held; the level goes out in the same order as the state changes. */
static void uart_update_irq(struct uart16550 *u)
{
    int level = uart_iir_id(&u->s) != UART_IIR_NO_INT;

    if (level != u->irq_level) {
        u->irq_level = level;
        irq_line_set(&u->irq, level);
    }
}

static void uart_rx_clear(struct uart16550_state *s)
{
    s->rx_head = 0;
    s->rx_count = 0;
    s->lsr &= ~UART_LSR_DR;
}

/* Returns 0 when the FIFO is full (the byte is dropped and OE set by the caller if wanted). */
static int uart_rx_put(struct uart16550_state *s, uint8_t byte)
{
    if (s->rx_count == UART16550_FIFO_SIZE)
        return 0;
    s->rx[(s->rx_head + s->rx_count) % UART16550_FIFO_SIZE] = byte;
    s->rx_count++;
    s->lsr |= UART_LSR_DR;
    return 1;
}

static uint8_t uart_rx_get(struct uart16550_state *s)
{
    uint8_t byte;

    if (!s->rx_count)
        return 0;
    byte = s->rx[s->rx_head];
    s->rx_head = (uint8_t)((s->rx_head + 1) % UART16550_FIFO_SIZE);
    if (--s->rx_count == 0)
        s->lsr &= ~UART_LSR_DR;
    return byte;
}

static uint8_t uart_read_rbr(struct uart16550 *u)
{
    int had = u->s.rx_count;
    uint8_t byte = uart_rx_get(&u->s);

    if (had && !u->s.rx_count && u->rx_drained)
        u->rx_drained(u->tx_opaque);
    return byte;
}

/* Modem status lines as seen in MSR bits 4..7: in loopback they mirror MCR's outputs,
 * otherwise a host console is always "connected" (CTS, DSR, DCD). */
static uint8_t uart_modem_lines(const struct uart16550_state *s)
{
    uint8_t m = 0;

    if (!(s->mcr & UART_MCR_LOOP))
        return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
    if (s->mcr & UART_MCR_RTS)
        m |= UART_MSR_CTS;
    if (s->mcr & UART_MCR_DTR)
        m |= UART_MSR_DSR;
    if (s->mcr & UART_MCR_OUT1)
        m |= UART_MSR_RI;
    if (s->mcr & UART_MCR_OUT2)
        m |= UART_MSR_DCD;
    return m;
}

static void uart_set_mcr(struct uart16550_state *s, uint8_t mcr)
{
    uint8_t old = s->msr & 0xf0, now;

    s->mcr = mcr & 0x1f;
    now = uart_modem_lines(s);
    if ((old ^ now) & UART_MSR_CTS)
        s->msr |= UART_MSR_DCTS;
    if ((old ^ now) & UART_MSR_DSR)
        s->msr |= UART_MSR_DDSR;
    if ((old & UART_MSR_RI) && !(now & UART_MSR_RI))
        s->msr |= UART_MSR_TERI;
    if ((old ^ now) & UART_MSR_DCD)
        s->msr |= UART_MSR_DDCD;
    s->msr = (uint8_t)((s->msr & UART_MSR_DELTAS) | now);
}

static void uart_reset_locked(struct uart16550 *u)
{
    struct uart16550_state *s = &u->s;

    memset(s, 0, sizeof(*s));
    s->lsr = UART_LSR_THRE | UART_LSR_TEMT;
    s->msr = uart_modem_lines(s);
    s->dll = 0x0c; /* 9600 baud at 1.8432 MHz; Linux programs its own divisor */
    uart_update_irq(u);
}

void uart16550_init(struct uart16550 *u, const struct irq_line *irq,
                    void (*tx)(void *opaque, uint8_t byte), void *tx_opaque)
{
    memset(u, 0, sizeof(*u));
    pthread_mutex_init(&u->lock, NULL);
    if (irq)
        u->irq = *irq;
    u->tx = tx;
    u->tx_opaque = tx_opaque;
    uart_reset_locked(u);
}

void uart16550_destroy(struct uart16550 *u)
{
    pthread_mutex_destroy(&u->lock);
}

void uart16550_reset(struct uart16550 *u)
{
    pthread_mutex_lock(&u->lock);
    uart_reset_locked(u);
    pthread_mutex_unlock(&u->lock);
}

unsigned uart16550_rx_push(struct uart16550 *u, const uint8_t *buf, unsigned len)
{
    unsigned n = 0;

    pthread_mutex_lock(&u->lock);
    /* In loopback the receiver is disconnected from the outside; keep input for later. */
    if (!(u->s.mcr & UART_MCR_LOOP)) {
        while (n < len && uart_rx_put(&u->s, buf[n]))
            n++;
        uart_update_irq(u);
    }
    pthread_mutex_unlock(&u->lock);
    return n;
}

uint64_t uart16550_read(void *opaque, uint64_t off, unsigned size)
{
    struct uart16550 *u = opaque;
    struct uart16550_state *s = &u->s;
    uint8_t val = 0;

    pthread_mutex_lock(&u->lock);
    switch (off) {
    case UART_RBR: val = (s->lcr & UART_LCR_DLAB) ? s->dll : uart_read_rbr(u); break;
    case UART_IER: val = (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier; break;
    case UART_IIR:
        val = uart_iir_id(s);
        if (val == UART_IIR_THRI)
            s->thr_ipending = 0; /* reading IIR acknowledges a THRE interrupt */
        if (s->fcr & UART_FCR_ENABLE)
            val |= UART_IIR_FIFO;
        break;
    case UART_LCR: val = s->lcr; break;
    case UART_MCR: val = s->mcr; break;
    case UART_LSR:
        val = s->lsr;
        s->lsr &= ~UART_LSR_ERRORS;
        break;
    case UART_MSR:
        val = s->msr;
        s->msr &= ~UART_MSR_DELTAS;
        break;
    case UART_SCR: val = s->scr; break;
    default: break;
    }
    uart_update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return val;
}

static void uart_write_thr(struct uart16550 *u, uint8_t byte)
{
    struct uart16550_state *s = &u->s;

    if (s->mcr & UART_MCR_LOOP) {
        if (!uart_rx_put(s, byte))
            s->lsr |= UART_LSR_OE;
    } else if (u->tx) {
        u->tx(u->tx_opaque, byte);
    }
    /* The byte left at once: THR is empty again, which is a new THRE event. */
    s->thr_ipending = 1;
}

void uart16550_write(void *opaque, uint64_t off, unsigned size, uint64_t val64)
{
    struct uart16550 *u = opaque;
    struct uart16550_state *s = &u->s;
    uint8_t val = (uint8_t)val64;

    pthread_mutex_lock(&u->lock);
    switch (off) {
    case UART_RBR:
        if (s->lcr & UART_LCR_DLAB)
            s->dll = val;
        else
            uart_write_thr(u, val);
        break;
    case UART_IER:
        if (s->lcr & UART_LCR_DLAB) {
            s->dlm = val;
            break;
        }
        /* Enabling ETBEI while THR is empty raises a THRE interrupt (the 8250 driver's
         * startup test relies on it); disabling it drops a pending one. */
        if ((val & UART_IER_THRI) && !(s->ier & UART_IER_THRI) && (s->lsr & UART_LSR_THRE))
            s->thr_ipending = 1;
        if (!(val & UART_IER_THRI))
            s->thr_ipending = 0;
        s->ier = val & 0x0f;
        break;
    case UART_IIR: /* FCR */
        if ((val ^ s->fcr) & UART_FCR_ENABLE)
            uart_rx_clear(s); /* switching FIFO mode clears both FIFOs */
        if (val & UART_FCR_CLEAR_RX)
            uart_rx_clear(s);
        s->fcr = val & 0xc9; /* trigger level, DMA mode, enable; clear bits self-reset */
        break;
    case UART_LCR: s->lcr = val; break;
    case UART_MCR: uart_set_mcr(s, val); break;
    case UART_SCR: s->scr = val; break;
    default: break; /* LSR and MSR are read-only */
    }
    uart_update_irq(u);
    pthread_mutex_unlock(&u->lock);
}

ssize_t uart16550_save(struct uart16550 *u, void *buf, size_t cap)
{
    struct sbuf b = sbuf_writer(buf, cap);
    const struct uart16550_state *s = &u->s;

    pthread_mutex_lock(&u->lock);
    sbuf_put(&b, UART16550_SAVE_VERSION, 4);
    const uint8_t regs[] = {s->ier, s->lcr, s->mcr, s->lsr,          s->msr,     s->scr,
                            s->fcr, s->dll, s->dlm, s->thr_ipending, s->rx_head, s->rx_count};
    sbuf_put_bytes(&b, regs, sizeof(regs));
    sbuf_put_bytes(&b, s->rx, sizeof(s->rx));
    pthread_mutex_unlock(&u->lock);
    return sbuf_result(&b);
}

int uart16550_load(struct uart16550 *u, const void *buf, size_t len)
{
    struct sbuf b = sbuf_reader(buf, len);
    struct uart16550_state s;
    uint8_t r[12];

    if (sbuf_get(&b, 4) != UART16550_SAVE_VERSION)
        return -EINVAL;
    sbuf_get_bytes(&b, r, sizeof(r));
    sbuf_get_bytes(&b, s.rx, sizeof(s.rx));
    if (!sbuf_done(&b))
        return -EINVAL;
    s.ier = r[0];
    s.lcr = r[1];
    s.mcr = r[2];
    s.lsr = r[3];
    s.msr = r[4];
    s.scr = r[5];
    s.fcr = r[6];
    s.dll = r[7];
    s.dlm = r[8];
    s.thr_ipending = r[9];
    s.rx_head = r[10];
    s.rx_count = r[11];
    /* Only states the model itself can reach. */
    if (s.ier & 0xf0 || s.mcr & 0xe0 || s.fcr & ~0xc9 || s.thr_ipending > 1 ||
        s.rx_head >= UART16550_FIFO_SIZE || s.rx_count > UART16550_FIFO_SIZE ||
        !(s.lsr & UART_LSR_DR) != !s.rx_count)
        return -EINVAL;
    pthread_mutex_lock(&u->lock);
    u->s = s;
    u->irq_level = uart_iir_id(&u->s) != UART_IIR_NO_INT;
    irq_line_set(&u->irq, u->irq_level);
    pthread_mutex_unlock(&u->lock);
    return 0;
}

const struct bus_ops uart16550_bus_ops = {
    .read = uart16550_read,
    .write = uart16550_write,
};
