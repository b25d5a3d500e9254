/* The daemon's side of a VM process's control socket (STATE_DIR/vms/ID.d/api.sock; the commands
 * are vm/control.h's). */
#ifndef VESSEL_HOST_VM_CONTROL_H
#define VESSEL_HOST_VM_CONTROL_H

#include "api/apireq.h"
#include "host/vm_ops.h"

/* Sends one command line to the VM's control socket and gives its one-line answer (malloc'd in
 * *answer); waits up to timeout_s for it, with the daemon's lock (h->lock, which the caller
 * holds) released meanwhile. 0, or an HTTP status with e filled (409 unsupported
 * when the socket is not there, 500 when it does not answer). */
int host_control_call(struct vm_host *h, struct host_vm *v, const char *cmd, int timeout_s,
                      char **answer, struct api_error *e);

#endif
