#include "base/dynlib.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

#include "base/log.h"

static pthread_mutex_t dynlib_lock = PTHREAD_MUTEX_INITIALIZER;

int dynlib_load(const char *soname, const char *what, const char *const *names, void **fns,
                size_t n)
{
    void *lib;
    int err = 0;

    pthread_mutex_lock(&dynlib_lock);
    if (n && fns[n - 1]) /* loaded before: the last symbol is set only on success */
        goto out;
    lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        log_err("%s needs %s: %s", what, soname, dlerror());
        err = -ENOENT;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        fns[i] = dlsym(lib, names[i]);
        if (!fns[i]) {
            log_err("%s needs %s with %s: %s", what, soname, names[i], dlerror());
            for (size_t j = 0; j < i; j++)
                fns[j] = NULL;
            dlclose(lib);
            err = -ENOENT;
            goto out;
        }
    }
out:
    pthread_mutex_unlock(&dynlib_lock);
    return err;
}

int dynlib_preload(const char *soname, const char *what)
{
    /* never closed: a later dlopen of the soname finds it loaded, without opening a file */
    if (!dlopen(soname, RTLD_NOW | RTLD_LOCAL)) {
        log_err("%s needs %s: %s", what, soname, dlerror());
        return -ENOENT;
    }
    return 0;
}
