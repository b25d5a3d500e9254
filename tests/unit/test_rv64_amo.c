/* rv64 engine: the A extension (AMOs, LR/SC) and their faults. */
#include <pthread.h>
#include <time.h>

#include "rv64_test_util.h"

#define A   (RVT_DATA + 0x100)
#define BAD 0xbad0bad0bad0bad0ULL

enum {
    F_ADD = 0x00,
    F_SWAP = 0x01,
    F_XOR = 0x04,
    F_OR = 0x08,
    F_AND = 0x0c,
    F_MIN = 0x10,
    F_MAX = 0x14,
    F_MINU = 0x18,
    F_MAXU = 0x1c,
};

/* amo<f5>.w x7, x6, (x5) on a word initialised to mem; the word after it holds a guard. */
static uint64_t amo_w(struct rvt *t, unsigned f5, uint32_t mem, uint64_t src)
{
    rvt_w32(t, A, mem);
    rvt_w32(t, A + 4, 0xaaaaaaaa);
    return rvt_alu(t, AMO_W(f5, 7, 5, 6) | 1u << 26 /* aq */, A, src);
}

static uint64_t amo_d(struct rvt *t, unsigned f5, uint64_t mem, uint64_t src)
{
    rvt_w64(t, A, mem);
    return rvt_alu(t, AMO_D(f5, 7, 5, 6) | 1u << 25 /* rl */, A, src);
}

TEST(rv64_amo_word)
{
    RVT_SETUP(t);
    CHECK_EQ(amo_w(t, F_ADD, 0x7fffffff, 1), 0x7fffffff);
    CHECK_EQ(rvt_r32(t, A), 0x80000000);
    CHECK_EQ(amo_w(t, F_ADD, 0x80000000, 0x100000000ULL), 0xffffffff80000000ULL); /* sext */
    CHECK_EQ(rvt_r32(t, A), 0x80000000); /* only the low 32 bits of rs2 */
    CHECK_EQ(amo_w(t, F_ADD, 0xffffffff, 2), ~0ULL);
    CHECK_EQ(rvt_r32(t, A), 1);
    CHECK_EQ(amo_w(t, F_SWAP, 0x80000000, 0x1234), 0xffffffff80000000ULL);
    CHECK_EQ(rvt_r32(t, A), 0x1234);
    CHECK_EQ(amo_w(t, F_XOR, 0xf0f0f0f0, 0xffff0000), 0xfffffffff0f0f0f0ULL);
    CHECK_EQ(rvt_r32(t, A), 0x0f0ff0f0);
    CHECK_EQ(amo_w(t, F_OR, 0x80000000, 1), 0xffffffff80000000ULL);
    CHECK_EQ(rvt_r32(t, A), 0x80000001);
    CHECK_EQ(amo_w(t, F_AND, 0xffffffff, 0xff00), ~0ULL);
    CHECK_EQ(rvt_r32(t, A), 0xff00);
    /* min/max compare the low 32 bits: 0xfffffff0 is -16 as a word */
    CHECK_EQ(amo_w(t, F_MIN, 0xfffffffb, 3), (uint64_t)-5);
    CHECK_EQ(rvt_r32(t, A), 0xfffffffb);
    CHECK_EQ(amo_w(t, F_MIN, 0xfffffffb, 0xfffffff0ULL), (uint64_t)-5);
    CHECK_EQ(rvt_r32(t, A), 0xfffffff0);
    CHECK_EQ(amo_w(t, F_MAX, 0xfffffffb, 3), (uint64_t)-5);
    CHECK_EQ(rvt_r32(t, A), 3);
    CHECK_EQ(amo_w(t, F_MAX, 0x7fffffff, 0x80000000ULL), 0x7fffffff);
    CHECK_EQ(rvt_r32(t, A), 0x7fffffff);
    CHECK_EQ(amo_w(t, F_MINU, 0xfffffffb, 3), (uint64_t)-5);
    CHECK_EQ(rvt_r32(t, A), 3);
    CHECK_EQ(amo_w(t, F_MINU, 5, 0xffffffff00000007ULL), 5);
    CHECK_EQ(rvt_r32(t, A), 5);
    CHECK_EQ(amo_w(t, F_MAXU, 3, 0xfffffffb), 3);
    CHECK_EQ(rvt_r32(t, A), 0xfffffffb);
    CHECK_EQ(amo_w(t, F_MAXU, 0x80000000, 0x7fffffff), 0xffffffff80000000ULL);
    CHECK_EQ(rvt_r32(t, A), 0x80000000);
    CHECK_EQ(rvt_r32(t, A + 4), 0xaaaaaaaa); /* the neighbour word is never touched */
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);
    /* reserved funct5 values are illegal */
    CHECK_EQ(rvt_alu(t, AMO_W(0x05, 7, 5, 6), A, 0), BAD);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 2);
    CHECK_EQ(rvt_alu(t, AMO(F_ADD, 4, 7, 5, 6), A, 0), BAD); /* width 4 */
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 2);
    rvt_fini(t);
}

