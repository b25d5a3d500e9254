/* Section payloads of the kvm engine's state (savestate.h): encode, decode, validate. */
#include "engine/kvm/savestate.h"

#include <errno.h>
#include <string.h>

#include "base/le.h"

/* PIT read/write states and modes as the in-kernel i8254 keeps them */
#define PIT_RW_STATE_MAX 4 /* LSB 1, MSB 2, WORD0 3, WORD1 4 */
#define PIT_MODE_MAX     5
#define PIT_MODE_UNSET   0xff /* a channel the guest never programmed */
#define PIT_FLAGS_KNOWN  (KVM_PIT_FLAGS_HPET_LEGACY | KVM_PIT_FLAGS_SPEAKER_DATA_ON)

/* The version and length every payload starts with. */
static int header_ok(const uint8_t *buf, size_t len, size_t want)
{
    return len == want && le32_get(buf) == KVM_SAVE_VERSION;
}

/* --- 8259 PIC: the 16 bytes of struct kvm_pic_state in order --- */

void kvm_pic_save(const struct kvm_pic_state *s, uint8_t *buf)
{
    const uint8_t f[16] = {s->last_irr,
                           s->irr,
                           s->imr,
                           s->isr,
                           s->priority_add,
                           s->irq_base,
                           s->read_reg_select,
                           s->poll,
                           s->special_mask,
                           s->init_state,
                           s->auto_eoi,
                           s->rotate_on_auto_eoi,
                           s->special_fully_nested_mode,
                           s->init4,
                           s->elcr,
                           s->elcr_mask};

    le32_put(buf, KVM_SAVE_VERSION);
    memcpy(buf + 4, f, sizeof(f));
}

int kvm_pic_load(struct kvm_pic_state *s, const uint8_t *buf, size_t len)
{
    const uint8_t *f = buf + 4;

    if (!header_ok(buf, len, KVM_PIC_SAVE_LEN))
        return -EINVAL;
    /* priority_add is a rotation (0..7); the flags are booleans; init_state counts ICWs */
    if (f[4] > 7 || f[6] > 1 || f[7] > 1 || f[8] > 1 || f[9] > 3 || f[10] > 1 || f[11] > 1 ||
        f[12] > 1 || f[13] > 1)
        return -EINVAL;
    *s = (struct kvm_pic_state){.last_irr = f[0],
                                .irr = f[1],
                                .imr = f[2],
                                .isr = f[3],
                                .priority_add = f[4],
                                .irq_base = f[5],
                                .read_reg_select = f[6],
                                .poll = f[7],
                                .special_mask = f[8],
                                .init_state = f[9],
                                .auto_eoi = f[10],
                                .rotate_on_auto_eoi = f[11],
                                .special_fully_nested_mode = f[12],
                                .init4 = f[13],
                                .elcr = f[14],
                                .elcr_mask = f[15]};
    return 0;
}

/* --- IOAPIC: u64 base, u32 ioregsel, u32 id, u32 irr, 24 x u64 redirection entries --- */

void kvm_ioapic_save(const struct kvm_ioapic_state *s, uint8_t *buf)
{
    le32_put(buf, KVM_SAVE_VERSION);
    le64_put(buf + 4, s->base_address);
    le32_put(buf + 12, s->ioregsel);
    le32_put(buf + 16, s->id);
    le32_put(buf + 20, s->irr);
    for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
        le64_put(buf + 24 + 8 * i, s->redirtbl[i].bits);
}

int kvm_ioapic_load(struct kvm_ioapic_state *s, const uint8_t *buf, size_t len)
{
    struct kvm_ioapic_state t;

    if (!header_ok(buf, len, KVM_IOAPIC_SAVE_LEN))
        return -EINVAL;
    memset(&t, 0, sizeof(t));
    t.base_address = le64_get(buf + 4);
    t.ioregsel = le32_get(buf + 12);
    t.id = le32_get(buf + 16);
    t.irr = le32_get(buf + 20);
    for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
        t.redirtbl[i].bits = le64_get(buf + 24 + 8 * i);
    /* KVM's IOAPIC cannot move; its select register is 8 bits, its ID 4, one IRR bit a pin */
    if (t.base_address != KVM_IOAPIC_BASE || t.ioregsel > 0xff || t.id > 0xf ||
        (t.irr >> KVM_IOAPIC_NUM_PINS))
        return -EINVAL;
    *s = t;
    return 0;
}

