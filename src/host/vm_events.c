/* The daemon's VM event lines and the VMM log's reasons (see vm_events.h). */
#include "host/vm_events.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAIL_MAX 8192 /* how much of the run's end is read for its reason */

void vm_event(const struct host_vm *v, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "vessel serve: VM %s (%s): %s\n", v->cfg.name, v->id, msg);
}

uint64_t vm_events_log_size(const struct registry *r, const struct host_vm *v)
{
    char path[REG_PATH_MAX + 16];
    struct stat st;

    registry_path(r, v, ".vmm.log", path, sizeof(path));
    return stat(path, &st) ? 0 : (uint64_t)st.st_size;
}

/* Line i from the end (0: the last) of text, trimmed of \r, blanks and "vessel: "; NULL when
 * there are fewer lines. Writes NULs into text. */
static const char *line_from_end(char *text, int i)
{
    char *end = text + strlen(text), *start;

    for (;;) {
        while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
            *--end = '\0';
        if (end == text)
            return NULL;
        start = end;
        while (start > text && start[-1] != '\n')
            start--;
        if (i-- == 0)
            break;
        end = start;
    }
    while (*start == '\r' || *start == ' ')
        start++;
    if (!strncmp(start, "vessel: ", 8))
        start += 8;
    return start;
}

void vm_events_reason(const struct registry *r, const struct host_vm *v, char *out, size_t cap)
{
    char path[REG_PATH_MAX + 16], buf[TAIL_MAX + 1], copy[TAIL_MAX + 1];
    uint64_t size = vm_events_log_size(r, v), from = v->vmm_log_off;
    const char *last, *prev;
    ssize_t n;
    int fd;

    out[0] = '\0';
    if (size <= from)
        return;
    if (size - from > TAIL_MAX)
        from = size - TAIL_MAX;
    registry_path(r, v, ".vmm.log", path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    n = pread(fd, buf, TAIL_MAX, (off_t)from);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    for (ssize_t i = 0; i < n; i++) /* control characters (raw-mode console escapes) */
        if ((unsigned char)buf[i] < 0x20 && buf[i] != '\n')
            buf[i] = buf[i] == '\t' ? ' ' : buf[i] == '\r' ? '\r' : '?';
    memcpy(copy, buf, (size_t)n + 1);
    last = line_from_end(buf, 0);
    if (!last)
        return;
    prev = strstr(last, "see the messages above") ? line_from_end(copy, 1) : NULL;
    if (prev)
        snprintf(out, cap, "%s; %s", prev, last);
    else
        snprintf(out, cap, "%s", last);
}
