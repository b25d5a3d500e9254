/* `vessel switch PATH`: the learning L2 switch VMs attach to with `--net switch,path=PATH`. */
#ifndef VESSEL_BACKEND_NET_SWITCH_SERVER_H
#define VESSEL_BACKEND_NET_SWITCH_SERVER_H

#include <stdint.h>

#define SWITCH_MAX_PORTS      64
#define SWITCH_DEFAULT_AGE_NS (300ULL * 1000000000ULL) /* as IEEE 802.1D's default */

/* Listens on the unix SOCK_SEQPACKET socket path (a stale socket there is replaced) and switches
 * frames between the connected ports until SIGINT, SIGTERM or SIGHUP; removes path on return.
 * Prints "vessel switch: listening on PATH" once ready. Returns 0 after a signal, or -errno
 * (logged). */
int switch_serve(const char *path, uint64_t age_ns);

#endif
