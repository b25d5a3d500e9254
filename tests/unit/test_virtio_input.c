/* virtio-input (src/virtio/input.c) through the virtio-mmio transport, as the board's power
 * button: the config-space queries Linux's virtio_input driver makes, a press before the driver
 * runs, events waiting for buffers and delivered as buffers come, save/load of pending events. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "base/le.h"
#include "harness.h"
#include "virtio/input.h"
#include "virtio/mmio.h"

/* guest RAM with one queue's rings and the event buffers */
#define GBASE 0x40000ull
#define GSIZE 0x8000ull
#define DESC  (GBASE + 0x0)
#define AVAIL (GBASE + 0x1000)
#define USED  (GBASE + 0x2000)
#define BUFS  (GBASE + 0x4000) /* event buffers, 8 bytes each */

static uint8_t ram[GSIZE] __attribute__((aligned(16)));
static struct gmem mem = {.base = GBASE, .size = GSIZE, .hva = ram, .fd = -1};
static atomic_int irq_level;

static void fake_irq(void *opaque, int line, int level)
{
    (void)opaque;
    (void)line;
    atomic_store(&irq_level, level);
}

struct ifix {
    struct virtio_input *in;
    struct virtio_dev *d;
    struct virtio_mmio *m;
    uint16_t avail_idx;
};

static uint32_t iR(struct ifix *f, uint64_t off, unsigned size)
{
    return (uint32_t)virtio_mmio_bus_ops.read(f->m, off, size);
}

static void iW(struct ifix *f, uint64_t off, unsigned size, uint32_t v)
{
    virtio_mmio_bus_ops.write(f->m, off, size, v);
}

static void ifix_init(struct ifix *f)
{
    static const uint16_t keys[] = {INPUT_KEY_POWER};
    const struct irq_line irq = {fake_irq, NULL, 13};

    memset(f, 0, sizeof(*f));
    memset(ram, 0, sizeof(ram));
    CHECK_EQ(virtio_input_create(&f->in, &mem, "Vessel Power Button", keys, 1, 1), 0);
    f->d = virtio_input_dev(f->in);
    CHECK_EQ(virtio_mmio_create(&f->m, f->d, &irq), 0);
}

static void ifix_fini(struct ifix *f)
{
    virtio_mmio_destroy(f->m);
    virtio_input_destroy(f->in);
}

/* select/subsel written by the driver; the size byte the device answers. */
static unsigned query(struct ifix *f, uint8_t select, uint8_t subsel)
{
    iW(f, 0x100 + 0, 1, select);
    iW(f, 0x100 + 1, 1, subsel);
    return iR(f, 0x100 + 2, 1);
}

