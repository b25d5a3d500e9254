/* The daemon's graceful stop of a VM (POST /v1/vms/{id}/shutdown): once the guest was asked to
 * power off (its power button pressed through the VM's control socket), a thread of its own
 * waits for the VM process - known by pid and start time, so that a reused pid is never
 * signalled - to end. At the deadline it stops the VM by force: SIGTERM (the VMM stops the VM
 * with its disks flushed, exit status 3), then SIGKILL if the process is still there
 * SHUTDOWN_KILL_AFTER_MS later. The thread touches no daemon state. */
#ifndef VESSEL_HOST_SHUTDOWN_WATCH_H
#define VESSEL_HOST_SHUTDOWN_WATCH_H

#include <stdint.h>
#include <sys/types.h>

#define SHUTDOWN_KILL_AFTER_MS 10000

enum shutdown_end {
    SHUTDOWN_WAITING, /* the guest has until the deadline */
    SHUTDOWN_GUEST,   /* the VM process ended before the deadline */
    SHUTDOWN_FORCED,  /* the deadline passed: SIGTERM (and SIGKILL if need be) */
};

struct shutdown_watch;

/* Starts watching process pid (started at start, proc_info's clock ticks); timeout_ms from now
 * it is stopped by force. 0 or -errno. */
int shutdown_watch_start(struct shutdown_watch **out, pid_t pid, uint64_t start, int timeout_ms);
/* How it ended so far; a process found gone while the watch still waits ended before the
 * deadline (SHUTDOWN_GUEST), even before the thread's next poll. */
enum shutdown_end shutdown_watch_end(struct shutdown_watch *w);
/* Stops the thread (within about 50 ms) and frees everything; NULL is fine. */
void shutdown_watch_free(struct shutdown_watch *w);

#endif
