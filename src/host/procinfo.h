/* What /proc says about a process: state, start time (to tell a live pid from a reused one),
 * CPU time and RSS. */
#ifndef VESSEL_HOST_PROCINFO_H
#define VESSEL_HOST_PROCINFO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_info {
    char state;         /* R, S, D, T (stopped), t, Z (zombie), X ... */
    uint64_t start;     /* field 22 of /proc/PID/stat: clock ticks after boot */
    uint64_t cpu_ticks; /* utime + stime, all threads */
    uint64_t rss_kib;   /* VmRSS */
};

/* Returns 0, or -ENOENT when pid does not exist (or is unreadable). */
int proc_info_read(pid_t pid, struct proc_info *pi);

/* True when pid is a live (not zombie) process started at start. */
bool proc_alive(pid_t pid, uint64_t start);

/* Clock ticks per second (sysconf(_SC_CLK_TCK)). */
long proc_ticks_per_s(void);

#endif
