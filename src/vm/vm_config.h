/* One VM's configuration: what `vessel run` builds from its argv, and what the daemon hands a VM
 * process as JSON (`vessel run --config FILE`). The same checks apply to both. */
#ifndef VESSEL_VM_VM_CONFIG_H
#define VESSEL_VM_VM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/disk/disk.h"
#include "backend/net/net.h"

#define VM_MAX_DEVICES    16 /* virtio devices of any kind; a board may take fewer */
#define VM_DEFAULT_MEM    (512ULL << 20)
#define VM_DEFAULT_ARCH   "riscv64"
#define VM_CONFIG_MAX_LEN (256 << 10) /* bytes of a JSON config file */
#define VM_JIT_CACHE_MIN  (256ULL << 10)
#define VM_JIT_CACHE_MAX  (1ULL << 30)

#define VM_JAIL_ALLOW_MAX 16
#define VM_JAIL_UID_FIRST 900000000u /* the default range of jail uids */
#define VM_JAIL_UID_COUNT 65536u
#define VM_JAIL_ROOT      "/run/vessel/jail" /* the default mount point of jail roots */

/* Confinement of the VM process (host/jail.h; docs/sandbox.md). */
struct vm_jail {
    bool on;
    uint32_t uid_first, uid_count;  /* the uids to pick from (0, 0: the defaults) */
    int64_t gid;                    /* -1: the uid's number */
    char *dir;                      /* the VM's own writable directory (same path inside) */
    char *root;                     /* where the jail's root is mounted (NULL: VM_JAIL_ROOT) */
    char *allow[VM_JAIL_ALLOW_MAX]; /* when any: every file of the VM must lie under one */
    int nallow;
};

struct vm_disk {
    char *path;
    bool readonly;
    enum disk_format format; /* DISK_FORMAT_PROBE: probed from the file */
};

/* Strings are malloc'd (vm_config_free); NULL when not given. */
struct vm_config {
    char *arch; /* "riscv64" or "x86_64" (a board_find() name) */
    char *kernel, *initrd, *firmware, *cmdline;
    char *bootloader;        /* boots the guest from its disk in the kernel's place (board.h) */
    char *trace;             /* rv64 instruction trace file */
    char *rv64_tier;         /* "jit" or "interp" (NULL: the engine's default) */
    uint64_t rv64_jit_cache; /* bytes of JIT code cache (0: the default) */
    uint64_t mem;            /* bytes; 0: VM_DEFAULT_MEM (restore and incoming: the source's) */
    int cpus;                /* 0: 1 (restore and incoming: the source's) */
    /* With incoming: mem and cpus, when set, are what the source's VM must have. */
    bool mem_set, cpus_set;
    struct vm_disk disks[VM_MAX_DEVICES];
    int ndisks;
    bool rng;
    char *console_socket;       /* virtio-console on a unix socket Vessel listens on */
    char *nets[VM_MAX_DEVICES]; /* --net specs (net_config_parse) */
    int nnets;
    bool balloon;
    uint64_t balloon_bytes; /* its initial target */
    char *api_socket;       /* the control socket (vm/control.h) */
    char *restore;          /* continue from this state file */
    bool clone;             /* with restore: a clone of the snapshot */
    char *incoming;         /* [HOST:]PORT: receive a live migration */
    bool seccomp;           /* per-thread seccomp allow-lists (vm/seccomp.h); implied by jail */
    struct vm_jail jail;
    char *overlay_dir; /* snapshot (then=resume) and --clone overlays go here, not next to disks */
    /* With incoming: the migration's secret (the source must prove it knows it); how long to
     * wait for the source and receive the whole VM, in seconds (0: VM_INCOMING_TIMEOUT_S); the
     * most RAM to take when mem is not set (0: VM_INCOMING_MAX_MEM). */
    char *migration_secret;
    uint32_t incoming_timeout_s;
    uint64_t incoming_max_mem;
};

#define VM_INCOMING_TIMEOUT_S 3600
#define VM_INCOMING_MAX_MEM   (4ULL << 30)

void vm_config_free(struct vm_config *c);
/* A malloc'd copy of s (NULL for NULL); exits on out of memory (configuration parsing only). */
char *vm_config_strdup(const char *s);

/* Checks a configuration as a whole, after argv or JSON filled it: the architecture, what goes
 * with restore / incoming / clone, sizes against the board's limits, device counts, net specs
 * (parsed into nets_out, which may be NULL). On a restore without an explicit arch, the arch
 * comes from the state file. 0, or -EINVAL with a one-line reason (no "vessel: " prefix). */
int vm_config_check(struct vm_config *c, struct net_config *nets_out, char *why, size_t whylen);

/* The JSON form (docs/vm-config.md): {"arch", "kernel", "initrd", "firmware", "bootloader",
 * "cmdline", "trace", "rv64_tier", "rv64_jit_cache_bytes", "memory_bytes", "cpus",
 * "disks": [{"path", "readonly", "format"}], "rng",
 * "console_socket", "nets": [SPEC], "balloon_bytes" (absent: no balloon), "api_socket",
 * "restore", "clone", "incoming", "migration_secret", "incoming_timeout_s",
 * "incoming_max_memory_bytes", "seccomp", "jail": {"uid_first", "uid_count", "gid", "dir",
 * "root", "allow": [DIR]}, "overlay_dir"}. to_json returns a malloc'd text or NULL (out of memory);
 * from_json fills c (which it clears first) or returns -EINVAL with a reason; unknown members
 * are refused. */
char *vm_config_to_json(const struct vm_config *c);
int vm_config_from_json(const char *text, size_t len, struct vm_config *c, char *why,
                        size_t whylen);

#endif
