/* Checking a VM configuration as a whole (vm_config.h), whoever filled it. */
#include "vm/vm_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board/board.h"
#include "state/snapfile.h"
#include "vm/migrate.h"

void vm_config_free(struct vm_config *c)
{
    free(c->arch);
    free(c->kernel);
    free(c->initrd);
    free(c->firmware);
    free(c->cmdline);
    free(c->bootloader);
    free(c->trace);
    free(c->rv64_tier);
    for (int i = 0; i < c->ndisks; i++)
        free(c->disks[i].path);
    free(c->console_socket);
    for (int i = 0; i < c->nnets; i++)
        free(c->nets[i]);
    free(c->api_socket);
    free(c->restore);
    free(c->incoming);
    free(c->jail.dir);
    free(c->jail.root);
    for (int i = 0; i < c->jail.nallow; i++)
        free(c->jail.allow[i]);
    free(c->overlay_dir);
    if (c->migration_secret)
        memset(c->migration_secret, 0, strlen(c->migration_secret));
    free(c->migration_secret);
    memset(c, 0, sizeof(*c));
}

char *vm_config_strdup(const char *s)
{
    char *d;

    if (!s)
        return NULL;
    d = strdup(s);
    if (!d) {
        fputs("vessel: out of memory\n", stderr);
        exit(2);
    }
    return d;
}

static int fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* The architecture a state file is for, from its header; false when it is not readable as one
 * (the restore itself then says why). */
