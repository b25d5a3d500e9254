/* `vessel disk`: the subcommand table, help texts and `create`. Each subcommand lives in its
 * own file (disk_cmd.h); docs/storage.md describes them. */
#include "cli/disk_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/disk/qcow2.h"
#include "cli/args.h"

#define SIZE_RULE                                                                                  \
    "SIZE is a number with a unit B, K, M, G, T, P or E (binary: 1G = 1GiB = 1024M; 1.5G is\n"     \
    "fine; bytes: 512B); a bare number is MiB (`create x.qcow2 100` is 100 MiB) and must be\n"     \
    "below 1048576.\n"

struct subcmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage; /* the synopsis lines, then a blank line and the details */
};

static const struct subcmd cmds[] = {
    {"create", disk_cmd_create,
     "vessel disk create PATH [SIZE] [-b|--backing FILE] [-F|--backing-format raw|qcow2]\n"
     "                   [--compat 2|3] [--cluster-size SIZE] [--refcount-bits N]\n"
     "\n"
     "Creates a qcow2 image (version 3, 64 KiB clusters, 16-bit refcounts unless told), thin\n"
     "provisioned. SIZE defaults to the backing file's size. A relative backing file name is\n"
     "resolved against the new image's directory. An existing PATH is not "
     "overwritten.\n" SIZE_RULE},
    {"info", disk_cmd_info,
     "vessel disk info [-f raw|qcow2] [--json | --output human|json] [-U|--force-share] PATH\n"
     "\n"
     "Format, virtual size, space used on the host, cluster size, qcow2 version, refcount\n"
     "width, internal snapshots and the backing chain. Images are locked as QEMU locks them\n"
     "(docs/storage.md): info is refused while a VM or a tool writes the image; -U reads\n"
     "without taking or testing a lock, as qemu-img -U does (what it shows may be mid-change).\n"},
    {"check", disk_cmd_check,
     "vessel disk check [--repair | -r leaks] [-U|--force-share] PATH\n"
     "\n"
     "Compares every refcount of a qcow2 image with the references to its cluster (from the\n"
     "active and the snapshots' tables) and checks pointers and reserved bits. Exit status: 0\n"
     "clean, 2 corruptions, 3 only leaks, 1 the image could not be read. --repair sets leaked\n"
     "refcounts to the reference count. -U (without --repair) reads without locks, as for\n"
     "info.\n"},
    {"convert", disk_cmd_convert,
     "vessel disk convert [-f raw|qcow2] [-O raw|qcow2] [-c] [-p] SRC DST\n"
     "\n"
     "Copies SRC's content, read through its whole backing chain, into a new image DST (an\n"
     "existing regular file is replaced): raw (the default, sparse) or qcow2 (version 3, 64 KiB\n"
     "clusters, no backing file). Zero ranges are not written. -c writes qcow2 clusters\n"
     "compressed (zlib; clusters that do not shrink are stored as they are), -p shows progress.\n"},
    {"resize", disk_cmd_resize,
     "vessel disk resize [-f raw|qcow2] [--shrink] IMG [+|-]SIZE\n"
     "\n"
     "Sets the virtual size to SIZE, or grows (+) or shrinks (-) it by SIZE. Shrinking drops the\n"
     "data past the new end and is refused without --shrink. qcow2 images with internal\n"
     "snapshots cannot be resized.\n" SIZE_RULE},
    {"commit", disk_cmd_commit,
     "vessel disk commit [-f qcow2] [-d] [-p] OVERLAY\n"
     "\n"
     "Writes everything OVERLAY holds into its backing file (growing it when OVERLAY is larger),\n"
     "then empties OVERLAY so that it reads through to the backing file again (-d: keep its\n"
     "data). This flattens a chain: base <- a <- b, `commit b` leaves base <- a with a holding\n"
     "b's writes.\n"},
    {"rebase", disk_cmd_rebase,
     "vessel disk rebase [-f qcow2] [-u] [-p] -b BACKING [-F raw|qcow2] IMG\n"
     "\n"
     "Makes BACKING (resolved against IMG's directory; \"\" for none) IMG's backing file. Safe\n"
     "mode (the default) first copies into IMG every range where the old and the new backing\n"
     "chains differ, so that IMG reads the same afterwards; -u only rewrites the header (for a\n"
     "backing file that was moved or renamed). -F is the new backing file's format (probed\n"
     "when not given).\n"},
    {"map", disk_cmd_map,
     "vessel disk map [-f raw|qcow2] [--output human|json] IMG\n"
     "\n"
     "Where the image's data lives: human output lists the ranges that hold data (guest\n"
     "offset, length, host offset, file); json lists every range as qemu-img map does (start,\n"
     "length, depth in the backing chain, present, zero, data, offset).\n"},
    {"snapshot", disk_cmd_snapshot,
     "vessel disk snapshot -l | -c NAME | -a NAME | -d NAME IMG\n"
     "\n"
     "qcow2 internal snapshots (interchangeable with qemu-img snapshot's): -l lists them, -c\n"
     "creates one of the current content, -a goes back to one (the current content is lost),\n"
     "-d deletes one. NAME is a snapshot's ID or name.\n"},
    {"compare", disk_cmd_compare,
     "vessel disk compare [-f raw|qcow2] [-F raw|qcow2] [-s] [-p] A B\n"
     "\n"
     "Compares the content the two images present. Images of different sizes are equal when\n"
     "the larger one reads as zeroes past the smaller one's end (-s: sizes must match). Exit\n"
     "status: 0 identical, 1 different (the first differing offset is printed), 2 error.\n"},
    {"io", disk_cmd_io,
     "vessel disk io PATH [--format raw|qcow2] [--readonly]    (test driver)\n"
     "\n"
     "Reads commands on stdin: r OFF LEN | w OFF LEN TAG | W OFF LEN (LEN bytes follow)\n"
     "| z OFF LEN | d OFF LEN | f | q; answers ok, err MSG, or data LEN + bytes.\n"},
    {"bench", disk_cmd_bench,
     "vessel disk bench PATH --rw read|write --pattern seq|rand [--bs SIZE] [--count N]\n"
     "                  [--format raw|qcow2]\n"
     "\n"
     "Timed 4 KiB (or --bs) reads or writes through the backend; prints ops/s and MB/s.\n"},
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void print_overview(FILE *f)
{
    fputs("usage: vessel disk COMMAND ...   (vessel disk COMMAND --help for one command)\n\n", f);
    for (size_t i = 0; i < NCMDS; i++) {
        const char *u = cmds[i].usage, *end = strstr(u, "\n\n");
        fprintf(f, "  %.*s\n", (int)(end ? end - u : (ptrdiff_t)strlen(u)), u);
    }
    fputs("\n" SIZE_RULE "Details: docs/storage.md.\n", f);
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return false;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return true;
    }
    return false;
}

