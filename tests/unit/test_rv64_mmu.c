/* rv64 engine: Sv39/Sv48 translation, permission faults, A/D updates, TLB and sfence.vma,
 * MPRV. The code runs at PC0, identity-mapped; the trap handlers run in M-mode (bare). */
#include "engine/rv64/cpu.h"
#include "rv64_test_util.h"

#define PC0   RVT_BASE                            /* where rvt_alu runs */
#define PA(n) (RVT_DATA + 0x1000 * (uint64_t)(n)) /* data pages */
#define RWX   (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define RW    (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
#define RO    (PTE_V | PTE_R | PTE_A)

/* Builds a page table of the given mode with the first pages of RAM (code, handlers)
 * identity-mapped, code_flags for the code page; returns satp. Does not install it. */
static uint64_t mmu_setup(struct rvt *t, unsigned mode, uint64_t code_flags)
{
    uint64_t satp = rvt_pt_new(t, mode);

    rvt_map(t, RVT_BASE, RVT_BASE, 0, code_flags);
    for (int i = 0; i < 16; i++) /* fill the data pages with a recognisable pattern */
        for (int j = 0; j < 512; j++)
            rvt_w64(t, PA(i) + 8 * (uint64_t)j, 0x1000000000ULL * (uint64_t)(i + 1) + (uint64_t)j);
    rvt_set_csr(t, CSR_SATP, satp);
    return satp;
}

/* The value mmu_setup put at physical address pa (8-aligned) of data page n. */
static uint64_t pat(int n, uint64_t off)
{
    return 0x1000000000ULL * (uint64_t)(n + 1) + off / 8;
}

/* Runs insn at PC0 in priv with x5 = a, x6 = b; returns x7 (0xbad.. when it trapped). */
static uint64_t run(struct rvt *t, int priv, uint32_t insn, uint64_t a, uint64_t b)
{
    rv64_hart_set_priv(t->h, priv);
    rvt_set_csr(t, CSR_MCAUSE, 0xdead);
    return rvt_alu(t, insn, a, b);
}

#define LD7 LD(7, 5, 0)
#define SD6 SD(6, 5, 0)
#define BAD 0xbad0bad0bad0bad0ULL

TEST(rv64_mmu_sv39_4k)
{
    RVT_SETUP(t);
    mmu_setup(t, 8, RWX);
    rvt_map(t, 0x10000, PA(0), 0, RW);
    rvt_map(t, 0x11000, PA(3), 0, RW);
    rvt_map(t, 0xffffffffc0001000ULL, PA(4), 0, RW); /* top of the address space */
    CHECK_EQ(run(t, 1, LD7, 0x10008, 0), pat(0, 8));
    CHECK_EQ(run(t, 1, LD7, 0x11ff8, 0), pat(3, 0xff8));
    CHECK_EQ(run(t, 1, LD7, 0xffffffffc0001010ULL, 0), pat(4, 0x10));
    CHECK_EQ(run(t, 1, LW(7, 5, 4), 0x10000, 0), pat(0, 0) >> 32);
    CHECK(run(t, 1, SD6, 0x11100, 0xcafe) != BAD);
    CHECK_EQ(rvt_r64(t, PA(3) + 0x100), 0xcafe);
    CHECK_EQ(run(t, 1, LD7, 0x11100, 0), 0xcafe);
    /* fetch through a mapping */
    rvt_map(t, 0x20000, PA(5), 0, PTE_V | PTE_X | PTE_A);
    rvt_w32(t, PA(5) + 0x10, ADDI(7, 0, 42));
    rvt_w16(t, PA(5) + 0x14, C_LI(8, -3));
    rv64_hart_set_priv(t->h, 1);
    rv64_hart_set_pc(t->h, 0x20010);
    rv64_hart_step(t->h, 2);
    CHECK_EQ(rvt_x(t, 7), 42);
    CHECK_EQ(rvt_x(t, 8), (uint64_t)-3);
    CHECK_EQ(rvt_pc(t), 0x20016);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);
    rvt_fini(t);
}

