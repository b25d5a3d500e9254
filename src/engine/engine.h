/* The engine seam: what a board or the VM layer asks of a CPU engine, whichever it is (kvm,
 * rv64). Each engine exports one const table; per-VM state is the engine's opaque pointer. */
#ifndef VESSEL_ENGINE_ENGINE_H
#define VESSEL_ENGINE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

enum engine_stop {
    ENGINE_STOP_NONE = 0,
    ENGINE_STOP_POWEROFF, /* the guest powered off */
    ENGINE_STOP_RESET,    /* the guest asked for a reset */
    ENGINE_STOP_QUIT,     /* the user or the VMM stopped the VM */
    ENGINE_STOP_CRASH,    /* the guest crashed (e.g. triple fault); message logged */
    ENGINE_STOP_ERROR,    /* the VMM could not continue; message logged */
};

struct engine_ops {
    const char *name;
    /* Runs every vCPU on its own thread until stop(); returns the first stop reason. */
    enum engine_stop (*run)(void *engine);
    /* Thread-safe; the first reason given wins. */
    void (*stop)(void *engine, enum engine_stop reason);
    /* Stops every vCPU at an instruction boundary (pending I/O completed) and returns once
     * all are parked; resume() lets them continue. Both return 0 or -errno. */
    int (*pause)(void *engine);
    int (*resume)(void *engine);
    /* Level of an interrupt-controller input (a GSI on x86, a PLIC source on riscv). */
    int (*set_irq)(void *engine, unsigned line, int level);
    /* Complete CPU state of one vCPU as a plain struct of cpu_state_size bytes; only while
     * paused (or before run). Return 0 or -errno. */
    size_t cpu_state_size;
    int (*get_cpu_state)(void *engine, int cpu, void *state);
    int (*set_cpu_state)(void *engine, int cpu, const void *state);
    /* Reads and clears the dirty bitmap of a memory slot (one bit per 4 KiB page). */
    int (*get_dirty_log)(void *engine, int slot, uint64_t *bitmap);
};

#endif
