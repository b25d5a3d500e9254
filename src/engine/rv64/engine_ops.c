/* rv64 behind the engine seam (engine/engine.h). Interrupt lines are not the engine's on
 * riscv: the board's PLIC owns them and drives the harts' MEIP/SEIP, so set_irq is refused. The
 * guest clock is the machine timer (mtime), saved as the MACHINE part "mtime". */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/le.h"
#include "engine/engine.h"
#include "engine/rv64/cpu.h"

static int ops_probe(char *info, size_t infolen, char *why, size_t whylen)
{
    snprintf(info, infolen, "Vessel's own emulator, no host support needed");
    if (whylen)
        why[0] = '\0';
    return 0;
}

static enum engine_stop ops_run(void *e)
{
    switch (rv64_machine_run(e)) {
    case RV64_STOP_POWEROFF: return ENGINE_STOP_POWEROFF;
    case RV64_STOP_REBOOT: return ENGINE_STOP_RESET;
    case RV64_STOP_QUIT: return ENGINE_STOP_QUIT;
    case RV64_STOP_ERROR: return ENGINE_STOP_CRASH; /* a guest failure or a fatal fault */
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

/* The board puts every hart at its entry (rv64_hart_reset) when it loads the guest again. */
static int ops_reset(void *e)
{
    rv64_machine_rearm(e);
    rv64_machine_set_mtime(e, 0);
    return 0;
}

static int ops_set_irq(void *e, unsigned line, int level)
{
    (void)e;
    (void)line;
    (void)level;
    return -EOPNOTSUPP;
}

static uint64_t ops_clock_get(void *e)
{
    return rv64_machine_mtime(e);
}

static int ops_clock_set(void *e, uint64_t clock)
{
    rv64_machine_set_mtime(e, clock);
    return 0;
}

static long ops_get_cpu_state(void *e, int cpu, void *buf)
{
    struct rv64_hart *h = rv64_machine_hart(e, cpu);
    struct rv64_cpu_state s;

    if (!h)
        return -EINVAL;
    rv64_hart_get_state(h, &s);
    memcpy(buf, &s, sizeof(s));
    return (long)sizeof(s);
}

static int ops_set_cpu_state(void *e, int cpu, const void *buf, size_t len)
{
    struct rv64_hart *h = rv64_machine_hart(e, cpu);
    struct rv64_cpu_state s;

    if (!h || len != sizeof(s))
        return -EINVAL;
    memcpy(&s, buf, sizeof(s));
    return rv64_hart_set_state(h, &s);
}

static int ops_save_machine(void *e, uint64_t clock, engine_put_fn put, void *ctx)
{
    uint8_t le[8];

    (void)e;
    le64_put(le, clock);
    return put(ctx, "mtime", 0, le, sizeof(le));
}

static int ops_load_machine(void *e, engine_get_fn get, void *ctx)
{
    uint8_t le[8];
    long n = get(ctx, "mtime", 0, le, sizeof(le));

    if (n < 0)
        return (int)n;
    if (n != (long)sizeof(le))
        return -EINVAL;
    rv64_machine_set_mtime(e, le64_get(le));
    return 0;
}

static int ops_set_dirty_log(void *e, bool on)
{
    return rv64_machine_set_dirty_logging(e, on);
}

static int ops_get_dirty_log(void *e, int slot, uint64_t *bitmap)
{
    return slot == 0 ? rv64_machine_get_dirty_log(e, bitmap) : -EINVAL;
}

static const char *const counters[] = {"instructions", "traps:exception", "traps:interrupt",
                                       "wfi_sleeps", NULL};

static int ops_vcpu_stats(void *e, int cpu, uint64_t *cpu_ns, uint64_t *values)
{
    return rv64_machine_vcpu_stats(e, cpu, cpu_ns, values);
}

const struct engine_ops rv64_engine_ops = {
    .name = "rv64",
    .probe = ops_probe,
    .run = ops_run,
    .stop = ops_stop,
    .pause = ops_pause,
    .resume = ops_resume,
    .reset = ops_reset,
    .set_irq = ops_set_irq,
    .clock_get = ops_clock_get,
    .clock_set = ops_clock_set,
    .cpu_section = "hart",
    .cpu_state_size = sizeof(struct rv64_cpu_state),
    .get_cpu_state = ops_get_cpu_state,
    .set_cpu_state = ops_set_cpu_state,
    .save_machine = ops_save_machine,
    .load_machine = ops_load_machine,
    .set_dirty_log = ops_set_dirty_log,
    .get_dirty_log = ops_get_dirty_log,
    .counters = counters,
    .vcpu_stats = ops_vcpu_stats,
};
