/* i8042 reset line, CMOS RTC (time of day from the host clock, BCD, 24-hour) and the ACPI PM1a
 * registers. */
#include "base/le.h"
#include "board/x86/legacy.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "board/x86/acpi.h"
#include "board/x86/layout.h"

#define I8042_CMD_RESET 0xfe
#define I8042_STS_SYS   0x04 /* system flag: self-test passed */

#define CMOS_SEC      0x00
#define CMOS_MIN      0x02
#define CMOS_HOUR     0x04
#define CMOS_WDAY     0x06
#define CMOS_MDAY     0x07
#define CMOS_MON      0x08
#define CMOS_YEAR     0x09
#define CMOS_STATUS_A 0x0a
#define CMOS_STATUS_B 0x0b
#define CMOS_STATUS_C 0x0c
#define CMOS_STATUS_D 0x0d
#define CMOS_CENTURY  0x32

#define PM1_EVT_OFF 0 /* status (2) + enable (2) */
#define PM1_CNT_OFF (X86_PORT_PM1A_CNT - X86_PORT_PM1A_EVT)

void x86_legacy_init(struct x86_legacy *l, void (*action)(void *, enum x86_action), void *opaque,
                     const struct irq_line *sci)
{
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
    l->action = action;
    l->opaque = opaque;
    l->sci = *sci;
    l->cmos[CMOS_STATUS_A] = 0x26; /* 32.768 kHz time base, 1024 Hz rate */
    l->cmos[CMOS_STATUS_B] = 0x02; /* 24-hour, BCD */
    l->cmos[CMOS_STATUS_D] = 0x80; /* RAM and time valid */
    x86_legacy_reset(l);
}

void x86_legacy_destroy(struct x86_legacy *l)
{
    pthread_mutex_destroy(&l->lock);
}

/* Lock held (so that two threads never leave the line at a stale level): the SCI is up while an
 * enabled event's status bit is set. */
static void sci_update(struct x86_legacy *l)
{
    irq_line_set(&l->sci, (l->pm1_sts & l->pm1_en & ACPI_PM1_PWRBTN) != 0);
}

void x86_legacy_reset(struct x86_legacy *l)
{
    pthread_mutex_lock(&l->lock);
    l->cmos_index = 0; /* CMOS RAM survives a reset, as on a PC */
    l->pm1_sts = l->pm1_en = 0;
    l->pm1_cnt = ACPI_PM1_CNT_SCI_EN;
    sci_update(l);
    pthread_mutex_unlock(&l->lock);
}

void x86_pm_power_button(struct x86_legacy *l)
{
    pthread_mutex_lock(&l->lock);
    l->pm1_sts |= ACPI_PM1_PWRBTN;
    sci_update(l);
    pthread_mutex_unlock(&l->lock);
}

void x86_pm_update_sci(struct x86_legacy *l)
{
    pthread_mutex_lock(&l->lock);
    sci_update(l);
    pthread_mutex_unlock(&l->lock);
}

/* --- i8042 --- */

static uint64_t i8042_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque;
    if (off == X86_PORT_I8042_CMD - X86_PORT_I8042_DATA)
        return I8042_STS_SYS; /* nothing to read, ready for commands */
    return 0;
}

static void i8042_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct x86_legacy *l = opaque;

    if (off == X86_PORT_I8042_CMD - X86_PORT_I8042_DATA && (val & 0xff) == I8042_CMD_RESET)
        l->action(l->opaque, X86_ACT_RESET);
}

const struct bus_ops x86_i8042_ops = {.read = i8042_read, .write = i8042_write};

/* --- CMOS RTC --- */

