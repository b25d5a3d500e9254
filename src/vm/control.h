/* The VM's run-time control commands, independent of how they arrive (the `--api-socket` line
 * protocol today, the HTTP management API later). One command is one JSON object with one
 * member, answered by one JSON object on one line:
 *
 *   {"balloon_target_mib": N}  ask the guest for a balloon of N MiB (memory taken from the
 *                              guest and returned to the host); 0 deflates it completely
 *                              -> {"ok":true}
 *   {"stats": null}            the VM's counters, the balloon's state, the guest's memory
 *   {"stats": MS}              statistics and the VMM's RSS; waits up to 500 ms (or MS, at
 *                              most 5000; 0: not at all) for the guest's fresh statistics
 *                              -> {"ok":true,"vmm_rss_kib":N,"vcpu_cpu_ns":[N,...],
 *                                  "engine":{"COUNTER":N,...} (engine_ops.counters),
 *                                  "disks":[{"read_ops":N,"read_bytes":N,"write_ops":N,
 *                                  "write_bytes":N,"flush_ops":N,"discard_ops":N,"errors":N}],
 *                                  "nets":[{"rx_packets":N,"rx_bytes":N,"rx_dropped":N,
 *                                  "tx_packets":N,"tx_bytes":N,"tx_dropped":N}],
 *                                  "balloon":{"target_mib":N,
 *                                  "actual_mib":N,"discarded_mib":N,"reported_mib":N,
 *                                  "deflated_mib":N,"stats":{"free_memory":BYTES,...}}}
 *   {"snapshot": {"path": "/x/vm.snap", "then": "resume"|"stop", "disks": "overlay"|"keep"}}
 *                              pause the VM, write its whole state to path (written as
 *                              path.tmp, renamed when complete; docs/state-format.md), then
 *                              resume it (default; the guest's clock does not see the pause)
 *                              or stop it (`vessel run` exits 0); restore with `vessel run
 *                              --restore PATH` -> {"ok":true,"ms":N,"paused_ms":N,"disks":[...]}
 *                              once the file is complete. With "resume", every writable disk
 *                              is frozen for the snapshot: the VM goes on writing to a new
 *                              qcow2 overlay on top of it (disks: [{"snapshot": OLD, "now":
 *                              NEW}]); "disks": "keep" leaves the disks as they are
 *   {"migrate": {"to": "HOST:PORT", "downtime_ms": N, "timeout_ms": N, "max_passes": N}}
 *                              start a live migration to `vessel run --incoming PORT` on
 *                              HOST (docs/migration.md); returns at once -> {"ok":true}
 *   {"migrate_status": null}   -> {"ok":true,"migration":{"state":"precopy",...}}
 *                              (migrate_status_json's members)
 *   {"migrate_cancel": null}   stop it before the VM is handed over -> {"ok":true}
 *   {"shutdown": null}         press the guest-visible power button: the guest is asked to
 *                              power off (it may ignore it) -> {"ok":true}; an error when the
 *                              machine has none, or the guest has no driver running it
 *   {"reboot": null}           reset the machine: the VM reboots in place -> {"ok":true}
 *   {"sandbox": null}          this process's confinement (docs/sandbox.md) -> {"ok":true,
 *                              "pid":N,"uid":N,"gid":N,"groups":"","cap_eff":HEX,
 *                              "cap_bnd":HEX,"no_new_privs":1,"seccomp":2,"seccomp_filters":N,
 *                              "ns":{"mnt":..,"pid":..,"ipc":..,"uts":..,"net":..,"user":..}}
 *   {"sandbox": {"open": PATH}} the control thread opens PATH read-only and closes it at once
 *                              (nothing is read) -> {"ok":true,"open":PATH,"error":null|"..."}
 *   {"sandbox": {"denied_call": true}} the control thread makes a system call its seccomp
 *                              allow-list denies (a test of the report: the VM process stops
 *                              with a line naming the thread and the call); without seccomp
 *                              the call just fails -> {"ok":true,"error":"..."}
 *
 * Errors: {"ok":false,"error":"..."}. */
#ifndef VESSEL_VM_CONTROL_H
#define VESSEL_VM_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/balloon.h"
#include "vm/migrate.h"
#include "vm/snapshot.h"

enum control_op {
    CONTROL_BALLOON_TARGET,
    CONTROL_STATS,
    CONTROL_SNAPSHOT,
    CONTROL_MIGRATE,
    CONTROL_MIGRATE_STATUS,
    CONTROL_MIGRATE_CANCEL,
    CONTROL_SHUTDOWN,
    CONTROL_REBOOT,
    CONTROL_SANDBOX,
};

enum control_sandbox_op { SANDBOX_STATUS, SANDBOX_OPEN, SANDBOX_DENIED_CALL };

#define CONTROL_PATH_MAX       1024
#define CONTROL_STATS_WAIT_MS  500  /* {"stats": null} */
#define CONTROL_STATS_WAIT_MAX 5000 /* {"stats": MS} */

struct vm_stats;

struct control_cmd {
    enum control_op op;
    uint64_t num;                    /* CONTROL_BALLOON_TARGET: MiB; CONTROL_STATS: wait ms */
    char path[CONTROL_PATH_MAX];     /* CONTROL_SNAPSHOT: the file */
    bool stop;                       /* CONTROL_SNAPSHOT: "then": "stop" */
    bool keep_disks;                 /* CONTROL_SNAPSHOT: "disks": "keep" */
    struct migrate_params mig;       /* CONTROL_MIGRATE (0: the defaults) */
    enum control_sandbox_op sandbox; /* CONTROL_SANDBOX; SANDBOX_OPEN takes path */
};

/* What commands act on; NULL members are devices the VM does not have. */
struct control {
    struct virtio_balloon *balloon;
    /* Writes a snapshot as cmd says (riscv_board_snapshot's contract): 0 or -errno. */
    int (*snapshot)(void *opaque, const struct control_cmd *cmd, struct snapshot_result *res);
    void *snapshot_opaque;
    /* The power button (reboot false) or a machine reset (true), with snapshot_opaque: 0 or
     * -errno (-EOPNOTSUPP: no power button). NULL: neither. */
    int (*power)(void *opaque, bool reboot);
    struct migration *migration; /* NULL: the VM cannot migrate */
    /* The VM's counters (vm.h), with snapshot_opaque; NULL: none. */
    void (*stats)(void *opaque, struct vm_stats *st);
};

/* Parses one command line. Returns 0, or -EINVAL with a reason in err. */
int control_parse(const char *line, struct control_cmd *cmd, char *err, size_t errlen);
/* Runs a command and writes the one-line JSON answer (no newline) into out. */
void control_execute(const struct control *c, const struct control_cmd *cmd, char *out, size_t cap);
/* control_parse + control_execute (errors answered as JSON too). */
void control_handle_line(const struct control *c, const char *line, char *out, size_t cap);
/* CONTROL_SANDBOX (vm/sandbox_probe.c). */
void control_sandbox(const struct control_cmd *cmd, char *out, size_t cap);
/* VmRSS of this process in KiB, or 0 when unreadable. */
uint64_t control_vmm_rss_kib(void);

#endif
