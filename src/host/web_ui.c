/* The web console's pages and console sockets (web_ui.h). */
#include "host/web_ui.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/file.h"

#define WEB_FILE_MAX (8 << 20)

static bool is_dir(const char *p)
{
    struct stat st;

    return !stat(p, &st) && S_ISDIR(st.st_mode);
}

void web_ui_setup(struct web_ui *w, const char *dir, const char *vendor, const char *self_exe)
{
    const char *tools = getenv("VESSEL_TOOLS"), *home = getenv("HOME");
    char xterm[4200];

    if (dir) {
        snprintf(w->dir, sizeof(w->dir), "%s", dir);
    } else { /* BUILD/vessel -> BUILD/../web */
        char *slash;
        snprintf(w->dir, sizeof(w->dir), "%s", self_exe);
        slash = strrchr(w->dir, '/');
        if (slash)
            *slash = '\0';
        slash = strrchr(w->dir, '/');
        if (slash)
            snprintf(slash, sizeof(w->dir) - (size_t)(slash - w->dir), "/web");
    }
    if (vendor)
        snprintf(w->vendor, sizeof(w->vendor), "%s", vendor);
    else if (tools && *tools)
        snprintf(w->vendor, sizeof(w->vendor), "%s/web/node_modules", tools);
    else
        snprintf(w->vendor, sizeof(w->vendor), "%s/.cache/vessel-tools/web/node_modules",
                 home ? home : "/root");
    snprintf(xterm, sizeof(xterm), "%s/@xterm/xterm/lib/xterm.js", w->vendor);
    if (!is_dir(w->dir))
        fprintf(stderr, "vessel serve: warning: no web console pages in %s (--web-dir)\n", w->dir);
    if (access(xterm, R_OK))
        fprintf(stderr,
                "vessel serve: warning: no xterm.js in %s (--web-vendor; scripts/setup-web.sh "
                "installs it): the web console's terminal is missing\n",
                w->vendor);
}

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (!dot)
        return "application/octet-stream";
    if (!strcmp(dot, ".html"))
        return "text/html; charset=utf-8";
    if (!strcmp(dot, ".js"))
        return "text/javascript; charset=utf-8";
    if (!strcmp(dot, ".css"))
        return "text/css; charset=utf-8";
    if (!strcmp(dot, ".svg"))
        return "image/svg+xml";
    return "application/octet-stream";
}

/* A file name the project's directory may serve: [a-z0-9-]+ and .js, .css or .svg. */
static bool static_name_ok(const char *n)
{
    size_t len = strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-");
    const char *ext = n + len;

    return len > 0 && len < 64 &&
           (!strcmp(ext, ".js") || !strcmp(ext, ".css") || !strcmp(ext, ".svg"));
}

static void reply_text(struct api_reply *r, int status, const char *code, const char *msg)
{
    char buf[400];

    snprintf(buf, sizeof(buf), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, msg);
    r->status = status;
    r->json = strdup(buf);
}

static void reply_file(struct api_reply *r, const char *dir, const char *name)
{
    char path[8400];
    uint8_t *data;
    size_t len;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (file_read_all(path, WEB_FILE_MAX, &data, &len) || !len) {
        fprintf(stderr, "vessel serve: web console: cannot read %s\n", path);
        reply_text(r, 404, "not_found", "this page's file is not installed (see docs/web.md)");
        return;
    }
    r->status = 200;
    r->json = (char *)data;
    r->len = len;
    r->content_type = type_of(name);
}

bool web_ui_reply(const struct web_ui *w, const char *method, const char *url, struct api_reply *r)
{
    if (strcmp(url, "/ui") && strncmp(url, "/ui/", 4))
        return false;
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        reply_text(r, 405, "method_not_allowed", "the web console's pages take GET");
        return true;
    }
    if (!strcmp(url, "/ui")) {
        r->status = 303;
        r->location = "/ui/";
        r->json = strdup("{}");
    } else if (!strcmp(url, "/ui/")) {
        reply_file(r, w->dir, "index.html");
    } else if (!strcmp(url, "/ui/login")) {
        reply_file(r, w->dir, "login.html");
    } else if (!strncmp(url, "/ui/vms/", 8) && api_name_valid(url + 8)) {
        reply_file(r, w->dir, "vm.html");
    } else if (!strncmp(url, "/ui/static/", 11) && static_name_ok(url + 11)) {
        reply_file(r, w->dir, url + 11);
    } else if (!strcmp(url, "/ui/vendor/xterm.js")) {
        reply_file(r, w->vendor, "@xterm/xterm/lib/xterm.js");
    } else if (!strcmp(url, "/ui/vendor/xterm.css")) {
        reply_file(r, w->vendor, "@xterm/xterm/css/xterm.css");
        r->content_type = "text/css; charset=utf-8";
    } else {
        reply_text(r, 404, "not_found", "no such page");
    }
    return true;
}

/* The last WEB_BACKLOG_MAX bytes of the console log, from a line's start. */
static void read_backlog(const char *path, struct api_reply *r)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    off_t off;
    ssize_t n;
    char *buf, *nl;

    if (fd < 0)
        return;
    if (fstat(fd, &st) || !(buf = malloc(WEB_BACKLOG_MAX))) {
        close(fd);
        return;
    }
    off = st.st_size > WEB_BACKLOG_MAX ? st.st_size - WEB_BACKLOG_MAX : 0;
    n = pread(fd, buf, WEB_BACKLOG_MAX, off);
    close(fd);
    if (n <= 0) {
        free(buf);
        return;
    }
    nl = off ? memchr(buf, '\n', (size_t)n) : NULL;
    if (nl) {
        memmove(buf, nl + 1, (size_t)(buf + n - nl - 1));
        n = buf + n - nl - 1;
    }
    r->backlog = buf;
    r->backlog_len = (size_t)n;
}

int web_console_open(const struct registry *reg, const struct host_vm *v, struct api_reply *r,
                     struct api_error *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char path[REG_PATH_MAX + 16];
    int fd;

    if (!vm_is_live(v))
        return api_error_set(e, 409, "invalid_state", "VM %s is %s: its console is not open",
                             v->cfg.name, vm_state_name(v->state));
    registry_path(reg, v, ".sock", path, sizeof(path));
    if (strlen(path) >= sizeof(sa.sun_path))
        return api_error_set(e, 500, "internal", "the console socket's path is too long");
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return api_error_set(e, 409, "invalid_state", "VM %s's console %s: %s", v->cfg.name, path,
                             strerror(err));
    }
    registry_path(reg, v, ".log", path, sizeof(path));
    read_backlog(path, r);
    r->status = 101;
    r->upgrade = true;
    r->upgrade_fd = fd;
    return 0;
}
