#include "base/log.h"

#include <errno.h>
#include <stdio.h>

static enum log_level log_level = LOG_WARN;

void log_set_level(enum log_level lvl)
{
    log_level = lvl;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;
    char buf[1024];

    if (lvl > log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
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
