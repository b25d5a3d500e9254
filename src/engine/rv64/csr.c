/* rv64 privileged architecture: CSRs, traps, interrupts, xRET. */
#include <errno.h>
#include <string.h>

#include "engine/rv64/cpu.h"

#define MISA_RV64   (2ULL << 62)
#define MISA_EXT(c) (1ULL << ((c) - 'A'))
#define MISA_VALUE                                                                                 \
    (MISA_RV64 | MISA_EXT('I') | MISA_EXT('M') | MISA_EXT('A') | MISA_EXT('F') | MISA_EXT('D') |   \
     MISA_EXT('C') | MISA_EXT('S') | MISA_EXT('U'))

#define MSTATUS_WMASK                                                                              \
    (MS_SIE | MS_MIE | MS_SPIE | MS_MPIE | MS_SPP | MS_MPP | MS_FS | MS_MPRV | MS_SUM | MS_MXR |   \
     MS_TVM | MS_TW | MS_TSR)
#define SSTATUS_MASK  (MS_SIE | MS_SPIE | MS_SPP | MS_FS | MS_SUM | MS_MXR | MS_UXL | MS_SD)
#define SSTATUS_WMASK (MS_SIE | MS_SPIE | MS_SPP | MS_FS | MS_SUM | MS_MXR)

#define MIP_SSIP     RV64_MIP_SSIP
#define MIP_MSIP     RV64_MIP_MSIP
#define MIP_STIP     RV64_MIP_STIP
#define MIP_MTIP     RV64_MIP_MTIP
#define MIP_SEIP     RV64_MIP_SEIP
#define MIP_MEIP     RV64_MIP_MEIP
#define MIE_MASK     (MIP_SSIP | MIP_MSIP | MIP_STIP | MIP_MTIP | MIP_SEIP | MIP_MEIP)
#define MIP_SW_MASK  (MIP_SSIP | MIP_STIP | MIP_SEIP) /* bits M-mode software may write */
#define S_INTS       (MIP_SSIP | MIP_STIP | MIP_SEIP)
#define MEDELEG_MASK 0xb3ffULL

void rv64_hart_reset_state(struct rv64_hart *h)
{
    memset(h->x, 0, sizeof(h->x));
    memset(&h->fp, 0, sizeof(h->fp));
    h->priv = PRV_M;
    h->mstatus = MS_UXL | MS_SXL;
    h->misa = MISA_VALUE;
    h->medeleg = h->mideleg = h->mie = h->mip = 0;
    h->mtvec = h->mscratch = h->mepc = h->mcause = h->mtval = 0;
    h->mcounteren = h->mcountinhibit = h->menvcfg = 0;
    h->stvec = h->sscratch = h->sepc = h->scause = h->stval = h->satp = 0;
    h->scounteren = h->senvcfg = 0;
    memset(h->pmpcfg, 0, sizeof(h->pmpcfg));
    memset(h->pmpaddr, 0, sizeof(h->pmpaddr));
    h->mtimecmp = ~0ULL;
    h->instret = 0;
    h->lr_valid = false;
    __atomic_store_n(&h->mip_ext, 0, __ATOMIC_SEQ_CST);
    h->wfi = false;
    rv64_tlb_flush(h);
    rv64_dcache_flush(h);
}

uint64_t rv64_pending_interrupts(struct rv64_hart *h)
{
    uint64_t mip = h->mip | __atomic_load_n(&h->mip_ext, __ATOMIC_RELAXED);

    if (h->mtimecmp != ~0ULL && rv64_mtime_now(h->m) >= h->mtimecmp)
        mip |= MIP_MTIP;
    return mip;
}

/* Highest-priority interrupt in a set: MEI, MSI, MTI, SEI, SSI, STI. */
static int irq_pick(uint64_t bits)
{
    static const int order[] = {11, 3, 7, 9, 1, 5};
    for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (bits & (1ULL << order[i]))
            return order[i];
    return -1;
}