TEST(rv64_amo_double)
{
    RVT_SETUP(t);
    const uint64_t min = 1ULL << 63;
    CHECK_EQ(amo_d(t, F_ADD, 0xffffffff, 1), 0xffffffff);
    CHECK_EQ(rvt_r64(t, A), 0x100000000ULL);
    CHECK_EQ(amo_d(t, F_SWAP, min, 7), min);
    CHECK_EQ(rvt_r64(t, A), 7);
    CHECK_EQ(amo_d(t, F_XOR, 0xff00ff00ff00ff00ULL, ~0ULL), 0xff00ff00ff00ff00ULL);
    CHECK_EQ(rvt_r64(t, A), 0x00ff00ff00ff00ffULL);
    CHECK_EQ(amo_d(t, F_OR, 1, min), 1);
    CHECK_EQ(rvt_r64(t, A), min | 1);
    CHECK_EQ(amo_d(t, F_AND, ~0ULL, 0xf0), ~0ULL);
    CHECK_EQ(rvt_r64(t, A), 0xf0);
    CHECK_EQ(amo_d(t, F_MIN, min, 5), min);
    CHECK_EQ(rvt_r64(t, A), min);
    CHECK_EQ(amo_d(t, F_MIN, 0xfffffffb, 5), 0xfffffffb); /* positive as a doubleword */
    CHECK_EQ(rvt_r64(t, A), 5);
    CHECK_EQ(amo_d(t, F_MAX, min, 5), min);
    CHECK_EQ(rvt_r64(t, A), 5);
    CHECK_EQ(amo_d(t, F_MAX, (uint64_t)-1, (uint64_t)-2), (uint64_t)-1);
    CHECK_EQ(rvt_r64(t, A), (uint64_t)-1);
    CHECK_EQ(amo_d(t, F_MINU, min, 5), min);
    CHECK_EQ(rvt_r64(t, A), 5);
    CHECK_EQ(amo_d(t, F_MAXU, min, 5), min);
    CHECK_EQ(rvt_r64(t, A), min);
    CHECK_EQ(amo_d(t, F_MAXU, 5, ~0ULL), 5);
    CHECK_EQ(rvt_r64(t, A), ~0ULL);
    /* rd = x0: memory still updated; rd == rs2: rd gets the old value */
    rvt_w64(t, A, 10);
    CHECK(rvt_alu(t, AMO_D(F_ADD, 0, 5, 6), A, 5) != BAD);
    CHECK_EQ(rvt_r64(t, A), 15);
    CHECK(rvt_alu(t, AMO_D(F_SWAP, 6, 5, 6), A, 99) != BAD);
    CHECK_EQ(rvt_x(t, 6), 15);
    CHECK_EQ(rvt_r64(t, A), 99);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 0xdead);
    rvt_fini(t);
}

