/* An interrupt output of a device: the board wires it to an interrupt controller input (a PLIC
 * source on riscv, an IOAPIC pin on x86). Level-triggered: set(opaque, line, 1) asserts. */
#ifndef VESSEL_DEV_IRQ_H
#define VESSEL_DEV_IRQ_H

struct irq_line {
    void (*set)(void *opaque, int line, int level);
    void *opaque;
    int line;
};

static inline void irq_line_set(const struct irq_line *irq, int level)
{
    if (irq->set)
        irq->set(irq->opaque, irq->line, level);
}

#endif
