/* rv64 JIT tier, directed cases on both tiers: a code cache too small for the program (it
 * fills and is flushed, results unchanged), code rewritten and made visible with FENCE.I, and
 * the dirty-page log seeing stores made by translated code. */
#include "engine/rv64/cpu.h"
#include "engine/rv64/jit.h"
#include "rv64_test_util.h"

static const enum rv64_tier tiers[] = {RV64_TIER_INTERP, RV64_TIER_JIT};

static int init_cache(struct rvt *t, enum rv64_tier tier, size_t cache)
{
    struct rv64_config cfg = {.nharts = 1, .tier = tier, .jit_cache_size = cache};

    memset(t, 0, sizeof(*t));
    if (gmem_create(&t->ram, RVT_BASE, RVT_RAM_SIZE))
        return -1;
    bus_init(&t->bus);
    cfg.ram = &t->ram;
    cfg.bus = &t->bus;
    if (rv64_machine_create(&t->m, &cfg)) {
        gmem_destroy(&t->ram);
        return -1;
    }
    t->h = rv64_machine_hart(t->m, 0);
    rv64_hart_reset(t->h, RVT_BASE, 0, 0);
    return 0;
}

#define CHAIN     (RVT_BASE + 0x20000)
#define CHAIN_N   4096 /* blocks of 4 instructions, run 12 times: hot ones translated */
#define CHAIN_END (CHAIN + 16ULL * CHAIN_N)

/* 4096 blocks (each adds, stores and jumps to the next) looped over 12 times, through a
 * 256 KiB cache: it fills several times over. Same registers and memory as the interpreter. */
TEST(rv64_jit_cache_flush_when_full)
{
    uint64_t x5[2], x6[2], mem[2];

    for (int i = 0; i < 2; i++) {
        struct rvt t;
        if (init_cache(&t, tiers[i], RV64_JIT_CACHE_MIN)) {
            CHECK(!"init");
            return;
        }
        for (int k = 0; k < CHAIN_N; k++)
            RVT_PROG(&t, CHAIN + 16ULL * (uint64_t)k, ADDI(5, 5, 1), ADD(6, 6, 5),
                     SD(6, 31, 8 * (k % 64)), JAL(0, 4));
        RVT_PROG(&t, CHAIN_END, ADDI(7, 7, -1), BR(0, 7, 0, 8),
                 JAL(0, -(int32_t)(CHAIN_END + 8 - CHAIN)), JAL(0, 0));
        rv64_hart_set_x(t.h, 7, 12);
        rv64_hart_set_x(t.h, 31, RVT_DATA);
        rv64_hart_set_pc(t.h, CHAIN);
        rv64_hart_step(t.h, 12ULL * (4 * CHAIN_N + 3) + 10);
        CHECK_EQ(rvt_pc(&t), CHAIN_END + 12);
        x5[i] = rvt_x(&t, 5);
        x6[i] = rvt_x(&t, 6);
        mem[i] = rvt_r64(&t, RVT_DATA + 8);
        if (tiers[i] == RV64_TIER_JIT)
            CHECK(t.h->jit && t.h->jit->n_full > 0); /* it did fill up */
        rvt_fini(&t);
    }
    CHECK_EQ(x5[0], 12 * CHAIN_N);
    CHECK_EQ(x5[1], x5[0]);
    CHECK_EQ(x6[1], x6[0]);
    CHECK_EQ(mem[1], mem[0]);
}

#define MAIN (RVT_BASE + 0x4000)
#define FN   (RVT_BASE + 0x4800)

/* A function called 20 times (translated by then) is rewritten by the guest, FENCE.I, called
 * 20 times more: the new code runs. */
TEST(rv64_jit_fence_i_new_code)
{
    for (int i = 0; i < 2; i++) {
        struct rvt t;
        uint64_t l1 = MAIN + 4, l2;
        if (init_cache(&t, tiers[i], 0)) {
            CHECK(!"init");
            return;
        }
        l2 = MAIN + 4 * 10;
        RVT_PROG(&t, MAIN, ADDI(12, 0, 20),
                 /* l1 */ JAL(1, (int32_t)(FN - l1)), ADD(11, 11, 10), ADDI(12, 12, -1),
                 BR(1, 12, 0, -12), LUI(13, 0x00200), ADDI(13, 13, 0x513), SW(13, 14, 0),
                 0x0000100f /* fence.i */, ADDI(12, 0, 20),
                 /* l2 */ JAL(1, (int32_t)(FN - l2)), ADD(11, 11, 10), ADDI(12, 12, -1),
                 BR(1, 12, 0, -12), JAL(0, 0));
        RVT_PROG(&t, FN, ADDI(10, 0, 1), JALR(0, 1, 0));
        rv64_hart_set_x(t.h, 14, FN);
        rv64_hart_set_pc(t.h, MAIN);
        rv64_hart_step(t.h, 20 * 6 + 6 + 20 * 6 + 5);
        CHECK_EQ(rvt_x(&t, 11), 20 * 1 + 20 * 2);
        CHECK_EQ(rvt_pc(&t), MAIN + 4 * 14);
        rvt_fini(&t);
    }
}

