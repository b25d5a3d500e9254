/* The jail of a VM process (`vessel run --jail`, and every VM of `vessel serve`): host policy,
 * applied by the VM process itself, single-threaded, before it creates the VM:
 *
 *   1. the configuration's files are listed (vm/vm_files.h) and, with an allow-list (the
 *      daemon's directories), each must lie in an allowed directory
 *   2. what needs privileges is opened now and handed in: taps (TUNSETIFF) and switch ports
 *      become fd= of their --net
 *   3. a uid from the range is taken (a lock file under /run/vessel/uids keeps it this VM's)
 *   4. new PID (unless this process is the first of one already: the vm-shim made it so), mount,
 *      IPC and UTS namespaces; a tmpfs at the jail root holds the VM's files bind-mounted at
 *      the paths the VM opens (read-only but for writable disks and the VM's own directory),
 *      each through an idmapped mount whose owner appears as the VM's uid (nothing changes
 *      on disk), /dev/null, /dev/urandom (and /dev/kvm), /etc's resolver files, and /proc
 *      limited to this process (subset=pid); pivot_root into it, the root made read-only
 *   5. rlimits: no core files, 4096 fds, 512 threads for the uid, address space (RAM + room)
 *   6. the drop: no supplementary groups (but /dev/kvm's), the uid and gid, an empty
 *      capability bounding set and no capabilities, no_new_privs, parent-death signal
 *
 * The seccomp filters come after, from the VM core (vm/seccomp.h). Details: docs/sandbox.md. */
#ifndef VESSEL_HOST_JAIL_H
#define VESSEL_HOST_JAIL_H

#include "vm/vm_config.h"

/* Confines this process for the VM c describes (c->jail.on); rewrites c's paths to the canonical
 * ones the jail shows and its tap/switch nets to fd=. Returns 0 in the confined process, or a
 * VM exit status (VM_STATUS_USAGE for bad input, VM_STATUS_VMM_ERROR) with one line on stderr.
 * When this process is not the first of a PID namespace it forks one: the parent stays outside,
 * waits, forwards SIGTERM, SIGINT, SIGHUP and SIGQUIT, and exits as the VM process did (it never
 * returns). */
int host_jail_enter(struct vm_config *c);

/* The jail's uid and gid, once entered (for messages). */
void host_jail_ids(unsigned *uid, unsigned *gid);

/* Whether path (canonical) lies in one of the directories (canonical). */
bool host_path_allowed(const char *path, char *const *dirs, int ndirs);

#endif
