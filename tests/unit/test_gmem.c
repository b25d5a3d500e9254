#include "harness.h"
#include "mem/gmem.h"

TEST(gmem_ranges)
{
    struct gmem m;

    CHECK_EQ(gmem_create(&m, 0x80000000, 1 << 20), 0);
    CHECK(gmem_ptr(&m, 0x80000000, 1) == m.hva);
    CHECK(gmem_ptr(&m, 0x800fffff, 1) == m.hva + 0xfffff);
    CHECK(gmem_ptr(&m, 0x800fffff, 2) == NULL);
    CHECK(gmem_ptr(&m, 0x7fffffff, 1) == NULL);
    CHECK(gmem_ptr(&m, 0x80000010, ~0ULL) == NULL);
    CHECK_EQ(m.hva[12345], 0);
    gmem_destroy(&m);
}
