/* `vessel serve` set-up: its configuration into the listeners' (api/http.h) and the path
 * policy (host/policy.h). Each returns 0, or 1 with one line on stderr. */
#ifndef VESSEL_HOST_SERVE_SETUP_H
#define VESSEL_HOST_SERVE_SETUP_H

#include <stddef.h>

#include "api/http.h"
#include "host/policy.h"
#include "host/serve.h"

/* The socket's group, the TCP listener, its token (--token-file: not readable by group or
 * others; one line of 16 or more printable characters) and TLS files, read now. */
int serve_http_config(const struct serve_config *c, struct api_http_config *hc);
void serve_http_config_free(struct api_http_config *hc);
/* The state directory, the image directory (created; image_dir gets its path) and every
 * --allow-dir (each must exist). */
int serve_policy(const struct serve_config *c, struct host_policy *p, char *image_dir, size_t cap);

#endif
