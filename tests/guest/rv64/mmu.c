/* Sv39 and Sv48 translation: page tables built in M-mode, checked from S- and U-mode.
 * Mappings at several virtual addresses, page faults with their stval, permission bits,
 * SUM, MXR, A/D, sfence.vma, superpages (and misaligned ones), MPRV, satp WARL rules. */
#include "rt.h"

#define PTE_V  (1UL << 0)
#define PTE_R  (1UL << 1)
#define PTE_W  (1UL << 2)
#define PTE_X  (1UL << 3)
#define PTE_U  (1UL << 4)
#define PTE_A  (1UL << 6)
#define PTE_D  (1UL << 7)
#define PTE_AD (PTE_A | PTE_D)

#define PTE(pa, flags)    ((((uint64_t)(pa)) >> 12) << 10 | (flags))
#define SATP(mode, table) (((uint64_t)(mode) << 60) | ((uint64_t)(table) >> 12))
#define SATP_BARE         0
#define SATP_SV39         8
#define SATP_SV48         9
#define SATP_SV57         10

/* Virtual addresses under test: 4 KiB pages in 0x40000000.. through l1[0] -> l0 */
#define VA_BASE       0x40000000UL
#define VA_PAGE(i)    (VA_BASE + 0x1000UL * (i))
#define VA_RW0        VA_PAGE(0)     /* pages[0] RW */
#define VA_RW1        VA_PAGE(1)     /* pages[1] RW */
#define VA_RO0        VA_PAGE(2)     /* pages[0] R: an alias of VA_RW0 */
#define VA_NONE       VA_PAGE(3)     /* unmapped */
#define VA_XO         VA_PAGE(4)     /* pages[2] X only (code) */
#define VA_RX         VA_PAGE(5)     /* pages[2] RX */
#define VA_RW_CODE    VA_PAGE(6)     /* pages[2] RW, not executable */
#define VA_USER       VA_PAGE(7)     /* pages[3] RWXU */
#define VA_NO_AD      VA_PAGE(8)     /* pages[4] RW, A=0 D=0 */
#define VA_NO_D       VA_PAGE(9)     /* pages[5] RW, A=1 D=0 */
#define VA_WO         VA_PAGE(10)    /* pages[0] W only: reserved encoding */
#define VA_L0_PTR     VA_PAGE(11)    /* a non-leaf PTE at the last level */
#define VA_SWAP       VA_PAGE(12)    /* remapped by the sfence test */
#define VA_MEGA_BAD   0x40200000UL   /* l1[1]: 2 MiB leaf with a misaligned PPN */
#define VA_MEGA       0x40400000UL   /* l1[2]: 2 MiB leaf at RAM base */
#define VA_GIGA_BAD   0xc0000000UL   /* root[3]: 1 GiB leaf with a misaligned PPN */
#define VA_SV48       0x8040000000UL /* only canonical (and mapped) under Sv48 */
#define VA_NONCANON48 0x0000800000000000UL

#define MARK0 0x1111222233334444UL
#define MARK1 0x5555666677778888UL
#define MARK3 0x99990000aaaa0000UL

#define INSN_LI_A0_42 ((42u << 20) | (10u << 7) | 0x13u)
#define INSN_RET      0x00008067u

#define PT __attribute__((aligned(4096)))
static uint64_t root39[512] PT, root_u[512] PT, l1[512] PT, l0[512] PT, root48[512] PT,
    l2_hi[512] PT;
static uint8_t pages[8][4096] PT;
static volatile uint64_t marker = 0xfeedfacecafebeefUL;

