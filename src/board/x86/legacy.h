/* The x86 board's small legacy devices on port I/O: the i8042 keyboard controller (only its
 * reset line), the CMOS RTC, and the ACPI PM1a event/control blocks (S5 power-off and the
 * fixed-feature power button: PWRBTN_STS/PWRBTN_EN raise the SCI). Devices signal the board
 * through one action callback; they never stop the VM themselves. */
#ifndef VESSEL_BOARD_X86_LEGACY_H
#define VESSEL_BOARD_X86_LEGACY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bus/bus.h"
#include "dev/irq.h"

enum x86_action { X86_ACT_POWEROFF, X86_ACT_RESET };

struct x86_legacy {
    void (*action)(void *opaque, enum x86_action act);
    void *opaque;
    pthread_mutex_t lock;
    /* CMOS: index register and 128 bytes of RAM (clock registers are computed on read) */
    uint8_t cmos_index;
    uint8_t cmos[128];
    /* ACPI PM1a */
    uint16_t pm1_sts, pm1_en, pm1_cnt;
    struct irq_line sci; /* level, active high (the MADT's override for IRQ 9) */
};

/* PM1 status and enable bits (ACPI 6.5, 4.8.3.1): the fixed-feature power button is the only
 * event source; its status bit is what raises the SCI (with its enable bit). */
#define ACPI_PM1_PWRBTN 0x0100

extern const struct bus_ops x86_i8042_ops; /* ports 0x60..0x64 (window of 5) */
extern const struct bus_ops x86_cmos_ops;  /* ports 0x70..0x71 */
extern const struct bus_ops x86_pm_ops;    /* PM1a_EVT (4 bytes) then PM1a_CNT (2 bytes) */
extern const struct bus_ops x86_sink_ops;  /* reads 0xff.., ignores writes (port 0x80) */

void x86_legacy_init(struct x86_legacy *l, void (*action)(void *, enum x86_action), void *opaque,
                     const struct irq_line *sci);
void x86_legacy_destroy(struct x86_legacy *l);
/* A guest reset: the ACPI PM registers to power-on (SCI low); CMOS RAM keeps its bytes (as on a
 * PC). */
void x86_legacy_reset(struct x86_legacy *l);
/* Presses the power button: PWRBTN_STS set, the SCI raised while the guest enabled it. Any
 * thread. */
void x86_pm_power_button(struct x86_legacy *l);
/* Drives the SCI from the PM1 registers again (after a restore). */
void x86_pm_update_sci(struct x86_legacy *l);

/* Snapshot state (each a u32 version X86_LEGACY_SAVE_VERSION first; the i8042 has none):
 *   CMOS: u8 index, 128 bytes of CMOS RAM (the clock registers follow the host either way);
 *   PM:   u16 pm1_sts, pm1_en, pm1_cnt (refused: status bits other than PWRBTN_STS).
 * Saves write exactly *_SAVE_LEN bytes; loads return 0 or -EINVAL (another version or length,
 * or impossible values) and change nothing then. */
#define X86_LEGACY_SAVE_VERSION 1
#define X86_CMOS_SAVE_LEN       (4 + 1 + 128)
#define X86_PM_SAVE_LEN         (4 + 6)
void x86_cmos_save(struct x86_legacy *l, uint8_t *buf);
int x86_cmos_load(struct x86_legacy *l, const uint8_t *buf, size_t len);
void x86_pm_save(struct x86_legacy *l, uint8_t *buf);
int x86_pm_load(struct x86_legacy *l, const uint8_t *buf, size_t len);

/* CMOS clock values for a broken-down UTC time, BCD as Linux's default (exposed for tests). */
uint8_t x86_cmos_bcd(unsigned v);
/* t (seconds since the Epoch) as UTC in tm's date and time fields and tm_wday. Plain arithmetic:
 * glibc's gmtime_r reads /etc/localtime on its first call, which a vCPU thread under its
 * seccomp allow-list may not open. */
void x86_utc_time(int64_t t, struct tm *tm);

#endif
