/* `vessel disk info` and `vessel disk check`. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/disk/disk_lock.h"
#include "backend/disk/qcow2.h"
#include "cli/args.h"
#include "cli/disk_cmd.h"

#define EXIT_CORRUPT 2
#define EXIT_LEAKS   3

static void json_str(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static uint64_t host_bytes(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

static void json_snapshots(struct disk *d)
{
    const struct disk_qcow2_snapshot *s;
    uint32_t n;

    disk_qcow2_snapshots(d, &s, &n);
    if (!n)
        return;
    printf(", \"snapshots\": [");
    for (uint32_t i = 0; i < n; i++) {
        printf("%s{\"id\": ", i ? ", " : "");
        json_str(s[i].id);
        printf(", \"name\": ");
        json_str(s[i].name);
        printf(", \"vm-state-size\": %" PRIu64 ", \"date-sec\": %u, \"date-nsec\": %u"
               ", \"vm-clock-sec\": %" PRIu64 ", \"vm-clock-nsec\": %" PRIu64
               ", \"disk-size\": %" PRIu64 "}",
               s[i].vm_state_size, s[i].date_sec, s[i].date_nsec, s[i].vm_clock_ns / 1000000000,
               s[i].vm_clock_ns % 1000000000, s[i].disk_size);
    }
    printf("]");
}

static void print_json(struct disk *d, int depth)
{
    struct disk_qcow2_info qi;
    bool q = disk_is_qcow2(d);

    printf("%s{\"filename\": ", depth ? ", " : "");
    json_str(d->path);
    printf(", \"format\": \"%s\", \"virtual-size\": %" PRIu64 ", \"actual-size\": %" PRIu64,
           d->ops->name, d->size, host_bytes(d->path));
    if (!q) {
        printf("}");
        return;
    }
    disk_qcow2_info(d, &qi);
    printf(", \"cluster-size\": %" PRIu64 ", \"qcow2-version\": %u"
           ", \"refcount-bits\": %u, \"compression-type\": \"%s\"",
           qi.cluster_size, qi.version, qi.refcount_bits, qi.compression);
    if (qi.backing_name) {
        printf(", \"backing-filename\": ");
        json_str(qi.backing_name);
        printf(", \"full-backing-filename\": ");
        json_str(qi.backing_path ? qi.backing_path : qi.backing_name);
        if (qi.backing_fmt[0]) {
            printf(", \"backing-filename-format\": ");
            json_str(qi.backing_fmt);
        }
    }
    json_snapshots(d);
    printf("}");
}

static void print_human(struct disk *d)
{
    struct disk_qcow2_info qi;
    char a[32], b[32];

    args_format_size(d->size, a, sizeof(a));
    args_format_size(host_bytes(d->path), b, sizeof(b));
    printf("image: %s\n", d->path);
    printf("file format: %s\n", d->ops->name);
    printf("virtual size: %s (%" PRIu64 " bytes)\n", a, d->size);
    printf("disk size: %s\n", b);
    if (!disk_is_qcow2(d))
        return;
    disk_qcow2_info(d, &qi);
    args_format_size(qi.cluster_size, a, sizeof(a));
    printf("cluster size: %s (%" PRIu64 " bytes)\n", a, qi.cluster_size);
    printf("qcow2 version: %u, refcount bits: %u, compression: %s\n", qi.version, qi.refcount_bits,
           qi.compression);
    if (qi.dirty || qi.corrupt)
        printf("flags:%s%s\n", qi.dirty ? " dirty" : "", qi.corrupt ? " corrupt" : "");
    if (qi.backing_name)
        printf("backing file: %s (actual path: %s, format: %s)\n", qi.backing_name,
               qi.backing_path ? qi.backing_path : "not opened",
               qi.backing_fmt[0] ? qi.backing_fmt : "probed");
    if (qi.nb_snapshots) {
        printf("internal snapshots: %u\n", qi.nb_snapshots);
        disk_print_snapshots(d);
    }
}

int disk_cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"output", required_argument, NULL, 'o'},
        {"force-share", no_argument, NULL, 'U'},
        {NULL, 0, NULL, 0},
    };
    const char *fmt_name = NULL;
    enum disk_format fmt;
    bool json = false;
    struct disk *d;
    int c, depth = 0;

    while ((c = getopt_long(argc, argv, ":f:U", opts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt_name = optarg; break;
        case 'U': disk_lock_set_enabled(false); break; /* read without taking or testing locks */
        case 'j': json = true; break;
        case 'o':
            if (strcmp(optarg, "json") && strcmp(optarg, "human"))
                return disk_usage_err("info", "--output %s: expected human or json", optarg);
            json = !strcmp(optarg, "json");
            break;
        case ':': return disk_usage_err("info", "option %s needs a value", argv[optind - 1]);
        default: return disk_usage_err("info", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return disk_usage_err("info", "PATH is required");
    if (optind + 1 < argc)
        return disk_usage_err("info", "unexpected argument '%s'", argv[optind + 1]);
    if (disk_cli_format("info", "-f", fmt_name, &fmt) || disk_open(&d, argv[optind], fmt, true))
        return DISK_EXIT_ERROR;
    if (json) {
        printf("{\"image\": ");
        print_json(d, 0);
        printf(", \"backing-chain\": [");
    } else {
        print_human(d);
    }
    for (struct disk *cur = d->backing; cur; cur = cur->backing) {
        if (json) {
            print_json(cur, depth++);
        } else {
            printf("\nbacking chain, depth %d:\n", ++depth);
            print_human(cur);
        }
    }
    if (json)
        printf("]}\n");
    disk_close(d);
    return DISK_EXIT_OK;
}

