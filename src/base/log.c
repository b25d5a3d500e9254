#include "base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"

static enum log_level log_level = LOG_WARN;
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t suppressed_total;

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

static void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
    char buf[1024];

    if (lvl > log_level && !(lvl == LOG_ERROR && capture_buf))
        return;
    vsnprintf(buf, sizeof(buf), fmt, ap);
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

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(lvl, fmt, ap);
    va_end(ap);
}

void log_limited(struct log_limit *l, enum log_level lvl, const char *fmt, ...)
{
    const uint64_t period = (uint64_t)LOG_LIMIT_PERIOD_MS * 1000000ULL;
    uint64_t now = clock_now_ns(), dropped = 0;
    bool pass;
    va_list ap;

    if (lvl > log_level)
        return;
    pthread_mutex_lock(&limit_lock);
    if (!l->started) {
        l->started = true;
        l->tokens = LOG_LIMIT_BURST;
        l->last_ns = now;
    } else if (now - l->last_ns >= period) {
        uint64_t add = (now - l->last_ns) / period;
        l->tokens = add >= LOG_LIMIT_BURST || l->tokens + add >= LOG_LIMIT_BURST
                        ? LOG_LIMIT_BURST
                        : l->tokens + (uint32_t)add;
        l->last_ns += add * period;
    }
    pass = l->tokens > 0;
    if (pass) {
        l->tokens--;
        dropped = l->dropped;
        l->dropped = 0;
    } else {
        l->dropped++;
        suppressed_total++;
    }
    pthread_mutex_unlock(&limit_lock);
    if (!pass)
        return;
    if (dropped)
        log_msg(lvl, "%llu messages suppressed (the guest causes them faster than they are logged)",
                (unsigned long long)dropped);
    va_start(ap, fmt);
    log_vmsg(lvl, fmt, ap);
    va_end(ap);
}

uint64_t log_suppressed_total(void)
{
    uint64_t n;

    pthread_mutex_lock(&limit_lock);
    n = suppressed_total;
    pthread_mutex_unlock(&limit_lock);
    return n;
}

int errbuf_set(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}
