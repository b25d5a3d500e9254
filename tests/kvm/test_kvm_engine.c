/* The kvm engine's pause/resume, vCPU state get/set and dirty-page log, exercised on /dev/kvm
 * with a tiny 32-bit guest that increments a counter in memory forever. Built as
 * build/kvm-engine-test; prints PASS/FAIL lines and "N passed, N failed"; exits 0 with nothing
 * run when /dev/kvm cannot be opened (the caller reports that as a skip). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus.h"
#include "engine/engine.h"
#include "engine/kvm/kvm.h"
#include "engine/kvm/kvm_int.h"
#include "mem/gmem.h"

#define RAM_SIZE (2u << 20)
#define LOOP_A   0x1000 /* inc dword [COUNT_A]; jmp LOOP_A */
#define LOOP_B   0x1100 /* inc dword [COUNT_B]; jmp LOOP_B */
#define COUNT_A  0x3000
#define COUNT_B  0x4000
#define GDT      0x500

static int passed, failed;

static void check(const char *what, int ok)
{
    printf("%s %s\n", ok ? "PASS" : "FAIL", what);
    if (ok)
        passed++;
    else
        failed++;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void put_loop(uint8_t *ram, uint32_t at, uint32_t counter)
{
    uint8_t code[] = {0xff, 0x05, 0, 0, 0, 0, 0xeb, 0xf8}; /* inc dword [abs32]; jmp -8 */

    memcpy(code + 2, &counter, 4);
    memcpy(ram + at, code, sizeof(code));
}

static uint32_t counter(const uint8_t *ram, uint32_t at)
{
    return __atomic_load_n((const uint32_t *)(ram + at), __ATOMIC_SEQ_CST);
}

static void *run_thread(void *arg)
{
    kvm_engine_run(arg);
    return NULL;
}

static int dirty(const uint64_t *bm, uint32_t addr)
{
    return (bm[(addr >> 12) / 64] >> ((addr >> 12) % 64)) & 1;
}

static void print_dirty(const uint64_t *bm)
{
    printf("     dirty pages:");
    for (uint32_t p = 0; p < RAM_SIZE / 4096; p++)
        if (dirty(bm, p << 12))
            printf(" 0x%x", p << 12);
    printf("\n");
}

int main(void)
{
    static const uint64_t gdt[] = {0, 0x00cf9a000000ffffULL, 0x00cf92000000ffffULL};
    struct kvm_boot_cpu boot = {.rip = LOOP_A,
                                .rsp = 0x8000,
                                .gdt_base = GDT,
                                .gdt_limit = sizeof(gdt) - 1,
                                .cs = 0x08,
                                .ds = 0x10,
                                .tr = 0};
    struct kvm_vcpu_state *st;
    struct kvm_engine *e;
    struct bus pio, mmio;
    struct gmem ram;
    pthread_t th;
    uint64_t bm[(RAM_SIZE / 4096 + 63) / 64];
    uint32_t a1, a2, b1;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        printf("SKIP kvm engine: /dev/kvm cannot be opened\n0 passed, 0 failed\n");
        return 0;
    }
    close(fd);
    bus_init(&pio);
    bus_init(&mmio);
    if (gmem_create(&ram, 0, RAM_SIZE)) {
        printf("FAIL guest RAM\n0 passed, 1 failed\n");
        return 1;
    }
    memcpy(ram.hva + GDT, gdt, sizeof(gdt));
    put_loop(ram.hva, LOOP_A, COUNT_A);
    put_loop(ram.hva, LOOP_B, COUNT_B);
    struct kvm_engine_config cfg = {.ncpus = 1, .pio = &pio, .mmio = &mmio};
    if (kvm_engine_create(&e, &cfg) || kvm_engine_add_memory(e, 0, 0, RAM_SIZE, ram.hva) ||
        kvm_engine_setup_boot_cpu(e, &boot) || kvm_engine_set_dirty_logging(e, true)) {
        printf("FAIL kvm engine set-up (see above)\n0 passed, 1 failed\n");
        return 1;
    }
    pthread_create(&th, NULL, run_thread, e);
    /* The log starts clean once the guest has touched its pages: a first access may count as
     * a write (nested under QEMU's TCG the code page's first fetch is logged). */
    sleep_ms(50);
    check("pause returns", kvm_engine_pause(e) == 0);
    kvm_engine_get_dirty_log(e, 0, bm);
    check("resume returns", kvm_engine_resume(e) == 0);
    sleep_ms(100);
    check("pause returns again", kvm_engine_pause(e) == 0);
    a1 = counter(ram.hva, COUNT_A);
    sleep_ms(100);
    a2 = counter(ram.hva, COUNT_A);
    check("the guest ran before the pause", a1 > 0);
    {
        uint64_t ns = 0, v[ENGINE_COUNTERS_MAX] = {0};
        check("vcpu_stats: CPU time while it runs, the pause's kick counted as an intr exit",
              kvm_engine_vcpu_stats(e, 0, &ns, v) == 0 && ns > 0 && v[KVM_EXITK_INTR] >= 1 &&
                  kvm_engine_exit_count(e) >= v[KVM_EXITK_INTR]);
        check("vcpu_stats: no vCPU 1", kvm_engine_vcpu_stats(e, 1, &ns, v) == -EINVAL);
    }
    check("no progress while paused", a2 == a1);
    check("dirty log read", kvm_engine_get_dirty_log(e, 0, bm) == 0);
    check("the counter's page is dirty, the code's page is not",
          dirty(bm, COUNT_A) && !dirty(bm, LOOP_A) && !dirty(bm, COUNT_B));
    if (!dirty(bm, COUNT_A) || dirty(bm, LOOP_A) || dirty(bm, COUNT_B))
        print_dirty(bm);
    kvm_engine_get_dirty_log(e, 0, bm);
    check("nothing is dirtied while paused", !dirty(bm, COUNT_A));

    st = calloc(1, sizeof(*st));
    check("vCPU state get", st && kvm_vcpu_get_state(e, 0, st) == 0);
    check("rip is inside the loop", st && st->regs.rip >= LOOP_A && st->regs.rip < LOOP_A + 8);
    if (st) {
        st->regs.rip = LOOP_B; /* the restored state decides where the guest continues */
        check("vCPU state set", kvm_vcpu_set_state(e, 0, st) == 0);
    }
    check("resume returns", kvm_engine_resume(e) == 0);
    sleep_ms(100);
    kvm_engine_pause(e);
    b1 = counter(ram.hva, COUNT_B);
    check("after set-state the guest runs the other loop", b1 > 0);
    check("and the first counter stayed", counter(ram.hva, COUNT_A) == a2);
    kvm_engine_get_dirty_log(e, 0, bm);
    check("the second counter's page is dirty now", dirty(bm, COUNT_B) && !dirty(bm, COUNT_A));
    {
        /* VM-wide state (snapshots): PIC, IOAPIC, PIT and kvmclock round trip. */
        struct kvm_vm_state *vs = calloc(1, sizeof(*vs)), *vs2 = calloc(1, sizeof(*vs2));
        check("VM state get (KVM_GET_IRQCHIP, KVM_GET_PIT2, KVM_GET_CLOCK)",
              vs && vs2 && kvm_vm_get_state(e, vs) == 0);
        check("IOAPIC base as the board expects",
              vs && vs->ioapic.chip.ioapic.base_address == 0xfec00000ULL);
        if (vs && vs2) {
            vs->pit.channels[2].gate = 1;
            check("VM state set (KVM_SET_IRQCHIP, KVM_SET_PIT2, KVM_SET_CLOCK)",
                  kvm_vm_set_state(e, vs) == 0);
            check("VM state reads back",
                  kvm_vm_get_state(e, vs2) == 0 && vs2->pit.channels[2].gate == 1 &&
                      !memcmp(&vs->ioapic, &vs2->ioapic, sizeof(vs->ioapic)) &&
                      vs2->clock.clock >= vs->clock.clock);
        }
        free(vs);
        free(vs2);
    }
    kvm_engine_resume(e);
    kvm_engine_stop(e, ENGINE_STOP_QUIT);
    pthread_join(th, NULL);
    {
        uint64_t ns = 0, v[ENGINE_COUNTERS_MAX] = {0};
        check("vcpu_stats after the run: the ended thread's CPU time is kept",
              kvm_engine_vcpu_stats(e, 0, &ns, v) == 0 && ns > 0);
    }
    free(st);
    kvm_engine_destroy(e);
    gmem_destroy(&ram);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