TEST(rv64_mmu_sv48_4k)
{
    RVT_SETUP(t);
    mmu_setup(t, 9, RWX);
    rvt_map(t, 0x123456789000ULL, PA(1), 0, RW);
    rvt_map(t, 0x8000000000ULL, PA(2), 0, RW); /* not canonical in Sv39, fine in Sv48 */
    rvt_map(t, 0xffff800000002000ULL, PA(3), 0, RW);
    CHECK_EQ(run(t, 1, LD7, 0x123456789018ULL, 0), pat(1, 0x18));
    CHECK_EQ(run(t, 1, LD7, 0x8000000ff0ULL, 0), pat(2, 0xff0));
    CHECK_EQ(run(t, 1, LD7, 0xffff800000002008ULL, 0), pat(3, 8));
    CHECK(run(t, 1, SD6, 0x123456789100ULL, 77) != BAD);
    CHECK_EQ(rvt_r64(t, PA(1) + 0x100), 77);
    /* bit 47 set without the upper bits: not canonical */
    CHECK_EQ(run(t, 1, LD7, 0x0000800000002008ULL, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 0x0000800000002008ULL);
    CHECK_EQ(run(t, 1, LD7, 0x0001000000000000ULL, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 0x0001000000000000ULL);
    /* superpages: 1 GiB at level 2, 2 MiB at level 1; 512 GiB leaf must be aligned */
    rvt_map(t, 0x40000000, RVT_BASE, 2, RW);
    rvt_map(t, 0x200000, RVT_BASE + 0x200000, 1, RW);
    CHECK_EQ(run(t, 1, LD7, 0x40000000 + (PA(2) - RVT_BASE) + 0x28, 0), pat(2, 0x28));
    rvt_w64(t, RVT_BASE + 0x200000 + 0x1238, 0x5151);
    CHECK_EQ(run(t, 1, LD7, 0x200000 + 0x1238, 0), 0x5151);
    rvt_w64(t, t->pt_root + 8 * 5, (RVT_BASE >> 12) << 10 | RW); /* level-3 leaf, 2 GiB PA */
    CHECK_EQ(run(t, 1, LD7, 5ULL << 39, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 5ULL << 39);
    rvt_fini(t);
}

TEST(rv64_mmu_superpages)
{
    RVT_SETUP(t);
    mmu_setup(t, 8, RWX);
    rvt_map(t, 0x200000, RVT_BASE + 0x200000, 1, RW); /* 2 MiB */
    rvt_map(t, 0x40000000, RVT_BASE, 2, RW);          /* 1 GiB */
    rvt_w64(t, RVT_BASE + 0x200000 + 0x1238, 0xabcd);
    rvt_w64(t, RVT_BASE + 0x3ffff8, 0xef01);
    CHECK_EQ(run(t, 1, LD7, 0x201238, 0), 0xabcd);
    CHECK_EQ(run(t, 1, LD7, 0x3ffff8, 0), 0xef01); /* last doubleword of the megapage */
    CHECK_EQ(run(t, 1, LD7, 0x40000000 + (PA(6) - RVT_BASE) + 0x40, 0), pat(6, 0x40));
    CHECK(run(t, 1, SD6, 0x40000000 + (PA(6) - RVT_BASE) + 0x48, 0x77) != BAD);
    CHECK_EQ(rvt_r64(t, PA(6) + 0x48), 0x77);
    /* fetch from the gigapage: it maps the code too */
    rvt_map(t, 0x80000000ULL + 0x40000000, RVT_BASE, 2, PTE_V | PTE_R | PTE_X | PTE_A);
    rvt_w32(t, RVT_BASE + 0x500, ADDI(9, 0, 9));
    rv64_hart_set_priv(t->h, 1);
    rv64_hart_set_pc(t->h, 0xc0000000ULL + 0x500);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_x(t, 9), 9);
    CHECK_EQ(rvt_pc(t), 0xc0000504ULL);
    /* misaligned superpages: a page fault */
    rvt_map(t, 0x400000, RVT_BASE + 0x201000, 1, RW);
    CHECK_EQ(run(t, 1, LD7, 0x400010, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 0x400010);
    CHECK_EQ(run(t, 1, SD6, 0x400010, 0), BAD);
    CHECK_MTRAP(t, 15, PC0, 0x400010);
    rvt_map(t, 0x100000000ULL, RVT_BASE + 0x200000, 2, RW);
    CHECK_EQ(run(t, 1, LD7, 0x100000000ULL, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 0x100000000ULL);
    rvt_fini(t);
}

TEST(rv64_mmu_page_faults)
{
    RVT_SETUP(t);
    mmu_setup(t, 8, RWX);
    rvt_map(t, 0x30000, PA(0), 0, RWX & ~PTE_V);                          /* invalid */
    rvt_map(t, 0x31000, PA(1), 0, PTE_V | PTE_W | PTE_A | PTE_D);         /* W without R */
    rvt_map(t, 0x32000, PA(2), 0, RO);                                    /* read-only */
    rvt_map(t, 0x33000, PA(3), 0, PTE_V | PTE_X | PTE_A);                 /* execute-only */
    rvt_map(t, 0x34000, PA(4), 0, RW);                                    /* no X */
    rvt_map(t, 0x35000, PA(5), 0, RW | (1ULL << 60));                     /* reserved bit */
    rvt_w64(t, rvt_pte_addr(t, 0x36000, 0), (PA(6) >> 12) << 10 | PTE_V); /* non-leaf at 0 */

    CHECK_EQ(run(t, 1, LD7, 0x30008, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 0x30008);
    CHECK_EQ(run(t, 1, SD6, 0x30010, 0), BAD);
    CHECK_MTRAP(t, 15, PC0, 0x30010);
    CHECK_EQ(run(t, 1, LD7, 0x7654320, 0), BAD); /* no table at all */
    CHECK_MTRAP(t, 13, PC0, 0x7654320);
    CHECK_EQ(run(t, 1, LD7, 0x31000, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 0x31000);
    CHECK_EQ(run(t, 1, SD6, 0x31008, 0), BAD);
    CHECK_MTRAP(t, 15, PC0, 0x31008);
    CHECK_EQ(run(t, 1, LD7, 0x32008, 0), pat(2, 8));
    CHECK_EQ(run(t, 1, SW(6, 5, 0), 0x32008, 0), BAD);
    CHECK_MTRAP(t, 15, PC0, 0x32008);
    CHECK_EQ(rvt_r64(t, PA(2) + 8), pat(2, 8));
    CHECK_EQ(run(t, 1, LB(7, 5, 0), 0x33001, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 0x33001);
    CHECK_EQ(run(t, 1, LD7, 0x35000, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 0x35000);
    CHECK_EQ(run(t, 1, LD7, 0x36000, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 0x36000);
    /* MXR: loads from execute-only pages */
    rvt_set_csr(t, CSR_MSTATUS, ST_MXR);
    CHECK_EQ(run(t, 1, LD7, 0x33010, 0), pat(3, 0x10));
    rvt_set_csr(t, CSR_MSTATUS, 0);
    CHECK_EQ(run(t, 1, LD7, 0x33010, 0), BAD); /* and not after MXR is cleared */
    CHECK_MTRAP(t, 13, PC0, 0x33010);
    /* fetch faults: mepc and mtval are the instruction's address */
    rv64_hart_set_priv(t->h, 1);
    rv64_hart_set_pc(t->h, 0x34010);
    rv64_hart_step(t->h, 1);
    CHECK_MTRAP(t, 12, 0x34010, 0x34010);
    rv64_hart_set_priv(t->h, 1);
    rv64_hart_set_pc(t->h, 0x30000);
    rv64_hart_step(t->h, 1);
    CHECK_MTRAP(t, 12, 0x30000, 0x30000);
    /* a 32-bit instruction whose second half is on an unmapped page */
    rvt_w16(t, PA(3) + 0xffe, (uint16_t)ADDI(7, 0, 1));
    rv64_hart_set_priv(t->h, 1);
    rv64_hart_set_pc(t->h, 0x33ffe);
    rv64_hart_step(t->h, 1);
    CHECK_MTRAP(t, 12, 0x33ffe, 0x34000);
    /* non-canonical Sv39 addresses */
    CHECK_EQ(run(t, 1, LD7, 0x4000000000ULL, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 0x4000000000ULL);
    CHECK_EQ(run(t, 1, SD6, 0xffffffbfffff0000ULL, 0), BAD);
    CHECK_MTRAP(t, 15, PC0, 0xffffffbfffff0000ULL);
    rv64_hart_set_priv(t->h, 1);
    rv64_hart_set_pc(t->h, 0x8000000000ULL);
    rv64_hart_step(t->h, 1);
    CHECK_MTRAP(t, 12, 0x8000000000ULL, 0x8000000000ULL);
    /* a page table outside RAM: access fault (5/7), not a page fault */
    rvt_w64(t, rvt_pte_addr(t, 0x7000000000ULL >> 2, 1), (0x20000000ULL >> 12) << 10 | PTE_V);
    CHECK_EQ(run(t, 1, LD7, 0x7000000000ULL >> 2, 0), BAD);
    CHECK_MTRAP(t, 5, PC0, 0x7000000000ULL >> 2);
    rvt_fini(t);
}

TEST(rv64_mmu_user_supervisor)
{
    RVT_SETUP(t);
    uint64_t satp = mmu_setup(t, 8, RWX);

    rvt_map(t, 0x40000, PA(0), 0, RW | PTE_U);
    rvt_map(t, 0x41000, PA(1), 0, RWX | PTE_U);
    /* S touching U pages: only with SUM */
    CHECK_EQ(run(t, 1, LD7, 0x40008, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 0x40008);
    CHECK_EQ(run(t, 1, SD6, 0x40008, 0), BAD);
    CHECK_MTRAP(t, 15, PC0, 0x40008);
    rvt_set_csr(t, CSR_MSTATUS, ST_SUM);
    CHECK_EQ(run(t, 1, LD7, 0x40008, 0), pat(0, 8));
    CHECK(run(t, 1, SD6, 0x40010, 5) != BAD);
    CHECK_EQ(rvt_r64(t, PA(0) + 0x10), 5);
    rvt_set_csr(t, CSR_MSTATUS, 0); /* SUM off again: the TLB must not keep allowing it */
    CHECK_EQ(run(t, 1, LD7, 0x40008, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 0x40008);
    CHECK_EQ(run(t, 1, SD6, 0x40008, 0), BAD);
    CHECK_MTRAP(t, 15, PC0, 0x40008);
    /* S never executes from U pages, SUM or not */
    rvt_set_csr(t, CSR_MSTATUS, ST_SUM);
    rvt_w32(t, PA(1), RVT_NOP);
    rv64_hart_set_priv(t->h, 1);
    rv64_hart_set_pc(t->h, 0x41000);
    rv64_hart_step(t->h, 1);
    CHECK_MTRAP(t, 12, 0x41000, 0x41000);
    /* U-mode: its own pages yes, S pages no */
    rvt_map(t, RVT_BASE, RVT_BASE, 0, RWX | PTE_U);
    rvt_map(t, 0x42000, PA(2), 0, RW);
    rvt_set_csr(t, CSR_SATP, satp); /* flush */
    CHECK_EQ(run(t, 0, LD7, 0x40008, 0), pat(0, 8));
    CHECK_EQ(run(t, 0, LD7, 0x42008, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 0x42008);
    CHECK_EQ(run(t, 0, SD6, 0x42008, 0), BAD);
    CHECK_MTRAP(t, 15, PC0, 0x42008);
    CHECK_EQ(run(t, 1, LD7, 0x42008, 0), BAD); /* S cannot fetch the U code page now */
    CHECK_MTRAP(t, 12, PC0, PC0);
    rv64_hart_set_priv(t->h, 0);
    rv64_hart_set_pc(t->h, 0x41000);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_pc(t), 0x41004);
    rvt_fini(t);
}

TEST(rv64_mmu_accessed_dirty)
{
    RVT_SETUP(t);
    mmu_setup(t, 8, RWX);
    rvt_map(t, 0x50000, PA(0), 0, PTE_V | PTE_R | PTE_W);
    rvt_map(t, 0x51000, PA(1), 0, PTE_V | PTE_R | PTE_X);
    rvt_map(t, 0x52000, PA(2), 0, PTE_V | PTE_R | PTE_W);
    rvt_map(t, 0x53000, PA(3), 0, PTE_V | PTE_R);
    uint64_t a0 = rvt_pte_addr(t, 0x50000, 0), a1 = rvt_pte_addr(t, 0x51000, 0);
    uint64_t a2 = rvt_pte_addr(t, 0x52000, 0), a3 = rvt_pte_addr(t, 0x53000, 0);

    CHECK_EQ(run(t, 1, LD7, 0x50000, 0), pat(0, 0));
    CHECK_EQ(rvt_r64(t, a0) & (PTE_A | PTE_D), PTE_A);
    CHECK(run(t, 1, SD6, 0x50008, 1) != BAD);
    CHECK_EQ(rvt_r64(t, a0) & (PTE_A | PTE_D), PTE_A | PTE_D);
    CHECK(run(t, 1, SD6, 0x52008, 1) != BAD); /* a store first sets both */
    CHECK_EQ(rvt_r64(t, a2) & (PTE_A | PTE_D), PTE_A | PTE_D);
    CHECK_EQ(rvt_r64(t, a2) >> 10, PA(2) >> 12); /* the rest of the PTE is kept */
    rvt_w32(t, PA(1), RVT_NOP);
    rv64_hart_set_priv(t->h, 1);
    rv64_hart_set_pc(t->h, 0x51000);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_pc(t), 0x51004);
    CHECK_EQ(rvt_r64(t, a1) & (PTE_A | PTE_D), PTE_A);
    /* a faulting access sets nothing */
    CHECK_EQ(run(t, 1, SD6, 0x53000, 1), BAD);
    CHECK_EQ(rvt_r64(t, a3) & (PTE_A | PTE_D), 0);
    /* the non-leaf PTEs are left alone */
    CHECK_EQ(rvt_r64(t, t->pt_root) & (PTE_A | PTE_D), 0);
    rvt_fini(t);
}

TEST(rv64_mmu_tlb_and_sfence)
{
    RVT_SETUP(t);
    mmu_setup(t, 8, RWX);
    rvt_map(t, 0x60000, PA(0), 0, RW);
    CHECK_EQ(run(t, 1, LD7, 0x60008, 0), pat(0, 8));
    rvt_map(t, 0x60000, PA(1), 0, RW);               /* changed behind the TLB's back */
    CHECK_EQ(run(t, 1, LD7, 0x60008, 0), pat(0, 8)); /* the cached translation is used */
    CHECK(run(t, 1, SFENCE_VMA(0, 0), 0, 0) != BAD);
    CHECK_EQ(run(t, 1, LD7, 0x60008, 0), pat(1, 8));
    /* an address-specific sfence.vma flushes that address */
    rvt_map(t, 0x60000, PA(2), 0, RW);
    CHECK(run(t, 1, SFENCE_VMA(5, 0), 0x60000, 0) != BAD);
    CHECK_EQ(run(t, 1, LD7, 0x60008, 0), pat(2, 8));
    /* a page made invalid faults after sfence.vma */
    rvt_map(t, 0x60000, PA(2), 0, 0);
    CHECK(run(t, 1, SFENCE_VMA(0, 0), 0, 0) != BAD);
    CHECK_EQ(run(t, 1, LD7, 0x60008, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 0x60008);
    /* sfence.vma from U is illegal */
    rvt_map(t, RVT_BASE, RVT_BASE, 0, RWX | PTE_U);
    rvt_set_csr(t, CSR_SATP, rvt_csr(t, CSR_SATP)); /* flush */
    CHECK_EQ(run(t, 0, SFENCE_VMA(0, 0), 0, 0), BAD);
    CHECK_MTRAP(t, 2, PC0, SFENCE_VMA(0, 0));
    rvt_fini(t);
}

TEST(rv64_mmu_mprv)
{
    RVT_SETUP(t);
    mmu_setup(t, 8, RWX);
    rvt_map(t, 0x10000, PA(0), 0, RW);
    rvt_map(t, 0x11000, PA(1), 0, RW | PTE_U);
    /* M-mode fetches stay bare; MPRV with MPP = S translates loads and stores */
    rvt_set_csr(t, CSR_MSTATUS, ST_MPRV | ST_MPP(1));
    CHECK_EQ(run(t, 3, LD7, 0x10018, 0), pat(0, 0x18));
    CHECK(run(t, 3, SD6, 0x10020, 0x99) != BAD);
    CHECK_EQ(rvt_r64(t, PA(0) + 0x20), 0x99);
    CHECK_EQ(run(t, 3, LD7, 0x11000, 0), BAD); /* U page, SUM = 0 */
    CHECK_MTRAP(t, 13, PC0, 0x11000);
    /* MPRV with MPP = U: U permissions */
    rvt_set_csr(t, CSR_MSTATUS, ST_MPRV | ST_MPP(0));
    CHECK_EQ(run(t, 3, LD7, 0x11008, 0), pat(1, 8));
    CHECK_EQ(run(t, 3, LD7, 0x10008, 0), BAD);
    CHECK_MTRAP(t, 13, PC0, 0x10008);
    /* MPRV with MPP = M, or MPRV off: bare */
    rvt_set_csr(t, CSR_MSTATUS, ST_MPRV | ST_MPP(3));
    CHECK_EQ(run(t, 3, LD7, PA(1) + 0x30, 0), pat(1, 0x30));
    rvt_set_csr(t, CSR_MSTATUS, ST_MPP(1));
    CHECK_EQ(run(t, 3, LD7, PA(1) + 0x38, 0), pat(1, 0x38));
    rvt_fini(t);
}

TEST(rv64_mmu_misaligned_across_pages)
{
    RVT_SETUP(t);
    mmu_setup(t, 8, RWX);
    rvt_map(t, 0x70000, PA(5), 0, RW); /* two virtually adjacent, physically apart pages */
    rvt_map(t, 0x71000, PA(2), 0, RW);
    rvt_map(t, 0x72000, PA(7), 0, RO);
    rvt_w64(t, PA(5) + 0xff8, 0x8877665544332211ULL);
    rvt_w64(t, PA(2), 0x00ffeeddccbbaa99ULL);
    CHECK_EQ(run(t, 1, LD7, 0x70ffc, 0), 0xccbbaa9988776655ULL);
    CHECK_EQ(run(t, 1, LW(7, 5, 0), 0x70ffe, 0), 0xffffffffaa998877ULL);
    CHECK(run(t, 1, SD6, 0x70ffa, 0x0102030405060708ULL) != BAD);
    CHECK_EQ(rvt_r64(t, PA(5) + 0xff8), 0x0304050607082211ULL);
    CHECK_EQ(rvt_r64(t, PA(2)), 0x00ffeeddccbb0102ULL);
    /* a store whose second page is read-only faults and writes nothing */
    rvt_w64(t, PA(2) + 0xff8, 0);
    CHECK_EQ(run(t, 1, SD6, 0x71ffc, ~0ULL), BAD);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 15);
    CHECK(rvt_csr(t, CSR_MTVAL) >= 0x71ffc && rvt_csr(t, CSR_MTVAL) <= 0x72003);
    CHECK_EQ(rvt_r64(t, PA(2) + 0xff8), 0);
    /* a load whose second page is unmapped faults */
    CHECK_EQ(run(t, 1, LD7, 0x72ffc, 0), BAD);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 13);
    CHECK(rvt_csr(t, CSR_MTVAL) >= 0x72ffc && rvt_csr(t, CSR_MTVAL) <= 0x73003);
    rvt_fini(t);
}

TEST(rv64_mmu_fetch_across_pages_and_delegated_faults)
{
    RVT_SETUP(t);
    mmu_setup(t, 8, RWX);
    rvt_map(t, 0x80000, PA(8), 0, PTE_V | PTE_X | PTE_A); /* virtually adjacent, physically not */
    rvt_map(t, 0x81000, PA(3), 0, PTE_V | PTE_X | PTE_A);
    rvt_map(t, RVT_SHANDLER, RVT_SHANDLER, 0, RWX);
    {
        uint32_t insn = ADDI(7, 0, 0x123);
        rvt_w16(t, PA(8) + 0xffe, (uint16_t)insn);
        rvt_w16(t, PA(3), (uint16_t)(insn >> 16));
        rvt_w16(t, PA(3) + 2, C_LI(8, 7));
    }
    rv64_hart_set_priv(t->h, 1);
    rv64_hart_set_pc(t->h, 0x80ffe);
    rv64_hart_step(t->h, 2);
    CHECK_EQ(rvt_x(t, 7), 0x123);
    CHECK_EQ(rvt_x(t, 8), 7);
    CHECK_EQ(rvt_pc(t), 0x81004);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);
    /* the same in one batch: the decoded block must end with the crossing instruction (the
     * next one comes from the next page's mapping, not from PA(8) + 0x1000) */
    rv64_dcache_flush(t->h);
    rv64_hart_set_x(t->h, 7, 0);
    rv64_hart_set_x(t->h, 8, 0);
    rv64_hart_set_pc(t->h, 0x80ffe);
    CHECK_EQ(rv64_exec(t->h, 2), 2);
    CHECK_EQ(rvt_x(t, 7), 0x123);
    CHECK_EQ(rvt_x(t, 8), 7);
    CHECK_EQ(rvt_pc(t), 0x81004);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);
    /* page faults delegated to S: scause, sepc, stval */
    rvt_set_csr(t, CSR_MEDELEG, (1 << 12) | (1 << 13) | (1 << 15));
    rv64_hart_set_priv(t->h, 1);
    CHECK_EQ(rvt_alu(t, LD7, 0x90008, 0), BAD);
    CHECK_EQ(rvt_csr(t, CSR_SCAUSE), 13);
    CHECK_EQ(rvt_csr(t, CSR_SEPC), PC0);
    CHECK_EQ(rvt_csr(t, CSR_STVAL), 0x90008);
    CHECK_EQ(rvt_pc(t), RVT_SHANDLER);
    CHECK_EQ(rv64_hart_get_priv(t->h), 1);
    CHECK_EQ(rvt_alu(t, SD6, 0x90010, 0), BAD);
    CHECK_EQ(rvt_csr(t, CSR_SCAUSE), 15);
    CHECK_EQ(rvt_csr(t, CSR_STVAL), 0x90010);
    rv64_hart_set_pc(t->h, 0x90000);
    rv64_hart_step(t->h, 1);
    CHECK_EQ(rvt_csr(t, CSR_SCAUSE), 12);
    CHECK_EQ(rvt_csr(t, CSR_SEPC), 0x90000);
    CHECK_EQ(rvt_csr(t, CSR_STVAL), 0x90000);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);
    rvt_fini(t);
}