int cli_disk(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stderr);
        return DISK_EXIT_ERROR;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        print_overview(stdout);
        return DISK_EXIT_OK;
    }
    for (size_t i = 0; i < NCMDS; i++) {
        if (strcmp(argv[1], cmds[i].name))
            continue;
        if (wants_help(argc - 1, argv + 1)) {
            printf("usage: %s", cmds[i].usage);
            return DISK_EXIT_OK;
        }
        optind = 1; /* each subcommand runs getopt from the start */
        opterr = 0;
        return cmds[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "vessel: disk: unknown command '%s' (see vessel disk --help)\n", argv[1]);
    return DISK_EXIT_ERROR;
}

int disk_cmd_create(int argc, char **argv)
{
    enum { O_COMPAT = 256, O_CSIZE, O_RBITS };
    static const struct option opts[] = {
        {"backing", required_argument, NULL, 'b'},
        {"backing-format", required_argument, NULL, 'F'},
        {"compat", required_argument, NULL, O_COMPAT},
        {"cluster-size", required_argument, NULL, O_CSIZE},
        {"refcount-bits", required_argument, NULL, O_RBITS},
        {NULL, 0, NULL, 0},
    };
    struct disk_qcow2_create_opts o = {0};
    uint64_t v;
    int c;

    while ((c = getopt_long(argc, argv, ":b:F:", opts, NULL)) != -1) {
        switch (c) {
        case 'b': o.backing = optarg; break;
        case 'F':
            if (strcmp(optarg, "raw") && strcmp(optarg, "qcow2"))
                return disk_usage_err("create", "--backing-format %s: expected raw or qcow2",
                                      optarg);
            o.backing_fmt = optarg;
            break;
        case O_COMPAT:
            if (strcmp(optarg, "2") && strcmp(optarg, "3") && strcmp(optarg, "0.10") &&
                strcmp(optarg, "1.1"))
                return disk_usage_err("create", "--compat %s: expected 2 or 3", optarg);
            o.version = (!strcmp(optarg, "2") || !strcmp(optarg, "0.10")) ? 2 : 3;
            break;
        case O_CSIZE:
            if (disk_cli_size("create", "--cluster-size", optarg, &v))
                return DISK_EXIT_ERROR;
            if ((v & (v - 1)) || v < 512 || v > (2u << 20))
                return disk_usage_err("create",
                                      "--cluster-size %s: expected a power of two from 512B "
                                      "to 2M (e.g. 64K)",
                                      optarg);
            o.cluster_bits = (unsigned)__builtin_ctzll(v);
            break;
        case O_RBITS:
            v = strtoull(optarg, NULL, 10);
            if (!v || (v & (v - 1)) || v > 64)
                return disk_usage_err(
                    "create", "--refcount-bits %s: expected 1, 2, 4, 8, 16, 32 or 64", optarg);
            o.refcount_order = (unsigned)__builtin_ctzll(v);
            o.refcount_order_set = true;
            break;
        case ':': return disk_usage_err("create", "option %s needs a value", argv[optind - 1]);
        default: return disk_usage_err("create", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return disk_usage_err("create", "PATH is required");
    if (optind + 2 < argc)
        return disk_usage_err("create", "unexpected argument '%s'", argv[optind + 2]);
    if (optind + 1 < argc) {
        if (disk_cli_size("create", "size", argv[optind + 1], &o.size))
            return DISK_EXIT_ERROR;
    } else if (!o.backing) {
        return disk_usage_err("create", "SIZE is required without --backing");
    }
    if (o.version == 2 && o.refcount_order_set && o.refcount_order != 4)
        return disk_usage_err("create", "--compat 2 images have 16-bit refcounts");
    return disk_qcow2_create(argv[optind], &o) ? DISK_EXIT_ERROR : DISK_EXIT_OK;
}
