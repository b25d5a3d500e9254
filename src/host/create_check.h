/* The checks of a new VM's definition at create (POST /v1/vms), before it is saved: every path
 * in the allowed directories, the files readable (writable disks writable), the boot files
 * usable by the board (boot_check.h), what the files lead to allowed too (backing chains, a
 * snapshot's boot files), a restore's machine matching the definition, and no disk written by
 * two definitions. */
#ifndef VESSEL_HOST_CREATE_CHECK_H
#define VESSEL_HOST_CREATE_CHECK_H

#include "api/apireq.h"
#include "host/vm_ops.h"

/* 0, or an HTTP status with e filled (403 forbidden, 422 bad_file or out_of_range, 400
 * bad_image, 409 disk_in_use). A restore's definition takes its RAM, vCPUs and balloon from
 * the snapshot (c is updated). */
int host_vm_create_check(struct vm_host *h, struct api_vm_config *c, struct api_error *e);

#endif
