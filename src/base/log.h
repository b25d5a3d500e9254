/* Logging: one line per message, prefixed by the subsystem. */
#ifndef VESSEL_BASE_LOG_H
#define VESSEL_BASE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Formats a message for the caller into err (errlen bytes) and returns -EINVAL: for parsers
 * that report what was wrong with their input instead of logging it. */
int errbuf_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A message a guest can cause as often as it likes (an odd-width register access, a bad
 * request, a broken queue): each call site has its own token bucket of LOG_LIMIT_BURST lines,
 * refilled by one line every LOG_LIMIT_PERIOD_MS; what does not fit is dropped and counted,
 * and the next line that gets through is preceded by "N messages suppressed" for that site.
 * A guest can so add at most about one line per site every LOG_LIMIT_PERIOD_MS to the host's
 * log (under the daemon, a file on disk). */
#define LOG_LIMIT_BURST     10
#define LOG_LIMIT_PERIOD_MS 5000

struct log_limit {
    uint64_t last_ns; /* when the bucket was last refilled */
    uint32_t tokens;  /* lines that may go out now */
    uint64_t dropped; /* lines suppressed since the last that went out */
    bool started;
};

void log_limited(struct log_limit *l, enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Lines suppressed by every limit of this process so far (for tests and statistics). */
uint64_t log_suppressed_total(void);

#define log_guest(lvl, ...)                                                                        \
    do {                                                                                           \
        static struct log_limit log_limit_;                                                        \
        log_limited(&log_limit_, lvl, __VA_ARGS__);                                                \
    } while (0)
#define log_guest_err(...)  log_guest(LOG_ERROR, __VA_ARGS__)
#define log_guest_warn(...) log_guest(LOG_WARN, __VA_ARGS__)
/* Thread-local capture of error messages: between log_capture_start and log_capture_stop, every
 * LOG_ERROR message of the calling thread goes into buf (the first one; later ones appended
 * after "; " while they fit) instead of stderr. For a caller that hands the reason on, e.g. the
 * daemon answering a request with why a boot file is unusable. buf is "" when nothing failed. */
void log_capture_start(char *buf, size_t cap);
void log_capture_stop(void);

#define log_err(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
