/* The x86 board's own sections of a state file (docs/state-format.md): COM1, CMOS, ACPI PM, the
 * PCI host with its functions' config space and each virtio-pci transport (MSI-X vectors,
 * table, pending bits); after the virtio devices are loaded, each virtio-pci function drives
 * its INTx line again from the loaded interrupt status, and the SCI follows the PM registers.
 * The kvm engine's state (vCPUs, PIC, IOAPIC, PIT, kvmclock) is the engine's (engine/kvm). */
#include <errno.h>
#include <stdlib.h>

#include "base/log.h"
#include "board/x86/board_int.h"
#include "state/devices.h"

#define SAVE_MAX X86_PCI_SAVE_MAX

_Static_assert(UART16550_SAVE_MAX <= SAVE_MAX && X86_CMOS_SAVE_LEN <= SAVE_MAX &&
                   X86_PM_SAVE_LEN <= SAVE_MAX && VIRTIO_PCI_SAVE_MAX <= SAVE_MAX,
               "every board device's state fits the buffer");

int x86_board_save(void *board, struct snap_writer *w)
{
    struct x86_board *b = board;
    uint8_t *buf = malloc(SAVE_MAX);
    int err;

    if (!buf)
        return -ENOMEM;
    err = snap_put_device(w, "uart", 0, uart16550_save(&b->com1, buf, SAVE_MAX), buf);
    if (!err) {
        x86_cmos_save(&b->legacy, buf);
        err = snap_put_device(w, "cmos", 0, X86_CMOS_SAVE_LEN, buf);
    }
    if (!err) {
        x86_pm_save(&b->legacy, buf);
        err = snap_put_device(w, "acpi-pm", 0, X86_PM_SAVE_LEN, buf);
    }
    if (!err)
        err = snap_put_device(w, "pci", 0, x86_pci_save(&b->pci, buf, SAVE_MAX), buf);
    for (int i = 0; !err && i < b->nvirtio; i++)
        err = snap_put_device(w, "virtio-pci", (uint32_t)i,
                              virtio_pci_save(b->virtio[i], buf, SAVE_MAX), buf);
    free(buf);
    return err;
}

/* The transports' sections, in a file whose PCI host section has version 2 or later (version
 * 1 had neither MSI-X nor these sections: its functions keep MSI-X off and use INTx). */
static long load_transports(struct x86_board *b, const struct snap_reader *r, const char *path,
                            uint8_t *buf, uint32_t pci_version)
{
    long n = 0;

    if (pci_version < 2) {
        log_info("state: %s: saved before virtio-pci had MSI-X; its devices use INTx", path);
        return 0;
    }
    for (int i = 0; n >= 0 && i < b->nvirtio; i++) {
        if ((n = snap_get_device(r, path, "virtio-pci", (uint32_t)i, buf, SAVE_MAX)) < 0)
            break;
        if (virtio_pci_load(b->virtio[i], buf, (size_t)n))
            n = snap_load_fail(path, "virtio-pci (MSI-X)");
    }
    return n;
}

int x86_board_load(void *board, const struct snap_reader *r, const char *path)
{
    struct x86_board *b = board;
    uint8_t *buf = malloc(SAVE_MAX);
    uint32_t pci_version;
    long n;

    if (!buf)
        return -ENOMEM;
    if ((n = snap_get_device(r, path, "uart", 0, buf, SAVE_MAX)) < 0)
        goto out;
    if (uart16550_load(&b->com1, buf, (size_t)n)) {
        n = snap_load_fail(path, "uart");
        goto out;
    }
    if ((n = snap_get_device(r, path, "cmos", 0, buf, SAVE_MAX)) < 0)
        goto out;
    if (x86_cmos_load(&b->legacy, buf, (size_t)n)) {
        n = snap_load_fail(path, "cmos");
        goto out;
    }
    if ((n = snap_get_device(r, path, "acpi-pm", 0, buf, SAVE_MAX)) < 0)
        goto out;
    if (x86_pm_load(&b->legacy, buf, (size_t)n)) {
        n = snap_load_fail(path, "acpi-pm");
        goto out;
    }
    if ((n = snap_get_device(r, path, "pci", 0, buf, SAVE_MAX)) < 0)
        goto out;
    if (x86_pci_load(&b->pci, buf, (size_t)n, &pci_version)) {
        n = snap_load_fail(path, "pci");
        goto out;
    }
    n = load_transports(b, r, path, buf, pci_version);
out:
    free(buf);
    return n < 0 ? (int)n : 0;
}

int x86_board_load_done(void *board, const struct snap_reader *r, const char *path)
{
    struct x86_board *b = board;

    (void)r;
    (void)path;
    for (int i = 0; i < b->nvirtio; i++)
        virtio_pci_update_irq(b->virtio[i]);
    x86_pm_update_sci(&b->legacy); /* a power button pressed before the snapshot */
    return 0;
}
