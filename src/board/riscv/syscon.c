#include "board/riscv/syscon.h"

void syscon_init(struct syscon *sc, void (*action)(void *, enum syscon_action, uint32_t),
                 void *opaque)
{
    sc->action = action;
    sc->opaque = opaque;
}

static uint64_t syscon_read(void *opaque, uint64_t off, unsigned size)
{
    return 0;
}

/* Stateless, so it needs no lock: the action callback is thread-safe. */
static void syscon_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct syscon *sc = opaque;

    if (off != 0 || size < 2)
        return;
    switch (val & 0xffff) {
    case SYSCON_POWEROFF: sc->action(sc->opaque, SYSCON_ACT_POWEROFF, 0); break;
    case SYSCON_REBOOT: sc->action(sc->opaque, SYSCON_ACT_REBOOT, 0); break;
    case SYSCON_FAIL:
        sc->action(sc->opaque, SYSCON_ACT_FAIL, size >= 4 ? (uint32_t)(val >> 16) & 0xffff : 0);
        break;
    default: break;
    }
}

const struct bus_ops syscon_bus_ops = {
    .read = syscon_read,
    .write = syscon_write,
};
