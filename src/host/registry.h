/* The daemon's VMs: definitions persisted as JSON in STATE_DIR/vms/ID.json, and the run-time
 * state of each derived from what its vm-shim records (ID.pid, ID.exit; see shim.h) and from
 * /proc, so that a restarted daemon finds its running VMs again with no other bookkeeping. */
#ifndef VESSEL_HOST_REGISTRY_H
#define VESSEL_HOST_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "api/apireq.h"

#define REGISTRY_MAX_VMS 256
#define REG_PATH_MAX     4096

/* VM_INCOMING: the process waits for a live migration ("incoming" VMs) until the migrated VM
 * runs (its control socket appears); VM_MIGRATED: the VM moved to migrate_to and its process
 * ended (exit 0 after the hand-over); it holds nothing here any more. */
enum vm_state {
    VM_CREATED,
    VM_RUNNING,
    VM_PAUSED,
    VM_STOPPED,
    VM_CRASHED,
    VM_INCOMING,
    VM_MIGRATED
};

struct mig_watch;
struct shutdown_watch;

struct host_vm {
    char id[API_NAME_MAX];
    int inflight; /* run time: requests on this VM under way (it is not freed meanwhile) */
    struct api_vm_config cfg;
    time_t created;
    bool started;        /* persisted: started at least once */
    bool stop_requested; /* persisted: the daemon stopped it (an exit then is not a crash) */
    /* persisted: an outgoing migration to there was started and has not been seen to fail;
     * an exit 0 then is the hand-over */
    char migrate_to[API_HOSTPORT_MAX];
    /* persisted, clone VMs (host/clone_disks.h): the overlay disk i of the last start writes
     * to ("" when it uses cfg.disks[i] itself); clone_keep[i]: a snapshot was taken with it, so
     * the daemon must not remove it */
    char clone_disk[API_MAX_DISKS][API_PATH_MAX];
    bool clone_keep[API_MAX_DISKS];
    /* persisted: the VM's last failure with its reason (a start that failed, a crash, a
     * failed migration), "" when none since its last start; and where its last run's lines
     * begin in its VMM log (vm_events.h) */
    char last_error[512];
    uint64_t vmm_log_off;
    struct mig_watch *mig; /* run time: the migration this daemon started, or NULL */
    bool starting;         /* run time: host_vm_start waits for the VM process */
    /* run time: the graceful stop this daemon started (host_vm_shutdown), or NULL */
    struct shutdown_watch *shutdown;
    /* run time, from registry_refresh() */
    enum vm_state state;
    pid_t vm_pid, shim_pid;
    uint64_t vm_start, shim_start;
    char exit_desc[32];    /* "exited N" / "signal N" of the last run, "" when none */
    pid_t spawned_shim;    /* the shim this daemon started, until it records the VM's pid */
    bool incoming_arrived; /* an incoming VM's migration arrived (its socket appeared) */
    /* run time, incoming VMs: the secret of the migration this start waits for (64 hex digits,
     * new at every start; kept in the 0600 run configuration, never in ID.json) */
    char mig_secret[65];
    uint64_t spawned_shim_start;
};

struct registry {
    char vmdir[REG_PATH_MAX - 128]; /* STATE_DIR/vms */
    struct host_vm *vms[REGISTRY_MAX_VMS];
    int n;
};

const char *vm_state_name(enum vm_state s);
/* Running, paused or incoming: holds its reservation and has a process. */
bool vm_is_live(const struct host_vm *v);

/* Creates STATE_DIR/vms if needed and loads every definition in it. Returns 0 or -errno. */
int registry_open(struct registry *r, const char *state_dir);
void registry_close(struct registry *r);

/* By id, or else by name; NULL when neither matches. */
struct host_vm *registry_find(struct registry *r, const char *id_or_name);
/* A new VM (fresh random id), saved. Returns 0, -EEXIST (name taken), -ENOSPC or -errno. */
int registry_add(struct registry *r, const struct api_vm_config *cfg, struct host_vm **out);
/* Removes the VM's definition and files and frees it. */
void registry_remove(struct registry *r, struct host_vm *v);
/* Writes the VM's definition (atomically). Returns 0 or -errno. */
int registry_save(const struct registry *r, const struct host_vm *v);
/* Re-derives v->state and the pids from the shim's files and /proc (and, for a migrating VM,
 * from its mig_watch: a migration seen to fail clears migrate_to). The end of a run (stopped,
 * crashed, migrated), an incoming migration's arrival and a failed migration are logged once
 * (vm_events.h); a crash or failed migration sets last_error. */
void registry_refresh(const struct registry *r, struct host_vm *v);

/* The VM process's own directory STATE_DIR/vms/ID.d (its jail's writable one: the control
 * socket, snapshots on their way, snapshot overlays) and the control socket in it. */
#define REG_DIR          ".d"
#define REG_API          ".d/api.sock"
#define REG_SNAP_STAGING ".d/snap"

/* STATE_DIR/vms/ID<suffix> (".log", ".sock", REG_API, ".pid", ".exit", ".vmm.log"). */
void registry_path(const struct registry *r, const struct host_vm *v, const char *suffix, char *out,
                   size_t cap);

/* The recorded clone overlays as [{"index": I, "disk": CONFIG PATH, "overlay": PATH}] (with
 * "keep" when with_keep), or NULL when out of memory. */
json_t *registry_clone_disks_json(const struct host_vm *v, bool with_keep);

/* The config as a JSON text (malloc'd), the shape POST /v1/vms takes. */
char *vm_config_dump(const struct api_vm_config *c);

#endif
