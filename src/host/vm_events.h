/* What the daemon tells about its VMs: one line on its stderr for each create, start, stop,
 * crash, migration (and pause, resume, snapshot, delete), naming the VM; and why a VM process
 * failed, read from the VMM's own log (STATE_DIR/vms/ID.vmm.log, the VM process's stderr). */
#ifndef VESSEL_HOST_VM_EVENTS_H
#define VESSEL_HOST_VM_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "host/registry.h"

/* "vessel serve: VM NAME (ID): <message>" on stderr, one write. */
void vm_event(const struct host_vm *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The size of the VM's VMM log now (0 when there is none): where its next run's lines begin. */
uint64_t vm_events_log_size(const struct registry *r, const struct host_vm *v);

/* The reason the VM process's last run gave (its lines after v->vmm_log_off): its last line,
 * without the "vessel: " prefix; when that line only points at the messages above it, the line
 * before it comes first ("A; B"). "" when the run logged nothing. */
void vm_events_reason(const struct registry *r, const struct host_vm *v, char *out, size_t cap);

#endif
