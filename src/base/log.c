#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static enum log_level log_level = LOG_WARN;

void log_set_level(enum log_level lvl)
{
    log_level = lvl;
}

static __thread char *capture_buf;
static __thread size_t capture_cap;

void log_capture_start(char *buf, size_t cap)
{
    capture_buf = cap ? buf : NULL;
    capture_cap = cap;
    if (capture_buf)
        capture_buf[0] = '\0';
}

void log_capture_stop(void)
{
    capture_buf = NULL;
    capture_cap = 0;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;
    char buf[1024];

    if (lvl > log_level && !(lvl == LOG_ERROR && capture_buf))
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (lvl == LOG_ERROR && capture_buf) {
        size_t n = strlen(capture_buf);
        if (n + 3 < capture_cap)
            snprintf(capture_buf + n, capture_cap - n, "%s%s", n ? "; " : "", buf);
        return;
    }
    /* One write per line so that lines from several threads do not interleave. The console may
     * be in raw mode, so end with \r\n. */
    fprintf(stderr, "vessel: %s\r\n", buf);
}

int errbuf_set(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}
