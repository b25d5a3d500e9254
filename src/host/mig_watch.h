/* The daemon's view of a VM's outgoing live migration. mig_watch_start() connects to the VM's
 * control socket, sends the migrate command there and asks for the first status; a thread of
 * its own then keeps that connection and asks {"migrate_status": null} every 100 ms until the
 * migration ends or the VM process goes away, keeping the last answer. Holding the connection
 * from before the start makes the VMM linger after a completed migration (api_socket_linger),
 * so the last answer seen is the final one, and the daemon knows whether the VM process's
 * exit 0 was the hand-over or a guest power-off after a failed attempt. */
#ifndef VESSEL_HOST_MIG_WATCH_H
#define VESSEL_HOST_MIG_WATCH_H

enum mig_watch_end {
    MIG_WATCH_RUNNING,     /* still copying (or not seen to end yet) */
    MIG_WATCH_COMPLETED,   /* the destination runs the VM */
    MIG_WATCH_FAILED,      /* failed or cancelled: the VM runs on here */
    MIG_WATCH_LOST,        /* the control socket closed before an end was seen */
    MIG_WATCH_UNCONFIRMED, /* handed over, not confirmed: the VM stays paused here for good */
};

struct mig_watch;

/* Sends cmd (one JSON line, no newline) on a new connection to the unix socket api_path and
 * gives the VM's answer in *answer (malloc'd). When the answer is {"ok":true,...} the watch
 * runs and *out is set; otherwise *out is NULL. Returns 0, or -errno when the socket cannot be
 * reached or gives no answer. */
int mig_watch_start(struct mig_watch **out, const char *api_path, const char *cmd, char **answer);
/* The last status object seen (JSON text, malloc'd; NULL when out of memory) and how the
 * migration ended so far. */
char *mig_watch_status(struct mig_watch *w, enum mig_watch_end *end);
enum mig_watch_end mig_watch_end(struct mig_watch *w);
/* Stops the thread (within about 100 ms) and frees everything; NULL is fine. */
void mig_watch_free(struct mig_watch *w);

#endif
