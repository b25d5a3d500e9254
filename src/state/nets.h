/* The host side of network interfaces in a snapshot: one device section per NIC whose backend
 * keeps state of its own (net_backend_state_name(): "net-user", libslirp's), instance = the
 * NIC's index (eth0 = 0). Board-independent; docs/state-format.md says what the state holds. */
#ifndef VESSEL_STATE_NETS_H
#define VESSEL_STATE_NETS_H

#include "backend/net/net.h"
#include "state/snapfile.h"

/* Writes the sections of nets[0..n). Returns 0 or -errno (logged). */
int snapshot_write_nets(struct snap_writer *w, struct net_backend *const *nets, int n);
/* Loads them into the backends of a restore, before the guest runs. A NIC whose backend is
 * now another type (saved "net-user", restored as tap or switch, or the other way round) starts
 * with a fresh backend and one informational line. A saved state the backend refuses is
 * -EINVAL with one line naming the file, the NIC and why. */
int snapshot_load_nets(const struct snap_reader *r, const char *path,
                       struct net_backend *const *nets, int n);

#endif
