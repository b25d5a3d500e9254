#include <time.h>

#include "backend/chardev/stdio.h"
#include "board/riscv/syscon.h"
#include "dev/goldfish_rtc.h"
#include "harness.h"

static int last_act = -1;
static uint32_t last_code;

static void fake_action(void *opaque, enum syscon_action act, uint32_t code)
{
    last_act = (int)act;
    last_code = code;
}

TEST(syscon_actions)
{
    struct syscon sc;

    syscon_init(&sc, fake_action, NULL);
    syscon_bus_ops.write(&sc, 0, 4, 0x1234);
    CHECK_EQ(last_act, -1);
    syscon_bus_ops.write(&sc, 0, 4, 0x5555);
    CHECK_EQ(last_act, SYSCON_ACT_POWEROFF);
    syscon_bus_ops.write(&sc, 0, 4, 0x7777);
    CHECK_EQ(last_act, SYSCON_ACT_REBOOT);
    syscon_bus_ops.write(&sc, 0, 4, (42u << 16) | 0x3333);
    CHECK_EQ(last_act, SYSCON_ACT_FAIL);
    CHECK_EQ(last_code, 42);
    last_act = -1;
    syscon_bus_ops.write(&sc, 8, 4, 0x5555); /* other offsets do nothing */
    CHECK_EQ(last_act, -1);
    CHECK_EQ(syscon_bus_ops.read(&sc, 0, 4), 0);
}

static int rtc_irq;

static void fake_rtc_irq(void *opaque, int line, int level)
{
    rtc_irq = level;
}

TEST(goldfish_rtc_time_and_alarm)
{
    const struct irq_line irq = {fake_rtc_irq, NULL, 11};
    struct goldfish_rtc r;
    struct timespec ts;
    uint64_t lo, hi, t, host;

    goldfish_rtc_init(&r, &irq);
    clock_gettime(CLOCK_REALTIME, &ts);
    host = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    lo = goldfish_rtc_read(&r, GOLDFISH_RTC_TIME_LOW, 4);
    hi = goldfish_rtc_read(&r, GOLDFISH_RTC_TIME_HIGH, 4);
    t = hi << 32 | lo;
    CHECK(t >= host && t - host < 5000000000ULL);
    /* the guest sets the clock to 1000 s after the epoch */
    goldfish_rtc_write(&r, GOLDFISH_RTC_TIME_HIGH, 4, (1000000000000ULL >> 32));
    goldfish_rtc_write(&r, GOLDFISH_RTC_TIME_LOW, 4, (uint32_t)1000000000000ULL);
    lo = goldfish_rtc_read(&r, GOLDFISH_RTC_TIME_LOW, 4);
    hi = goldfish_rtc_read(&r, GOLDFISH_RTC_TIME_HIGH, 4);
    t = hi << 32 | lo;
    CHECK(t >= 1000000000000ULL && t < 1005000000000ULL);
    /* an alarm in the past fires at once; clearing the interrupt lowers the line */
    goldfish_rtc_write(&r, GOLDFISH_RTC_IRQ_ENABLED, 4, 1);
    goldfish_rtc_write(&r, GOLDFISH_RTC_ALARM_HIGH, 4, 0);
    goldfish_rtc_write(&r, GOLDFISH_RTC_ALARM_LOW, 4, 5);
    CHECK_EQ(rtc_irq, 1);
    CHECK_EQ(goldfish_rtc_read(&r, GOLDFISH_RTC_ALARM_STATUS, 4), 0);
    goldfish_rtc_write(&r, GOLDFISH_RTC_CLEAR_INTERRUPT, 4, 1);
    CHECK_EQ(rtc_irq, 0);
    /* a future alarm stays armed until cleared */
    goldfish_rtc_write(&r, GOLDFISH_RTC_ALARM_HIGH, 4, 0xffffffff);
    goldfish_rtc_write(&r, GOLDFISH_RTC_ALARM_LOW, 4, 0);
    CHECK_EQ(goldfish_rtc_read(&r, GOLDFISH_RTC_ALARM_STATUS, 4), 1);
    CHECK_EQ(rtc_irq, 0);
    goldfish_rtc_write(&r, GOLDFISH_RTC_CLEAR_ALARM, 4, 1);
    CHECK_EQ(goldfish_rtc_read(&r, GOLDFISH_RTC_ALARM_STATUS, 4), 0);
    CHECK_EQ(goldfish_rtc_read(&r, 0x100, 4), 0);
    goldfish_rtc_destroy(&r);
}

TEST(chardev_escape_keys)
{
    struct chardev_escape e = {0};
    uint8_t out[32];
    int quit = 0, help = 0;
    unsigned n;

    n = chardev_escape_filter(&e, (const uint8_t *)"ls\r", 3, out, &quit, &help);
    CHECK_EQ(n, 3);
    CHECK_EQ(quit, 0);
    /* C-a C-a: one literal C-a; C-a b: both bytes */
    n = chardev_escape_filter(&e, (const uint8_t *)"\001\001\001b", 4, out, &quit, &help);
    CHECK_EQ(n, 3);
    CHECK_EQ(out[0], 1);
    CHECK_EQ(out[1], 1);
    CHECK_EQ(out[2], 'b');
    /* an escape split across two reads */
    n = chardev_escape_filter(&e, (const uint8_t *)"a\001", 2, out, &quit, &help);
    CHECK_EQ(n, 1);
    n = chardev_escape_filter(&e, (const uint8_t *)"h", 1, out, &quit, &help);
    CHECK_EQ(n, 0);
    CHECK_EQ(help, 1);
    n = chardev_escape_filter(&e, (const uint8_t *)"\001x", 2, out, &quit, &help);
    CHECK_EQ(n, 0);
    CHECK_EQ(quit, 1);
}
