/* rv64 machine: one host thread per hart, WFI sleeping, the machine timer, stop requests and
 * the public register-access API. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/thread.h"
#include "engine/rv64/cpu.h"
#include "engine/rv64/jit.h"

#define BATCH 4096 /* instructions between interrupt and stop checks */

static uint64_t host_ticks(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * RV64_TIMEBASE_HZ +
           (uint64_t)ts.tv_nsec / (1000000000ULL / RV64_TIMEBASE_HZ);
}

uint64_t rv64_mtime_now(const struct rv64_machine *m)
{
    return host_ticks() + (uint64_t)__atomic_load_n(&m->mtime_offset, __ATOMIC_RELAXED);
}

uint64_t rv64_machine_mtime(const struct rv64_machine *m)
{
    return rv64_mtime_now(m);
}

void rv64_machine_set_mtime(struct rv64_machine *m, uint64_t mtime)
{
    __atomic_store_n(&m->mtime_offset, (int64_t)(mtime - host_ticks()), __ATOMIC_RELAXED);
    for (int i = 0; i < m->nharts; i++)
        rv64_hart_kick(m->harts[i]);
}

uint64_t rv64_hart_mtimecmp(const struct rv64_hart *h)
{
    return __atomic_load_n(&h->mtimecmp, __ATOMIC_RELAXED);
}

void rv64_hart_set_mtimecmp(struct rv64_hart *h, uint64_t val)
{
    __atomic_store_n(&h->mtimecmp, val, __ATOMIC_RELAXED);
    rv64_hart_kick(h);
}

