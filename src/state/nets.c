/* Network backends' own state in snapshots (vm/snapshot_net.h). */
#include "state/nets.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define NET_STATE_MAX (64u << 20) /* a bound for hostile files; libslirp's is ~150 bytes */

int snapshot_write_nets(struct snap_writer *w, struct net_backend *const *nets, int n)
{
    for (int i = 0; i < n; i++) {
        const char *name = net_backend_state_name(nets[i]);
        uint8_t *buf;
        size_t len;
        int err;

        if (!name)
            continue;
        err = net_backend_save(nets[i], &buf, &len);
        if (err) {
            log_err("snapshot: saving %s %d: %s", name, i, strerror(-err));
            return err;
        }
        err = snap_write_section(w, SNAP_DEVICE, (uint32_t)i, name, buf, len);
        free(buf);
        if (err)
            return err;
    }
    return 0;
}

/* The backend state saved for NIC i, whatever its backend was: a "net-*" device section. */
static const struct snap_section *find_saved(const struct snap_reader *r, int i)
{
    for (int k = 0; k < r->nsec; k++) {
        const struct snap_section *s = &r->sec[k];

        if (s->type == SNAP_DEVICE && s->instance == (uint32_t)i && !strncmp(s->name, "net-", 4))
            return s;
    }
    return NULL;
}

int snapshot_load_nets(const struct snap_reader *r, const char *path,
                       struct net_backend *const *nets, int n)
{
    for (int i = 0; i < n; i++) {
        const struct snap_section *s = find_saved(r, i);
        const char *want = net_backend_state_name(nets[i]);
        char why[256];
        uint8_t *buf;
        int err;

        if (!s && !want)
            continue;
        if (!s) {
            log_warn("state: %s: NIC %d (%s): no saved %s state; it starts afresh", path, i,
                     net_backend_name(nets[i]), want);
            continue;
        }
        if (!want || strcmp(s->name, want)) {
            log_warn("state: %s: NIC %d is now %s: its saved %s state is not loaded", path, i,
                     net_backend_name(nets[i]), s->name);
            continue;
        }
        if (s->length > NET_STATE_MAX || !(buf = malloc(s->length ? s->length : 1))) {
            log_err("state: %s: %s %d: %llu bytes is too large", path, s->name, i,
                    (unsigned long long)s->length);
            return -EINVAL;
        }
        err = snap_read_payload(r, s, buf, s->length);
        if (err) {
            free(buf);
            log_err("state: %s: %s %d: cannot read it: %s", path, s->name, i, strerror(-err));
            return err;
        }
        err = net_backend_load(nets[i], buf, s->length, why, sizeof(why));
        free(buf);
        if (err) {
            log_err("state: %s: the saved state of %s %d cannot be loaded: %s", path, s->name, i,
                    why);
            return -EINVAL;
        }
    }
    return 0;
}
