/* rv64 pause/resume and the hart's complete state as a plain struct (snapshots, migration). */
#include <errno.h>
#include <string.h>

#include "engine/rv64/cpu.h"

void rv64_hart_park(struct rv64_hart *h)
{
    struct rv64_machine *m = h->m;

    pthread_mutex_lock(&m->lock);
    m->parked++;
    pthread_cond_broadcast(&m->park_cond);
    while (__atomic_load_n(&m->pause_req, __ATOMIC_ACQUIRE) && !rv64_stopping(m))
        pthread_cond_wait(&m->park_cond, &m->lock);
    m->parked--;
    pthread_mutex_unlock(&m->lock);
}

int rv64_machine_pause(struct rv64_machine *m)
{
    int err;

    __atomic_store_n(&m->pause_req, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < m->nharts; i++)
        rv64_hart_kick(m->harts[i]); /* out of WFI */
    pthread_mutex_lock(&m->lock);
    while (m->running && m->parked < m->nharts && !rv64_stopping(m))
        pthread_cond_wait(&m->park_cond, &m->lock);
    err = m->running && rv64_stopping(m) ? -ESHUTDOWN : 0;
    pthread_mutex_unlock(&m->lock);
    return err;
}

int rv64_machine_resume(struct rv64_machine *m)
{
    pthread_mutex_lock(&m->lock);
    __atomic_store_n(&m->pause_req, 0, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&m->park_cond);
    pthread_mutex_unlock(&m->lock);
    return 0;
}

void rv64_hart_get_state(const struct rv64_hart *h, struct rv64_cpu_state *s)
{
    memset(s, 0, sizeof(*s));
    s->version = RV64_CPU_STATE_VERSION;
    s->size = sizeof(*s);
    memcpy(s->x, h->x, sizeof(s->x));
    s->x[0] = 0;
    s->pc = h->pc;
    memcpy(s->f, h->fp.f, sizeof(s->f));
    s->fflags = h->fp.fflags;
    s->frm = h->fp.frm;
    s->priv = (uint32_t)h->priv;
    s->wfi = h->wfi;
    s->mstatus = h->mstatus;
    s->medeleg = h->medeleg;
    s->mideleg = h->mideleg;
    s->mie = h->mie;
    s->mip = h->mip;
    s->mip_ext = __atomic_load_n(&h->mip_ext, __ATOMIC_SEQ_CST);
    s->mtvec = h->mtvec;
    s->mscratch = h->mscratch;
    s->mepc = h->mepc;
    s->mcause = h->mcause;
    s->mtval = h->mtval;
    s->mcounteren = h->mcounteren;
    s->mcountinhibit = h->mcountinhibit;
    s->menvcfg = h->menvcfg;
    s->stvec = h->stvec;
    s->sscratch = h->sscratch;
    s->sepc = h->sepc;
    s->scause = h->scause;
    s->stval = h->stval;
    s->satp = h->satp;
    s->scounteren = h->scounteren;
    s->senvcfg = h->senvcfg;
    memcpy(s->pmpcfg, h->pmpcfg, sizeof(s->pmpcfg));
    memcpy(s->pmpaddr, h->pmpaddr, sizeof(s->pmpaddr));
    s->mtimecmp = __atomic_load_n(&h->mtimecmp, __ATOMIC_RELAXED);
    s->instret = h->instret;
    s->lr_addr = h->lr_addr;
    s->lr_val = h->lr_val;
    s->lr_valid = h->lr_valid;
}

int rv64_hart_set_state(struct rv64_hart *h, const struct rv64_cpu_state *s)
{
    uint64_t mode = s->satp >> 60;

    if (s->version != RV64_CPU_STATE_VERSION || s->size != sizeof(*s))
        return -EINVAL;
    if ((s->priv != PRV_U && s->priv != PRV_S && s->priv != PRV_M) ||
        (mode != 0 && mode != 8 && mode != 9) || (s->pc & 1) || s->frm > 7 || s->fflags > 0x1f)
        return -EINVAL;
    rv64_hart_reset_state(h); /* fresh TLB and decode cache, misa */
    memcpy(h->x, s->x, sizeof(s->x));
    h->x[0] = 0;
    h->pc = s->pc;
    memcpy(h->fp.f, s->f, sizeof(s->f));
    h->fp.fflags = s->fflags;
    h->fp.frm = s->frm;
    h->priv = (int)s->priv;
    h->wfi = s->wfi != 0;
    h->mstatus = s->mstatus;
    h->medeleg = s->medeleg;
    h->mideleg = s->mideleg;
    h->mie = s->mie;
    h->mip = s->mip;
    __atomic_store_n(&h->mip_ext, s->mip_ext, __ATOMIC_SEQ_CST);
    h->mtvec = s->mtvec;
    h->mscratch = s->mscratch;
    h->mepc = s->mepc;
    h->mcause = s->mcause;
    h->mtval = s->mtval;
    h->mcounteren = s->mcounteren;
    h->mcountinhibit = s->mcountinhibit;
    h->menvcfg = s->menvcfg;
    h->stvec = s->stvec;
    h->sscratch = s->sscratch;
    h->sepc = s->sepc;
    h->scause = s->scause;
    h->stval = s->stval;
    h->satp = s->satp;
    h->scounteren = s->scounteren;
    h->senvcfg = s->senvcfg;
    memcpy(h->pmpcfg, s->pmpcfg, sizeof(h->pmpcfg));
    memcpy(h->pmpaddr, s->pmpaddr, sizeof(h->pmpaddr));
    __atomic_store_n(&h->mtimecmp, s->mtimecmp, __ATOMIC_RELAXED);
    h->instret = s->instret;
    h->lr_addr = s->lr_addr;
    h->lr_val = s->lr_val;
    h->lr_valid = s->lr_valid != 0;
    return 0;
}