int disk_cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"repair", no_argument, NULL, 'R'},
        {"force-share", no_argument, NULL, 'U'},
        {NULL, 0, NULL, 0},
    };
    struct disk_qcow2_check res;
    bool repair = false, force_share = false;
    const char *path;
    int c, err;

    while ((c = getopt_long(argc, argv, ":r:U", opts, NULL)) != -1) {
        switch (c) {
        case 'R': repair = true; break;
        case 'U': force_share = true; break;
        case 'r':
            if (strcmp(optarg, "leaks"))
                return disk_usage_err("check", "-r %s: only leaks are repaired (-r leaks)", optarg);
            repair = true;
            break;
        case ':': return disk_usage_err("check", "option %s needs a value", argv[optind - 1]);
        default: return disk_usage_err("check", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return disk_usage_err("check", "PATH is required");
    if (optind + 1 < argc)
        return disk_usage_err("check", "unexpected argument '%s'", argv[optind + 1]);
    if (force_share && repair)
        return disk_usage_err("check", "--repair writes the image: no -U with it");
    if (force_share)
        disk_lock_set_enabled(false);
    path = argv[optind];
    err = disk_qcow2_check(path, repair, stdout, &res);
    if (err) {
        fprintf(stderr, "vessel: disk check: %s: %s\n", path, strerror(-err));
        return DISK_EXIT_ERROR;
    }
    if (res.leaks_fixed)
        printf("The following inconsistencies were found and repaired:\n\n    %" PRIu64
               " leaked clusters\n\n",
               res.leaks_fixed);
    if (!res.corruptions && res.leaks == res.leaks_fixed)
        printf("No errors were found on the image.\n");
    if (res.corruptions)
        printf("\n%" PRIu64 " errors were found on the image.\n"
               "Data may be corrupted, or further writes to the image may corrupt it.\n",
               res.corruptions);
    if (res.leaks > res.leaks_fixed)
        printf("\n%" PRIu64 " leaked clusters were found on the image.\n"
               "This means waste of disk space, but no harm to data.\n",
               res.leaks - res.leaks_fixed);
    printf("Image end offset: %" PRIu64 "\n", res.image_end);
    if (res.corruptions)
        return EXIT_CORRUPT;
    return res.leaks > res.leaks_fixed ? EXIT_LEAKS : DISK_EXIT_OK;
}