static uint64_t pa(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static void build_tables(void)
{
    root39[0] = PTE(0, PTE_V | PTE_R | PTE_W | PTE_AD); /* devices: identity 1 GiB */
    root39[1] = PTE(pa(l1), PTE_V);
    root39[2] = PTE(RT_RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_X | PTE_AD); /* RAM: identity */
    root39[3] = PTE(RT_RAM_BASE + 0x200000UL, PTE_V | PTE_R | PTE_W | PTE_AD);
    l1[0] = PTE(pa(l0), PTE_V);
    l1[1] = PTE(RT_RAM_BASE + 0x1000UL, PTE_V | PTE_R | PTE_W | PTE_AD);
    l1[2] = PTE(RT_RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_AD);
    l0[0] = PTE(pa(pages[0]), PTE_V | PTE_R | PTE_W | PTE_AD);
    l0[1] = PTE(pa(pages[1]), PTE_V | PTE_R | PTE_W | PTE_AD);
    l0[2] = PTE(pa(pages[0]), PTE_V | PTE_R | PTE_A);
    l0[3] = 0;
    l0[4] = PTE(pa(pages[2]), PTE_V | PTE_X | PTE_A);
    l0[5] = PTE(pa(pages[2]), PTE_V | PTE_R | PTE_X | PTE_A);
    l0[6] = PTE(pa(pages[2]), PTE_V | PTE_R | PTE_W | PTE_AD);
    l0[7] = PTE(pa(pages[3]), PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_AD);
    l0[8] = PTE(pa(pages[4]), PTE_V | PTE_R | PTE_W);
    l0[9] = PTE(pa(pages[5]), PTE_V | PTE_R | PTE_W | PTE_A);
    l0[10] = PTE(pa(pages[0]), PTE_V | PTE_W | PTE_AD);
    l0[11] = PTE(pa(pages[6]), PTE_V);
    l0[12] = PTE(pa(pages[0]), PTE_V | PTE_R | PTE_W | PTE_AD);

    /* The same map, but RAM is a user page: for code running in U-mode */
    for (int i = 0; i < 512; i++)
        root_u[i] = root39[i];
    root_u[2] |= PTE_U;

    /* Sv48: entry 0 reuses the Sv39 root as its level-2 table; entry 1 reaches l1 again */
    root48[0] = PTE(pa(root39), PTE_V);
    root48[1] = PTE(pa(l2_hi), PTE_V);
    l2_hi[1] = PTE(pa(l1), PTE_V);

    *(volatile uint64_t *)pages[0] = MARK0;
    *(volatile uint64_t *)pages[1] = MARK1;
    *(volatile uint64_t *)pages[3] = MARK3;
    ((volatile uint32_t *)pages[2])[0] = INSN_LI_A0_42;
    ((volatile uint32_t *)pages[2])[1] = INSN_RET;
    __asm__ volatile("fence.i" ::: "memory");
}

static void use_satp(uint64_t satp)
{
    csr_write(satp, satp);
    __asm__ volatile("sfence.vma" ::: "memory");
}

/* Functions run in S or U */
/* Accesses through asm with a memory clobber, so the compiler keeps them in order with the
 * page-table writes around them. */
static uint64_t load64(uint64_t va)
{
    uint64_t v;

    __asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(va) : "memory");
    return v;
}

static uint64_t store64(uint64_t va)
{
    __asm__ volatile("sd %0, 0(%1)" ::"r"(0xabcdef0123456789UL), "r"(va) : "memory");
    return 0;
}

static uint64_t call_va(uint64_t va)
{
    uint64_t r;

    __asm__ volatile("li a0, 0\n jalr ra, 0(%1)\n mv %0, a0"
                     : "=r"(r)
                     : "r"(va)
                     : "ra", "a0", "memory");
    return r;
}

struct outcome {
    int traps;
    uint64_t cause, tval, value;
};

static struct outcome run(int mode, uint64_t (*fn)(uint64_t), uint64_t arg)
{
    struct rt_trap_state *t = rt_trap_self();
    struct outcome o;

    rt_trap_arm();
    o.value = rt_enter(mode, fn, arg);
    o.traps = rt_trap_disarm();
    o.cause = t->cause;
    o.tval = t->tval;
    return o;
}

static void expect_ok(const char *name, struct outcome o, uint64_t want)
{
    if (CHECK_EQ(name, o.traps, 0))
        CHECK_EQ(name, o.value, want);
    else
        CHECK_EQ(name, o.cause, ~0UL); /* show the unexpected cause */
}

