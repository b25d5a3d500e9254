/* A jailed VM writes a snapshot in its own directory (its jail shows nothing else writable);
 * the daemon then moves the finished file to the path its client asked for (policy-checked). */
#ifndef VESSEL_HOST_SNAP_MOVE_H
#define VESSEL_HOST_SNAP_MOVE_H

#include <stddef.h>

/* Moves staged to dest: a rename on one file system, else a copy to DEST.tmp (created
 * exclusively, never through a symlink, mode 0600, synced) renamed over dest, and staged
 * removed. The file ends up the daemon's, mode 0600. 0, or -errno with why filled. */
int snap_move(const char *staged, const char *dest, char *why, size_t whylen);

#endif
