#include "cli/run_restore.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "backend/disk/qcow2.h"
#include "board/riscv/board.h"
#include "board/riscv/layout.h"
#include "cli/args.h"
#include "engine/rv64/rv64.h"
#include "vm/control.h"
#include "vm/migrate.h"
#include "state/snapconfig.h"
#include "vm/snapshot.h"

/* Lives until exit: the board keeps pointers to its strings (a guest reboot reads the files). */
static struct snapshot_config restored;

static void machine_settings(uint64_t *mem, long *cpus, const char **append, const char **firmware,
                             const char **kernel, const char **initrd)
{
    *mem = restored.ram_size;
    *cpus = restored.nharts;
    *append = restored.cmdline;
    *firmware = restored.firmware;
    *kernel = restored.kernel;
    *initrd = restored.initrd;
}

int cli_restore_open(const char *path, uint64_t *mem, long *cpus, const char **append,
                     const char **firmware, const char **kernel, const char **initrd)
{
    if (snapshot_read_config_file(path, "rv64", "riscv64", &restored))
        return 1; /* logged */
    machine_settings(mem, cpus, append, firmware, kernel, initrd);
    return 0;
}

int cli_incoming_accept(struct migrate_incoming *in, const char *spec,
                        const struct cli_incoming_want *want, uint64_t *mem, long *cpus,
                        const char **append, const char **firmware, const char **kernel,
                        const char **initrd)
{
    char why[200];

    if (migrate_listen(in, spec))
        return 1; /* logged */
    fprintf(stderr, "vessel: waiting for a migration on %s\n", spec);
    if (migrate_accept(in, "rv64", "riscv64"))
        return 2;
    if (snapshot_config_parse(in->config_json, in->config_len, &restored, why, sizeof(why))) {
        fprintf(stderr, "vessel: incoming migration: %s\n", why);
        migrate_answer(in, why);
        return 2;
    }
    if (restored.ram_size < RISCV_RAM_MIN || restored.ram_size > RISCV_RAM_MAX ||
        restored.ram_size % 4096 || restored.nharts < 1 || restored.nharts > RV64_MAX_HARTS) {
        snprintf(why, sizeof(why), "the VM's %llu MiB of RAM and %d harts are out of range",
                 (unsigned long long)(restored.ram_size >> 20), restored.nharts);
        fprintf(stderr, "vessel: incoming migration: %s\n", why);
        migrate_answer(in, why);
        return 2;
    }
    if ((want->mem && want->mem != restored.ram_size) ||
        (want->cpus && want->cpus != restored.nharts)) {
        snprintf(why, sizeof(why),
                 "the VM has %llu MiB of RAM and %d harts; this destination was started for "
                 "%llu MiB and %ld harts",
                 (unsigned long long)(restored.ram_size >> 20), restored.nharts,
                 (unsigned long long)((want->mem ? want->mem : restored.ram_size) >> 20),
                 want->cpus ? want->cpus : (long)restored.nharts);
        fprintf(stderr, "vessel: incoming migration: %s\n", why);
        migrate_answer(in, why);
        return 2;
    }
    /* Boot files for a later guest reboot are this host's own (--kernel, --initrd,
     * --firmware): paths sent by the source are not trusted with this host's files. */
    *mem = restored.ram_size;
    *cpus = restored.nharts;
    if (!*append)
        *append = restored.cmdline;
    return 0;
}

void cli_restore_report(const char *path, double ms, uint64_t mem)
{
    fprintf(stderr, "vessel: restored %s in %.2f ms (%llu MiB of RAM mapped copy-on-write)\r\n",
            path, ms, (unsigned long long)(mem >> 20));
}

void cli_clone_report(struct riscv_board *board, const uint8_t (*macs)[6], int nnets)
{
    uint8_t g[16];

    riscv_board_generation_id(board, g);
    fprintf(stderr, "vessel: clone: VM generation ID ");
    for (int i = 0; i < 16; i++)
        fprintf(stderr, "%02x", g[i]);
    for (int i = 0; i < nnets; i++)
        fprintf(stderr, ", eth%d %02x:%02x:%02x:%02x:%02x:%02x", i, macs[i][0], macs[i][1],
                macs[i][2], macs[i][3], macs[i][4], macs[i][5]);
    fprintf(stderr, "\r\n");
}

int cli_clone_disks(struct args_disk *disks, int n)
{
    for (int i = 0; i < n; i++) {
        struct disk_qcow2_create_opts o = {0};
        char real[PATH_MAX], want[PATH_MAX + 32], name[32], overlay[sizeof(disks[i].path)];
        uint8_t r[4];
        bool saved = false;

        if (disks[i].readonly || !realpath(disks[i].path, real))
            continue;
        snprintf(want, sizeof(want), "virtio-blk path=%s ", real);
        for (int d = 0; d < restored.ndevices; d++)
            saved |= !strncmp(restored.devices[d], want, strlen(want));
        if (!saved) /* e.g. already an overlay of it: the clone writes there */
            continue;
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
            return 1;
        snprintf(name, sizeof(name), "clone-%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
        if (snapshot_overlay_name(real, name, overlay, sizeof(overlay))) {
            fprintf(stderr, "vessel: --clone: an overlay name for %s is too long\n", real);
            return 1;
        }
        o.backing = real;
        if (disk_qcow2_create(overlay, &o))
            return 1; /* logged */
        fprintf(stderr, "vessel: clone: %s stays as the snapshot has it; this clone writes to %s\n",
                real, overlay);
        snprintf(disks[i].path, sizeof(disks[i].path), "%s", overlay);
        disks[i].format = DISK_FORMAT_QCOW2;
    }
    return 0;
}

int cli_riscv_snapshot(void *board, const struct control_cmd *cmd, struct snapshot_result *res)
{
    return riscv_board_snapshot(board, cmd->path, cmd->stop, cmd->keep_disks, res);
}

int cli_incoming_receive(struct migrate_incoming *in, const struct riscv_board_config *bc,
                         struct gmem *ram)
{
    char why[600];
    int err;

    if (riscv_board_check_config(in->config_json, in->config_len, bc, why, sizeof(why))) {
        fprintf(stderr, "vessel: incoming migration: %s\n", why);
        migrate_answer(in, why);
        return 1;
    }
    err = gmem_create(ram, RISCV_RAM_BASE, bc->ram_size);
    if (err) {
        fprintf(stderr, "vessel: incoming migration: creating %llu MiB of guest RAM: %s\n",
                (unsigned long long)(bc->ram_size >> 20), strerror(-err));
        migrate_answer(in, "the destination cannot allocate the VM's RAM");
        return 2;
    }
    return migrate_take_vm(in, ram, bc->virtio.disks, bc->virtio.ndisks) ? 2 : 0;
}

void cli_incoming_report(const struct migrate_incoming *in, double load_ms, double ms)
{
    fprintf(stderr,
            "\rvessel: incoming migration complete: %llu MiB of RAM received; VM loaded %.2f "
            "ms and running %.2f ms after the last byte\r\n",
            (unsigned long long)((in->pages_received * 4096) >> 20), load_ms, ms);
}

void cli_migrated_report(struct migration *mg)
{
    struct migrate_status st;

    migration_get_status(mg, &st);
    fprintf(stderr,
            "\r\nvessel: the VM migrated to %s (%.0f ms, downtime %.1f ms, %u passes, %llu MiB "
            "sent); it runs there now\r\n",
            st.to, st.elapsed_ms, st.downtime_ms, st.passes,
            (unsigned long long)(st.sent_bytes >> 20));
}
