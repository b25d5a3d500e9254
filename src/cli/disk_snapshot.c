/* `vessel disk snapshot -l | -c NAME | -a NAME | -d NAME IMG`: qcow2 internal snapshots, with
 * qemu-img snapshot's options and list format. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backend/disk/qcow2.h"
#include "cli/args.h"
#include "cli/disk_cmd.h"

void disk_print_snapshots(struct disk *d)
{
    const struct disk_qcow2_snapshot *s;
    uint32_t n;

    disk_qcow2_snapshots(d, &s, &n);
    printf("Snapshot list:\n");
    printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
    for (uint32_t i = 0; i < n; i++) {
        char vm[32], date[32] = "", clock[32], icount[24] = "";
        time_t t = (time_t)s[i].date_sec;
        struct tm tm;
        uint64_t ms = s[i].vm_clock_ns / 1000000;

        args_format_size(s[i].vm_state_size, vm, sizeof(vm));
        if (localtime_r(&t, &tm))
            strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(clock, sizeof(clock), "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%03" PRIu64,
                 ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
        if (s[i].icount != UINT64_MAX)
            snprintf(icount, sizeof(icount), "%" PRIu64, s[i].icount);
        printf("%-9s %-16s %8s %19s %12s %10s\n", s[i].id, s[i].name, vm, date, clock, icount);
    }
}

int disk_cmd_snapshot(int argc, char **argv)
{
    char op = 0;
    const char *name = NULL, *path;
    struct disk *d;
    int c, err;

    while ((c = getopt(argc, argv, ":lc:a:d:")) != -1) {
        if (c == ':')
            return disk_usage_err("snapshot", "option %s needs a snapshot name", argv[optind - 1]);
        if (c == '?')
            return disk_usage_err("snapshot", "unknown option '%s'", argv[optind - 1]);
        if (op)
            return disk_usage_err("snapshot", "give one of -l, -c, -a, -d");
        op = (char)c;
        name = optarg;
    }
    if (!op)
        return disk_usage_err("snapshot", "one of -l, -c NAME, -a NAME, -d NAME is required");
    if (optind >= argc)
        return disk_usage_err("snapshot", "IMG is required");
    if (optind + 1 < argc)
        return disk_usage_err("snapshot", "unexpected argument '%s'", argv[optind + 1]);
    path = argv[optind];
    if (disk_qcow2_open_nobacking(&d, path, op == 'l'))
        return DISK_EXIT_ERROR;
    if (!disk_is_qcow2(d)) {
        disk_close(d);
        fprintf(stderr, "vessel: disk snapshot: %s: internal snapshots need a qcow2 image\n", path);
        return DISK_EXIT_ERROR;
    }
    switch (op) {
    case 'l':
        disk_print_snapshots(d);
        err = 0;
        break;
    case 'c': err = disk_qcow2_snapshot_create(d, name); break;
    case 'a': err = disk_qcow2_snapshot_apply(d, name); break;
    default: err = disk_qcow2_snapshot_delete(d, name); break;
    }
    disk_close(d);
    if (err) {
        fprintf(stderr, "vessel: disk snapshot: %s: %s\n", path, strerror(-err));
        return DISK_EXIT_ERROR;
    }
    return DISK_EXIT_OK;
}
