/* `vessel vm-shim` (internal; started by `vessel serve`): the small process that sits between
 * the daemon and one VM process, like podman's conmon. It starts in a session of its own, so
 * the VM outlives a daemon exit or restart, and it owns the VM's console, so the daemon is never
 * in the console path:
 *
 *   vessel vm-shim --dir DIR --id ID [--cgroup CGDIR]... [--pidns] -- VESSEL run ARGS...
 *
 * It forks the VM process (which joins each CGDIR, then execs `vessel run`) with its stdin and
 * stdout on pipes, appends every console byte to DIR/ID.log, serves the console on the unix
 * socket DIR/ID.sock (several clients; what any client sends goes to the guest, what the guest
 * prints goes to all), sends the VM's stderr to DIR/ID.vmm.log, and records:
 *   DIR/ID.pid   "VM_PID VM_START SHIM_PID SHIM_START\n" once the VM process exists
 *   DIR/ID.exit  "exited N\n" or "signal N\n" when it ends (then ID.pid is removed)
 * The VM process dies with the shim (PR_SET_PDEATHSIG). With --pidns it is the first process of
 * a new PID namespace (a jailed VM: host/jail.h), its pid here the one the shim records. */
#ifndef VESSEL_HOST_SHIM_H
#define VESSEL_HOST_SHIM_H

#define SHIM_MAX_CLIENTS 8

int host_shim_main(int argc, char **argv);

#endif
