/* `vessel run --arch x86_64` and `vessel info`: the x86 side of the command, kept out of
 * main.c so that the riscv path and other flags stay untouched there. */
#ifndef VESSEL_CLI_RUN_X86_H
#define VESSEL_CLI_RUN_X86_H

#include <stdbool.h>
#include <stdint.h>

#include "board/x86/virtio_devs.h"

struct x86_run_opts {
    const char *kernel, *initrd, *append;
    uint64_t mem;
    int cpus;
    struct virtio_devset_config virtio; /* backends opened by the caller */
    const char *restore;    /* --restore PATH (kernel, initrd, append, mem, cpus unused) */
    const char *api_socket; /* --api-socket PATH or NULL */
    const char *incoming;   /* --incoming [HOST:]PORT (kernel, initrd, append unused) */
    uint64_t want_mem;      /* with incoming: what the source's VM must have (0: anything) */
    int want_cpus;
};

/* Returns the `vessel run` exit status (0 power-off, reset, snapshot with "then": "stop" or
 * migrated away, 1 bad input, 2 VMM error or failed incoming migration, 3 stopped, 130 user
 * quit). */
int cli_run_x86(const struct x86_run_opts *o);
/* True when path looks like a state file written for x86_64 (magic and architecture in its
 * header; every other check is the restore's): `vessel run --restore` routes on this. */
bool cli_restore_is_x86(const char *path);
/* Checks --mem for x86; returns NULL or the reason it is out of range. */
const char *cli_x86_check_mem(uint64_t mem);
/* `vessel info`: which engines this host supports, and why not. Returns 0. */
int cli_info(void);

#endif
