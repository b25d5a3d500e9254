/* `vessel disk`: image commands (create, info, check) and two documented test helpers (io,
 * bench) that drive the disk backend directly; see docs/storage.md. */
#include "cli/disk_cmd.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include <time.h>

#include "backend/disk/disk.h"
#include "backend/disk/qcow2.h"

#define EXIT_OK      0
#define EXIT_USAGE   1
#define EXIT_CORRUPT 2
#define EXIT_LEAKS   3

static const char usage_disk[] =
    "usage: vessel disk create PATH [SIZE] [--backing FILE] [--backing-format raw|qcow2]\n"
    "                          [--compat 2|3] [--cluster-size SIZE] [--refcount-bits N]\n"
    "       vessel disk info PATH [--json] [-U|--force-share]\n"
    "       vessel disk check PATH [--repair] [-U|--force-share]\n"
    "       vessel disk io PATH [--format raw|qcow2] [--readonly]    (test driver)\n"
    "       vessel disk bench PATH --rw read|write --pattern seq|rand [--bs SIZE]\n"
    "                          [--count N] [--format raw|qcow2]\n"
    "\n"
    "create   a qcow2 image (version 3, 64 KiB clusters, 16-bit refcounts by default),\n"
    "         thin provisioned; SIZE takes K, M, G or T (a bare number is bytes) and defaults\n"
    "         to the backing file's size. A relative backing file name is resolved against\n"
    "         the new image's directory.\n"
    "info     format, virtual size, space used on the host, cluster size, backing chain\n"
    "check    compares every refcount with the references to its cluster; exit status 0\n"
    "         clean, 2 corruptions found, 3 only leaks found, 1 the image could not be read.\n"
    "         --repair fixes leaks (unreferenced clusters with a refcount).\n"
    "io       reads commands on stdin: r OFF LEN | w OFF LEN TAG | W OFF LEN (LEN bytes follow)\n"
    "         | z OFF LEN | d OFF LEN | f | q; answers ok, err MSG, or data LEN + bytes.\n"
    "bench    timed 4 KiB (or --bs) reads or writes through the backend; prints ops/s, MB/s.\n"
    "\n"
    "Images are locked as QEMU locks them (docs/storage.md): a reader (info, check) is refused\n"
    "while a VM or a tool writes the image, a writer (check --repair, io) while anyone else\n"
    "uses it, with a message naming the lock. -U (info, check without --repair) reads without\n"
    "taking or testing a lock, as qemu-img -U does: what it shows may be mid-change.\n";

int disk_cmd_parse_size(const char *s, uint64_t *bytes)
{
    return args_parse_size_in(s, 0, 40, bytes); /* a bare number is bytes, as in qemu-img */
}

static int usage_err(const char *fmt, const char *arg)
{
    fputs("vessel: disk: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see vessel disk --help)\n", stderr);
    return EXIT_USAGE;
}

