/* The daemon's check of a new VM's machine at create (POST /v1/vms): its RAM and vCPUs against
 * the board's limits, and its kernel, initrd and firmware read and checked by the board of its
 * arch (board_ops.check_boot), so that an unusable VM is refused with the reason at once rather
 * than crashing at its start. */
#ifndef VESSEL_HOST_BOOT_CHECK_H
#define VESSEL_HOST_BOOT_CHECK_H

#include "api/apireq.h"

/* 0; 422 out_of_range (RAM or vCPUs the board does not take), 422 bad_file (no firmware given
 * and the default one is missing; no kernel given and the board's default boot loader is
 * missing) or 400 bad_image (the board's reason: e.g. "kernel /k: not a RISC-V Linux Image: an
 * x86 bzImage"), with e filled. VMs that restore or receive their
 * machine are not checked here (the snapshot or the source decides). */
int host_check_boot(const struct api_vm_config *c, struct api_error *e);

#endif
