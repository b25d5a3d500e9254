/* `vessel serve`: the host daemon (HTTP+JSON API on a unix socket; docs/api/openapi.yaml). Its
 * command line is cli/serve_cmd.c's. */
#ifndef VESSEL_HOST_SERVE_H
#define VESSEL_HOST_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#define SERVE_ALLOW_MAX 14

struct serve_config {
    const char *socket;    /* the API socket */
    const char *state_dir; /* VM definitions, console logs, sockets */
    const char *image_dir; /* NULL: STATE_DIR/images */
    int cpus;              /* host vCPU capacity before overcommit */
    uint64_t memory_mib;   /* host memory capacity */
    double overcommit;     /* vCPU overcommit ratio */
    /* The directories clients may name files in (the state and image directories always). */
    const char *allow[SERVE_ALLOW_MAX];
    int nallow;
    const char *socket_group; /* the socket's group (0660); NULL: the daemon's */
    /* A TCP listener (ADDR:PORT) and its authentication: a bearer token from a file and/or
     * TLS with client certificates (PEM files); at least one of the two. */
    const char *listen, *token_file, *tls_cert, *tls_key, *tls_client_ca;
    /* The web console's pages and xterm.js (host/web_ui.h); NULL: the defaults. */
    const char *web_dir, *web_vendor;
    bool jail;                               /* VM processes jailed (host/jail.h); default on */
    uint32_t jail_uid_first, jail_uid_count; /* 0, 0: the default range */
    int64_t jail_gid;                        /* -1: each VM's uid number */
};

/* The defaults: /run/vessel/vessel.sock, /var/lib/vessel, this machine's CPUs and RAM, 1.0,
 * jailed VMs. */
void host_serve_defaults(struct serve_config *c);
/* Runs the daemon until SIGTERM, SIGINT or SIGHUP; returns the exit status (1: it could not
 * start, one line on stderr). */
int host_serve(const struct serve_config *c);
/* The API's routes, "METHOD PATH STATUS..." per line on stdout (the statuses each can answer). */
void host_serve_print_routes(void);

#endif
