/* The VM's run-time control commands, independent of how they arrive (the `--api-socket` line
 * protocol today, the HTTP management API later). One command is one JSON object with one
 * member, answered by one JSON object on one line:
 *
 *   {"balloon_target_mib": N}  ask the guest for a balloon of N MiB (memory taken from the
 *                              guest and returned to the host); 0 deflates it completely
 *                              -> {"ok":true}
 *   {"stats": null}            balloon state, the guest's memory statistics and the VMM's RSS
 *                              -> {"ok":true,"vmm_rss_kib":N,"balloon":{"target_mib":N,
 *                                  "actual_mib":N,"discarded_mib":N,"reported_mib":N,
 *                                  "deflated_mib":N,"stats":{"free_memory":BYTES,...}}}
 *
 * Errors: {"ok":false,"error":"..."}. */
#ifndef VESSEL_VM_CONTROL_H
#define VESSEL_VM_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/balloon.h"

enum control_op { CONTROL_BALLOON_TARGET, CONTROL_STATS };

struct control_cmd {
    enum control_op op;
    uint64_t num; /* CONTROL_BALLOON_TARGET: MiB */
};

/* What commands act on; NULL members are devices the VM does not have. */
struct control {
    struct virtio_balloon *balloon;
};

/* Parses one command line. Returns 0, or -EINVAL with a reason in err. */
int control_parse(const char *line, struct control_cmd *cmd, char *err, size_t errlen);
/* Runs a command and writes the one-line JSON answer (no newline) into out. */
void control_execute(const struct control *c, const struct control_cmd *cmd, char *out, size_t cap);
/* control_parse + control_execute (errors answered as JSON too). */
void control_handle_line(const struct control *c, const char *line, char *out, size_t cap);
/* VmRSS of this process in KiB, or 0 when unreadable. */
uint64_t control_vmm_rss_kib(void);

#endif
