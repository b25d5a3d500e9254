/* A minimal HTTP/1.1 client over a unix socket, for the `vessel vm` commands (one request per
 * connection, "Connection: close"). */
#ifndef VESSEL_CLI_HTTP_CLIENT_H
#define VESSEL_CLI_HTTP_CLIENT_H

#include <stddef.h>

#define HTTP_CLIENT_TIMEOUT_S 30
#define HTTP_CLIENT_RESP_MAX  (4 << 20)

/* Sends one request (body may be NULL) and reads the answer. Returns 0 with *status and *body
 * (malloc'd, NUL-terminated) set, or -errno: connecting failed (-ENOENT, -ECONNREFUSED, ...),
 * -ETIMEDOUT, or -EPROTO for an answer that is not HTTP. */
int http_unix_request(const char *sock, const char *method, const char *path, const char *body,
                      int *status, char **resp);

#endif
