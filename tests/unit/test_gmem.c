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

TEST(gmem_hole_like_x86)
{
    struct gmem m;

    /* 4 MiB of RAM: 3 MiB low, then a 1 MiB hole, the last MiB at 4 MiB */
    CHECK_EQ(gmem_create(&m, 0, 4 << 20), 0);
    gmem_set_hole(&m, 3 << 20, 1 << 20);
    CHECK(gmem_ptr(&m, 0, 16) == m.hva);
    CHECK(gmem_ptr(&m, (3 << 20) - 8, 8) == m.hva + (3 << 20) - 8);
    CHECK(gmem_ptr(&m, (3 << 20) - 8, 9) == NULL);           /* runs into the hole */
    CHECK(gmem_ptr(&m, 3 << 20, 1) == NULL);                 /* in the hole */
    CHECK(gmem_ptr(&m, (4 << 20) - 1, 1) == NULL);           /* last byte of the hole */
    CHECK(gmem_ptr(&m, 4 << 20, 4096) == m.hva + (3 << 20)); /* continues after it */
    CHECK(gmem_ptr(&m, (5 << 20) - 4, 4) == m.hva + (4 << 20) - 4);
    CHECK(gmem_ptr(&m, (5 << 20) - 4, 5) == NULL); /* past the end */
    CHECK(gmem_ptr(&m, 1 << 20, 3 << 20) == NULL); /* spans the hole */
    gmem_destroy(&m);
}
