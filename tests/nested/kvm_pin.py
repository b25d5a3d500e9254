#!/usr/bin/env python3
"""Holds KVM's APIC static keys steady in L1 for the whole job (tests/nested/nested.py).

L1 runs under QEMU's multi-threaded TCG. KVM flips two static keys, apic_sw_disabled and
apic_hw_disabled, whenever the number of vCPUs whose local APIC is software- or
hardware-disabled goes between 0 and 1: each L2 guest boot does (its vCPUs start with the APIC
software-disabled until the guest enables it), and the kernel then live-patches the code behind
those keys (text_poke_bp: int3, sync, rest, sync). Under TCG another L1 CPU sometimes runs a
stale int3 after the patch finished, and L1 dies ("Oops: int3" in kvm_arch_vcpu_ioctl_run or
apic_has_pending_timer, then "Kernel panic - not syncing"). That happened in about half the runs
of test_x86_linux.py.

This process creates one VM with an in-kernel irqchip and two vCPUs that never run: the first
keeps its APIC software-disabled (as created), the second's APIC is hardware-disabled through
its APIC base MSR. Both counts then stay above 0 until the job ends, so KVM patches those keys
once, here, before any guest runs, and never while L2 guests run. It prints "kvm-pin: ready"
and sleeps until it is killed (L1 powers off after the job).
"""
import fcntl
import os
import signal
import struct
import sys

KVM_CREATE_VM = 0xAE01
KVM_CREATE_IRQCHIP = 0xAE60
KVM_CREATE_VCPU = 0xAE41
KVM_SET_MSRS = 0x4008AE89  # _IOW(KVMIO, 0x89, struct kvm_msrs): 8 bytes of header
MSR_IA32_APICBASE = 0x1B


def main():
    kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
    fcntl.ioctl(vm, KVM_CREATE_IRQCHIP, 0)
    fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)  # APIC software-disabled from its reset
    vcpu1 = fcntl.ioctl(vm, KVM_CREATE_VCPU, 1)
    # struct kvm_msrs {u32 nmsrs, pad} + struct kvm_msr_entry {u32 index, reserved; u64 data}:
    # the APIC at its default base with the global enable bit (11) clear
    msrs = bytearray(struct.pack("<IIIIQ", 1, 0, MSR_IA32_APICBASE, 0, 0xFEE00000))
    if fcntl.ioctl(vcpu1, KVM_SET_MSRS, msrs) != 1:
        sys.exit("kvm-pin: KVM_SET_MSRS of the APIC base failed")
    print("kvm-pin: ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    try:
        main()
    except OSError as e:
        sys.exit("kvm-pin: %s" % e)
