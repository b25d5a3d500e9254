#include "board/riscv/plic.h"
#include "harness.h"

static int ctx_level[8];

static void fake_set_irq(void *opaque, int ctx, int level)
{
    ctx_level[ctx] = level;
}

static uint32_t rd(struct plic *p, uint64_t off)
{
    return (uint32_t)plic_read(p, off, 4);
}

static void wr(struct plic *p, uint64_t off, uint32_t v)
{
    plic_write(p, off, 4, v);
}

#define CLAIM(ctx)  (PLIC_CONTEXT + PLIC_CTX_STEP * (ctx) + 4)
#define THRESH(ctx) (PLIC_CONTEXT + PLIC_CTX_STEP * (ctx))
#define ENABLE(ctx) (PLIC_ENABLE + PLIC_ENABLE_STEP * (ctx))

TEST(plic_claim_complete_level)
{
    struct plic p;

    for (int i = 0; i < 8; i++)
        ctx_level[i] = 0;
    CHECK_EQ(plic_init(&p, 4, fake_set_irq, NULL), 0);
    wr(&p, PLIC_PRIORITY + 4 * 10, 1);
    CHECK_EQ(rd(&p, PLIC_PRIORITY + 4 * 10), 1);
    wr(&p, PLIC_PRIORITY + 4 * 10, 0xff);
    CHECK_EQ(rd(&p, PLIC_PRIORITY + 4 * 10), PLIC_PRIO_MASK);
    wr(&p, PLIC_PRIORITY + 4 * 10, 1);

    plic_set_level(&p, 10, 1);
    CHECK_EQ(rd(&p, PLIC_PENDING), 1u << 10);
    CHECK_EQ(ctx_level[1], 0); /* not enabled yet */
    wr(&p, ENABLE(1), 1u << 10);
    CHECK_EQ(rd(&p, ENABLE(1)), 1u << 10);
    CHECK_EQ(ctx_level[1], 1);
    CHECK_EQ(ctx_level[0], 0);

    CHECK_EQ(rd(&p, CLAIM(1)), 10);
    CHECK_EQ(ctx_level[1], 0);
    CHECK_EQ(rd(&p, PLIC_PENDING), 0);
    CHECK_EQ(rd(&p, CLAIM(1)), 0); /* nothing else */
    /* line still high at completion: pending again */
    wr(&p, CLAIM(1), 10);
    CHECK_EQ(ctx_level[1], 1);
    CHECK_EQ(rd(&p, CLAIM(1)), 10);
    plic_set_level(&p, 10, 0);
    wr(&p, CLAIM(1), 10);
    CHECK_EQ(ctx_level[1], 0);
    CHECK_EQ(rd(&p, PLIC_PENDING), 0);
    /* a level that drops before the claim withdraws the request */
    plic_set_level(&p, 10, 1);
    CHECK_EQ(ctx_level[1], 1);
    plic_set_level(&p, 10, 0);
    CHECK_EQ(ctx_level[1], 0);
    CHECK_EQ(rd(&p, CLAIM(1)), 0);
    plic_destroy(&p);
}

TEST(plic_priority_threshold_and_contexts)
{
    struct plic p;

    for (int i = 0; i < 8; i++)
        ctx_level[i] = 0;
    CHECK_EQ(plic_init(&p, 4, fake_set_irq, NULL), 0);
    wr(&p, PLIC_PRIORITY + 4 * 3, 2);
    wr(&p, PLIC_PRIORITY + 4 * 5, 5);
    wr(&p, PLIC_PRIORITY + 4 * 40, 5);
    wr(&p, ENABLE(3), (1u << 3) | (1u << 5));
    wr(&p, ENABLE(3) + 4, 1u << (40 - 32));
    plic_set_level(&p, 3, 1);
    plic_set_level(&p, 5, 1);
    plic_set_level(&p, 40, 1);
    CHECK_EQ(rd(&p, PLIC_PENDING + 4), 1u << 8);
    CHECK_EQ(ctx_level[3], 1);
    CHECK_EQ(ctx_level[2], 0);
    /* priority 0 never interrupts */
    wr(&p, PLIC_PRIORITY + 4 * 5, 0);
    wr(&p, PLIC_PRIORITY + 4 * 40, 0);
    wr(&p, THRESH(3), 2); /* only priority > 2 */
    CHECK_EQ(rd(&p, THRESH(3)), 2);
    CHECK_EQ(ctx_level[3], 0);
    CHECK_EQ(rd(&p, CLAIM(3)), 0);
    wr(&p, PLIC_PRIORITY + 4 * 5, 5);
    wr(&p, PLIC_PRIORITY + 4 * 40, 5);
    CHECK_EQ(ctx_level[3], 1);
    /* equal priority: lowest id first */
    CHECK_EQ(rd(&p, CLAIM(3)), 5);
    CHECK_EQ(rd(&p, CLAIM(3)), 40);
    CHECK_EQ(rd(&p, CLAIM(3)), 0);
    wr(&p, THRESH(3), 0);
    CHECK_EQ(rd(&p, CLAIM(3)), 3);
    /* completing a source not enabled in that context is ignored */
    wr(&p, CLAIM(2), 5);
    CHECK_EQ(rd(&p, CLAIM(3)), 0);
    wr(&p, CLAIM(3), 5);
    CHECK_EQ(rd(&p, CLAIM(3)), 5);
    /* source 0 and contexts that do not exist */
    wr(&p, PLIC_PRIORITY, 7);
    CHECK_EQ(rd(&p, PLIC_PRIORITY), 0);
    wr(&p, ENABLE(0), 1);
    CHECK_EQ(rd(&p, ENABLE(0)), 0);
    wr(&p, ENABLE(7), 0xffffffff);
    CHECK_EQ(rd(&p, ENABLE(7)), 0);
    CHECK_EQ(rd(&p, CLAIM(7)), 0);
    CHECK_EQ(plic_read(&p, CLAIM(3), 8), 0); /* only 32-bit accesses */
    plic_set_level(&p, 0, 1);
    plic_set_level(&p, PLIC_NSRC, 1);
    plic_reset(&p);
    CHECK_EQ(rd(&p, ENABLE(3)), 0);
    CHECK_EQ(ctx_level[3], 0);
    CHECK_EQ(plic_init(&p, PLIC_MAX_CTX + 1, fake_set_irq, NULL), -22);
    plic_destroy(&p);
}
