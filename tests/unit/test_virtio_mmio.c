/* virtio-mmio register semantics and the device core behind it: identification, feature
 * negotiation, queue setup, config space access rules, interrupts, kicks on the device
 * thread, broken-device handling, reset, and a save/load round trip. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "virtio_test_util.h"
#include "virtio/mmio.h"

static const struct virtio_dev_ops t_ops = TEST_DEV_OPS("test", 42);

struct fix {
    struct virtio_dev *d;
    struct virtio_mmio *m;
};

static uint32_t R(struct fix *f, uint64_t off)
{
    return (uint32_t)virtio_mmio_bus_ops.read(f->m, off, 4);
}

static void W(struct fix *f, uint64_t off, uint32_t v)
{
    virtio_mmio_bus_ops.write(f->m, off, 4, v);
}

static void fix_init(struct fix *f)
{
    const struct irq_line irq = {fake_irq, NULL, 1};

    test_dev_create(&f->d, &t_ops);
    CHECK_EQ(virtio_mmio_create(&f->m, f->d, &irq), 0);
}

static void fix_fini(struct fix *f)
{
    virtio_dev_destroy(f->d);
    virtio_mmio_destroy(f->m);
}

/* The driver's side of initialization up to FEATURES_OK; returns the status read back. */
static uint32_t negotiate(struct fix *f, uint32_t hi)
{
    W(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    W(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    W(f, VIRTIO_MMIO_DRIVER_FEATURES, (1u << 3) | (1u << VIRTIO_RING_F_EVENT_IDX));
    W(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    W(f, VIRTIO_MMIO_DRIVER_FEATURES, hi);
    W(f, VIRTIO_MMIO_STATUS,
      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    return R(f, VIRTIO_MMIO_STATUS);
}

static void setup_queue(struct fix *f, unsigned q, uint32_t num)
{
    W(f, VIRTIO_MMIO_QUEUE_SEL, q);
    W(f, VIRTIO_MMIO_QUEUE_NUM, num);
    W(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC);
    W(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
    W(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL);
    W(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED);
    W(f, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void go_live(struct fix *f)
{
    CHECK(negotiate(f, 1) & VIRTIO_STATUS_FEATURES_OK);
    setup_queue(f, 0, 16);
    W(f, VIRTIO_MMIO_STATUS,
      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
          VIRTIO_STATUS_DRIVER_OK);
}

TEST(virtio_mmio_identification)
{
    struct fix f;

    fix_init(&f);
    CHECK_EQ(R(&f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
    CHECK_EQ(R(&f, VIRTIO_MMIO_VERSION), 2);
    CHECK_EQ(R(&f, VIRTIO_MMIO_DEVICE_ID), 42);
    CHECK_EQ(R(&f, VIRTIO_MMIO_VENDOR_ID), VIRTIO_VENDOR_ID);
    W(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    CHECK_EQ(R(&f, VIRTIO_MMIO_DEVICE_FEATURES),
             (1u << 3) | (1u << VIRTIO_RING_F_INDIRECT_DESC) | (1u << VIRTIO_RING_F_EVENT_IDX));
    W(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    CHECK_EQ(R(&f, VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 */
    W(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
    CHECK_EQ(R(&f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
    W(&f, VIRTIO_MMIO_QUEUE_SEL, 1);
    CHECK_EQ(R(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
    W(&f, VIRTIO_MMIO_QUEUE_SEL, 2); /* no such queue */
    CHECK_EQ(R(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    /* wrong widths and misaligned register accesses read 0 */
    CHECK_EQ(virtio_mmio_bus_ops.read(f.m, VIRTIO_MMIO_MAGIC_VALUE, 2), 0);
    CHECK_EQ(virtio_mmio_bus_ops.read(f.m, VIRTIO_MMIO_MAGIC_VALUE + 1, 4), 0);
    fix_fini(&f);
}

TEST(virtio_mmio_feature_negotiation)
{
    struct fix f;

    fix_init(&f);
    /* without VERSION_1 FEATURES_OK does not stick */
    CHECK(!(negotiate(&f, 0) & VIRTIO_STATUS_FEATURES_OK));
    W(&f, VIRTIO_MMIO_STATUS, 0);
    CHECK_EQ(R(&f, VIRTIO_MMIO_STATUS), 0);
    CHECK(negotiate(&f, 1) & VIRTIO_STATUS_FEATURES_OK);
    CHECK(virtio_dev_has_feature(f.d, 3));
    CHECK(virtio_dev_has_feature(f.d, VIRTIO_F_VERSION_1));
    CHECK(!virtio_dev_has_feature(f.d, VIRTIO_RING_F_INDIRECT_DESC));
    /* feature writes after FEATURES_OK are ignored */
    W(&f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    W(&f, VIRTIO_MMIO_DRIVER_FEATURES, 0);
    CHECK(virtio_dev_has_feature(f.d, 3));
    fix_fini(&f);
}

TEST(virtio_mmio_config_space)
{
    struct fix f;
    uint32_t gen;

    fix_init(&f);
    CHECK_EQ(virtio_mmio_bus_ops.read(f.m, VIRTIO_MMIO_CONFIG, 1), 1);
    CHECK_EQ(virtio_mmio_bus_ops.read(f.m, VIRTIO_MMIO_CONFIG + 2, 2), 0x0403);
    CHECK_EQ(virtio_mmio_bus_ops.read(f.m, VIRTIO_MMIO_CONFIG + 4, 8), 0x0c0b0a0908070605ull);
    CHECK_EQ(virtio_mmio_bus_ops.read(f.m, VIRTIO_MMIO_CONFIG + 10, 4), 0); /* crosses end */
    CHECK_EQ(virtio_mmio_bus_ops.read(f.m, VIRTIO_MMIO_CONFIG + 12, 1), 0); /* past end */
    CHECK_EQ(virtio_mmio_bus_ops.read(f.m, VIRTIO_MMIO_CONFIG + 0xe00, 4), 0);
    /* no config_write op: the space is read-only */
    virtio_mmio_bus_ops.write(f.m, VIRTIO_MMIO_CONFIG, 4, 0xffffffff);
    CHECK_EQ(virtio_mmio_bus_ops.read(f.m, VIRTIO_MMIO_CONFIG, 4), 0x04030201);
    gen = R(&f, VIRTIO_MMIO_CONFIG_GENERATION);
    virtio_dev_config_set(f.d, 0, "\x55", 1);
    CHECK_EQ(R(&f, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
    CHECK_EQ(virtio_mmio_bus_ops.read(f.m, VIRTIO_MMIO_CONFIG, 1), 0x55);
    fix_fini(&f);
}

TEST(virtio_mmio_queue_kick_and_interrupt)
{
    struct fix f;

    fix_init(&f);
    go_live(&f);
    CHECK_EQ(R(&f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
    W(&f, VIRTIO_MMIO_QUEUE_SEL, 0);
    CHECK_EQ(R(&f, VIRTIO_MMIO_QUEUE_READY), 1);
    CHECK_EQ(R(&f, VIRTIO_MMIO_QUEUE_NUM), 16);
    CHECK_EQ(R(&f, VIRTIO_MMIO_QUEUE_DRIVER_LOW), (uint32_t)AVAIL);
    /* queue registers are frozen once the driver runs */
    W(&f, VIRTIO_MMIO_QUEUE_NUM, 8);
    CHECK_EQ(R(&f, VIRTIO_MMIO_QUEUE_NUM), 16);
    W(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK(wait_for(&kicks, 1));
    /* a push + notify from the device side raises the line; the ack lowers it */
    virtio_queue_push(f.d, 0, 0, 0);
    virtio_queue_notify(f.d, 0);
    CHECK_EQ(atomic_load(&irq_level), 1);
    CHECK_EQ(R(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_QUEUE);
    W(&f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_QUEUE);
    CHECK_EQ(atomic_load(&irq_level), 0);
    CHECK_EQ(R(&f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    /* a config change while running interrupts with the config bit */
    virtio_dev_config_set(f.d, 0, "\x01", 1);
    CHECK_EQ(R(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
    CHECK_EQ(atomic_load(&irq_level), 1);
    /* reset: everything back, line low */
    W(&f, VIRTIO_MMIO_STATUS, 0);
    CHECK_EQ(R(&f, VIRTIO_MMIO_STATUS), 0);
    CHECK_EQ(R(&f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    CHECK_EQ(atomic_load(&irq_level), 0);
    W(&f, VIRTIO_MMIO_QUEUE_SEL, 0);
    CHECK_EQ(R(&f, VIRTIO_MMIO_QUEUE_READY), 0);
    fix_fini(&f);
}

TEST(virtio_mmio_bad_queue_marks_device_broken)
{
    struct fix f;

    fix_init(&f);
    CHECK(negotiate(&f, 1) & VIRTIO_STATUS_FEATURES_OK);
    setup_queue(&f, 0, 12); /* not a power of two */
    CHECK(R(&f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CHECK(virtio_dev_is_broken(f.d));
    CHECK_EQ(R(&f, VIRTIO_MMIO_QUEUE_READY), 0);
    W(&f, VIRTIO_MMIO_STATUS, 0); /* reset clears it */
    CHECK(!virtio_dev_is_broken(f.d));
    CHECK(negotiate(&f, 1) & VIRTIO_STATUS_FEATURES_OK);
    setup_queue(&f, 0, 128); /* above QueueNumMax */
    CHECK(virtio_dev_is_broken(f.d));
    W(&f, VIRTIO_MMIO_STATUS, 0);
    CHECK(negotiate(&f, 1) & VIRTIO_STATUS_FEATURES_OK);
    W(&f, VIRTIO_MMIO_QUEUE_SEL, 0);
    W(&f, VIRTIO_MMIO_QUEUE_NUM, 16);
    W(&f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0xfff00000); /* outside guest memory */
    W(&f, VIRTIO_MMIO_QUEUE_READY, 1);
    CHECK(virtio_dev_is_broken(f.d));
    W(&f, VIRTIO_MMIO_STATUS, 0);
    /* DRIVER_OK without FEATURES_OK */
    W(&f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER_OK);
    CHECK(R(&f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    fix_fini(&f);
}

TEST(virtio_save_load_round_trip)
{
    struct fix a, b;
    uint8_t s1[VIRTIO_SAVE_MAX], s2[VIRTIO_SAVE_MAX];
    ssize_t n1, n2;

    fix_init(&a);
    go_live(&a);
    virtio_queue_push(a.d, 0, 0, 0);
    virtio_queue_push(a.d, 0, 0, 0);
    W(&a, VIRTIO_MMIO_QUEUE_SEL, 1);
    n1 = virtio_dev_save(a.d, s1, sizeof(s1));
    CHECK(n1 > 0);
    CHECK_EQ(virtio_dev_save(a.d, s1, 16), -ENOSPC);

    CHECK_EQ(virtio_dev_create(&b.d, &t_ops, NULL, &mem), 0);
    CHECK_EQ(virtio_mmio_create(&b.m, b.d, &(struct irq_line){fake_irq, NULL, 1}), 0);
    CHECK_EQ(virtio_dev_load(b.d, s1, (size_t)n1), 0);
    n2 = virtio_dev_save(b.d, s2, sizeof(s2));
    CHECK_EQ(n2, n1);
    CHECK(n1 > 0 && n2 == n1 && !memcmp(s1, s2, (size_t)n1));
    CHECK_EQ(R(&b, VIRTIO_MMIO_STATUS), R(&a, VIRTIO_MMIO_STATUS));
    CHECK_EQ(R(&b, VIRTIO_MMIO_QUEUE_SEL), 1);
    W(&b, VIRTIO_MMIO_QUEUE_SEL, 0);
    CHECK_EQ(R(&b, VIRTIO_MMIO_QUEUE_NUM), 16);
    CHECK_EQ(R(&b, VIRTIO_MMIO_QUEUE_READY), 1);
    CHECK(virtio_dev_has_feature(b.d, VIRTIO_F_VERSION_1));
    /* the restored device runs: a kick reaches the device thread */
    atomic_store(&kicks, 0);
    W(&b, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK(wait_for(&kicks, 1));
    /* corrupted or foreign state is refused */
    s1[0] ^= 1;
    CHECK_EQ(virtio_dev_load(b.d, s1, (size_t)n1), -EINVAL);
    s1[0] ^= 1;
    CHECK_EQ(virtio_dev_load(b.d, s1, (size_t)n1 - 1), -EINVAL);
    fix_fini(&b);
    fix_fini(&a);
}
