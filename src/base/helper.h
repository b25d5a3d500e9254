/* Helper scripts: commands of `vessel` that are a script's job (`vessel cluster`, `vessel image`)
 * are Python programs that the C command finds and execs with python3. */
#ifndef VESSEL_BASE_HELPER_H
#define VESSEL_BASE_HELPER_H

#include <stddef.h>

/* Where helper NAME is, into out: $ENV when set (it must be readable), else
 *   <dir of this binary>/../libexec/vessel/NAME   (installed by `make install`), else
 *   <dir of this binary>/../src/SRCDIR/NAME       (a build tree: build/vessel).
 * 0 or -errno (-ENOENT: nowhere). */
int helper_path(const char *env, const char *srcdir, const char *name, char *out, size_t cap);

/* Execs `python3 PATH ARGS...` with argv[1..argc-1] as ARGS and this binary's path in
 * $VESSEL_BIN, so that the helper runs the same `vessel`. Returns only on failure, after one
 * line on stderr starting with what ("vessel: cluster"); -errno. */
int helper_exec(const char *what, const char *path, int argc, char **argv);

#endif
