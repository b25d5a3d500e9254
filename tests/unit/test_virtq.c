/* The split-virtqueue parser against a fake guest memory: valid chains, indirect tables,
 * EVENT_IDX suppression, and malformed rings that must be refused cleanly. */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "virtio/virtq.h"

#define GBASE 0x10000ull
#define GSIZE 0x10000ull
#define DESC  (GBASE + 0x0)
#define AVAIL (GBASE + 0x1000)
#define USED  (GBASE + 0x2000)
#define BUF   (GBASE + 0x4000)
#define QSZ   8

static uint8_t ram[GSIZE] __attribute__((aligned(16)));
static struct gmem mem = {.base = GBASE, .size = GSIZE, .hva = ram, .fd = -1};
static struct virtq_elem elem;

static void *at(uint64_t gpa)
{
    return ram + (gpa - GBASE);
}

static void set_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    uint8_t *d = at(table + 16ull * i);

    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

static uint16_t rd16(uint64_t gpa)
{
    uint16_t v;

    memcpy(&v, at(gpa), 2);
    return v;
}

static void wr16(uint64_t gpa, uint16_t v)
{
    memcpy(at(gpa), &v, 2);
}

/* Puts head into the avail ring and bumps avail->idx. */
static void offer(uint16_t head)
{
    uint16_t idx = rd16(AVAIL + 2);

    wr16(AVAIL + 4 + 2 * (idx % QSZ), head);
    wr16(AVAIL + 2, (uint16_t)(idx + 1));
}

static void setup(struct virtq *q, bool indirect, bool event_idx)
{
    memset(ram, 0, sizeof(ram));
    *q = (struct virtq){.mem = &mem};
    virtq_reset(q);
    q->size = QSZ;
    q->desc_gpa = DESC;
    q->avail_gpa = AVAIL;
    q->used_gpa = USED;
    q->indirect = indirect;
    q->event_idx = event_idx;
    q->ready = true;
    CHECK_EQ(virtq_start(q), 0);
}