static void expect_fault(const char *name, struct outcome o, uint64_t cause, uint64_t tval)
{
    if (CHECK_EQ(name, o.traps, 1)) {
        CHECK_EQ(name, o.cause, cause);
        CHECK_EQ(name, o.tval, tval);
    }
}

static void test_basic(uint64_t satp)
{
    expect_ok("load RW page", run(RT_MODE_S, load64, VA_RW0), MARK0);
    expect_ok("load 2nd page", run(RT_MODE_S, load64, VA_RW1), MARK1);
    expect_ok("load alias", run(RT_MODE_S, load64, VA_RO0), MARK0);
    expect_ok("store RW page", run(RT_MODE_S, store64, VA_RW0), 0);
    CHECK_EQ("store reached the frame", *(volatile uint64_t *)pages[0], 0xabcdef0123456789UL);
    expect_ok("alias sees the store", run(RT_MODE_S, load64, VA_RO0), 0xabcdef0123456789UL);
    *(volatile uint64_t *)pages[0] = MARK0;
    expect_ok("megapage", run(RT_MODE_S, load64, VA_MEGA + (pa((void *)&marker) - RT_RAM_BASE)),
              0xfeedfacecafebeefUL);
    expect_ok("fetch X page", run(RT_MODE_S, call_va, VA_RX), 42);

    /* A misaligned load across two mapped pages, and a store into a read-only one */
    *(volatile uint64_t *)(pages[1] + 4088) = 0x0706050403020100UL;
    expect_ok("load across pages", run(RT_MODE_S, load64, VA_RW1 + 4092),
              (MARK0 << 32) | 0x07060504UL);
    struct outcome o = run(RT_MODE_S, store64, VA_RW1 + 4092);
    if (CHECK_EQ("store across into RO page", o.traps, 1)) {
        CHECK_EQ("store across cause", o.cause, CAUSE_STORE_PAGE);
        /* stval: the access's address, or that of the faulting part (the RO page) */
        if (o.tval != VA_RO0)
            CHECK_EQ("store across tval", o.tval, VA_RW1 + 4092);
    }
    CHECK_EQ("RO page unchanged", *(volatile uint64_t *)pages[0], MARK0);
    (void)satp;
}

static void test_faults(void)
{
    expect_fault("load unmapped", run(RT_MODE_S, load64, VA_NONE), CAUSE_LOAD_PAGE, VA_NONE);
    expect_fault("store unmapped", run(RT_MODE_S, store64, VA_NONE + 8), CAUSE_STORE_PAGE,
                 VA_NONE + 8);
    expect_fault("fetch unmapped", run(RT_MODE_S, call_va, VA_NONE), CAUSE_FETCH_PAGE, VA_NONE);
    expect_fault("store read-only", run(RT_MODE_S, store64, VA_RO0), CAUSE_STORE_PAGE, VA_RO0);
    expect_fault("load exec-only", run(RT_MODE_S, load64, VA_XO), CAUSE_LOAD_PAGE, VA_XO);
    expect_ok("fetch exec-only", run(RT_MODE_S, call_va, VA_XO), 42);
    expect_fault("fetch not executable", run(RT_MODE_S, call_va, VA_RW_CODE), CAUSE_FETCH_PAGE,
                 VA_RW_CODE);
    expect_fault("load W-only (reserved)", run(RT_MODE_S, load64, VA_WO), CAUSE_LOAD_PAGE, VA_WO);
    expect_fault("store W-only (reserved)", run(RT_MODE_S, store64, VA_WO), CAUSE_STORE_PAGE,
                 VA_WO);
    expect_fault("non-leaf at level 0", run(RT_MODE_S, load64, VA_L0_PTR), CAUSE_LOAD_PAGE,
                 VA_L0_PTR);
    expect_fault("misaligned megapage", run(RT_MODE_S, load64, VA_MEGA_BAD + 16), CAUSE_LOAD_PAGE,
                 VA_MEGA_BAD + 16);
    expect_fault("misaligned gigapage", run(RT_MODE_S, load64, VA_GIGA_BAD), CAUSE_LOAD_PAGE,
                 VA_GIGA_BAD);

    /* MXR makes execute-only pages readable */
    csr_set(mstatus, MSTATUS_MXR);
    expect_ok("MXR load exec-only", run(RT_MODE_S, load64, VA_XO),
              (uint64_t)INSN_RET << 32 | INSN_LI_A0_42);
    csr_clear(mstatus, MSTATUS_MXR);

    /* User pages from S: only with SUM, and never executable */
    expect_fault("S load U page, SUM=0", run(RT_MODE_S, load64, VA_USER), CAUSE_LOAD_PAGE, VA_USER);
    expect_fault("S store U page, SUM=0", run(RT_MODE_S, store64, VA_USER), CAUSE_STORE_PAGE,
                 VA_USER);
    csr_set(mstatus, MSTATUS_SUM);
    expect_ok("S load U page, SUM=1", run(RT_MODE_S, load64, VA_USER), MARK3);
    *(volatile uint64_t *)(pages[3]) = INSN_LI_A0_42 | (uint64_t)INSN_RET << 32;
    __asm__ volatile("fence.i" ::: "memory");
    expect_fault("S fetch U page, SUM=1", run(RT_MODE_S, call_va, VA_USER), CAUSE_FETCH_PAGE,
                 VA_USER);
    csr_clear(mstatus, MSTATUS_SUM);
    *(volatile uint64_t *)(pages[3]) = MARK3;
}

