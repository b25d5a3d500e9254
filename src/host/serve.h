/* `vessel serve`: the host daemon (HTTP+JSON API on a unix socket; docs/api/openapi.yaml). */
#ifndef VESSEL_HOST_SERVE_H
#define VESSEL_HOST_SERVE_H

int host_serve_main(int argc, char **argv);

#endif
