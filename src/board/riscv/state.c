/* The riscv board's own sections of a state file (docs/state-format.md): the CLINT, UART, RTC,
 * VM generation ID and power button, loaded before the virtio devices, and the PLIC, loaded after them so
 * that the lines the devices drove take the saved levels and the harts' external interrupt
 * inputs follow the saved PLIC. */
#include <errno.h>
#include <stdlib.h>

#include "board/riscv/board_int.h"
#include "state/devices.h"

#define SAVE_MAX (PLIC_SAVE_MAX > VIRTIO_SAVE_MAX ? PLIC_SAVE_MAX : VIRTIO_SAVE_MAX)

_Static_assert(CLINT_SAVE_MAX <= SAVE_MAX && UART16550_SAVE_MAX <= SAVE_MAX &&
                   GOLDFISH_RTC_SAVE_MAX <= SAVE_MAX && VMGENID_SAVE_MAX <= SAVE_MAX,
               "every board device's state fits the buffer");

int riscv_board_save(void *board, struct snap_writer *w)
{
    struct riscv_board *b = board;
    uint8_t *buf = malloc(SAVE_MAX);
    int err;

    if (!buf)
        return -ENOMEM;
    err = snap_put_device(w, "clint", 0, clint_save(&b->clint, buf, SAVE_MAX), buf);
    if (!err)
        err = snap_put_device(w, "uart", 0, uart16550_save(&b->uart, buf, SAVE_MAX), buf);
    if (!err)
        err = snap_put_device(w, "rtc", 0, goldfish_rtc_save(&b->rtc, buf, SAVE_MAX), buf);
    if (!err)
        err = snap_put_device(w, "vmgenid", 0, vmgenid_save(&b->vmgenid, buf, SAVE_MAX), buf);
    if (!err)
        err = snap_put_device(w, "power-button", 0,
                              virtio_dev_save(virtio_input_dev(b->button), buf, SAVE_MAX), buf);
    if (!err)
        err = snap_put_device(w, "plic", 0, plic_save(&b->plic, buf, SAVE_MAX), buf);
    free(buf);
    return err;
}

/* Reads DEVICE section name (instance 0) into buf: its length, or -errno (logged). */
static long get(const struct snap_reader *r, const char *path, const char *name, uint8_t *buf)
{
    return snap_get_device(r, path, name, 0, buf, SAVE_MAX);
}

int riscv_board_load(void *board, const struct snap_reader *r, const char *path)
{
    struct riscv_board *b = board;
    uint8_t *buf = malloc(SAVE_MAX);
    long n;

    if (!buf)
        return -ENOMEM;
    if ((n = get(r, path, "clint", buf)) < 0)
        goto out;
    if (clint_load(&b->clint, buf, (size_t)n)) {
        n = snap_load_fail(path, "clint");
        goto out;
    }
    if ((n = get(r, path, "uart", buf)) < 0)
        goto out;
    if (uart16550_load(&b->uart, buf, (size_t)n)) {
        n = snap_load_fail(path, "uart");
        goto out;
    }
    if ((n = get(r, path, "rtc", buf)) < 0)
        goto out;
    if (goldfish_rtc_load(&b->rtc, buf, (size_t)n)) {
        n = snap_load_fail(path, "rtc");
        goto out;
    }
    /* Files written before the device existed have no section: it keeps its random GUID. */
    n = 0;
    if (snap_find(r, SNAP_DEVICE, 0, "vmgenid")) {
        if ((n = get(r, path, "vmgenid", buf)) < 0)
            goto out;
        n = vmgenid_load(&b->vmgenid, buf, (size_t)n) ? snap_load_fail(path, "vmgenid") : 0;
    }
    /* Nor the power button: it stays reset (that guest's device tree did not have it). */
    if (n >= 0 && snap_find(r, SNAP_DEVICE, 0, "power-button")) {
        if ((n = get(r, path, "power-button", buf)) < 0)
            goto out;
        n = virtio_dev_load(virtio_input_dev(b->button), buf, (size_t)n)
                ? snap_load_fail(path, "power-button")
                : 0;
    }
out:
    free(buf);
    return n < 0 ? (int)n : 0;
}

int riscv_board_load_done(void *board, const struct snap_reader *r, const char *path)
{
    struct riscv_board *b = board;
    uint8_t *buf = malloc(SAVE_MAX);
    long n;

    if (!buf)
        return -ENOMEM;
    if ((n = get(r, path, "plic", buf)) >= 0 && plic_load(&b->plic, buf, (size_t)n))
        n = snap_load_fail(path, "plic");
    free(buf);
    return n < 0 ? (int)n : 0;
}
