/* host/shutdown_watch.c: a process that ends before the deadline is the guest's power-off, seen
 * at once (not only at the watch thread's next poll); one that does not is stopped by force. */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "host/procinfo.h"
#include "host/shutdown_watch.h"

/* A child that waits for a signal; its pid and start time. */
static pid_t child(uint64_t *start)
{
    struct proc_info pi;
    pid_t pid = fork();

    if (pid == 0) {
        pause();
        _exit(0);
    }
    if (pid > 0 && proc_info_read(pid, &pi) == 0)
        *start = pi.start;
    return pid;
}

TEST(shutdown_watch_guest_end_seen_at_once)
{
    struct shutdown_watch *w;
    uint64_t start = 0;
    pid_t pid = child(&start);

    CHECK(pid > 0);
    CHECK_EQ(shutdown_watch_start(&w, pid, start, 60000), 0);
    CHECK_EQ(shutdown_watch_end(w), SHUTDOWN_WAITING);
    /* the "guest" powers off: the process exits 0 and is reaped */
    CHECK_EQ(kill(pid, SIGUSR1), 0);
    CHECK_EQ(waitpid(pid, NULL, 0), pid);
    CHECK_EQ(shutdown_watch_end(w), SHUTDOWN_GUEST);
    shutdown_watch_free(w);
}

TEST(shutdown_watch_forced_at_deadline)
{
    struct shutdown_watch *w;
    struct timespec ts = {0, 10 * 1000000L};
    uint64_t start = 0;
    int status = 0;
    pid_t pid = child(&start);

    CHECK(pid > 0);
    CHECK_EQ(shutdown_watch_start(&w, pid, start, 100), 0);
    /* the thread sends SIGTERM at the deadline: the child ends by it */
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    for (int i = 0; i < 500 && shutdown_watch_end(w) == SHUTDOWN_WAITING; i++)
        nanosleep(&ts, NULL);
    CHECK_EQ(shutdown_watch_end(w), SHUTDOWN_FORCED);
    shutdown_watch_free(w);
}
