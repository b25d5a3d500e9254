/* Helpers shared by the daemon's VM actions: vm_ops.c (start, pause, resume, stop, the control
 * socket's actions) and vm_power.c (shutdown, reboot). */
#ifndef VESSEL_HOST_VM_OPS_INT_H
#define VESSEL_HOST_VM_OPS_INT_H

#include "host/vm_ops.h"

/* Waits up to ms for the VM to reach state (VM_STOPPED: any state that is not live). */
void host_wait_state(struct vm_host *h, struct host_vm *v, enum vm_state want, int ms);
/* 0, or 409 filled into e while the VM's process is not known yet (starting). */
int host_need_pid(struct host_vm *v, struct api_error *e);

#endif
