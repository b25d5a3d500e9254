/* `vessel serve`: the host daemon (HTTP+JSON API on a unix socket; docs/api/openapi.yaml). Its
 * command line is cli/serve_cmd.c's. */
#ifndef VESSEL_HOST_SERVE_H
#define VESSEL_HOST_SERVE_H

#include <stdint.h>

struct serve_config {
    const char *socket;    /* the API socket */
    const char *state_dir; /* VM definitions, console logs, sockets */
    int cpus;              /* host vCPU capacity before overcommit */
    uint64_t memory_mib;   /* host memory capacity */
    double overcommit;     /* vCPU overcommit ratio */
};

/* The defaults: /run/vessel/vessel.sock, /var/lib/vessel, this machine's CPUs and RAM, 1.0. */
void host_serve_defaults(struct serve_config *c);
/* Runs the daemon until SIGTERM, SIGINT or SIGHUP; returns the exit status (1: it could not
 * start, one line on stderr). */
int host_serve(const struct serve_config *c);
/* The API's routes, "METHOD PATH STATUS..." per line on stdout (the statuses each can answer). */
void host_serve_print_routes(void);

#endif