/* The driver's initialization: eventq (16 entries) at DESC/AVAIL/USED, DRIVER_OK. */
static void ifix_live(struct ifix *f)
{
    iW(f, VIRTIO_MMIO_STATUS, 4, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    iW(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4, 1);
    iW(f, VIRTIO_MMIO_DRIVER_FEATURES, 4, 1); /* VERSION_1 */
    iW(f, VIRTIO_MMIO_STATUS, 4,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    iW(f, VIRTIO_MMIO_QUEUE_SEL, 4, 0);
    iW(f, VIRTIO_MMIO_QUEUE_NUM, 4, 16);
    iW(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 4, (uint32_t)DESC);
    iW(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, 4, (uint32_t)AVAIL);
    iW(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, 4, (uint32_t)USED);
    iW(f, VIRTIO_MMIO_QUEUE_READY, 4, 1);
    iW(f, VIRTIO_MMIO_STATUS, 4,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
           VIRTIO_STATUS_DRIVER_OK);
}

/* Gives the device event buffer i (descriptor i, 8 bytes at BUFS + 8 i) and kicks. */
static void add_buffer(struct ifix *f, unsigned i)
{
    uint8_t *d = ram + (DESC - GBASE) + 16 * i;

    le64_put(d, BUFS + 8 * i);
    le32_put(d + 8, 8);
    le16_put(d + 12, VIRTQ_DESC_F_WRITE);
    le16_put(ram + (AVAIL - GBASE) + 4 + 2 * (f->avail_idx % 16), (uint16_t)i);
    f->avail_idx++;
    __atomic_store_n((uint16_t *)(ram + (AVAIL - GBASE) + 2), f->avail_idx, __ATOMIC_RELEASE);
    iW(f, VIRTIO_MMIO_QUEUE_NOTIFY, 4, 0);
}

static uint16_t used_idx(void)
{
    return __atomic_load_n((uint16_t *)(ram + (USED - GBASE) + 2), __ATOMIC_ACQUIRE);
}

static int wait_used(uint16_t want)
{
    for (int i = 0; i < 2000 && used_idx() < want; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    return used_idx() >= want;
}

/* Event buffer i holds (type, code, value). */
static int event_is(unsigned i, uint16_t type, uint16_t code, uint32_t value)
{
    const uint8_t *e = ram + (BUFS - GBASE) + 8 * i;
    return le16_get(e) == type && le16_get(e + 2) == code && le32_get(e + 4) == value;
}

TEST(virtio_input_config_queries)
{
    struct ifix f;
    char name[32] = {0};

    ifix_init(&f);
    CHECK_EQ(iR(&f, VIRTIO_MMIO_DEVICE_ID, 4), VIRTIO_ID_INPUT);
    CHECK_EQ(query(&f, 0x01, 0), strlen("Vessel Power Button")); /* ID_NAME */
    for (unsigned i = 0; i < strlen("Vessel Power Button"); i++)
        name[i] = (char)iR(&f, 0x108 + i, 1);
    CHECK(!strcmp(name, "Vessel Power Button"));
    CHECK_EQ(query(&f, 0x03, 0), 8); /* ID_DEVIDS: bustype, vendor, product, version */
    CHECK_EQ(iR(&f, 0x108, 2), INPUT_BUS_VIRTUAL);
    CHECK_EQ(iR(&f, 0x10c, 2), 1);
    CHECK_EQ(query(&f, 0x11, INPUT_EV_KEY), INPUT_KEY_POWER / 8 + 1); /* EV_BITS, EV_KEY */
    CHECK_EQ(iR(&f, 0x108 + INPUT_KEY_POWER / 8, 1), 1u << (INPUT_KEY_POWER % 8));
    CHECK_EQ(iR(&f, 0x108, 1), 0);                       /* no other key */
    CHECK_EQ(query(&f, 0x11, 0x02), 0);                  /* EV_REL: none */
    CHECK_EQ(query(&f, 0x10, 0), 0);                     /* PROP_BITS: none */
    CHECK_EQ(query(&f, 0x12, 0), 0);                     /* ABS_INFO: none */
    CHECK_EQ(query(&f, 0x02, 0), 0);                     /* ID_SERIAL: none */
    CHECK_EQ(query(&f, 0x77, 3), 0);                     /* unknown select */
    CHECK_EQ(iR(&f, 0x108 + INPUT_KEY_POWER / 8, 1), 0); /* the old answer is gone */
    /* the answer bytes are the device's: a driver write there changes nothing */
    query(&f, 0x01, 0);
    iW(&f, 0x108, 1, 'X');
    CHECK_EQ(iR(&f, 0x108, 1), 'V');
    ifix_fini(&f);
}

TEST(virtio_input_press_and_buffers)
{
    struct ifix f;

    ifix_init(&f);
    /* no driver yet: the guest would never see it */
    CHECK_EQ(virtio_input_press(f.in, INPUT_KEY_POWER), -ENODEV);
    ifix_live(&f);
    CHECK_EQ(virtio_input_press(f.in, 30), -EINVAL); /* a key it does not have */
    CHECK_EQ(virtio_input_press(f.in, INPUT_KEY_POWER), 0);
    /* the events wait for buffers: two now, two later */
    add_buffer(&f, 0);
    add_buffer(&f, 1);
    CHECK(wait_used(2));
    CHECK(event_is(0, INPUT_EV_KEY, INPUT_KEY_POWER, 1));
    CHECK(event_is(1, INPUT_EV_SYN, INPUT_SYN_REPORT, 0));
    CHECK_EQ(atomic_load(&irq_level), 1);
    add_buffer(&f, 2);
    add_buffer(&f, 3);
    CHECK(wait_used(4));
    CHECK(event_is(2, INPUT_EV_KEY, INPUT_KEY_POWER, 0));
    CHECK(event_is(3, INPUT_EV_SYN, INPUT_SYN_REPORT, 0));
    CHECK_EQ(le32_get(ram + (USED - GBASE) + 4 + 8 * 3 + 4), 8); /* used length */
    /* buffers first, press later */
    for (unsigned i = 4; i < 8; i++)
        add_buffer(&f, i);
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    CHECK_EQ(used_idx(), 4);
    CHECK_EQ(virtio_input_press(f.in, INPUT_KEY_POWER), 0);
    CHECK(wait_used(8));
    CHECK(event_is(4, INPUT_EV_KEY, INPUT_KEY_POWER, 1));
    CHECK(event_is(6, INPUT_EV_KEY, INPUT_KEY_POWER, 0));
    /* presses without buffers pile up to a bound */
    int st = 0, n = 0;
    while (n < 100 && (st = virtio_input_press(f.in, INPUT_KEY_POWER)) == 0)
        n++;
    CHECK_EQ(st, -EBUSY);
    CHECK_EQ(n, VIRTIO_INPUT_MAX_PENDING / 4);
    /* a reset (the driver goes away) drops them */
    iW(&f, VIRTIO_MMIO_STATUS, 4, 0);
    CHECK_EQ(virtio_input_press(f.in, INPUT_KEY_POWER), -ENODEV);
    ifix_fini(&f);
}

TEST(virtio_input_short_buffer_breaks_device)
{
    struct ifix f;

    ifix_init(&f);
    ifix_live(&f);
    CHECK_EQ(virtio_input_press(f.in, INPUT_KEY_POWER), 0);
    add_buffer(&f, 0);
    CHECK(wait_used(1));
    add_buffer(&f, 1);
    CHECK(wait_used(2));
    /* a 4-byte buffer cannot take an event */
    le64_put(ram + (DESC - GBASE) + 16 * 2, BUFS + 16);
    le32_put(ram + (DESC - GBASE) + 16 * 2 + 8, 4);
    le16_put(ram + (DESC - GBASE) + 16 * 2 + 12, VIRTQ_DESC_F_WRITE);
    le16_put(ram + (AVAIL - GBASE) + 4 + 2 * (f.avail_idx % 16), 2);
    f.avail_idx++;
    __atomic_store_n((uint16_t *)(ram + (AVAIL - GBASE) + 2), f.avail_idx, __ATOMIC_RELEASE);
    iW(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 4, 0);
    for (int i = 0; i < 2000 && !virtio_dev_is_broken(f.d); i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    CHECK(virtio_dev_is_broken(f.d));
    CHECK(iR(&f, VIRTIO_MMIO_STATUS, 4) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    ifix_fini(&f);
}

TEST(virtio_input_save_load_pending)
{
    struct ifix a, b;
    uint8_t s[VIRTIO_SAVE_MAX];
    ssize_t n;

    ifix_init(&a);
    ifix_live(&a);
    CHECK_EQ(virtio_input_press(a.in, INPUT_KEY_POWER), 0); /* 4 events wait */
    n = virtio_dev_save(a.d, s, sizeof(s));
    CHECK(n > 0);
    ifix_fini(&a);

    ifix_init(&b); /* clears RAM: the rings are empty again, as the saved guest's were */
    CHECK_EQ(virtio_dev_load(b.d, s, (size_t)n), 0);
    for (unsigned i = 0; i < 4; i++)
        add_buffer(&b, i);
    CHECK(wait_used(4));
    CHECK(event_is(0, INPUT_EV_KEY, INPUT_KEY_POWER, 1));
    CHECK(event_is(2, INPUT_EV_KEY, INPUT_KEY_POWER, 0));
    /* a pending count that does not match the bytes is refused */
    CHECK_EQ(virtio_dev_load(b.d, s, (size_t)n - 8), -EINVAL);
    ifix_fini(&b);
}
