/* gmem_dirty_merge: engine slots' dirty logs onto the pages of the gmem region. */
#include <string.h>

#include "mem/gmem.h"
#include "harness.h"

static int bit(const uint64_t *bm, uint64_t p)
{
    return (int)(bm[p / 64] >> (p % 64) & 1);
}

static uint64_t popcount(const uint64_t *bm, uint64_t words)
{
    uint64_t n = 0;

    for (uint64_t i = 0; i < words; i++)
        n += (uint64_t)__builtin_popcountll(bm[i]);
    return n;
}

TEST(gmem_dirty_merge_two_slots_like_the_x86_board)
{
    /* 3 GiB low RAM (slot 0) and 1 GiB above the gap (slot 1): pages 0..786431, 786432.. */
    enum { LOW = 786432, PAGES = 1048576, WORDS = PAGES / 64 };
    static uint64_t region[WORDS], s0[LOW / 64], s1[(PAGES - LOW) / 64];

    memset(region, 0, sizeof(region));
    memset(s0, 0, sizeof(s0));
    memset(s1, 0, sizeof(s1));
    s0[0] = 1;                     /* page 0 */
    s0[LOW / 64 - 1] = 1ull << 63; /* the last low page */
    s1[0] = 1ull << 5;             /* gpa 4 GiB + 5 pages */
    s1[(PAGES - LOW) / 64 - 1] = 1ull << 63;
    gmem_dirty_merge(region, PAGES, s0, 0, LOW);
    gmem_dirty_merge(region, PAGES, s1, LOW, PAGES - LOW);
    CHECK(bit(region, 0));
    CHECK(bit(region, LOW - 1));
    CHECK(bit(region, LOW + 5));
    CHECK(bit(region, PAGES - 1));
    CHECK_EQ(popcount(region, WORDS), 4);
}

TEST(gmem_dirty_merge_unaligned_start_and_tail)
{
    uint64_t region[4] = {0}, slot[2] = {~0ull, ~0ull};

    /* 70 pages from page 10 of a 200-page region: pages 10..79, nothing else (the slot's bits
     * past its 70 pages are ignored) */
    gmem_dirty_merge(region, 200, slot, 10, 70);
    CHECK_EQ(popcount(region, 4), 70);
    CHECK(!bit(region, 9));
    CHECK(bit(region, 10));
    CHECK(bit(region, 63));
    CHECK(bit(region, 64));
    CHECK(bit(region, 79));
    CHECK(!bit(region, 80));
}

TEST(gmem_dirty_merge_ors_and_clips_to_the_region)
{
    uint64_t region[2] = {1ull << 3, 0}, slot[2] = {~0ull, ~0ull};

    /* a slot that would reach past the region's 100 pages: clipped at page 99 */
    gmem_dirty_merge(region, 100, slot, 90, 128);
    CHECK(bit(region, 3)); /* kept */
    CHECK(!bit(region, 89));
    CHECK(bit(region, 90));
    CHECK(bit(region, 99));
    CHECK_EQ(popcount(region, 2), 11);
    CHECK_EQ(region[1] >> 36, 0);                 /* nothing past page 99 */
    gmem_dirty_merge(region, 100, slot, 100, 10); /* starts past the end: nothing */
    CHECK_EQ(popcount(region, 2), 11);
}