bool rv64_check_interrupts(struct rv64_hart *h)
{
    uint64_t pending = rv64_pending_interrupts(h) & h->mie;
    uint64_t m_pend, s_pend;
    bool m_on, s_on;

    if (!pending)
        return false;
    m_on = h->priv < PRV_M || (h->mstatus & MS_MIE);
    s_on = h->priv < PRV_S || (h->priv == PRV_S && (h->mstatus & MS_SIE));
    m_pend = pending & ~h->mideleg;
    s_pend = pending & h->mideleg;
    if (m_on && m_pend) {
        rv64_trap(h, CAUSE_INTERRUPT | (uint64_t)irq_pick(m_pend), 0);
        return true;
    }
    if (s_on && s_pend) {
        rv64_trap(h, CAUSE_INTERRUPT | (uint64_t)irq_pick(s_pend), 0);
        return true;
    }
    return false;
}

void rv64_trap(struct rv64_hart *h, uint64_t cause, uint64_t tval)
{
    bool intr = (cause & CAUSE_INTERRUPT) != 0;
    uint64_t code = cause & ~CAUSE_INTERRUPT;
    uint64_t deleg = intr ? h->mideleg : h->medeleg;
    uint64_t s = h->mstatus;

    h->wfi = false;
    h->budget = 0;
    h->lr_valid = false;
    rv64_stat_add(intr ? &h->n_interrupts : &h->n_exceptions, 1);
    if (h->priv <= PRV_S && ((deleg >> code) & 1)) {
        h->scause = cause;
        h->sepc = h->pc;
        h->stval = tval;
        s = (s & ~(MS_SPIE | MS_SPP | MS_SIE)) | ((s & MS_SIE) ? MS_SPIE : 0) |
            (h->priv == PRV_S ? MS_SPP : 0);
        h->mstatus = s;
        h->priv = PRV_S;
        h->pc = (h->stvec & ~3ULL) + ((intr && (h->stvec & 1)) ? 4 * code : 0);
    } else {
        h->mcause = cause;
        h->mepc = h->pc;
        h->mtval = tval;
        s = (s & ~(MS_MPIE | MS_MPP | MS_MIE)) | ((s & MS_MIE) ? MS_MPIE : 0) |
            ((uint64_t)h->priv << MS_MPP_SHIFT);
        h->mstatus = s;
        h->priv = PRV_M;
        h->pc = (h->mtvec & ~3ULL) + ((intr && (h->mtvec & 1)) ? 4 * code : 0);
    }
}

void rv64_mret(struct rv64_hart *h)
{
    uint64_t s = h->mstatus;
    int mpp = (int)((s & MS_MPP) >> MS_MPP_SHIFT);

    s = (s & ~(MS_MIE | MS_MPP)) | ((s & MS_MPIE) ? MS_MIE : 0) | MS_MPIE;
    if (mpp != PRV_M)
        s &= ~MS_MPRV;
    h->mstatus = s;
    h->priv = mpp;
    h->pc = h->mepc;
    h->budget = 0;
}

void rv64_sret(struct rv64_hart *h)
{
    uint64_t s = h->mstatus;
    int spp = (s & MS_SPP) ? PRV_S : PRV_U;

    s = (s & ~(MS_SIE | MS_SPP | MS_MPRV)) | ((s & MS_SPIE) ? MS_SIE : 0) | MS_SPIE;
    h->mstatus = s;
    h->priv = spp;
    h->pc = h->sepc;
    h->budget = 0;
}

static uint64_t mstatus_read(const struct rv64_hart *h)
{
    uint64_t s = h->mstatus;
    if ((s & MS_FS) == MS_FS)
        s |= MS_SD;
    return s;
}

static void mstatus_write(struct rv64_hart *h, uint64_t val, uint64_t mask)
{
    uint64_t old = h->mstatus;
    uint64_t s = (old & ~mask) | (val & mask);

    if (((s & MS_MPP) >> MS_MPP_SHIFT) == 2) /* reserved: keep the old value */
        s = (s & ~MS_MPP) | (old & MS_MPP);
    h->mstatus = s & ~MS_SD;
    /* SUM is checked on every TLB hit (see rv64_tlb_lookup); MXR changes what was filled. */
    if ((old ^ s) & MS_MXR)
        rv64_tlb_flush(h);
    h->budget = 0;
}