void rv64_hart_kick(struct rv64_hart *h)
{
    pthread_mutex_lock(&h->lock);
    h->kick = 1;
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

void rv64_hart_set_irq(struct rv64_hart *h, uint64_t mip_bit, int level)
{
    if (level)
        __atomic_fetch_or(&h->mip_ext, mip_bit, __ATOMIC_SEQ_CST);
    else
        __atomic_fetch_and(&h->mip_ext, ~mip_bit, __ATOMIC_SEQ_CST);
    rv64_hart_kick(h);
}

/* Sleeps until an interrupt enabled in mie is pending, the timer fires, or a kick. */
void rv64_hart_sleep(struct rv64_hart *h)
{
    pthread_mutex_lock(&h->lock);
    while (!h->kick && !rv64_stopping(h->m)) {
        uint64_t cmp = rv64_hart_mtimecmp(h), now;
        struct timespec ts;

        if (rv64_pending_interrupts(h) & h->mie)
            break;
        if (cmp == ~0ULL || !(h->mie & RV64_MIP_MTIP)) {
            pthread_cond_wait(&h->cond, &h->lock);
            continue;
        }
        now = rv64_mtime_now(h->m);
        if (now >= cmp)
            break;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        {
            uint64_t ns = (cmp - now) * (1000000000ULL / RV64_TIMEBASE_HZ);
            if (ns > 1000000000ULL)
                ns = 1000000000ULL;
            ts.tv_sec += (time_t)(ns / 1000000000ULL);
            ts.tv_nsec += (long)(ns % 1000000000ULL);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
        }
        pthread_cond_timedwait(&h->cond, &h->lock, &ts);
    }
    h->kick = 0;
    pthread_mutex_unlock(&h->lock);
}

static void trace_step(struct rv64_hart *h)
{
    uint64_t before[32], pc = h->pc;
    int priv = h->priv;
    char line[512];
    int n;

    memcpy(before, h->x, sizeof(before));
    rv64_exec(h, 1);
    n = snprintf(line, sizeof(line), "%d %c %016" PRIx64 " %08x", h->id, "US?M"[priv], pc,
                 h -> last_insn &((h->last_insn & 3) == 3 ? ~0U : 0xffff));
    for (int r = 1; r < 32 && n < (int)sizeof(line) - 40; r++)
        if (h->x[r] != before[r])
            n += snprintf(line + n, sizeof(line) - (size_t)n, " x%d=%016" PRIx64, r, h->x[r]);
    if (h->pc != pc + 2 && h->pc != pc + 4)
        n += snprintf(line + n, sizeof(line) - (size_t)n, " ->%016" PRIx64, h->pc);
    fprintf(h->trace, "%s\n", line);
}

/* The JIT tier's trace with VESSEL_RV64_TRACE_CHUNKS=1: one line per run of translated code
 * (at most JIT_BLOCK_MAX instructions), "+N" at the end giving how many instructions it ran, the
 * registers changed over all of them and the pc after them; INSN is the first instruction.
 * Returns how many instructions ran. */
static uint64_t trace_chunk(struct rv64_hart *h)
{
    uint64_t before[32], pc = h->pc, n;
    struct rv64_tlb_entry *e = rv64_tlb_lookup(h, rv64_tlb_set(h->priv), ACC_X, pc);
    uint32_t insn = 0;
    int priv = h->priv;
    char line[1024];
    int len;

    if (e && (pc & 0xfff) <= 0xffc) {
        memcpy(&insn, (const void *)(uintptr_t)(pc + e->addend), 4);
        if ((insn & 3) != 3)
            insn &= 0xffff;
    }
    memcpy(before, h->x, sizeof(before));
    n = rv64_jit_exec(h, JIT_BLOCK_MAX);
    len = snprintf(line, sizeof(line), "%d %c %016" PRIx64 " %08x", h->id, "US?M"[priv], pc, insn);
    for (int r = 1; r < 32 && len < (int)sizeof(line) - 60; r++)
        if (h->x[r] != before[r])
            len += snprintf(line + len, sizeof(line) - (size_t)len, " x%d=%016" PRIx64, r, h->x[r]);
    snprintf(line + len, sizeof(line) - (size_t)len, " ->%016" PRIx64 " +%" PRIu64, h->pc, n);
    fprintf(h->trace, "%s\n", line);
    return n;
}

/* This thread's CPU time in ns (0 when unreadable). */
static uint64_t thread_cpu_ns(clockid_t clk)
{
    struct timespec ts;

    if (clock_gettime(clk, &ts))
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void hart_thread_live(struct rv64_hart *h, bool live)
{
    pthread_mutex_lock(&h->m->lock);
    if (!live)
        h->cpu_ns_done += thread_cpu_ns(CLOCK_THREAD_CPUTIME_ID);
    h->thread_live = live;
    pthread_mutex_unlock(&h->m->lock);
}

int rv64_machine_vcpu_stats(struct rv64_machine *m, int cpu, uint64_t *cpu_ns, uint64_t *values)
{
    struct rv64_hart *h = rv64_machine_hart(m, cpu);
    clockid_t clk;

    if (!h)
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    *cpu_ns = h->cpu_ns_done;
    if (h->thread_live && !pthread_getcpuclockid(h->thread, &clk))
        *cpu_ns += thread_cpu_ns(clk);
    pthread_mutex_unlock(&m->lock);
    values[0] = __atomic_load_n(&h->n_insns, __ATOMIC_RELAXED);
    values[1] = __atomic_load_n(&h->n_exceptions, __ATOMIC_RELAXED);
    values[2] = __atomic_load_n(&h->n_interrupts, __ATOMIC_RELAXED);
    values[3] = __atomic_load_n(&h->n_wfi, __ATOMIC_RELAXED);
    return 0;
}

static void *hart_main(void *arg)
{
    struct rv64_hart *h = arg;

    hart_thread_live(h, true);
    while (!rv64_stopping(h->m)) {
        if (unlikely(__atomic_load_n(&h->m->pause_req, __ATOMIC_ACQUIRE))) {
            rv64_hart_park(h);
            continue;
        }
        if (h->wfi) {
            if (!(rv64_pending_interrupts(h) & h->mie)) {
                rv64_stat_add(&h->n_wfi, 1);
                rv64_hart_sleep(h);
                continue;
            }
            h->wfi = false;
        }
        rv64_check_interrupts(h);
        if (unlikely(h->trace) && h->jit && h->m->trace_chunks) {
            for (int i = 0; i < 4 && !h->wfi; i++)
                rv64_stat_add(&h->n_insns, trace_chunk(h));
        } else if (unlikely(h->trace)) {
            for (int i = 0; i < 64 && !h->wfi; i++) {
                trace_step(h);
                rv64_stat_add(&h->n_insns, 1);
            }
        } else if (h->jit) {
            rv64_stat_add(&h->n_insns, rv64_jit_exec(h, BATCH));
        } else {
            rv64_stat_add(&h->n_insns, rv64_exec(h, BATCH));
        }
    }
    hart_thread_live(h, false);
    return NULL;
}

int rv64_tier_parse(const char *s, enum rv64_tier *out)
{
    if (!strcmp(s, "interp"))
        *out = RV64_TIER_INTERP;
    else if (!strcmp(s, "jit"))
        *out = RV64_TIER_JIT;
    else
        return -EINVAL;
    return 0;
}

enum rv64_tier rv64_machine_tier(const struct rv64_machine *m)
{
    return m->tier;
}

/* The config's tier; without one VESSEL_RV64_TIER's, else the JIT where it runs. */
static int tier_resolve(const struct rv64_config *cfg, enum rv64_tier *tier)
{
    const char *env = getenv("VESSEL_RV64_TIER");

    *tier = cfg->tier;
    if (*tier == RV64_TIER_DEFAULT && env && *env && rv64_tier_parse(env, tier)) {
        log_err("rv64: VESSEL_RV64_TIER=%s: expected interp or jit", env);
        return -EINVAL;
    }
    if (*tier == RV64_TIER_DEFAULT)
        *tier = rv64_jit_supported() ? RV64_TIER_JIT : RV64_TIER_INTERP;
    if (*tier == RV64_TIER_JIT && !rv64_jit_supported()) {
        log_err("rv64: the JIT tier needs an x86-64 host; using the interpreter");
        *tier = RV64_TIER_INTERP;
    }
    return 0;
}

/* Every hart's code cache: the configured total split between them. */
static int jit_setup(struct rv64_machine *m, size_t total)
{
    size_t each;
    int err;

    const char *env = getenv("VESSEL_RV64_JIT_CACHE_KIB");

    if (!total && env && *env) {
        char *end;
        unsigned long long kib = strtoull(env, &end, 10);
        if (*end || kib > RV64_JIT_CACHE_MAX / 1024) {
            log_err("rv64: VESSEL_RV64_JIT_CACHE_KIB=%s: expected a number of KiB", env);
            return -EINVAL;
        }
        total = (size_t)kib * 1024;
    }
    if (!total)
        total = RV64_JIT_CACHE_DEFAULT;
    if (total < RV64_JIT_CACHE_MIN || total > RV64_JIT_CACHE_MAX) {
        log_err("rv64: JIT code cache of %zu KiB: expected %u KiB to %u MiB", total >> 10,
                RV64_JIT_CACHE_MIN >> 10, RV64_JIT_CACHE_MAX >> 20);
        return -EINVAL;
    }
    each = total / (size_t)m->nharts;
    if (each < RV64_JIT_CACHE_MIN)
        each = RV64_JIT_CACHE_MIN;
    for (int i = 0; i < m->nharts; i++) {
        err = rv64_jit_create(m->harts[i], each);
        if (err)
            return err;
    }
    return 0;
}

int rv64_machine_create(struct rv64_machine **out, const struct rv64_config *cfg)
{
    struct rv64_machine *m;
    pthread_condattr_t cattr;
    int err = -ENOMEM;

    if (cfg->nharts < 1 || cfg->nharts > RV64_MAX_HARTS)
        return -EINVAL;
    m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->ram = cfg->ram;
    m->bus = cfg->bus;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->cond, NULL);
    pthread_cond_init(&m->park_cond, NULL);
    m->mtime_offset = -(int64_t)host_ticks();
    if (cfg->trace_path) {
        m->trace = fopen(cfg->trace_path, "w");
        if (!m->trace) {
            err = -errno;
            log_err("rv64: %s: cannot open trace file: %s", cfg->trace_path, strerror(errno));
            goto fail;
        }
    }
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    for (int i = 0; i < cfg->nharts; i++) {
        /* C11: the size must be a multiple of the alignment */
        struct rv64_hart *h = aligned_alloc(64, (sizeof(*h) + 63) & ~(size_t)63);
        if (!h) {
            pthread_condattr_destroy(&cattr);
            goto fail;
        }
        memset(h, 0, sizeof(*h));
        h->blocks = calloc(BLOCK_CACHE_SIZE, sizeof(*h->blocks));
        if (!h->blocks) {
            free(h);
            pthread_condattr_destroy(&cattr);
            goto fail;
        }
        h->m = m;
        h->id = i;
        h->trace = m->trace;
        pthread_mutex_init(&h->lock, NULL);
        pthread_cond_init(&h->cond, &cattr); /* WFI deadlines are CLOCK_MONOTONIC */
        rv64_hart_reset_state(h);
        m->harts[i] = h;
        m->nharts = i + 1;
    }
    pthread_condattr_destroy(&cattr);
    err = tier_resolve(cfg, &m->tier);
    if (!err && m->tier == RV64_TIER_JIT)
        err = jit_setup(m, cfg->jit_cache_size);
    m->trace_chunks = m->trace && getenv("VESSEL_RV64_TRACE_CHUNKS") != NULL;
    if (err)
        goto fail;
    *out = m;
    return 0;

fail:
    rv64_machine_destroy(m);
    return err;
}

void rv64_machine_destroy(struct rv64_machine *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nharts; i++) {
        pthread_mutex_destroy(&m->harts[i]->lock);
        pthread_cond_destroy(&m->harts[i]->cond);
        rv64_jit_destroy(m->harts[i]);
        free(m->harts[i]->blocks);
        free(m->harts[i]);
    }
    if (m->trace)
        fclose(m->trace);
    free(m->dirty);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    pthread_cond_destroy(&m->park_cond);
    free(m);
}

