/* Live migration, inside: what the source (migrate.c) and the destination (migrate_in.c)
 * share - the connection as an authenticated channel with deadlines. Not for use elsewhere. */
#ifndef VESSEL_VM_MIGRATE_LINK_H
#define VESSEL_VM_MIGRATE_LINK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hmac256.h"
#include "state/snapfile.h"

#define MIG_PAGE         4096ull
#define MIG_LINE_MAX_LEN 512 /* one answer line on the back channel, its tag included */

/* One migration connection. Every wait is bounded twice: by idle_ms for any one piece, and by
 * the deadline of the phase it belongs to (mig_chan_phase), which never passes overall_ms:
 * a peer that sends one byte every few seconds still runs into the phase's end. Once
 * authenticated (vm/migrate_auth.h), every line carries a tag under its direction's key and
 * sequence number, and the state stream is tagged section by section (stream). */
struct mig_chan {
    int fd;
    uint32_t idle_ms;
    double deadline_ms; /* clock_now_ms() by which the current phase ends; 0: none */
    double overall_ms;  /* nothing runs past this; 0: no overall limit */
    bool authed;
    struct hmac256 send_key, recv_key;
    uint64_t send_seq, recv_seq;
    struct snap_mac stream; /* the section stream, source to destination */
};

void mig_chan_init(struct mig_chan *c, int fd, uint32_t idle_ms, double overall_ms);
/* The next phase must end within ms (and by overall_ms). */
void mig_chan_phase(struct mig_chan *c, uint32_t ms);
/* Forgets the keys. */
void mig_chan_wipe(struct mig_chan *c);

/* Reads exactly len bytes; 0, -ETIMEDOUT (idle or phase deadline), -ECONNRESET (closed) or
 * -errno. */
int mig_read_exact(struct mig_chan *c, void *buf, size_t len);
/* One '\n'-terminated line (without it, nor its tag) into buf; 0, -EBADMSG for a line whose
 * tag does not verify, or -errno. */
int mig_read_line(struct mig_chan *c, char *buf, size_t cap);
/* Sends one line (its tag and the newline are added); 0 or -errno. */
int mig_send_line(struct mig_chan *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends all of buf; 0 or -errno. */
int mig_send_all(struct mig_chan *c, const void *buf, size_t len);
/* Bounds every blocking call on a connected socket: a link that stops moving fails within
 * about timeout_ms instead of after TCP's many minutes of retries. */
void mig_set_timeouts(int fd, uint32_t timeout_ms);

/* Connects within timeout_ms; the fd or -errno with a reason in why. It gives up at once
 * (-ECANCELED) when *cancel is set. */
int mig_connect(const char *host, const char *port, uint32_t timeout_ms, char *why, size_t whylen,
                atomic_bool *cancel);

#endif
