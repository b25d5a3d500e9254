/* Live migration, inside: what the source (migrate.c) and the destination (migrate_in.c)
 * share. Not for use elsewhere. */
#ifndef VESSEL_VM_MIGRATE_LINK_H
#define VESSEL_VM_MIGRATE_LINK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define MIG_PAGE         4096ull
#define MIG_LINE_MAX_LEN 512 /* one answer line on the back channel */

/* Reads exactly len bytes, waiting at most timeout_ms for each chunk; 0, -ETIMEDOUT,
 * -ECONNRESET (closed) or -errno. */
int mig_read_exact(int fd, void *buf, size_t len, uint32_t timeout_ms);
/* One '\n'-terminated line (without it) into buf; 0 or -errno. */
int mig_read_line(int fd, char *buf, size_t cap, uint32_t timeout_ms);
/* Sends one line (the newline is added); 0 or -errno. */
int mig_send_line(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Bounds every blocking call on a connected socket: a link that stops moving fails within
 * about timeout_ms instead of after TCP's many minutes of retries. */
void mig_set_timeouts(int fd, uint32_t timeout_ms);

/* Connects within timeout_ms; the fd or -errno with a reason in why. It gives up at once
 * (-ECANCELED) when *cancel is set. */
int mig_connect(const char *host, const char *port, uint32_t timeout_ms, char *why, size_t whylen,
                atomic_bool *cancel);

#endif
