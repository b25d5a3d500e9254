/* The web console's pages (docs/web.md), served by `vessel serve` under /ui/ on its listeners:
 * the project's own HTML, JavaScript and CSS from a directory (--web-dir; default: web/ next to
 * the build directory, i.e. the source tree's), and xterm.js from the npm packages set-up
 * installed (--web-vendor; default ${VESSEL_TOOLS:-$HOME/.cache/vessel-tools}/web/node_modules).
 * Only a fixed set of names is served: no path from a URL reaches the file system. Also the
 * WebSocket side of a VM's console: its shim's socket and the recent output from its log. */
#ifndef VESSEL_HOST_WEB_UI_H
#define VESSEL_HOST_WEB_UI_H

#include <stdbool.h>

#include "api/apireq.h"
#include "api/http.h"
#include "host/registry.h"

#define WEB_BACKLOG_MAX (64 << 10) /* recent console output a new console page gets */

struct web_ui {
    char dir[4096], vendor[4096];
};

/* Fills w from the flags (NULL: the defaults) and warns (stderr) about a missing directory or
 * xterm.js; the daemon serves the rest either way. */
void web_ui_setup(struct web_ui *w, const char *dir, const char *vendor, const char *self_exe);
/* Answers a /ui path (GET or HEAD): true with r filled, false when url is not under /ui. */
bool web_ui_reply(const struct web_ui *w, const char *method, const char *url, struct api_reply *r);
/* A running VM's console for a WebSocket: r->upgrade with the shim's socket and the log's last
 * WEB_BACKLOG_MAX bytes (from a line's start). 0, or an HTTP status with e filled. */
int web_console_open(const struct registry *reg, const struct host_vm *v, struct api_reply *r,
                     struct api_error *e);

#endif