static bool counter_allowed(const struct rv64_hart *h, unsigned bit)
{
    if (h->priv < PRV_M && !((h->mcounteren >> bit) & 1))
        return false;
    if (h->priv < PRV_S && !((h->scounteren >> bit) & 1))
        return false;
    return true;
}

static bool fs_on(const struct rv64_hart *h)
{
    return (h->mstatus & MS_FS) != 0;
}

int rv64_csr_read(struct rv64_hart *h, unsigned csr, uint64_t *val)
{
    if (((csr >> 8) & 3) > (unsigned)h->priv)
        return -EPERM;
    switch (csr) {
    case 0x001:
        if (!fs_on(h))
            return -EPERM;
        *val = h->fp.fflags;
        return 0;
    case 0x002:
        if (!fs_on(h))
            return -EPERM;
        *val = h->fp.frm;
        return 0;
    case 0x003:
        if (!fs_on(h))
            return -EPERM;
        *val = h->fp.frm << 5 | h->fp.fflags;
        return 0;
    case 0xc00:
    case 0xc02: /* cycle, instret */
        if (!counter_allowed(h, csr & 0x1f))
            return -EPERM;
        *val = h->instret;
        return 0;
    case 0xc01:
        if (!counter_allowed(h, 1))
            return -EPERM;
        *val = rv64_mtime_now(h->m);
        return 0;
    case 0x100: *val = mstatus_read(h) & SSTATUS_MASK; return 0;
    case 0x104: *val = h->mie & h->mideleg; return 0;
    case 0x105: *val = h->stvec; return 0;
    case 0x106: *val = h->scounteren; return 0;
    case 0x10a: *val = h->senvcfg; return 0;
    case 0x140: *val = h->sscratch; return 0;
    case 0x141: *val = h->sepc; return 0;
    case 0x142: *val = h->scause; return 0;
    case 0x143: *val = h->stval; return 0;
    case 0x144: *val = rv64_pending_interrupts(h) & h->mideleg; return 0;
    case 0x180:
        if (h->priv == PRV_S && (h->mstatus & MS_TVM))
            return -EPERM;
        *val = h->satp;
        return 0;
    case 0x300: *val = mstatus_read(h); return 0;
    case 0x301: *val = h->misa; return 0;
    case 0x302: *val = h->medeleg; return 0;
    case 0x303: *val = h->mideleg; return 0;
    case 0x304: *val = h->mie; return 0;
    case 0x305: *val = h->mtvec; return 0;
    case 0x306: *val = h->mcounteren; return 0;
    case 0x30a: *val = h->menvcfg; return 0;
    case 0x320: *val = h->mcountinhibit; return 0;
    case 0x340: *val = h->mscratch; return 0;
    case 0x341: *val = h->mepc; return 0;
    case 0x342: *val = h->mcause; return 0;
    case 0x343: *val = h->mtval; return 0;
    case 0x344: *val = rv64_pending_interrupts(h); return 0;
    case 0xb00:
    case 0xb02: *val = h->instret; return 0; /* mcycle, minstret */
    case 0xf11:
    case 0xf12:
    case 0xf13:
    case 0xf15: *val = 0; return 0; /* ids, mconfigptr */
    case 0xf14: *val = (uint64_t)h->id; return 0;
    default: break;
    }
    if (csr >= 0x3a0 && csr <= 0x3af) { /* pmpcfg: even numbers only on RV64 */
        if (csr & 1)
            return -EINVAL;
        *val = h->pmpcfg[(csr - 0x3a0) / 2];
        return 0;
    }
    if (csr >= 0x3b0 && csr <= 0x3ef) {
        *val = h->pmpaddr[csr - 0x3b0];
        return 0;
    }
    if ((csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0x323 && csr <= 0x33f)) {
        *val = 0; /* no hardware performance counters: read-only zero */
        return 0;
    }
    if (csr >= 0xc03 && csr <= 0xc1f) {
        if (!counter_allowed(h, csr & 0x1f))
            return -EPERM;
        *val = 0;
        return 0;
    }
    return -EINVAL;
}

