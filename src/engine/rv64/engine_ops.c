/* rv64 behind the engine seam (engine/engine.h). Interrupt lines are not the engine's on
 * riscv: the board's PLIC owns them and drives the harts' MEIP/SEIP, so set_irq is refused. */
#include <errno.h>

#include "engine/engine.h"
#include "engine/rv64/cpu.h"

static enum engine_stop ops_run(void *e)
{
    switch (rv64_machine_run(e)) {
    case RV64_STOP_POWEROFF: return ENGINE_STOP_POWEROFF;
    case RV64_STOP_REBOOT: return ENGINE_STOP_RESET;
    case RV64_STOP_QUIT: return ENGINE_STOP_QUIT;
    case RV64_STOP_ERROR: return ENGINE_STOP_ERROR;
    default: return ENGINE_STOP_NONE;
    }
}

static void ops_stop(void *e, enum engine_stop reason)
{
    switch (reason) {
    case ENGINE_STOP_POWEROFF: rv64_machine_stop(e, RV64_STOP_POWEROFF); break;
    case ENGINE_STOP_RESET: rv64_machine_stop(e, RV64_STOP_REBOOT); break;
    case ENGINE_STOP_CRASH:
    case ENGINE_STOP_ERROR: rv64_machine_stop(e, RV64_STOP_ERROR); break;
    default: rv64_machine_stop(e, RV64_STOP_QUIT); break;
    }
}

static int ops_pause(void *e)
{
    return rv64_machine_pause(e);
}

static int ops_resume(void *e)
{
    return rv64_machine_resume(e);
}

static int ops_set_irq(void *e, unsigned line, int level)
{
    (void)e;
    (void)line;
    (void)level;
    return -EOPNOTSUPP;
}

static int ops_get_cpu_state(void *e, int cpu, void *state)
{
    struct rv64_hart *h = rv64_machine_hart(e, cpu);

    if (!h)
        return -EINVAL;
    rv64_hart_get_state(h, state);
    return 0;
}

static int ops_set_cpu_state(void *e, int cpu, const void *state)
{
    struct rv64_hart *h = rv64_machine_hart(e, cpu);

    return h ? rv64_hart_set_state(h, state) : -EINVAL;
}

static int ops_get_dirty_log(void *e, int slot, uint64_t *bitmap)
{
    return slot == 0 ? rv64_machine_get_dirty_log(e, bitmap) : -EINVAL;
}

const struct engine_ops rv64_engine_ops = {
    .name = "rv64",
    .run = ops_run,
    .stop = ops_stop,
    .pause = ops_pause,
    .resume = ops_resume,
    .set_irq = ops_set_irq,
    .cpu_state_size = sizeof(struct rv64_cpu_state),
    .get_cpu_state = ops_get_cpu_state,
    .set_cpu_state = ops_set_cpu_state,
    .get_dirty_log = ops_get_dirty_log,
};