TEST(rv64_amo_lr_sc)
{
    RVT_SETUP(t);
    rvt_w64(t, A, 0x1234567880000000ULL);
    CHECK_EQ(rvt_alu(t, LR_W(7, 5), A, 0), 0xffffffff80000000ULL);
    CHECK_EQ(rvt_alu(t, SC_W(7, 5, 6), A, 0x55), 0); /* success */
    CHECK_EQ(rvt_r64(t, A), 0x1234567800000055ULL);
    CHECK_EQ(rvt_alu(t, SC_W(7, 5, 6), A, 0x66), 1); /* reservation used up */
    CHECK_EQ(rvt_r64(t, A), 0x1234567800000055ULL);

    rvt_w64(t, A, 0x8000000000000001ULL);
    CHECK_EQ(rvt_alu(t, LR_D(7, 5), A, 0), 0x8000000000000001ULL);
    CHECK_EQ(rvt_alu(t, SC_D(7, 5, 6), A, 42), 0);
    CHECK_EQ(rvt_r64(t, A), 42);

    /* SC with no reservation since reset */
    {
        RVT_SETUP(u);
        rvt_w64(u, A, 7);
        CHECK_EQ(rvt_alu(u, SC_D(7, 5, 6), A, 8), 1);
        CHECK_EQ(rvt_r64(u, A), 7);
        CHECK_EQ(rvt_alu(u, SC_W(7, 5, 6), A, 8), 1);
        CHECK_EQ(rvt_r64(u, A), 7);
        rvt_fini(u);
    }

    /* SC to another address fails, stores nothing, and drops the reservation */
    rvt_w64(t, A, 1);
    rvt_w64(t, A + 8, 2);
    CHECK_EQ(rvt_alu(t, LR_D(7, 5), A, 0), 1);
    CHECK_EQ(rvt_alu(t, SC_D(7, 5, 6), A + 8, 3), 1);
    CHECK_EQ(rvt_r64(t, A + 8), 2);
    CHECK_EQ(rvt_alu(t, SC_D(7, 5, 6), A, 3), 1);
    CHECK_EQ(rvt_r64(t, A), 1);

    /* LR.W/SC.W with aq/rl bits set */
    CHECK_EQ(rvt_alu(t, LR_W(7, 5) | 3u << 25, A, 0), 1);
    CHECK_EQ(rvt_alu(t, SC_W(7, 5, 6) | 3u << 25, A, 9), 0);
    CHECK_EQ(rvt_r64(t, A), 9);
    /* lr with rs2 != 0 is reserved */
    CHECK_EQ(rvt_alu(t, LR_W(7, 5) | 6u << 20, A, 0), BAD);
    CHECK_EQ(rvt_csr(t, CSR_MCAUSE), 2);
    CHECK_EQ(rvt_alu(t, SC_D(7, 5, 6), A, 5), 1); /* no reservation is left */
    rvt_fini(t);
}

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
    return 0;
}

static void dev_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    (*(int *)opaque)++;
}

static const struct bus_ops dev_ops = {.read = dev_read, .write = dev_write};

TEST(rv64_amo_faults)
{
    RVT_SETUP(t);
    int writes = 0;

    /* misaligned: store/AMO address misaligned (6), LR is a load (4) */
    CHECK_EQ(rvt_alu(t, AMO_W(F_ADD, 7, 5, 6), A + 2, 1), BAD);
    CHECK_MTRAP(t, 6, RVT_BASE, A + 2);
    CHECK_EQ(rvt_alu(t, AMO_D(F_SWAP, 7, 5, 6), A + 4, 1), BAD);
    CHECK_MTRAP(t, 6, RVT_BASE, A + 4);
    CHECK_EQ(rvt_alu(t, SC_W(7, 5, 6), A + 1, 1), BAD);
    CHECK_MTRAP(t, 6, RVT_BASE, A + 1);
    CHECK_EQ(rvt_alu(t, LR_D(7, 5), A + 4, 0), BAD);
    CHECK_MTRAP(t, 4, RVT_BASE, A + 4);
    CHECK_EQ(rvt_r64(t, A), 0);
    /* MMIO and unmapped physical addresses: access faults */
    CHECK_EQ(bus_register(&t->bus, 0x10000000, 0x1000, &dev_ops, &writes, "dev"), 0);
    CHECK_EQ(rvt_alu(t, AMO_W(F_ADD, 7, 5, 6), 0x10000010, 1), BAD);
    CHECK_MTRAP(t, 7, RVT_BASE, 0x10000010);
    CHECK_EQ(rvt_alu(t, AMO_D(F_OR, 7, 5, 6), 0x40000000, 1), BAD);
    CHECK_MTRAP(t, 7, RVT_BASE, 0x40000000);
    CHECK_EQ(rvt_alu(t, LR_W(7, 5), 0x10000020, 0), BAD);
    CHECK_MTRAP(t, 5, RVT_BASE, 0x10000020);
    CHECK_EQ(writes, 0);
    rvt_fini(t);
}