struct rv64_hart *rv64_machine_hart(struct rv64_machine *m, int i)
{
    return i >= 0 && i < m->nharts ? m->harts[i] : NULL;
}

int rv64_machine_nharts(const struct rv64_machine *m)
{
    return m->nharts;
}

void rv64_hart_reset(struct rv64_hart *h, uint64_t pc, uint64_t a1, uint64_t a2)
{
    rv64_hart_reset_state(h);
    h->pc = pc;
    h->x[10] = (uint64_t)h->id;
    h->x[11] = a1;
    h->x[12] = a2;
}

void rv64_machine_stop(struct rv64_machine *m, enum rv64_stop reason)
{
    int expect = RV64_STOP_NONE;

    __atomic_compare_exchange_n(&m->stop_reason, &expect, (int)reason, false, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    for (int i = 0; i < m->nharts; i++)
        rv64_hart_kick(m->harts[i]);
    pthread_mutex_lock(&m->lock);
    pthread_cond_broadcast(&m->cond);
    pthread_cond_broadcast(&m->park_cond);
    pthread_mutex_unlock(&m->lock);
}

enum rv64_stop rv64_machine_run(struct rv64_machine *m)
{
    int started = 0, err;
    enum rv64_stop reason;

    pthread_mutex_lock(&m->lock);
    m->running = 1;
    pthread_mutex_unlock(&m->lock);
    for (int i = 0; i < m->nharts; i++) {
        err = thread_create(&m->harts[i]->thread, THREAD_VCPU, hart_main, m->harts[i]);
        if (err) {
            log_err("rv64: cannot start the thread of hart %d: %s", i, strerror(err));
            rv64_machine_stop(m, RV64_STOP_ERROR);
            break;
        }
        started++;
    }
    pthread_mutex_lock(&m->lock);
    while (!rv64_stopping(m))
        pthread_cond_wait(&m->cond, &m->lock);
    pthread_mutex_unlock(&m->lock);
    for (int i = 0; i < started; i++)
        pthread_join(m->harts[i]->thread, NULL);
    pthread_mutex_lock(&m->lock);
    m->running = 0;
    pthread_cond_broadcast(&m->park_cond);
    pthread_mutex_unlock(&m->lock);
    reason = (enum rv64_stop)rv64_stopping(m);
    if (m->trace)
        fflush(m->trace);
    return reason;
}

void rv64_machine_rearm(struct rv64_machine *m)
{
    __atomic_store_n(&m->stop_reason, RV64_STOP_NONE, __ATOMIC_SEQ_CST);
}

uint64_t rv64_hart_step(struct rv64_hart *h, uint64_t n)
{
    uint64_t done = 0;

    /* Tools and tests write code into guest memory between steps without FENCE.I. */
    rv64_dcache_flush(h);

    while (done < n) {
        if (h->wfi) {
            if (!(rv64_pending_interrupts(h) & h->mie))
                break;
            h->wfi = false;
        }
        if (rv64_check_interrupts(h))
            continue;
        /* The JIT runs whole blocks, so it gets the rest of n (and ends at traps). */
        done += h->jit ? rv64_jit_exec(h, n - done) : rv64_exec(h, 1);
    }
    return done;
}

uint64_t rv64_hart_get_x(const struct rv64_hart *h, int reg)
{
    return h->x[reg & 31];
}

void rv64_hart_set_x(struct rv64_hart *h, int reg, uint64_t val)
{
    if (reg & 31)
        h->x[reg & 31] = val;
}

uint64_t rv64_hart_get_f(const struct rv64_hart *h, int reg)
{
    return h->fp.f[reg & 31];
}

void rv64_hart_set_f(struct rv64_hart *h, int reg, uint64_t val)
{
    h->fp.f[reg & 31] = val;
}

uint64_t rv64_hart_get_pc(const struct rv64_hart *h)
{
    return h->pc;
}

void rv64_hart_set_pc(struct rv64_hart *h, uint64_t pc)
{
    h->pc = pc;
}

int rv64_hart_get_priv(const struct rv64_hart *h)
{
    return h->priv;
}

void rv64_hart_set_priv(struct rv64_hart *h, int priv)
{
    h->priv = priv;
}

int rv64_hart_get_csr(struct rv64_hart *h, unsigned csr, uint64_t *val)
{
    int priv = h->priv, r;

    h->priv = PRV_M;
    r = rv64_csr_read(h, csr, val);
    h->priv = priv;
    return r ? -EINVAL : 0;
}

int rv64_hart_set_csr(struct rv64_hart *h, unsigned csr, uint64_t val)
{
    int priv = h->priv, r;

    h->priv = PRV_M;
    r = rv64_csr_write(h, csr, val);
    h->priv = priv;
    return r ? -EINVAL : 0;
}