/* --- 8254 PIT: u32 flags, then per channel u32 count, u16 latched_count, the bytes
 * count_latched, status_latched, status, read_state, write_state, write_latch, rw_mode, mode,
 * bcd, gate, and i64 count_load_time --- */

void kvm_pit_save(const struct kvm_pit_state2 *s, uint8_t *buf)
{
    le32_put(buf, KVM_SAVE_VERSION);
    le32_put(buf + 4, s->flags);
    for (int i = 0; i < 3; i++) {
        const struct kvm_pit_channel_state *c = &s->channels[i];
        uint8_t *p = buf + 8 + KVM_PIT_CHAN_LEN * i;
        const uint8_t b[10] = {
            c->count_latched, c->status_latched, c->status, c->read_state, c->write_state,
            c->write_latch,   c->rw_mode,        c->mode,   c->bcd,        c->gate};
        le32_put(p, c->count);
        le16_put(p + 4, c->latched_count);
        memcpy(p + 6, b, sizeof(b));
        le64_put(p + 16, (uint64_t)c->count_load_time);
    }
}

int kvm_pit_load(struct kvm_pit_state2 *s, const uint8_t *buf, size_t len)
{
    struct kvm_pit_state2 t;

    if (!header_ok(buf, len, KVM_PIT_SAVE_LEN))
        return -EINVAL;
    memset(&t, 0, sizeof(t));
    t.flags = le32_get(buf + 4);
    if (t.flags & ~(uint32_t)PIT_FLAGS_KNOWN)
        return -EINVAL;
    for (int i = 0; i < 3; i++) {
        struct kvm_pit_channel_state *c = &t.channels[i];
        const uint8_t *p = buf + 8 + KVM_PIT_CHAN_LEN * i, *b = p + 6;

        c->count = le32_get(p);
        c->latched_count = le16_get(p + 4);
        c->count_latched = b[0];
        c->status_latched = b[1];
        c->status = b[2];
        c->read_state = b[3];
        c->write_state = b[4];
        c->write_latch = b[5];
        c->rw_mode = b[6];
        c->mode = b[7];
        c->bcd = b[8];
        c->gate = b[9];
        c->count_load_time = (int64_t)le64_get(p + 16);
        /* a 16-bit counter (65536 written as 0); the states and modes the 8254 has */
        if (c->count > 0x10000 || c->count_latched > PIT_RW_STATE_MAX || c->status_latched > 1 ||
            c->read_state > PIT_RW_STATE_MAX || c->write_state > PIT_RW_STATE_MAX ||
            c->rw_mode > 3 || (c->mode > PIT_MODE_MAX && c->mode != PIT_MODE_UNSET) || c->bcd > 1 ||
            c->gate > 1)
            return -EINVAL;
    }
    *s = t;
    return 0;
}

/* --- kvmclock: u32 flags (0), u64 nanoseconds --- */

void kvm_clock_save(uint64_t clock_ns, uint8_t *buf)
{
    le32_put(buf, KVM_SAVE_VERSION);
    le32_put(buf + 4, 0);
    le64_put(buf + 8, clock_ns);
}

int kvm_clock_load(uint64_t *clock_ns, const uint8_t *buf, size_t len)
{
    if (!header_ok(buf, len, KVM_CLOCK_SAVE_LEN) || le32_get(buf + 4) != 0)
        return -EINVAL;
    *clock_ns = le64_get(buf + 8);
    return 0;
}

/* --- a vCPU --- */

void kvm_vcpu_save(const struct kvm_vcpu_state *s, uint8_t *buf)
{
    le32_put(buf, KVM_SAVE_VERSION);
    le32_put(buf + 4, (uint32_t)sizeof(*s));
    memcpy(buf + 8, s, sizeof(*s));
}

int kvm_vcpu_load(struct kvm_vcpu_state *s, const uint8_t *buf, size_t len)
{
    struct kvm_vcpu_state t;

    if (!header_ok(buf, len, KVM_VCPU_SAVE_LEN) || le32_get(buf + 4) != sizeof(t))
        return -EINVAL;
    memcpy(&t, buf + 8, sizeof(t));
    /* The kernel checks registers, segments and the LAPIC itself; the count is ours. */
    if (t.nmsrs > KVM_STATE_MAX_MSRS || t.mp_state.mp_state > KVM_MP_STATE_SIPI_RECEIVED)
        return -EINVAL;
    *s = t;
    return 0;
}