TEST(virtq_valid_chain_and_push)
{
    struct virtq q;
    uint32_t used[2];

    setup(&q, false, false);
    set_desc(DESC, 3, BUF, 16, VIRTQ_DESC_F_NEXT, 5);
    set_desc(DESC, 5, BUF + 0x100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 6);
    set_desc(DESC, 6, BUF + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
    CHECK_EQ(virtq_pop(&q, &elem), 0); /* empty */
    offer(3);
    CHECK_EQ(virtq_avail_count(&q), 1);
    CHECK_EQ(virtq_pop(&q, &elem), 1);
    CHECK_EQ(elem.head, 3);
    CHECK_EQ(elem.out_num, 1);
    CHECK_EQ(elem.in_num, 2);
    CHECK_EQ(elem.out_len, 16);
    CHECK_EQ(elem.in_len, 513);
    CHECK(elem.iov[0].iov_base == at(BUF));
    CHECK(elem.iov[1].iov_base == at(BUF + 0x100));
    CHECK_EQ(elem.iov[2].iov_len, 1);
    CHECK_EQ(virtq_pop(&q, &elem), 0);
    virtq_push(&q, 3, 513);
    CHECK_EQ(rd16(USED + 2), 1);
    memcpy(used, at(USED + 4), 8);
    CHECK_EQ(used[0], 3);
    CHECK_EQ(used[1], 513);
}

TEST(virtq_unpop_returns_the_chain)
{
    struct virtq q;

    setup(&q, false, false);
    set_desc(DESC, 0, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
    CHECK_EQ(virtq_pop(&q, &elem), 1);
    virtq_unpop(&q);
    CHECK_EQ(virtq_pop(&q, &elem), 1);
    CHECK_EQ(elem.head, 0);
}

TEST(virtq_indirect_table)
{
    struct virtq q;
    uint64_t table = BUF + 0x1000;

    setup(&q, true, false);
    set_desc(table, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
    set_desc(table, 1, BUF + 0x200, 4096, VIRTQ_DESC_F_NEXT, 2);
    set_desc(table, 2, BUF + 0x300, 1, VIRTQ_DESC_F_WRITE, 0);
    set_desc(DESC, 1, table, 48, VIRTQ_DESC_F_INDIRECT, 0);
    offer(1);
    CHECK_EQ(virtq_pop(&q, &elem), 1);
    CHECK_EQ(elem.head, 1);
    CHECK_EQ(elem.out_num, 2);
    CHECK_EQ(elem.in_num, 1);
    CHECK_EQ(elem.out_len, 16 + 4096);

    /* without the feature negotiated the same chain is refused */
    setup(&q, false, false);
    set_desc(table, 0, BUF, 16, 0, 0);
    set_desc(DESC, 1, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
    offer(1);
    CHECK_EQ(virtq_pop(&q, &elem), -EINVAL);
}

/* One malformed case: build it with fn, then pop must fail with -EINVAL. */
static void refuse(void (*fn)(struct virtq *q), const char *what)
{
    struct virtq q;
    int r;

    setup(&q, true, false);
    fn(&q);
    r = virtq_pop(&q, &elem);
    if (r != -EINVAL)
        test_fail(__FILE__, __LINE__, "%s: pop returned %d, want -EINVAL", what, r);
    else
        CHECK(q.err != NULL);
}

static void mk_loop(struct virtq *q)
{
    set_desc(DESC, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
    set_desc(DESC, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
    offer(0);
}

static void mk_self_loop(struct virtq *q)
{
    set_desc(DESC, 2, BUF, 8, VIRTQ_DESC_F_NEXT, 2);
    offer(2);
}

static void mk_wild_addr(struct virtq *q)
{
    set_desc(DESC, 0, 0xdead00000000ull, 8, 0, 0);
    offer(0);
}

static void mk_addr_overflow(struct virtq *q)
{
    set_desc(DESC, 0, UINT64_MAX - 4, 16, 0, 0);
    offer(0);
}

static void mk_past_end(struct virtq *q)
{
    set_desc(DESC, 0, GBASE + GSIZE - 8, 16, 0, 0);
    offer(0);
}

static void mk_zero_len(struct virtq *q)
{
    set_desc(DESC, 0, BUF, 0, 0, 0);
    offer(0);
}

static void mk_huge_len(struct virtq *q)
{
    set_desc(DESC, 0, BUF, 0xffffffffu, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
}

static void mk_nested_indirect(struct virtq *q)
{
    uint64_t t1 = BUF + 0x1000, t2 = BUF + 0x2000;

    set_desc(t2, 0, BUF, 8, 0, 0);
    set_desc(t1, 0, t2, 16, VIRTQ_DESC_F_INDIRECT, 0);
    set_desc(DESC, 0, t1, 16, VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
}

static void mk_indirect_bad_len(struct virtq *q)
{
    set_desc(DESC, 0, BUF + 0x1000, 24, VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
}

static void mk_indirect_loop(struct virtq *q)
{
    uint64_t t = BUF + 0x1000;

    set_desc(t, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
    set_desc(t, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
    set_desc(DESC, 0, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
}

static void mk_indirect_next_oob(struct virtq *q)
{
    uint64_t t = BUF + 0x1000;

    set_desc(t, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 7);
    set_desc(DESC, 0, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
}

static void mk_indirect_wild(struct virtq *q)
{
    set_desc(DESC, 0, GBASE + GSIZE - 16, 64, VIRTQ_DESC_F_INDIRECT, 0);
    offer(0);
}

static void mk_next_oob(struct virtq *q)
{
    set_desc(DESC, 0, BUF, 8, VIRTQ_DESC_F_NEXT, QSZ);
    offer(0);
}

static void mk_head_oob(struct virtq *q)
{
    offer(QSZ + 3);
}

static void mk_avail_jump(struct virtq *q)
{
    set_desc(DESC, 0, BUF, 8, 0, 0);
    wr16(AVAIL + 2, QSZ + 1);
}

static void mk_write_then_read(struct virtq *q)
{
    set_desc(DESC, 0, BUF, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    set_desc(DESC, 1, BUF, 8, 0, 0);
    offer(0);
}

TEST(virtq_malformed_chains_are_refused)
{
    refuse(mk_loop, "two-descriptor loop");
    refuse(mk_self_loop, "descriptor pointing at itself");
    refuse(mk_wild_addr, "address outside guest memory");
    refuse(mk_addr_overflow, "addr + len overflows");
    refuse(mk_past_end, "buffer crossing the end of memory");
    refuse(mk_zero_len, "zero length");
    refuse(mk_huge_len, "4 GiB length");
    refuse(mk_nested_indirect, "indirect inside indirect");
    refuse(mk_indirect_bad_len, "indirect length not a multiple of 16");
    refuse(mk_indirect_loop, "loop inside an indirect table");
    refuse(mk_indirect_next_oob, "indirect next past the table");
    refuse(mk_indirect_wild, "indirect table past the end of memory");
    refuse(mk_next_oob, "next index past the queue");
    refuse(mk_head_oob, "avail head past the queue");
    refuse(mk_avail_jump, "avail index moved by more than the size");
    refuse(mk_write_then_read, "readable after writable");
}

TEST(virtq_start_validates_size_and_rings)
{
    struct virtq q = {.mem = &mem};
    const uint16_t bad_sizes[] = {0, 3, 6, 100, 2048};

    for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        q = (struct virtq){.mem = &mem,
                           .size = bad_sizes[i],
                           .desc_gpa = DESC,
                           .avail_gpa = AVAIL,
                           .used_gpa = USED};
        CHECK_EQ(virtq_start(&q), -EINVAL);
    }
    q = (struct virtq){.mem = &mem,
                       .size = 256,
                       .desc_gpa = GBASE + GSIZE - 256,
                       .avail_gpa = AVAIL,
                       .used_gpa = USED};
    CHECK_EQ(virtq_start(&q), -EINVAL); /* descriptor table past the end */
    q.desc_gpa = DESC + 8;
    CHECK_EQ(virtq_start(&q), -EINVAL); /* misaligned */
    q.desc_gpa = DESC;
    q.used_gpa = UINT64_MAX - 64;
    CHECK_EQ(virtq_start(&q), -EINVAL);
    q.used_gpa = USED;
    CHECK_EQ(virtq_start(&q), 0);
}

TEST(virtq_event_idx_suppression)
{
    struct virtq q;

    setup(&q, false, true);
    for (int i = 0; i < 4; i++)
        set_desc(DESC, (unsigned)i, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
    wr16(AVAIL + 4 + 2 * QSZ, 1); /* used_event: interrupt once entry 1 is used */
    virtq_push(&q, 0, 8);
    CHECK(virtq_should_notify(&q)); /* first interrupt always goes out */
    virtq_push(&q, 1, 8);           /* used idx 2: passes used_event 1 */
    CHECK(virtq_should_notify(&q));
    virtq_push(&q, 2, 8); /* used idx 3: the driver did not ask */
    CHECK(!virtq_should_notify(&q));
    wr16(AVAIL + 4 + 2 * QSZ, 4);
    virtq_push(&q, 3, 8); /* idx 4 */
    CHECK(!virtq_should_notify(&q));
    virtq_push(&q, 0, 8); /* idx 5 passes 4 */
    CHECK(virtq_should_notify(&q));

    /* avail_event: enable_notify publishes last_avail, and reports pending buffers */
    offer(0);
    offer(1);
    CHECK_EQ(virtq_pop(&q, &elem), 1);
    CHECK(virtq_enable_notify(&q));
    CHECK_EQ(rd16(USED + 4 + 8 * QSZ), 1);
    CHECK_EQ(virtq_pop(&q, &elem), 1);
    CHECK(!virtq_enable_notify(&q));
    CHECK_EQ(rd16(USED + 4 + 8 * QSZ), 2);
}

TEST(virtq_flags_suppression_without_event_idx)
{
    struct virtq q;

    setup(&q, false, false);
    virtq_push(&q, 0, 0);
    CHECK(virtq_should_notify(&q));
    wr16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
    virtq_push(&q, 0, 0);
    CHECK(!virtq_should_notify(&q));
    virtq_disable_notify(&q);
    CHECK_EQ(rd16(USED), VIRTQ_USED_F_NO_NOTIFY);
    CHECK(!virtq_enable_notify(&q));
    CHECK_EQ(rd16(USED), 0);
}