static int cmd_create(int argc, char **argv)
{
    enum { O_BACKING = 256, O_BFMT, O_COMPAT, O_CSIZE, O_RBITS };
    static const struct option opts[] = {
        {"backing", required_argument, NULL, O_BACKING},
        {"backing-format", required_argument, NULL, O_BFMT},
        {"compat", required_argument, NULL, O_COMPAT},
        {"cluster-size", required_argument, NULL, O_CSIZE},
        {"refcount-bits", required_argument, NULL, O_RBITS},
        {NULL, 0, NULL, 0},
    };
    struct disk_qcow2_create_opts o = {0};
    uint64_t v;
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case O_BACKING: o.backing = optarg; break;
        case O_BFMT:
            if (strcmp(optarg, "raw") && strcmp(optarg, "qcow2"))
                return usage_err("--backing-format %s: expected raw or qcow2", optarg);
            o.backing_fmt = optarg;
            break;
        case O_COMPAT:
            if (strcmp(optarg, "2") && strcmp(optarg, "3") && strcmp(optarg, "0.10") &&
                strcmp(optarg, "1.1"))
                return usage_err("--compat %s: expected 2 or 3", optarg);
            o.version = (!strcmp(optarg, "2") || !strcmp(optarg, "0.10")) ? 2 : 3;
            break;
        case O_CSIZE:
            if (disk_cmd_parse_size(optarg, &v) || (v & (v - 1)) || v < 512 || v > (2u << 20))
                return usage_err("--cluster-size %s: expected a power of two, 512 to 2M", optarg);
            o.cluster_bits = (unsigned)__builtin_ctzll(v);
            break;
        case O_RBITS:
            v = strtoull(optarg, NULL, 10);
            if (!v || (v & (v - 1)) || v > 64)
                return usage_err("--refcount-bits %s: expected 1, 2, 4, 8, 16, 32 or 64", optarg);
            o.refcount_order = (unsigned)__builtin_ctzll(v);
            o.refcount_order_set = true;
            break;
        case ':': return usage_err("create: option %s needs a value", argv[optind - 1]);
        default: return usage_err("create: unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage_err("create: %s", "PATH is required");
    if (optind + 2 < argc)
        return usage_err("create: unexpected argument '%s'", argv[optind + 2]);
    if (optind + 1 < argc) {
        int err = disk_cmd_parse_size(argv[optind + 1], &o.size);
        if (err)
            return usage_err(err == -ERANGE ? "create: size %s is too large"
                                            : "create: size %s: expected e.g. 10G, 512M or 2T",
                             argv[optind + 1]);
    } else if (!o.backing) {
        return usage_err("create: %s", "SIZE is required without --backing");
    }
    if (o.version == 2 && o.refcount_order_set && o.refcount_order != 4)
        return usage_err("create: %s", "--compat 2 images have 16-bit refcounts");
    return disk_qcow2_create(argv[optind], &o) ? EXIT_USAGE : EXIT_OK;
}

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

static void print_one(struct disk *d, bool json, int depth)
{
    struct disk_qcow2_info qi;
    bool q = disk_is_qcow2(d);

    if (q)
        disk_qcow2_info(d, &qi);
    if (json) {
        printf("%s{\"filename\": ", depth ? ", " : "");
        json_str(d->path);
        printf(", \"format\": \"%s\", \"virtual-size\": %" PRIu64 ", \"actual-size\": %" PRIu64,
               d->ops->name, d->size, host_bytes(d->path));
        if (q) {
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
        }
        printf("}");
        return;
    }
    printf("image: %s\n", d->path);
    printf("file format: %s\n", d->ops->name);
    printf("virtual size: %" PRIu64 " bytes (%.3g GiB)\n", d->size, (double)d->size / (1 << 30));
    printf("disk size: %" PRIu64 " bytes\n", host_bytes(d->path));
    if (!q)
        return;
    printf("cluster size: %" PRIu64 "\n", qi.cluster_size);
    printf("qcow2 version: %u, refcount bits: %u, compression: %s\n", qi.version, qi.refcount_bits,
           qi.compression);
    if (qi.nb_snapshots)
        printf("internal snapshots: %u\n", qi.nb_snapshots);
    if (qi.dirty || qi.corrupt)
        printf("flags:%s%s\n", qi.dirty ? " dirty" : "", qi.corrupt ? " corrupt" : "");
    if (qi.backing_name)
        printf("backing file: %s (actual path: %s, format: %s)\n", qi.backing_name,
               qi.backing_path ? qi.backing_path : "not opened",
               qi.backing_fmt[0] ? qi.backing_fmt : "probed");
}

static int cmd_info(int argc, char **argv)
{
    bool json = false;
    const char *path = NULL;
    struct disk *d, *cur;
    int depth = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "-U") || !strcmp(argv[i], "--force-share"))
            disk_lock_set_enabled(false);
        else if (argv[i][0] == '-')
            return usage_err("info: unknown option '%s'", argv[i]);
        else if (!path)
            path = argv[i];
        else
            return usage_err("info: unexpected argument '%s'", argv[i]);
    }
    if (!path)
        return usage_err("info: %s", "PATH is required");
    if (disk_open(&d, path, DISK_FORMAT_PROBE, true))
        return EXIT_USAGE;
    if (json)
        printf("{\"image\": ");
    print_one(d, json, 0);
    if (json)
        printf(", \"backing-chain\": [");
    for (cur = d; cur && disk_is_qcow2(cur);) {
        struct disk_qcow2_info qi;
        disk_qcow2_info(cur, &qi);
        cur = qi.backing;
        if (cur) {
            if (!json)
                printf("\nbacking chain, depth %d:\n", depth + 1);
            print_one(cur, json, depth++);
        }
    }
    if (json)
        printf("]}\n");
    disk_close(d);
    return EXIT_OK;
}

static int cmd_check(int argc, char **argv)
{
    struct disk_qcow2_check res;
    const char *path = NULL;
    bool repair = false;
    int err;

    bool force_share = false;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--repair") || !strcmp(argv[i], "-r"))
            repair = true;
        else if (!strcmp(argv[i], "-U") || !strcmp(argv[i], "--force-share"))
            force_share = true;
        else if (argv[i][0] == '-')
            return usage_err("check: unknown option '%s'", argv[i]);
        else if (!path)
            path = argv[i];
        else
            return usage_err("check: unexpected argument '%s'", argv[i]);
    }
    if (!path)
        return usage_err("check: %s", "PATH is required");
    if (force_share && repair)
        return usage_err("check: %s", "--repair writes the image: no -U with it");
    if (force_share)
        disk_lock_set_enabled(false);
    err = disk_qcow2_check(path, repair, stdout, &res);
    if (err) {
        fprintf(stderr, "vessel: disk check: %s: %s\n", path, strerror(-err));
        return EXIT_USAGE;
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
    return res.leaks > res.leaks_fixed ? EXIT_LEAKS : EXIT_OK;
}

int cli_disk(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_disk, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (!strcmp(argv[1], "create"))
        return cmd_create(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info"))
        return cmd_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(argv[1], "io"))
        return disk_cmd_io(argc - 1, argv + 1);
    if (!strcmp(argv[1], "bench"))
        return disk_cmd_bench(argc - 1, argv + 1);
    return usage_err("unknown command '%s'", argv[1]);
}
