/* The engine seam: what the VM core (src/vm/) and the boards ask of a CPU engine, whichever it
 * is (kvm, rv64). Each engine exports one const table; per-VM state is the engine's opaque
 * pointer, created by the board that runs on the engine (board/board.h). */
#ifndef VESSEL_ENGINE_ENGINE_H
#define VESSEL_ENGINE_ENGINE_H

#include <stdbool.h>
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

/* Machine-wide engine state goes into named parts (a state file's MACHINE sections): put()
 * stores one, get() reads one into buf (at most cap bytes) and returns its length or -errno
 * (-ENOENT when the part is missing). */
typedef int (*engine_put_fn)(void *ctx, const char *name, uint32_t inst, const void *buf,
                             size_t len);
typedef long (*engine_get_fn)(void *ctx, const char *name, uint32_t inst, void *buf, size_t cap);

#define ENGINE_COUNTERS_MAX 12

struct engine_ops {
    const char *name; /* "kvm", "rv64": recorded in state files */
    /* Whether this host can run the engine: 0, or -errno with the reason in why. info gets a
     * short description of what it found either way (e.g. "KVM API 12, up to 710 vCPUs"). */
    int (*probe)(char *info, size_t infolen, char *why, size_t whylen);

    /* Runs every vCPU on its own thread until stop(); returns the first stop reason. May be
     * called again after it returned and reset() forgot the stop (a guest reboot). */
    enum engine_stop (*run)(void *engine);
    /* Thread-safe; the first reason given wins and stays until reset(): a stop that comes
     * before run() starts ends it at once. */
    void (*stop)(void *engine, enum engine_stop reason);
    /* Stops every vCPU at an instruction boundary (pending I/O completed) and returns once
     * all are parked; resume() lets them continue. Both return 0 or -errno (-ESHUTDOWN: the
     * engine is stopping and cannot pause). */
    int (*pause)(void *engine);
    int (*resume)(void *engine);
    /* Every vCPU and the engine's own devices (in-kernel interrupt controllers, timers) back
     * to their power-on state, memory untouched, and the last stop forgotten; the board then
     * loads the guest again. Only while run() is not running. 0 or -errno. */
    int (*reset)(void *engine);
    /* Level of an interrupt-controller input (a GSI on x86; riscv boards own their lines). */
    int (*set_irq)(void *engine, unsigned line, int level);

    /* The guest's clock (rv64: mtime ticks; kvm: kvmclock nanoseconds). A pause keeps the
     * value read when it began and sets it back before resuming, so the guest does not see
     * the pause. Only while paused (or before run). */
    uint64_t (*clock_get)(void *engine);
    int (*clock_set)(void *engine, uint64_t clock);

    /* One vCPU's complete state as the bytes of a state file's CPU section (named
     * cpu_section, at most cpu_state_size bytes); only while paused or before run. get returns
     * the length or -errno; set refuses state of another layout or that the vCPU cannot hold
     * (-EINVAL) and returns 0 or -errno. */
    const char *cpu_section;
    size_t cpu_state_size;
    long (*get_cpu_state)(void *engine, int cpu, void *buf);
    int (*set_cpu_state)(void *engine, int cpu, const void *buf, size_t len);
    /* Machine-wide state (interrupt controllers, timers) with the guest clock given (the one
     * read at the pause), and its loading (after every vCPU's state is set). 0 or -errno. */
    int (*save_machine)(void *engine, uint64_t clock, engine_put_fn put, void *ctx);
    int (*load_machine)(void *engine, engine_get_fn get, void *ctx);

    /* Counters per vCPU for metrics, kept since the engine was created (a guest reboot does not
     * reset them). counters names what this engine counts, NULL-terminated, at most
     * ENGINE_COUNTERS_MAX: a plain name ("instructions") or "NAME:KIND", one kind of a counter
     * with kinds ("exits:io", "exits:mmio"). vcpu_stats gives vCPU cpu's host CPU time (its
     * threads' user + system time, in ns) and its counters in that order; thread-safe, any time;
     * 0, or -EINVAL when there is no such vCPU. The vCPU threads count with relaxed atomic
     * stores of their own counters: nothing shared on the hot path. */
    const char *const *counters;
    int (*vcpu_stats)(void *engine, int cpu, uint64_t *cpu_ns, uint64_t *values);

    /* Logging of CPU stores to guest memory for live migration: on/off, and reading (and
     * clearing) the log of memory slot `slot` into bitmap, one bit per 4 KiB page of the slot.
     * Reading may happen while the vCPUs run. 0 or -errno. */
    int (*set_dirty_log)(void *engine, bool on);
    int (*get_dirty_log)(void *engine, int slot, uint64_t *bitmap);
};

#endif
