/* /proc/PID/stat and /proc/PID/status readers (see procinfo.h). */
#include "host/procinfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file.h"

int proc_info_read(pid_t pid, struct proc_info *pi)
{
    char path[64], buf[4096], *p, *f[24];
    int n = 0;

    *pi = (struct proc_info){0};
    if (pid <= 0)
        return -ENOENT;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (file_read_text(path, buf, sizeof(buf)))
        return -ENOENT;
    /* "pid (comm) state ..."; comm may hold spaces and parentheses: the last ')' ends it. */
    p = strrchr(buf, ')');
    if (!p)
        return -ENOENT;
    for (p = p + 1; n < 24 && (p = strchr(p, ' ')); p++)
        f[n++] = p + 1;
    if (n < 20) /* f[0] is field 3 (state), f[19] is field 22 (starttime) */
        return -ENOENT;
    pi->state = f[0][0];
    pi->cpu_ticks = strtoull(f[11], NULL, 10) + strtoull(f[12], NULL, 10);
    pi->start = strtoull(f[19], NULL, 10);
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (!file_read_text(path, buf, sizeof(buf)) && (p = strstr(buf, "VmRSS:")))
        pi->rss_kib = strtoull(p + 6, NULL, 10);
    return 0;
}

bool proc_alive(pid_t pid, uint64_t start)
{
    struct proc_info pi;

    if (proc_info_read(pid, &pi))
        return false;
    return pi.start == start && pi.state != 'Z' && pi.state != 'X';
}

long proc_ticks_per_s(void)
{
    long t = sysconf(_SC_CLK_TCK);

    return t > 0 ? t : 100;
}
