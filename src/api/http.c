/* HTTP/1.1 on a unix socket through libmicrohttpd (see http.h). */
#include "api/http.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/apireq.h"
#include "base/dynlib.h"
#include "base/log.h"

/* libmicrohttpd is loaded by the daemon only (base/dynlib.h): these are its entry points. */
static const char *const mhd_names[] = {
    "MHD_start_daemon",     "MHD_stop_daemon",
    "MHD_queue_response",   "MHD_create_response_from_buffer",
    "MHD_destroy_response", "MHD_add_response_header",
};
static struct {
    typeof(MHD_start_daemon) *start_daemon;
    typeof(MHD_stop_daemon) *stop_daemon;
    typeof(MHD_queue_response) *queue_response;
    typeof(MHD_create_response_from_buffer) *create_response_from_buffer;
    typeof(MHD_destroy_response) *destroy_response;
    typeof(MHD_add_response_header) *add_response_header;
} mhd;
_Static_assert(sizeof(mhd) == sizeof(void *) * (sizeof(mhd_names) / sizeof(mhd_names[0])),
               "one pointer per name");

struct api_http {
    struct MHD_Daemon *mhd;
    int lfd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    api_handler_fn fn;
    void *opaque;
};

/* One request's body as it arrives. */
struct req_body {
    char *buf;
    size_t len, cap;
    bool too_large;
};

static int body_append(struct req_body *b, const char *data, size_t n)
{
    if (b->too_large || b->len + n > API_BODY_MAX) {
        b->too_large = true;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *nb;

        while (cap < b->len + n + 1)
            cap *= 2;
        nb = realloc(b->buf, cap);
        if (!nb)
            return -ENOMEM;
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return 0;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, int status, char *json,
                                  const char *content_type)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    size_t n = strlen(json);

    /* Every answer ends with a newline, which is friendlier to shell users. */
    json[n] = '\n';
    resp = mhd.create_response_from_buffer(n + 1, json, MHD_RESPMEM_MUST_COPY);
    json[n] = '\0';
    if (!resp)
        return MHD_NO;
    mhd.add_response_header(resp, "Content-Type", content_type ? content_type : "application/json");
    ret = mhd.queue_response(conn, (unsigned)status, resp);
    mhd.destroy_response(resp);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, int status, const char *code,
                                  const char *msg)
{
    char buf[512];

    snprintf(buf, sizeof(buf) - 1, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, msg);
    return send_reply(conn, status, buf, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct api_http *h = cls;
    struct req_body *b = *con_cls;
    struct api_reply r = {0};
    enum MHD_Result ret;

    if (!b) {
        b = calloc(1, sizeof(*b));
        if (!b)
            return MHD_NO;
        *con_cls = b;
        return MHD_YES;
    }
    if (*upload_size) {
        if (body_append(b, upload_data, *upload_size))
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    if (b->too_large)
        return send_error(conn, 413, "too_large", "request body over 65536 bytes");
    h->fn(h->opaque, method, url, b->buf ? b->buf : "", b->len, &r);
    if (!r.json)
        return send_error(conn, 500, "internal", "out of memory");
    /* send_reply writes a newline over the NUL temporarily: give it room. */
    char *j = realloc(r.json, strlen(r.json) + 2);
    if (!j) {
        free(r.json);
        return send_error(conn, 500, "internal", "out of memory");
    }
    ret = send_reply(conn, r.status, j, r.content_type);
    free(j);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req_body *b = *con_cls;

    if (b) {
        free(b->buf);
        free(b);
        *con_cls = NULL;
    }
}

static int listen_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd, err;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        log_err("api: %s: socket path too long (max %zu bytes)", path, sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            log_err("api: %s exists and is not a socket", path);
            return -EEXIST;
        }
        unlink(path);
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0660) || listen(fd, 64)) {
        err = -errno;
        log_err("api: %s: %s", path, strerror(errno));
        close(fd);
        return err;
    }
    return fd;
}

int api_http_start(struct api_http **out, const char *path, api_handler_fn fn, void *opaque)
{
    struct api_http *h;
    int err = dynlib_load("libmicrohttpd.so.12", "the API server", mhd_names, (void **)&mhd,
                          sizeof(mhd_names) / sizeof(mhd_names[0]));

    *out = NULL;
    if (err)
        return err;
    h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->fn = fn;
    h->opaque = opaque;
    snprintf(h->path, sizeof(h->path), "%s", path);
    h->lfd = listen_unix(path);
    if (h->lfd < 0) {
        int err = h->lfd;
        free(h);
        return err;
    }
    h->mhd = mhd.start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
                              on_request, h, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->lfd,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_HTTP_TIMEOUT_S,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_HTTP_MAX_CONN,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
    if (!h->mhd) {
        log_err("api: %s: libmicrohttpd failed to start", path);
        close(h->lfd);
        unlink(path);
        free(h);
        return -EIO;
    }
    *out = h;
    return 0;
}

void api_http_stop(struct api_http *h)
{
    if (!h)
        return;
    mhd.stop_daemon(h->mhd); /* closes the listening socket too */
    unlink(h->path);
    free(h);
}