int rv64_csr_write(struct rv64_hart *h, unsigned csr, uint64_t val)
{
    if (((csr >> 8) & 3) > (unsigned)h->priv || (csr >> 10) == 3)
        return -EPERM;
    switch (csr) {
    case 0x001:
        if (!fs_on(h))
            return -EPERM;
        h->fp.fflags = val & 0x1f;
        break;
    case 0x002:
        if (!fs_on(h))
            return -EPERM;
        h->fp.frm = val & 7;
        break;
    case 0x003:
        if (!fs_on(h))
            return -EPERM;
        h->fp.fflags = val & 0x1f;
        h->fp.frm = (val >> 5) & 7;
        break;
    case 0x100: mstatus_write(h, val, SSTATUS_WMASK); return 0;
    case 0x104: h->mie = (h->mie & ~h->mideleg) | (val & h->mideleg); break;
    case 0x105: h->stvec = val & ~2ULL; return 0;
    case 0x106: h->scounteren = val & 0xffffffffULL; return 0;
    case 0x10a: h->senvcfg = val & 1; return 0;
    case 0x140: h->sscratch = val; return 0;
    case 0x141: h->sepc = val & ~1ULL; return 0;
    case 0x142: h->scause = val; return 0;
    case 0x143: h->stval = val; return 0;
    case 0x144: h->mip = (h->mip & ~(MIP_SSIP & h->mideleg)) | (val & MIP_SSIP & h->mideleg); break;
    case 0x180: {
        uint64_t mode = val >> 60;
        if (h->priv == PRV_S && (h->mstatus & MS_TVM))
            return -EPERM;
        if (mode != 0 && mode != 8 && mode != 9)
            return 0; /* unsupported mode: the whole write has no effect */
        h->satp = val & (0xfULL << 60 | ((1ULL << 44) - 1)); /* no ASID bits */
        rv64_tlb_flush(h);
        break;
    }
    case 0x300: mstatus_write(h, val, MSTATUS_WMASK); return 0;
    case 0x301: return 0; /* misa is fixed */
    case 0x302: h->medeleg = val & MEDELEG_MASK; return 0;
    case 0x303: h->mideleg = val & S_INTS; break;
    case 0x304: h->mie = val & MIE_MASK; break;
    case 0x305: h->mtvec = val & ~2ULL; return 0;
    case 0x306: h->mcounteren = val & 0xffffffffULL; return 0;
    case 0x30a: h->menvcfg = val & 1; return 0;
    case 0x320: h->mcountinhibit = val & 0xfffffffdULL; return 0;
    case 0x340: h->mscratch = val; return 0;
    case 0x341: h->mepc = val & ~1ULL; return 0;
    case 0x342: h->mcause = val; return 0;
    case 0x343: h->mtval = val; return 0;
    case 0x344: h->mip = (h->mip & ~MIP_SW_MASK) | (val & MIP_SW_MASK); break;
    case 0xb00:
    case 0xb02: h->instret = val; return 0;
    default:
        if (csr >= 0x3a0 && csr <= 0x3af) {
            if (csr & 1)
                return -EINVAL;
            h->pmpcfg[(csr - 0x3a0) / 2] = val;
            return 0;
        }
        if (csr >= 0x3b0 && csr <= 0x3ef) {
            h->pmpaddr[csr - 0x3b0] = val & ((1ULL << 54) - 1);
            return 0;
        }
        if ((csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0x323 && csr <= 0x33f))
            return 0;
        return -EINVAL;
    }
    if (csr <= 3) /* fcsr and its parts */
        h->mstatus |= MS_FS;
    h->budget = 0; /* interrupt enables or pending bits may have changed */
    return 0;
}
