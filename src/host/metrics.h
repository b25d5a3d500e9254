/* The daemon's metrics: GET /v1/vms/{id}/stats (one VM's counters as JSON) and GET /metrics
 * (every VM's, in the Prometheus text format 0.0.4, per-VM series labelled vm="NAME").
 *
 * A running VM's counters come from its VM process ({"stats": MS} on its control socket,
 * vm/control.h): each vCPU's host CPU time, the engine's counters (rv64: instructions retired,
 * traps by kind, WFI sleeps; kvm: exits by kind), each disk's and NIC's bytes and operations,
 * the balloon. /proc adds the VM process's CPU time and RSS, and the cgroup its usage. A paused
 * VM's process cannot answer: it shows only what /proc and the cgroup tell. */
#ifndef VESSEL_HOST_METRICS_H
#define VESSEL_HOST_METRICS_H

#include <jansson.h>

#include "api/apireq.h"
#include "host/vm_ops.h"

/* GET /v1/vms/{id}/stats: 200 with *out, or 409 (not running or paused) with e filled. */
int host_vm_stats_json(struct vm_host *h, struct host_vm *v, json_t **out, struct api_error *e);

/* GET /metrics: the text (malloc'd), or NULL when out of memory. With the daemon's lock held
 * (h->lock); it lets go of it while it asks each VM for its statistics. */
char *host_metrics_text(struct vm_host *h);

#endif
