/* A minimal HTTP/1.1 client for the `vessel vm` commands (one request per connection,
 * "Connection: close"): over the daemon's unix socket, or over TCP to its --listen with the
 * bearer token from $VESSEL_TOKEN_FILE. */
#ifndef VESSEL_CLI_HTTP_CLIENT_H
#define VESSEL_CLI_HTTP_CLIENT_H

#include <stddef.h>

#define HTTP_CLIENT_TIMEOUT_S 30
#define HTTP_CLIENT_RESP_MAX  (4 << 20)

/* Sends one request (body may be NULL) to target, a unix socket path or "http://HOST:PORT",
 * and reads the answer. Returns 0 with *status and *body (malloc'd, NUL-terminated) set, or
 * -errno: connecting failed (-ENOENT, -ECONNREFUSED, ...), -ETIMEDOUT, -EPROTO for an answer
 * that is not HTTP, -EPROTONOSUPPORT for https:// (not in this client). */
int http_request(const char *target, const char *method, const char *path, const char *body,
                 int *status, char **resp);

#endif
