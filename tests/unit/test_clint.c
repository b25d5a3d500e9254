#include "board/riscv/clint.h"
#include "harness.h"

static int msip[4];
static uint64_t mtimecmp[4], mtime;

static void f_set_msip(void *o, int h, int level)
{
    msip[h] = level;
}
static uint64_t f_get_mtimecmp(void *o, int h)
{
    return mtimecmp[h];
}
static void f_set_mtimecmp(void *o, int h, uint64_t v)
{
    mtimecmp[h] = v;
}
static uint64_t f_get_mtime(void *o)
{
    return mtime;
}
static void f_set_mtime(void *o, uint64_t v)
{
    mtime = v;
}

static const struct clint_ops fake_ops = {f_set_msip, f_get_mtimecmp, f_set_mtimecmp, f_get_mtime,
                                          f_set_mtime};

TEST(clint_msip_mtimecmp_mtime)
{
    struct clint c;

    CHECK_EQ(clint_init(&c, 2, &fake_ops, NULL), 0);
    clint_write(&c, CLINT_MSIP + 4, 4, 0xffffffff);
    CHECK_EQ(msip[1], 1);
    CHECK_EQ(msip[0], 0);
    CHECK_EQ(clint_read(&c, CLINT_MSIP + 4, 4), 1);
    clint_write(&c, CLINT_MSIP + 8, 4, 1); /* hart 2 does not exist */
    CHECK_EQ(clint_read(&c, CLINT_MSIP + 8, 4), 0);

    clint_write(&c, CLINT_MTIMECMP + 8, 8, 0x1122334455667788ULL);
    CHECK_EQ(mtimecmp[1], 0x1122334455667788ULL);
    CHECK_EQ(clint_read(&c, CLINT_MTIMECMP + 8, 4), 0x55667788);
    CHECK_EQ(clint_read(&c, CLINT_MTIMECMP + 12, 4), 0x11223344);
    clint_write(&c, CLINT_MTIMECMP + 12, 4, 0xffffffff);
    CHECK_EQ(mtimecmp[1], 0xffffffff55667788ULL);
    clint_write(&c, CLINT_MTIMECMP, 4, 0xabcd);
    CHECK_EQ(mtimecmp[0], 0xabcd);

    mtime = 0x0000000500000007ULL;
    CHECK_EQ(clint_read(&c, CLINT_MTIME, 8), 0x0000000500000007ULL);
    CHECK_EQ(clint_read(&c, CLINT_MTIME + 4, 4), 5);
    clint_write(&c, CLINT_MTIME, 4, 9);
    CHECK_EQ(mtime, 0x0000000500000009ULL);
    clint_write(&c, CLINT_MTIME, 8, 42);
    CHECK_EQ(mtime, 42);
    /* misaligned and out-of-range accesses are harmless */
    CHECK_EQ(clint_read(&c, CLINT_MTIME + 2, 4), 0);
    CHECK_EQ(clint_read(&c, 0xfff8, 8), 0);
    clint_write(&c, 0xfffc, 4, 1);
    clint_reset(&c);
    CHECK_EQ(msip[1], 0);
    CHECK_EQ(clint_read(&c, CLINT_MSIP + 4, 4), 0);
    clint_destroy(&c);
}
