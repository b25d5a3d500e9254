/* Waiting for a guest to power off, and the forced stop at the deadline (shutdown_watch.h). */
#include "host/shutdown_watch.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "host/procinfo.h"

#define POLL_MS 50

struct shutdown_watch {
    pid_t pid;
    uint64_t start;
    double deadline_ms; /* clock_now_ms() */
    pthread_t thread;
    atomic_bool stop;
    atomic_int end; /* enum shutdown_end */
};

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *watch_main(void *arg)
{
    struct shutdown_watch *w = arg;
    double killed_at = 0;

    while (!atomic_load(&w->stop) && proc_alive(w->pid, w->start)) {
        double now = clock_now_ms();
        if (atomic_load(&w->end) == SHUTDOWN_WAITING && now >= w->deadline_ms) {
            log_warn("serve: VM process %d did not power off in time: stopping it (SIGTERM)",
                     (int)w->pid);
            atomic_store(&w->end, SHUTDOWN_FORCED);
            kill(w->pid, SIGTERM);
            kill(w->pid, SIGCONT); /* a paused VM must run to act on it */
            killed_at = now + SHUTDOWN_KILL_AFTER_MS;
        } else if (killed_at && now >= killed_at) {
            log_warn("serve: VM process %d ignored SIGTERM: SIGKILL", (int)w->pid);
            kill(w->pid, SIGKILL);
            killed_at = 0;
        }
        sleep_ms(POLL_MS);
    }
    if (atomic_load(&w->end) == SHUTDOWN_WAITING && !atomic_load(&w->stop))
        atomic_store(&w->end, SHUTDOWN_GUEST);
    return NULL;
}

int shutdown_watch_start(struct shutdown_watch **out, pid_t pid, uint64_t start, int timeout_ms)
{
    struct shutdown_watch *w = calloc(1, sizeof(*w));
    int err;

    *out = NULL;
    if (!w)
        return -ENOMEM;
    w->pid = pid;
    w->start = start;
    w->deadline_ms = clock_now_ms() + timeout_ms;
    atomic_init(&w->stop, false);
    atomic_init(&w->end, SHUTDOWN_WAITING);
    err = -pthread_create(&w->thread, NULL, watch_main, w);
    if (err) {
        free(w);
        return err;
    }
    *out = w;
    return 0;
}

enum shutdown_end shutdown_watch_end(struct shutdown_watch *w)
{
    int waiting = SHUTDOWN_WAITING;

    /* The process may be gone before the watch thread's next poll notices: it ended before the
     * deadline, since the thread marks a forced stop before it signals. */
    if (atomic_load(&w->end) == SHUTDOWN_WAITING && !atomic_load(&w->stop) &&
        !proc_alive(w->pid, w->start))
        atomic_compare_exchange_strong(&w->end, &waiting, SHUTDOWN_GUEST);
    return (enum shutdown_end)atomic_load(&w->end);
}

void shutdown_watch_free(struct shutdown_watch *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    free(w);
}
