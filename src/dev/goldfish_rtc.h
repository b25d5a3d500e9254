/* Goldfish RTC: nanoseconds since the epoch from the host's realtime clock, guest-settable
 * through an offset. The alarm is checked lazily on register accesses (no timer thread yet):
 * Linux reads and writes it without trouble; a future alarm simply never fires early. */
#ifndef VESSEL_DEV_GOLDFISH_RTC_H
#define VESSEL_DEV_GOLDFISH_RTC_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bus/bus.h"
#include "dev/irq.h"

#define GOLDFISH_RTC_TIME_LOW        0x00
#define GOLDFISH_RTC_TIME_HIGH       0x04
#define GOLDFISH_RTC_ALARM_LOW       0x08
#define GOLDFISH_RTC_ALARM_HIGH      0x0c
#define GOLDFISH_RTC_IRQ_ENABLED     0x10
#define GOLDFISH_RTC_CLEAR_ALARM     0x14
#define GOLDFISH_RTC_ALARM_STATUS    0x18
#define GOLDFISH_RTC_CLEAR_INTERRUPT 0x1c

struct goldfish_rtc_state {
    int64_t offset_ns;  /* guest time minus host realtime */
    uint32_t time_high; /* latched by a TIME_LOW read */
    uint32_t set_high;  /* TIME_HIGH written, applied by the TIME_LOW write */
    uint64_t alarm_ns;
    uint32_t alarm_high; /* ALARM_HIGH written, applied by the ALARM_LOW write */
    uint8_t alarm_armed, irq_enabled, irq_pending;
};

struct goldfish_rtc {
    pthread_mutex_t lock;
    struct goldfish_rtc_state s;
    struct irq_line irq;
};

extern const struct bus_ops goldfish_rtc_bus_ops;

void goldfish_rtc_init(struct goldfish_rtc *r, const struct irq_line *irq);
void goldfish_rtc_destroy(struct goldfish_rtc *r);
void goldfish_rtc_reset(struct goldfish_rtc *r);

/* Snapshot state (version GOLDFISH_RTC_SAVE_VERSION): u32 version, i64 offset_ns (guest wall
 * clock minus host realtime: a restored guest's RTC keeps following real time), u32 time_high,
 * u32 set_high, u64 alarm_ns, u32 alarm_high, u8 alarm_armed, irq_enabled, irq_pending. load
 * drives the interrupt line; 0 or -EINVAL. */
#define GOLDFISH_RTC_SAVE_VERSION 1
#define GOLDFISH_RTC_SAVE_MAX     35
ssize_t goldfish_rtc_save(struct goldfish_rtc *r, void *buf, size_t cap);
int goldfish_rtc_load(struct goldfish_rtc *r, const void *buf, size_t len);

uint64_t goldfish_rtc_read(void *opaque, uint64_t off, unsigned size);
void goldfish_rtc_write(void *opaque, uint64_t off, unsigned size, uint64_t val);

#endif
