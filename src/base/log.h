/* Logging: one line per message, prefixed by the subsystem. */
#ifndef VESSEL_BASE_LOG_H
#define VESSEL_BASE_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Formats a message for the caller into err (errlen bytes) and returns -EINVAL: for parsers
 * that report what was wrong with their input instead of logging it. */
int errbuf_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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
