/* rv64 address translation: Sv39 and Sv48 page walks with hardware A/D updates, and the
 * software TLB that caches virtual page -> host page for RAM. */
#include <string.h>

#include "engine/rv64/cpu.h"

#define PTE_V         (1ULL << 0)
#define PTE_R         (1ULL << 1)
#define PTE_W         (1ULL << 2)
#define PTE_X         (1ULL << 3)
#define PTE_U         (1ULL << 4)
#define PTE_A         (1ULL << 6)
#define PTE_D         (1ULL << 7)
#define PTE_PPN_SHIFT 10
#define PTE_PPN_MASK  ((1ULL << 44) - 1)
#define PTE_RESERVED  (0x3ffULL << 54) /* N, PBMT and reserved bits: no Svnapot/Svpbmt */

#define SATP_MODE_SHIFT 60
#define SATP_MODE_SV39  8ULL
#define SATP_MODE_SV48  9ULL
#define SATP_PPN_MASK   ((1ULL << 44) - 1)

void rv64_tlb_flush(struct rv64_hart *h)
{
    memset(h->tlb, 0xff, sizeof(h->tlb));
    memset(h->tlb_super, 0, sizeof(h->tlb_super));
}

static const uint64_t page_fault_cause[3] = {EXC_LOAD_PAGE, EXC_STORE_PAGE, EXC_INSN_PAGE};
static const uint64_t access_fault_cause[3] = {EXC_LOAD_ACCESS, EXC_STORE_ACCESS, EXC_INSN_ACCESS};

void rv64_tlb_flush_va(struct rv64_hart *h, uint64_t va)
{
    uint64_t vpn = va >> 12;

    for (int set = 0; set < TLB_SETS; set++)
        for (int acc = 0; acc < 3; acc++) {
            /* 4 KiB entries for va sit at one index; superpage entries anywhere */
            int lo = h->tlb_super[set][acc] ? 0 : (int)(vpn & (TLB_SIZE - 1));
            int hi = h->tlb_super[set][acc] ? TLB_SIZE - 1 : lo;
            for (int i = lo; i <= hi; i++) {
                struct rv64_tlb_entry *e = &h->tlb[set][acc][i];
                unsigned shift = 9 * h->tlb_level[set][acc][i];
                if (e->tag != TLB_EMPTY && (e->tag >> 1) >> shift == vpn >> shift)
                    e->tag = TLB_EMPTY;
            }
        }
}

static void tlb_fill(struct rv64_hart *h, int priv, int acc, uint64_t va, uint8_t *host_page,
                     bool user_page, int level)
{
    uint64_t vpn = va >> 12;
    struct rv64_tlb_entry *e = &h->tlb[rv64_tlb_set(priv)][acc][vpn & (TLB_SIZE - 1)];

    h->tlb_level[rv64_tlb_set(priv)][acc][vpn & (TLB_SIZE - 1)] = (uint8_t)level;
    if (level)
        h->tlb_super[rv64_tlb_set(priv)][acc] = true;
    e->tag = vpn << 1 | (priv == PRV_S && user_page);
    e->addend = (uintptr_t)host_page - (vpn << 12);
    if (acc == ACC_W)
        rv64_dirty_mark(h->m, host_page); /* every store to RAM goes through a W entry */
}

/* Walks the page table; returns 0 and the physical address, or the exception cause. */
static int walk(struct rv64_hart *h, uint64_t va, int acc, int priv, uint64_t *pa, bool *user,
                int *leaf_level)
{
    uint64_t mode = h->satp >> SATP_MODE_SHIFT;
    int levels = mode == SATP_MODE_SV48 ? 4 : 3;
    int vabits = 12 + 9 * levels;
    uint64_t table = (h->satp & SATP_PPN_MASK) << 12;

    /* the upper bits must all equal the top bit of the virtual address */
    if ((int64_t)(va << (64 - vabits)) >> (64 - vabits) != (int64_t)va)
        return -1;

    for (int level = levels - 1; level >= 0; level--) {
        uint64_t pte_addr = table + ((va >> (12 + 9 * level)) & 0x1ff) * 8;
        uint64_t *ptep = gmem_ptr(h->m->ram, pte_addr, 8);
        uint64_t pte, ppn;

        if (!ptep)
            return -2; /* access fault on the walk */
    again:
        pte = __atomic_load_n(ptep, __ATOMIC_RELAXED);
        if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)) || (pte & PTE_RESERVED))
            return -1;
        ppn = (pte >> PTE_PPN_SHIFT) & PTE_PPN_MASK;
        if (!(pte & (PTE_R | PTE_X))) {
            if (pte & (PTE_A | PTE_D | PTE_U))
                return -1;
            table = ppn << 12;
            continue;
        }
        /* leaf */
        if (pte & PTE_U) {
            if (priv == PRV_S && (acc == ACC_X || !(h->mstatus & MS_SUM)))
                return -1;
        } else if (priv == PRV_U) {
            return -1;
        }
        switch (acc) {
        case ACC_R:
            if (!(pte & PTE_R) && !((h->mstatus & MS_MXR) && (pte & PTE_X)))
                return -1;
            break;
        case ACC_W:
            if (!(pte & PTE_W))
                return -1;
            break;
        default:
            if (!(pte & PTE_X))
                return -1;
            break;
        }
        if (level > 0 && (ppn & ((1ULL << (9 * level)) - 1)))
            return -1; /* misaligned superpage */
        if (!(pte & PTE_A) || (acc == ACC_W && !(pte & PTE_D))) {
            uint64_t npte = pte | PTE_A | (acc == ACC_W ? PTE_D : 0);
            if (!__atomic_compare_exchange_n(ptep, &pte, npte, false, __ATOMIC_SEQ_CST,
                                             __ATOMIC_SEQ_CST))
                goto again;
            rv64_dirty_mark(h->m, (const uint8_t *)ptep); /* a store to the page table */
        }
        *user = (pte & PTE_U) != 0;
        *leaf_level = level;
        *pa = (ppn << 12 | (va & ((1ULL << (12 + 9 * level)) - 1))) & ((1ULL << 56) - 1);
        return 0;
    }
    return -1;
}

int rv64_translate(struct rv64_hart *h, uint64_t va, int acc, int priv, void **host, uint64_t *pa)
{
    uint64_t mode = h->satp >> SATP_MODE_SHIFT;
    bool user = false;
    int level = 0;
    uint64_t phys = va;
    uint8_t *page;

    if (priv != PRV_M && mode != 0) {
        int r = walk(h, va, acc, priv, &phys, &user, &level);
        if (r) {
            rv64_trap(h, r == -1 ? page_fault_cause[acc] : access_fault_cause[acc], va);
            return -1;
        }
    }
    page = gmem_ptr(h->m->ram, phys & ~0xfffULL, 4096);
    if (page) {
        tlb_fill(h, priv, acc, va, page, user, level);
        *host = page + (phys & 0xfff);
    } else {
        *host = NULL;
    }
    *pa = phys;
    return 0;
}