TEST(rv64_amo_paging)
{
    RVT_SETUP(t);
    const uint64_t ro = RVT_DATA, rw = RVT_DATA + 0x1000, va_ro = 0x10000, va_rw = 0x11000;

    rvt_set_csr(t, CSR_SATP, rvt_pt_new(t, 8));
    rvt_map(t, RVT_BASE, RVT_BASE, 0, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
    rvt_map(t, va_ro, ro, 0, PTE_V | PTE_R | PTE_A);
    rvt_map(t, va_rw, rw, 0, PTE_V | PTE_R | PTE_W);
    rvt_w64(t, ro, 5);
    rvt_w64(t, rw, 5);

    /* an AMO needs write permission: store page fault, even though it also reads */
    rv64_hart_set_priv(t->h, 1);
    CHECK_EQ(rvt_alu(t, AMO_D(F_ADD, 7, 5, 6), va_ro, 1), BAD);
    CHECK_MTRAP(t, 15, RVT_BASE, va_ro);
    CHECK_EQ(rvt_r64(t, ro), 5);
    /* an AMO on a clean page sets A and D */
    rv64_hart_set_priv(t->h, 1);
    CHECK_EQ(rvt_alu(t, AMO_D(F_ADD, 7, 5, 6), va_rw, 1), 5);
    CHECK_EQ(rvt_r64(t, rw), 6);
    CHECK_EQ(rvt_r64(t, rvt_pte_addr(t, va_rw, 0)) & (PTE_A | PTE_D), PTE_A | PTE_D);
    /* LR on a read-only page works; the SC then needs write permission and must trap */
    rv64_hart_set_priv(t->h, 1);
    CHECK_EQ(rvt_alu(t, LR_D(7, 5), va_ro, 0), 5);
    rvt_set_csr(t, CSR_MCAUSE, 0xdead);
    rv64_hart_set_priv(t->h, 1);
    rv64_hart_set_x(t->h, 8, 0x77);
    rvt_w32(t, RVT_BASE, SC_D(8, 5, 6));
    rv64_hart_set_pc(t->h, RVT_BASE);
    rv64_hart_set_x(t->h, 6, 9);
    rv64_hart_step(t->h, 1);
    CHECK_MTRAP(t, 15, RVT_BASE, va_ro);
    CHECK_EQ(rvt_x(t, 8), 0x77); /* rd is not written by a trapping SC */
    CHECK_EQ(rvt_r64(t, ro), 5);
    rvt_fini(t);
}

/* ---- two harts on their own threads hammering the same words ---- */
struct done_dev {
    struct rv64_machine *m;
    int writes;
};

static void done_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct done_dev *d = opaque;
    if (__atomic_add_fetch(&d->writes, 1, __ATOMIC_SEQ_CST) == 2)
        rv64_machine_stop(d->m, RV64_STOP_POWEROFF);
}

static const struct bus_ops done_ops = {.write = done_write};

static void *watchdog(void *arg)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
    for (int i = 0; i < 2000; i++) /* 20 s */
        nanosleep(&ts, NULL);
    rv64_machine_stop(arg, RV64_STOP_QUIT);
    return NULL;
}

TEST(rv64_amo_two_harts_atomic)
{
    struct gmem ram;
    struct bus bus;
    struct rv64_machine *m;
    struct done_dev dev = {0};
    struct rv64_config cfg = {.nharts = 2, .ram = &ram, .bus = &bus};
    const uint64_t data = RVT_DATA, mmio = 0x10000000;
    const unsigned iters = 0x4000;
    pthread_t wd;

    CHECK_EQ(gmem_create(&ram, RVT_BASE, RVT_RAM_SIZE), 0);
    bus_init(&bus);
    CHECK_EQ(bus_register(&bus, mmio, 0x1000, &done_ops, &dev, "done"), 0);
    CHECK_EQ(rv64_machine_create(&m, &cfg), 0);
    dev.m = m;
    const uint32_t prog[] = {
        ADDI(6, 0, 1),
        LUI(7, iters >> 12),
        ADDI(13, 11, 8),
        AMO_W(F_ADD, 0, 11, 6), /* loop: */
        LR_W(8, 13),            /* retry: */
        ADDI(8, 8, 1),
        SC_W(9, 13, 8),
        BR(1, 9, 0, -12),
        ADDI(7, 7, -1),
        BR(1, 7, 0, -24),
        SW(6, 12, 0),
        WFI,
        JAL(0, -4),
    };
    memcpy(ram.hva, prog, sizeof(prog));
    for (int i = 0; i < 2; i++)
        rv64_hart_reset(rv64_machine_hart(m, i), RVT_BASE, data, mmio);
    pthread_create(&wd, NULL, watchdog, m);
    CHECK_EQ(rv64_machine_run(m), RV64_STOP_POWEROFF);
    pthread_cancel(wd);
    pthread_join(wd, NULL);
    uint32_t amo, lrsc;
    memcpy(&amo, ram.hva + (data - RVT_BASE), 4);
    memcpy(&lrsc, ram.hva + (data - RVT_BASE) + 8, 4);
    CHECK_EQ(amo, 2 * iters);
    CHECK_EQ(lrsc, 2 * iters);
    rv64_machine_destroy(m);
    gmem_destroy(&ram);
}