/* Stores by translated code reach the dirty log, also after a read has cleared it (the store
 * must take the slow path again, which marks the page). */
TEST(rv64_jit_dirty_log)
{
    for (int i = 0; i < 2; i++) {
        struct rvt t;
        uint64_t log[(RVT_RAM_SIZE / 4096 + 63) / 64];
        uint64_t page = (RVT_DATA - RVT_BASE) / 4096 + 3;
        if (init_cache(&t, tiers[i], 0)) {
            CHECK(!"init");
            return;
        }
        /* a loop storing x5 to x31 forever, counting in x5 */
        RVT_PROG(&t, MAIN, ADDI(5, 5, 1), SD(5, 31, 0), JAL(0, -8));
        rv64_hart_set_x(t.h, 31, RVT_BASE + page * 4096);
        rv64_hart_set_pc(t.h, MAIN);
        CHECK_EQ(rv64_machine_set_dirty_logging(t.m, 1), 0);
        for (int round = 0; round < 3; round++) {
            rv64_hart_step(t.h, 300);
            CHECK_EQ(rv64_machine_get_dirty_log(t.m, log), 0);
            CHECK_EQ((log[page / 64] >> (page % 64)) & 1, 1);
            CHECK_EQ(rv64_machine_get_dirty_log(t.m, log), 0);
            CHECK_EQ((log[page / 64] >> (page % 64)) & 1, 0); /* read and cleared */
        }
        CHECK_EQ(rvt_r64(&t, RVT_BASE + page * 4096), 300); /* 3 instructions a store */
        rvt_fini(&t);
    }
}

#define SUPER_VA 0x40000000ULL /* a 2 MiB superpage */
#define PAGE_VA  0x40400000ULL /* a 4 KiB page */

/* SFENCE.VMA with an address drops the entries of that address's leaf: the whole superpage
 * when the leaf is one (its other 4 KiB pages were filled as entries of their own). */
TEST(rv64_jit_sfence_vma_addr_superpage)
{
    for (int i = 0; i < 2; i++) {
        struct rvt t;
        uint64_t satp, pa_a = RVT_BASE + 0x200000, pa_b = RVT_BASE;
        if (init_cache(&t, tiers[i], 0)) {
            CHECK(!"init");
            return;
        }
        t.pt_next = RVT_PT_AREA;
        satp = rvt_pt_new(&t, 8);
        /* the first 2 MiB of RAM (code, page tables) at their physical addresses */
        rvt_map(&t, RVT_BASE, RVT_BASE, 1, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
        rvt_map(&t, SUPER_VA, pa_a, 1, PTE_V | PTE_R | PTE_A);
        rvt_map(&t, PAGE_VA, pa_a + 0x8000, 0, PTE_V | PTE_R | PTE_A);
        rvt_w64(&t, pa_a + 0x1000, 1);
        rvt_w64(&t, pa_a + 0x3000, 3);
        rvt_w64(&t, pa_a + 0x8000, 8);
        rvt_w64(&t, pa_b + 0x1000, 101);
        rvt_w64(&t, pa_b + 0x3000, 103);
        rvt_w64(&t, pa_b + 0x8000, 108);
        /* x10..x12 = the three values; x13 = the new superpage PTE written at x14; sfence x15 */
        RVT_PROG(&t, MAIN, LD(10, 5, 0x7ff), LD(11, 6, 0), LD(12, 7, 0), SD(13, 14, 0),
                 SFENCE_VMA(15, 0), LD(10, 5, 0x7ff), LD(11, 6, 0), LD(12, 7, 0), JAL(0, 0));
        rv64_hart_set_x(t.h, 5, SUPER_VA + 0x801);
        rv64_hart_set_x(t.h, 6, SUPER_VA + 0x3000);
        rv64_hart_set_x(t.h, 7, PAGE_VA);
        rv64_hart_set_x(t.h, 13, (pa_b >> 12) << 10 | PTE_V | PTE_R | PTE_A);
        rv64_hart_set_x(t.h, 14, rvt_pte_addr(&t, SUPER_VA, 1));
        rv64_hart_set_x(t.h, 15, SUPER_VA + 0x5000); /* another page of the superpage */
        rvt_set_csr(&t, CSR_SATP, satp);
        rvt_set_csr(&t, CSR_MSTATUS, ST_MPP(1));
        rv64_hart_set_priv(t.h, 1);
        rv64_hart_set_pc(t.h, MAIN);
        rv64_hart_step(t.h, 9);
        CHECK_EQ(rvt_pc(&t), MAIN + 4 * 8);
        CHECK_EQ(rvt_x(&t, 10), 101); /* both 4 KiB pieces of the superpage see the new PTE */
        CHECK_EQ(rvt_x(&t, 11), 103);
        CHECK_EQ(rvt_x(&t, 12), 8); /* the 4 KiB page outside it is unchanged */
        rvt_fini(&t);
    }
}