static bool state_file_arch(const char *path, char arch[17])
{
    uint8_t h[SNAP_FILE_HDR_SIZE];
    char engine[9], why[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    bool ok;

    if (fd < 0)
        return false;
    ok = pread(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
         !snap_parse_file_header(h, engine, arch, why, sizeof(why));
    close(fd);
    return ok;
}

static int check_restore(struct vm_config *c, char *why, size_t whylen)
{
    char arch[17];

    if (c->incoming)
        return fail(why, whylen, "--restore and --incoming do not go together");
    if (c->kernel || c->initrd || c->cmdline || c->firmware || c->bootloader || c->mem_set ||
        c->cpus_set)
        return fail(why, whylen,
                    "--restore: the snapshot sets the machine; --kernel, --initrd, --append, "
                    "--firmware, --bootloader, --mem and --cpus do not go with it");
    /* The file says which engine and architecture it is for. */
    if (state_file_arch(c->restore, arch) && board_find(arch) &&
        strcmp(arch, c->arch ? c->arch : VM_DEFAULT_ARCH)) {
        if (c->arch)
            return fail(why, whylen, "--restore %s: the snapshot is not for --arch %s", c->restore,
                        c->arch);
        c->arch = vm_config_strdup(arch);
    }
    return 0;
}

static int check_sizes(const struct vm_config *c, const struct board_ops *b, char *why,
                       size_t whylen)
{
    uint64_t mem = c->mem ? c->mem : VM_DEFAULT_MEM;
    int ndev = c->ndisks + c->rng + (c->console_socket != NULL) + c->nnets + c->balloon;

    if ((c->mem_set || (!c->restore && !c->incoming)) && (mem < b->ram_min || mem > b->ram_max))
        return fail(why, whylen, "--mem: %llu MiB is out of range (%llu MiB to %llu GiB)",
                    (unsigned long long)(mem >> 20), (unsigned long long)(b->ram_min >> 20),
                    (unsigned long long)(b->ram_max >> 30));
    if (mem & 0xfff)
        return fail(why, whylen, "--mem: must be a multiple of 4 KiB");
    if (c->cpus_set && (c->cpus < 1 || c->cpus > b->max_cpus))
        return fail(why, whylen, "--cpus %d: expected a number of vCPUs from 1 to %d", c->cpus,
                    b->max_cpus);
    if (c->balloon && !c->restore && c->balloon_bytes > mem)
        return fail(why, whylen, "--balloon: %llu MiB is more than the guest's RAM (%llu MiB)",
                    (unsigned long long)(c->balloon_bytes >> 20), (unsigned long long)(mem >> 20));
    if (ndev > b->max_virtio || ndev > VM_MAX_DEVICES)
        return fail(why, whylen,
                    "run: more than %d virtio devices (--disk, --rng, --console-socket, --net, "
                    "--balloon)",
                    b->max_virtio < VM_MAX_DEVICES ? b->max_virtio : VM_MAX_DEVICES);
    return 0;
}

/* Whether path lies in dir (both absolute, no . or .. parts expected). */
static bool in_dir(const char *path, const char *dir)
{
    size_t n = strlen(dir);

    while (n > 1 && dir[n - 1] == '/')
        n--;
    return !strncmp(path, dir, n) && (path[n] == '/' || (n == 1 && dir[0] == '/'));
}

/* A jailed VM creates files only in its own directory: its sockets and trace must be there. */
static int check_jail(const struct vm_config *c, char *why, size_t whylen)
{
    const char *const made[][2] = {{"--api-socket", c->api_socket},
                                   {"--console-socket", c->console_socket},
                                   {"--trace", c->trace}};

    if (c->jail.dir && c->jail.dir[0] != '/')
        return fail(why, whylen, "--jail-dir %s: must be an absolute path", c->jail.dir);
    if (c->jail.root && c->jail.root[0] != '/')
        return fail(why, whylen, "--jail-root %s: must be an absolute path", c->jail.root);
    if (c->jail.uid_count && (uint64_t)c->jail.uid_first + c->jail.uid_count > 0xffffffffull)
        return fail(why, whylen, "--jail-uids: the range ends past the largest uid");
    for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
        if (!made[i][1])
            continue;
        if (!c->jail.dir || made[i][1][0] != '/' || !in_dir(made[i][1], c->jail.dir))
            return fail(why, whylen,
                        "%s %s: a jailed VM creates files only in its own directory: put it in "
                        "--jail-dir%s%s",
                        made[i][0], made[i][1], c->jail.dir ? " " : "",
                        c->jail.dir ? c->jail.dir : "");
    }
    return 0;
}

/* What boots: a kernel, or a boot loader (given, or the board's default) that finds the guest's
 * kernel on its disk - which brings its own initrd and command line. */
static int check_boot_files(const struct vm_config *c, const struct board_ops *b, char *why,
                            size_t whylen)
{
    bool boots = !c->restore && !c->incoming;

    if (boots && !c->kernel && !c->bootloader && !b->default_bootloader)
        return fail(why, whylen, "run: --kernel IMAGE is required (see vessel run --help)");
    if (c->kernel && c->bootloader)
        return fail(why, whylen,
                    "--bootloader: boots the kernel it finds on the disk; --kernel does not go "
                    "with it");
    if (boots && !c->kernel && c->ndisks == 0)
        return fail(why, whylen,
                    "run: without --kernel the machine boots from its disks: give --disk IMAGE "
                    "(e.g. one made by `vessel image build`) or --kernel");
    if (boots && !c->kernel && (c->initrd || c->cmdline))
        return fail(why, whylen,
                    "--initrd and --append go with --kernel (without --kernel the boot loader "
                    "takes the kernel, initrd and command line from the disk)");
    if ((c->firmware && !b->firmware) || (c->trace && !b->trace) ||
        (c->bootloader && !b->default_bootloader))
        return fail(why, whylen,
                    "run: --firmware, --bootloader and --trace are not supported with --arch %s "
                    "yet",
                    b->arch);
    return 0;
}

int vm_config_check(struct vm_config *c, struct net_config *nets_out, char *why, size_t whylen)
{
    const struct board_ops *b;
    int err;

    if (c->arch && !board_find(c->arch))
        return fail(why, whylen, "--arch %s: unknown architecture (supported: riscv64, x86_64)",
                    c->arch);
    if (c->restore && (err = check_restore(c, why, whylen)))
        return err;
    b = board_find(c->arch ? c->arch : VM_DEFAULT_ARCH);
    if (c->incoming) {
        char host[256], port[8], swhy[120];
        if (migrate_parse_hostport(c->incoming, host, sizeof(host), port, sizeof(port)))
            return fail(why, whylen, "--incoming %s: expected PORT or HOST:PORT", c->incoming);
        if (!c->migration_secret)
            return fail(why, whylen,
                        "--incoming: the migration's secret is required "
                        "(--migration-secret-file FILE; docs/migration.md)");
        if (migrate_secret_check(c->migration_secret, swhy, sizeof(swhy)))
            return fail(why, whylen, "--incoming: %s", swhy);
        if (c->incoming_max_mem &&
            (c->incoming_max_mem < b->ram_min || c->incoming_max_mem > b->ram_max))
            return fail(why, whylen, "--incoming-max-mem: out of range (%llu MiB to %llu GiB)",
                        (unsigned long long)(b->ram_min >> 20),
                        (unsigned long long)(b->ram_max >> 30));
    } else if (c->migration_secret || c->incoming_timeout_s || c->incoming_max_mem) {
        return fail(why, whylen,
                    "--migration-secret-file, --incoming-timeout and --incoming-max-mem go with "
                    "--incoming");
    }
    if (c->clone && !c->restore)
        return fail(why, whylen, "--clone: goes with --restore PATH (a clone of that snapshot)");
    if (c->clone && !b->generation_id)
        return fail(why, whylen, "--clone: clones of %s snapshots are not supported yet", b->arch);
    if ((err = check_boot_files(c, b, why, whylen)))
        return err;
    if ((c->rv64_tier || c->rv64_jit_cache) && !b->tiers)
        return fail(why, whylen, "run: --rv64-tier and --rv64-jit-cache are for --arch riscv64");
    if (c->rv64_tier && strcmp(c->rv64_tier, "jit") && strcmp(c->rv64_tier, "interp"))
        return fail(why, whylen, "--rv64-tier %s: expected jit or interp", c->rv64_tier);
    if (c->rv64_jit_cache &&
        (c->rv64_jit_cache < VM_JIT_CACHE_MIN || c->rv64_jit_cache > VM_JIT_CACHE_MAX))
        return fail(why, whylen, "--rv64-jit-cache: %llu KiB is out of range (256 KiB to 1 GiB)",
                    (unsigned long long)(c->rv64_jit_cache >> 10));
    if ((err = check_sizes(c, b, why, whylen)))
        return err;
    for (int i = 0; i < c->ndisks; i++)
        if (!c->disks[i].path || !c->disks[i].path[0])
            return fail(why, whylen, "--disk: expected a path");
    if (c->jail.on && (err = check_jail(c, why, whylen)))
        return err;
    for (int i = 0; i < c->nnets; i++) {
        struct net_config n;
        char nwhy[200];
        if (net_config_parse(c->nets[i], nets_out ? &nets_out[i] : &n, nwhy, sizeof(nwhy)))
            return fail(why, whylen, "--net %s: %s", c->nets[i], nwhy);
    }
    return 0;
}
