/* Libraries that only some commands need (libslirp for --net user, libmicrohttpd for vessel
 * serve) are loaded when first used, so that every other VM process starts without them and
 * their dependencies (glib, gnutls): faster start-up, a smaller resident set. */
#ifndef VESSEL_BASE_DYNLIB_H
#define VESSEL_BASE_DYNLIB_H

#include <stddef.h>

/* Opens soname once and fills fns[i] with the symbol names[i] for i < n. Thread-safe and
 * idempotent: after the first success it returns 0 at once. On failure logs one line naming
 * what needs the library ("user networking needs libslirp.so.0: ...") and returns -ENOENT. */
int dynlib_load(const char *soname, const char *what, const char *const *names, void **fns,
                size_t n);

/* Loads soname (and what it needs) now, so that a dynlib_load() of it later, e.g. in a jail
 * that has no library files, finds it loaded. 0, or -ENOENT (logged as for dynlib_load). */
int dynlib_preload(const char *soname, const char *what);

#endif