static void test_user(void)
{
    use_satp(SATP(SATP_SV39, root_u));
    expect_ok("U load U page", run(RT_MODE_U, load64, VA_USER), MARK3);
    expect_fault("U load S page", run(RT_MODE_U, load64, VA_RW0), CAUSE_LOAD_PAGE, VA_RW0);
    expect_fault("U store S page", run(RT_MODE_U, store64, VA_RW1), CAUSE_STORE_PAGE, VA_RW1);
    use_satp(SATP(SATP_SV39, root39));
}

static void test_ad(void)
{
    volatile uint64_t *pte_no_ad = &l0[8], *pte_no_d = &l0[9];
    struct outcome o;

    o = run(RT_MODE_S, load64, VA_NO_AD);
    if (o.traps) {
        rt_puts("info: A clear -> page fault (no hardware A/D update)\n");
        CHECK_EQ("A=0 load faults as load page fault", o.cause, CAUSE_LOAD_PAGE);
        CHECK_EQ("A=0 load tval", o.tval, VA_NO_AD);
    } else {
        CHECK("load sets A", *pte_no_ad & PTE_A);
        CHECK_EQ("load leaves D clear", *pte_no_ad & PTE_D, 0);
    }
    o = run(RT_MODE_S, store64, VA_NO_D);
    if (o.traps) {
        CHECK_EQ("D=0 store faults as store page fault", o.cause, CAUSE_STORE_PAGE);
        CHECK_EQ("D=0 store tval", o.tval, VA_NO_D);
    } else {
        CHECK("store sets D", *pte_no_d & PTE_D);
        CHECK_EQ("store reached the frame", *(volatile uint64_t *)pages[5], 0xabcdef0123456789UL);
    }
}

static uint64_t s_remap(uint64_t arg)
{
    uint64_t a, b, r = 0;
    int n;

    (void)arg;
    a = load64(VA_SWAP);
    l0[12] = PTE(pa(pages[1]), PTE_V | PTE_R | PTE_W | PTE_AD);
    __asm__ volatile("sfence.vma %0, zero" ::"r"(VA_SWAP) : "memory");
    b = load64(VA_SWAP);
    l0[12] = 0;
    __asm__ volatile("sfence.vma" ::: "memory");
    rt_trap_arm();
    (void)load64(VA_SWAP);
    n = rt_trap_disarm();
    l0[12] = PTE(pa(pages[0]), PTE_V | PTE_R | PTE_W | PTE_AD);
    __asm__ volatile("sfence.vma" ::: "memory");
    r |= (a == MARK0) << 0;
    r |= (b == MARK1) << 1;
    r |= (n == 1 && rt_trap_self()->cause == CAUSE_LOAD_PAGE) << 2;
    r |= (load64(VA_SWAP) == MARK0) << 3;
    return r;
}

