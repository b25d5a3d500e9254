/* VM lifecycle actions of the daemon: start (spawn the vm-shim and the VM process in its
 * cgroups), pause/resume (SIGSTOP/SIGCONT of the VM process: every vCPU and device thread
 * stops), stop (SIGKILL), shutdown (the guest's power button, then a forced stop at a deadline),
 * reboot, the balloon, snapshots and live migration (forwarded to the VM's --api-socket). */
#ifndef VESSEL_HOST_VM_OPS_H
#define VESSEL_HOST_VM_OPS_H

#include <pthread.h>

#include "api/apireq.h"
#include "host/cgroup.h"
#include "host/policy.h"
#include "host/registry.h"

/* Memory the VMM may use beyond guest RAM: the cgroup limit is memory_mib + this, and each VM
 * reserves this much of the host's memory capacity besides its RAM. */
#define VMM_ALLOWANCE_MIB 64

struct vm_host {
    struct registry reg;
    struct cgroup_host cg;
    char self[4096];           /* this binary, for the shim and `vessel run` */
    int cpus;                  /* physical capacity */
    double overcommit;         /* vCPU capacity = floor(cpus * overcommit) */
    uint64_t memory_mib;       /* capacity */
    struct host_policy policy; /* the directories clients may use */
    /* VM processes jailed (host/jail.h), with uids of this range (0, 0: the default) and this
     * gid (-1: each its uid's number) */
    bool jail;
    uint32_t jail_uid_first, jail_uid_count;
    int64_t jail_gid;
    /* Held by each request's handler: requests run on threads of their own. The actions
     * below let go of it while they wait on a VM (its control socket, its state), so that
     * nothing waits for them; the VM they act on stays (host_vm.inflight). */
    pthread_mutex_t lock;
};

/* Sleeps ms without the lock (other requests go on meanwhile). */
void vm_host_sleep(struct vm_host *h, int ms);

/* vCPUs and MiB held by running and paused VMs. */
void vm_host_allocated(struct vm_host *h, int *cpus, uint64_t *mem_mib);
int vm_host_vcpu_capacity(const struct vm_host *h);

/* Each returns 0, or an HTTP status with e filled (409 for a state that does not allow it). */
int host_vm_start(struct vm_host *h, struct host_vm *v, struct api_error *e);
int host_vm_pause(struct vm_host *h, struct host_vm *v, struct api_error *e);
int host_vm_resume(struct vm_host *h, struct host_vm *v, struct api_error *e);
/* SIGKILL (stop), or SIGTERM: the VMM stops the VM at once with its disks flushed. */
int host_vm_stop(struct vm_host *h, struct host_vm *v, bool graceful, struct api_error *e);
/* A graceful stop: presses the guest's power button (through the VM's control socket) and gives
 * the guest timeout_s to power off before it is stopped by force (host/shutdown_watch.h); where
 * the button cannot be pressed (the board has none, the guest has no driver for it, the VM is
 * not past its start) or with timeout_s 0 the forced stop is at once. *method says which:
 * "power_button" or "forced"; *why (a static or v-owned string) why it was forced. */
int host_vm_shutdown(struct vm_host *h, struct host_vm *v, int timeout_s, const char **method,
                     char *why, size_t whylen, struct api_error *e);
/* How the last graceful stop goes: "waiting", "guest" (it powered off), "forced", or NULL. */
const char *host_vm_shutdown_state(struct host_vm *v);
/* Resets the machine of a running VM: its guest reboots in place (the control socket's
 * {"reboot": null}). */
int host_vm_reboot(struct vm_host *h, struct host_vm *v, struct api_error *e);
/* On success, answer (malloc'd) is the VM's one-line JSON reply. */
int host_vm_balloon(struct vm_host *h, struct host_vm *v, uint64_t target_mib, char **answer,
                    struct api_error *e);
/* A running VM's {"stats": wait_ms} answer (vm/control.h; malloc'd): 409 when it is not
 * running (a paused VM's process cannot answer). */
int host_vm_stats(struct vm_host *h, struct host_vm *v, unsigned wait_ms, char **answer,
                  struct api_error *e);
/* Forwards {"snapshot": {"path", "then", "disks"}} to a running VM's control socket (the file
 * is written by the VM process: a jailed one writes it in its own directory and the daemon
 * moves it to path, path a canonical one the policy allowed); answer as for vm_balloon. With
 * stop the VM then exits (stopped). */
int host_vm_snapshot(struct vm_host *h, struct host_vm *v, const char *path, bool stop,
                     bool keep_disks, char **answer, struct api_error *e);

/* Live migration of a running VM, riscv64 or x86_64 (forwarded to its control socket; a
 * mig_watch follows it). On success *status (malloc'd) is the migration's status object as JSON text. vm_migrate
 * starts it (v->migrate_to marks its exit 0 as the hand-over: state `migrated`);
 * vm_migration_status gives the last status (state "none" when there is none);
 * vm_migration_cancel stops it before the hand-over (409 when none can be cancelled). */
/* An incoming VM's migration secret (what the source's POST .../migrate must give as "secret"),
 * or NULL when the VM is not an incoming one or was not started. */
const char *host_vm_mig_secret(struct vm_host *h, struct host_vm *v);
int host_vm_migrate(struct vm_host *h, struct host_vm *v, const struct api_migrate *m,
                    char **status, struct api_error *e);
int host_vm_migration_status(struct vm_host *h, struct host_vm *v, char **status,
                             struct api_error *e);
int host_vm_migration_cancel(struct vm_host *h, struct host_vm *v, char **status,
                             struct api_error *e);

#endif
