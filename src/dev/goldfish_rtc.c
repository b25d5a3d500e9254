#include "dev/goldfish_rtc.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "base/sbuf.h"

static uint64_t host_now_ns(void)
{
    struct timespec ts;

    /* CLOCK_REALTIME cannot fail with a valid pointer; treat failure as the epoch. */
    if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t rtc_now(const struct goldfish_rtc_state *s)
{
    return host_now_ns() + (uint64_t)s->offset_ns;
}

/* Called with the lock held. */
static void rtc_check_alarm(struct goldfish_rtc *r)
{
    struct goldfish_rtc_state *s = &r->s;

    if (s->alarm_armed && rtc_now(s) >= s->alarm_ns) {
        s->alarm_armed = 0;
        if (s->irq_enabled)
            s->irq_pending = 1;
    }
    irq_line_set(&r->irq, s->irq_pending && s->irq_enabled);
}

void goldfish_rtc_init(struct goldfish_rtc *r, const struct irq_line *irq)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    if (irq)
        r->irq = *irq;
}

void goldfish_rtc_destroy(struct goldfish_rtc *r)
{
    pthread_mutex_destroy(&r->lock);
}

void goldfish_rtc_reset(struct goldfish_rtc *r)
{
    pthread_mutex_lock(&r->lock);
    /* The wall clock keeps the time the guest set, like a battery-backed RTC. */
    int64_t offset = r->s.offset_ns;
    memset(&r->s, 0, sizeof(r->s));
    r->s.offset_ns = offset;
    irq_line_set(&r->irq, 0);
    pthread_mutex_unlock(&r->lock);
}

uint64_t goldfish_rtc_read(void *opaque, uint64_t off, unsigned size)
{
    struct goldfish_rtc *r = opaque;
    struct goldfish_rtc_state *s = &r->s;
    uint64_t val = 0, now;

    if (size != 4)
        return 0;
    pthread_mutex_lock(&r->lock);
    switch (off) {
    case GOLDFISH_RTC_TIME_LOW:
        now = rtc_now(s);
        s->time_high = (uint32_t)(now >> 32);
        val = (uint32_t)now;
        break;
    case GOLDFISH_RTC_TIME_HIGH: val = s->time_high; break;
    case GOLDFISH_RTC_ALARM_LOW: val = (uint32_t)s->alarm_ns; break;
    case GOLDFISH_RTC_ALARM_HIGH: val = (uint32_t)(s->alarm_ns >> 32); break;
    case GOLDFISH_RTC_IRQ_ENABLED: val = s->irq_enabled; break;
    case GOLDFISH_RTC_ALARM_STATUS: val = s->alarm_armed; break;
    default: break;
    }
    rtc_check_alarm(r);
    pthread_mutex_unlock(&r->lock);
    return val;
}

void goldfish_rtc_write(void *opaque, uint64_t off, unsigned size, uint64_t val64)
{
    struct goldfish_rtc *r = opaque;
    struct goldfish_rtc_state *s = &r->s;
    uint32_t val = (uint32_t)val64;

    if (size != 4)
        return;
    pthread_mutex_lock(&r->lock);
    switch (off) {
    case GOLDFISH_RTC_TIME_LOW:
        s->offset_ns = (int64_t)((((uint64_t)s->set_high << 32) | val) - host_now_ns());
        break;
    case GOLDFISH_RTC_TIME_HIGH: s->set_high = val; break;
    case GOLDFISH_RTC_ALARM_LOW:
        s->alarm_ns = ((uint64_t)s->alarm_high << 32) | val;
        s->alarm_armed = 1;
        break;
    case GOLDFISH_RTC_ALARM_HIGH: s->alarm_high = val; break;
    case GOLDFISH_RTC_IRQ_ENABLED: s->irq_enabled = val & 1; break;
    case GOLDFISH_RTC_CLEAR_ALARM: s->alarm_armed = 0; break;
    case GOLDFISH_RTC_CLEAR_INTERRUPT: s->irq_pending = 0; break;
    default: break;
    }
    rtc_check_alarm(r);
    pthread_mutex_unlock(&r->lock);
}

ssize_t goldfish_rtc_save(struct goldfish_rtc *r, void *buf, size_t cap)
{
    struct sbuf b = sbuf_writer(buf, cap);
    const struct goldfish_rtc_state *s = &r->s;

    pthread_mutex_lock(&r->lock);
    sbuf_put(&b, GOLDFISH_RTC_SAVE_VERSION, 4);
    sbuf_put(&b, (uint64_t)s->offset_ns, 8);
    sbuf_put(&b, s->time_high, 4);
    sbuf_put(&b, s->set_high, 4);
    sbuf_put(&b, s->alarm_ns, 8);
    sbuf_put(&b, s->alarm_high, 4);
    sbuf_put(&b, s->alarm_armed, 1);
    sbuf_put(&b, s->irq_enabled, 1);
    sbuf_put(&b, s->irq_pending, 1);
    pthread_mutex_unlock(&r->lock);
    return sbuf_result(&b);
}

int goldfish_rtc_load(struct goldfish_rtc *r, const void *buf, size_t len)
{
    struct sbuf b = sbuf_reader(buf, len);
    struct goldfish_rtc_state s;

    if (sbuf_get(&b, 4) != GOLDFISH_RTC_SAVE_VERSION)
        return -EINVAL;
    s.offset_ns = (int64_t)sbuf_get(&b, 8);
    s.time_high = (uint32_t)sbuf_get(&b, 4);
    s.set_high = (uint32_t)sbuf_get(&b, 4);
    s.alarm_ns = sbuf_get(&b, 8);
    s.alarm_high = (uint32_t)sbuf_get(&b, 4);
    s.alarm_armed = (uint8_t)sbuf_get(&b, 1);
    s.irq_enabled = (uint8_t)sbuf_get(&b, 1);
    s.irq_pending = (uint8_t)sbuf_get(&b, 1);
    if (!sbuf_done(&b) || s.alarm_armed > 1 || s.irq_enabled > 1 || s.irq_pending > 1)
        return -EINVAL;
    pthread_mutex_lock(&r->lock);
    r->s = s;
    rtc_check_alarm(r);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

const struct bus_ops goldfish_rtc_bus_ops = {
    .read = goldfish_rtc_read,
    .write = goldfish_rtc_write,
};