static void test_mprv(void)
{
    uint64_t v;

    csr_clear(mstatus, MSTATUS_MPP);
    csr_set(mstatus, (uint64_t)RT_MODE_S << 11);
    __asm__ volatile("csrs mstatus, %1\n ld %0, 0(%2)\n csrc mstatus, %1"
                     : "=&r"(v)
                     : "r"(MSTATUS_MPRV), "r"(VA_RW1)
                     : "memory");
    CHECK_EQ("M load with MPRV=1, MPP=S translates", v, MARK1);
}

static void test_satp(void)
{
    uint64_t sv39 = SATP(SATP_SV39, root39), v;

    rt_section("satp");
    csr_write(satp, sv39);
    CHECK_EQ("satp Sv39 readback", csr_read(satp), sv39);
    csr_write(satp, SATP(SATP_SV48, root48));
    CHECK_EQ("satp Sv48 readback", csr_read(satp), SATP(SATP_SV48, root48));
    csr_write(satp, sv39);
    csr_write(satp, SATP(11, root48));
    CHECK_EQ("satp mode 11 ignored", csr_read(satp), sv39);
    csr_write(satp, SATP(15, root48));
    CHECK_EQ("satp mode 15 ignored", csr_read(satp), sv39);
    csr_write(satp, SATP(SATP_SV57, root48));
    v = csr_read(satp);
    CHECK("satp Sv57: taken whole or ignored", v == sv39 || v == SATP(SATP_SV57, root48));
    rt_puts(v == sv39 ? "info: Sv57 not supported\n" : "info: Sv57 supported\n");
    csr_write(satp, 0);
    __asm__ volatile("sfence.vma" ::: "memory");
}

int main(void)
{
    build_tables();
    csr_write(medeleg, 0);
    csr_write(mcounteren, 7);

    test_satp();

    rt_section("Sv39 mappings");
    use_satp(SATP(SATP_SV39, root39));
    test_basic(SATP(SATP_SV39, root39));
    expect_fault("Sv39 non-canonical", run(RT_MODE_S, load64, VA_SV48), CAUSE_LOAD_PAGE, VA_SV48);
    rt_section("Sv39 faults");
    test_faults();
    rt_section("Sv39 U-mode");
    test_user();
    rt_section("Sv39 A/D");
    test_ad();
    rt_section("sfence.vma");
    CHECK_EQ("remap with sfence.vma", rt_enter(RT_MODE_S, s_remap, 0), 0xf);
    rt_section("MPRV");
    test_mprv();

    rt_section("Sv48");
    l0[8] &= ~PTE_AD;
    l0[9] &= ~PTE_D;
    use_satp(SATP(SATP_SV48, root48));
    test_basic(SATP(SATP_SV48, root48));
    expect_ok("Sv48 upper mapping", run(RT_MODE_S, load64, VA_SV48), MARK0);
    expect_fault("Sv48 non-canonical", run(RT_MODE_S, load64, VA_NONCANON48), CAUSE_LOAD_PAGE,
                 VA_NONCANON48);
    expect_fault("Sv48 unmapped canonical high", run(RT_MODE_S, load64, 0xffff800000000000UL),
                 CAUSE_LOAD_PAGE, 0xffff800000000000UL);
    test_faults();
    test_ad();
    CHECK_EQ("Sv48 remap with sfence.vma", rt_enter(RT_MODE_S, s_remap, 0), 0xf);

    csr_write(satp, 0);
    __asm__ volatile("sfence.vma" ::: "memory");
    return 0;
}