uint8_t x86_cmos_bcd(unsigned v)
{
    return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

void x86_utc_time(int64_t t, struct tm *tm)
{
    int64_t days = t / 86400, secs = t % 86400, z, era, doe, yoe, doy, mp, y;

    if (secs < 0)
        secs += 86400, days--;
    memset(tm, 0, sizeof(*tm));
    tm->tm_hour = (int)(secs / 3600);
    tm->tm_min = (int)(secs / 60 % 60);
    tm->tm_sec = (int)(secs % 60);
    tm->tm_wday = (int)(((days + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    /* the day count to a proleptic Gregorian date, in 400-year eras starting on 0000-03-01 */
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;                                      /* day of the era */
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* year of the era */
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* day of the year from March */
    mp = (5 * doy + 2) / 153;                                    /* month from March, 0..11 */
    tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    tm->tm_mon = (int)(mp < 10 ? mp + 2 : mp - 10);
    y = yoe + era * 400 + (tm->tm_mon < 2);
    tm->tm_year = (int)(y - 1900);
}

static uint8_t cmos_clock(const struct x86_legacy *l, uint8_t reg)
{
    struct tm tm;
    int bin = l->cmos[CMOS_STATUS_B] & 0x04;
    unsigned v;

    x86_utc_time((int64_t)time(NULL), &tm);
    switch (reg) {
    case CMOS_SEC: v = (unsigned)tm.tm_sec; break;
    case CMOS_MIN: v = (unsigned)tm.tm_min; break;
    case CMOS_HOUR: v = (unsigned)tm.tm_hour; break;
    case CMOS_WDAY: v = (unsigned)tm.tm_wday + 1; break;
    case CMOS_MDAY: v = (unsigned)tm.tm_mday; break;
    case CMOS_MON: v = (unsigned)tm.tm_mon + 1; break;
    case CMOS_YEAR: v = (unsigned)(tm.tm_year % 100); break;
    default: v = (unsigned)(tm.tm_year + 1900) / 100; break; /* century */
    }
    return bin ? (uint8_t)v : x86_cmos_bcd(v);
}

static uint64_t cmos_read(void *opaque, uint64_t off, unsigned size)
{
    struct x86_legacy *l = opaque;
    uint8_t v, reg;

    if (off == 0)
        return 0xff; /* the index port is write-only */
    pthread_mutex_lock(&l->lock);
    reg = l->cmos_index & 0x7f;
    switch (reg) {
    case CMOS_SEC:
    case CMOS_MIN:
    case CMOS_HOUR:
    case CMOS_WDAY:
    case CMOS_MDAY:
    case CMOS_MON:
    case CMOS_YEAR:
    case CMOS_CENTURY: v = cmos_clock(l, reg); break;
    case CMOS_STATUS_A: v = l->cmos[reg] & 0x7f; break; /* never "update in progress" */
    case CMOS_STATUS_C: v = 0; break;                   /* no interrupts pending */
    default: v = l->cmos[reg]; break;
    }
    pthread_mutex_unlock(&l->lock);
    return v;
}

static void cmos_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct x86_legacy *l = opaque;
    uint8_t reg;

    pthread_mutex_lock(&l->lock);
    if (off == 0) {
        l->cmos_index = (uint8_t)val; /* bit 7 masks NMI; ignored */
    } else {
        reg = l->cmos_index & 0x7f;
        /* the clock follows the host; C and D are read-only */
        if (reg > CMOS_YEAR && reg != CMOS_STATUS_C && reg != CMOS_STATUS_D && reg != CMOS_CENTURY)
            l->cmos[reg] = (uint8_t)val;
    }
    pthread_mutex_unlock(&l->lock);
}

const struct bus_ops x86_cmos_ops = {.read = cmos_read, .write = cmos_write};

/* --- ACPI PM1a --- */

static uint64_t pm_read(void *opaque, uint64_t off, unsigned size)
{
    struct x86_legacy *l = opaque;
    uint8_t regs[6];
    uint64_t v = 0;

    pthread_mutex_lock(&l->lock);
    memcpy(regs, &l->pm1_sts, 2);
    memcpy(regs + 2, &l->pm1_en, 2);
    memcpy(regs + 4, &l->pm1_cnt, 2);
    pthread_mutex_unlock(&l->lock);
    if (off + size <= sizeof(regs))
        memcpy(&v, regs + off, size);
    return v;
}

static void pm_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct x86_legacy *l = opaque;
    uint16_t cnt;
    int act = -1;

    pthread_mutex_lock(&l->lock);
    if (off == PM1_EVT_OFF && size >= 2) {
        l->pm1_sts &= (uint16_t)~val; /* write 1 to clear */
        if (size == 4)
            l->pm1_en = (uint16_t)(val >> 16);
        sci_update(l);
    } else if (off == PM1_EVT_OFF + 2 && size == 2) {
        l->pm1_en = (uint16_t)val;
        sci_update(l);
    } else if (off == PM1_CNT_OFF && size == 2) {
        cnt = (uint16_t)val;
        l->pm1_cnt = (uint16_t)((cnt & ~ACPI_PM1_CNT_SLP_EN) | ACPI_PM1_CNT_SCI_EN);
        if ((cnt & ACPI_PM1_CNT_SLP_EN) &&
            ((cnt & ACPI_PM1_CNT_SLP_TYP_MASK) >> ACPI_PM1_CNT_SLP_TYP_SHIFT) == X86_ACPI_S5_TYPE)
            act = X86_ACT_POWEROFF;
    }
    pthread_mutex_unlock(&l->lock);
    if (act >= 0)
        l->action(l->opaque, (enum x86_action)act);
}

const struct bus_ops x86_pm_ops = {.read = pm_read, .write = pm_write};

/* --- snapshots --- */

void x86_cmos_save(struct x86_legacy *l, uint8_t *buf)
{
    le32_put(buf, X86_LEGACY_SAVE_VERSION);
    pthread_mutex_lock(&l->lock);
    buf[4] = l->cmos_index;
    memcpy(buf + 5, l->cmos, sizeof(l->cmos));
    pthread_mutex_unlock(&l->lock);
}

int x86_cmos_load(struct x86_legacy *l, const uint8_t *buf, size_t len)
{
    /* status D (RAM and time valid) is read-only: anything else was never written by us */
    if (len != X86_CMOS_SAVE_LEN || le32_get(buf) != X86_LEGACY_SAVE_VERSION ||
        buf[5 + CMOS_STATUS_D] != 0x80)
        return -EINVAL;
    pthread_mutex_lock(&l->lock);
    l->cmos_index = buf[4];
    memcpy(l->cmos, buf + 5, sizeof(l->cmos));
    pthread_mutex_unlock(&l->lock);
    return 0;
}

void x86_pm_save(struct x86_legacy *l, uint8_t *buf)
{
    le32_put(buf, X86_LEGACY_SAVE_VERSION);
    pthread_mutex_lock(&l->lock);
    const uint16_t r[3] = {l->pm1_sts, l->pm1_en, l->pm1_cnt};
    for (int i = 0; i < 3; i++) {
        buf[4 + 2 * i] = (uint8_t)r[i];
        buf[5 + 2 * i] = (uint8_t)(r[i] >> 8);
    }
    pthread_mutex_unlock(&l->lock);
}

int x86_pm_load(struct x86_legacy *l, const uint8_t *buf, size_t len)
{
    uint16_t cnt = (uint16_t)(buf[8] | buf[9] << 8);

    /* SCI_EN always reads 1, SLP_EN never stays set (pm_write) and the power button is the only
     * status bit ever set */
    if (len != X86_PM_SAVE_LEN || le32_get(buf) != X86_LEGACY_SAVE_VERSION ||
        !(cnt & ACPI_PM1_CNT_SCI_EN) || (cnt & ACPI_PM1_CNT_SLP_EN) ||
        ((buf[4] | buf[5] << 8) & ~ACPI_PM1_PWRBTN))
        return -EINVAL;
    pthread_mutex_lock(&l->lock);
    l->pm1_sts = (uint16_t)(buf[4] | buf[5] << 8);
    l->pm1_en = (uint16_t)(buf[6] | buf[7] << 8);
    l->pm1_cnt = cnt;
    pthread_mutex_unlock(&l->lock);
    return 0;
}

static uint64_t sink_read(void *opaque, uint64_t off, unsigned size)
{
    return ~0ULL;
}

static void sink_write(void *opaque, uint64_t off, unsigned size, uint64_t val) {}

const struct bus_ops x86_sink_ops = {.read = sink_read, .write = sink_write};
