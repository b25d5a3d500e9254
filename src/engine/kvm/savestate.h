/* The kvm engine's state as section payloads of the state format (docs/state-format.md,
 * "kvm payloads"): explicit little-endian layouts of the in-kernel PIC, IOAPIC, PIT and
 * kvmclock, and one vCPU's state. Each payload starts with a u32 version (KVM_SAVE_VERSION);
 * a load refuses another version, another length and values the hardware cannot hold. Pure
 * functions: no /dev/kvm needed. */
#ifndef VESSEL_ENGINE_KVM_SAVESTATE_H
#define VESSEL_ENGINE_KVM_SAVESTATE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/kvm/kvm.h"

#define KVM_SAVE_VERSION 1

#define KVM_PIC_SAVE_LEN    (4 + 16)
#define KVM_IOAPIC_SAVE_LEN (4 + 8 + 4 + 4 + 4 + KVM_IOAPIC_NUM_PINS * 8)
#define KVM_PIT_CHAN_LEN    (4 + 2 + 10 + 8)
#define KVM_PIT_SAVE_LEN    (4 + 4 + 3 * KVM_PIT_CHAN_LEN)
#define KVM_CLOCK_SAVE_LEN  (4 + 4 + 8)
#define KVM_VCPU_SAVE_LEN   (4 + 4 + sizeof(struct kvm_vcpu_state))

/* Where KVM's in-kernel IOAPIC always is. */
#define KVM_IOAPIC_BASE 0xfec00000ULL

/* Each save writes exactly its *_SAVE_LEN bytes into buf; each load returns 0 or -EINVAL
 * (another version or length, or an impossible value) and leaves *s unchanged on failure. */
void kvm_pic_save(const struct kvm_pic_state *s, uint8_t *buf);
int kvm_pic_load(struct kvm_pic_state *s, const uint8_t *buf, size_t len);
void kvm_ioapic_save(const struct kvm_ioapic_state *s, uint8_t *buf);
int kvm_ioapic_load(struct kvm_ioapic_state *s, const uint8_t *buf, size_t len);
void kvm_pit_save(const struct kvm_pit_state2 *s, uint8_t *buf);
int kvm_pit_load(struct kvm_pit_state2 *s, const uint8_t *buf, size_t len);
/* kvmclock: the guest's clock in nanoseconds (struct kvm_clock_data's clock). */
void kvm_clock_save(uint64_t clock_ns, uint8_t *buf);
int kvm_clock_load(uint64_t *clock_ns, const uint8_t *buf, size_t len);
/* A vCPU: u32 version, u32 sizeof(struct kvm_vcpu_state), then the struct as in memory (the
 * kernel's uapi structs kvm_regs, kvm_sregs, kvm_xsave, kvm_xcrs, kvm_lapic_state,
 * kvm_vcpu_events, kvm_mp_state, kvm_debugregs, then u32 nmsrs and the MSR entries). */
void kvm_vcpu_save(const struct kvm_vcpu_state *s, uint8_t *buf);
int kvm_vcpu_load(struct kvm_vcpu_state *s, const uint8_t *buf, size_t len);

#endif
