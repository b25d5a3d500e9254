/* HTTP/1.1 through libmicrohttpd, on a unix socket and an authenticated TCP listener (see
 * http.h). */
#include "api/http.h"

#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/apireq.h"
#include "api/http_auth.h"
#include "api/http_guard.h"
#include "api/ws_bridge.h"
#include "api/ws_frame.h"
#include "base/dynlib.h"
#include "base/log.h"

/* libmicrohttpd is loaded by the daemon only (base/dynlib.h): these are its entry points. */
static const char *const mhd_names[] = {
    "MHD_start_daemon",
    "MHD_stop_daemon",
    "MHD_queue_response",
    "MHD_create_response_from_buffer",
    "MHD_destroy_response",
    "MHD_add_response_header",
    "MHD_lookup_connection_value",
    "MHD_get_connection_info",
    "MHD_is_feature_supported",
    "MHD_create_response_for_upgrade",
    "MHD_upgrade_action",
};
static struct {
    typeof(MHD_start_daemon) *start_daemon;
    typeof(MHD_stop_daemon) *stop_daemon;
    typeof(MHD_queue_response) *queue_response;
    typeof(MHD_create_response_from_buffer) *create_response_from_buffer;
    typeof(MHD_destroy_response) *destroy_response;
    typeof(MHD_add_response_header) *add_response_header;
    typeof(MHD_lookup_connection_value) *lookup_connection_value;
    typeof(MHD_get_connection_info) *get_connection_info;
    typeof(MHD_is_feature_supported) *is_feature_supported;
    typeof(MHD_create_response_for_upgrade) *create_response_for_upgrade;
    typeof(MHD_upgrade_action) *upgrade_action;
} mhd;
_Static_assert(sizeof(mhd) == sizeof(void *) * (sizeof(mhd_names) / sizeof(mhd_names[0])),
               "one pointer per name");

/* GnuTLS, for checking client certificates (libmicrohttpd's own TLS library). */
static const char *const tls_names[] = {"gnutls_certificate_verify_peers2",
                                        "gnutls_certificate_get_peers"};
static struct {
    int (*verify_peers2)(void *session, unsigned *status);
    const void *(*get_peers)(void *session, unsigned *n);
} tls;

/* One listener: the unix socket or the TCP one. */
struct listener {
    struct api_http *h;
    struct MHD_Daemon *mhd;
    struct http_guard guard;
    struct ws_bridges ws;
    bool tcp, tls;
    int port;
};

struct api_http {
    struct listener unix_l, tcp_l;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char *token;
    struct http_session session; /* browsers' cookie, derived from the token */
    bool client_certs;
    api_handler_fn fn;
    void *opaque;
};

/* One request's body as it arrives. */
struct req_body {
    char *buf;
    size_t len, cap;
    bool too_large;
    bool upgraded;               /* a WebSocket now: the watchdog leaves it alone */
    struct upgrade_ctx *upgrade; /* its 101 answer's bridge-to-be, freed at the end */
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

/* Headers of an answer besides its type. */
struct reply_extra {
    const char *location, *set_cookie;
    size_t raw_len; /* nonzero: the body is raw_len bytes as they are */
};

static enum MHD_Result send_full(struct MHD_Connection *conn, int status, char *json,
                                 const char *content_type, const struct reply_extra *x)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    size_t n = x && x->raw_len ? x->raw_len : strlen(json);

    if (x && x->raw_len) {
        resp = mhd.create_response_from_buffer(n, json, MHD_RESPMEM_MUST_COPY);
    } else {
        /* Every JSON answer ends with a newline, which is friendlier to shell users. */
        json[n] = '\n';
        resp = mhd.create_response_from_buffer(n + 1, json, MHD_RESPMEM_MUST_COPY);
        json[n] = '\0';
    }
    if (!resp)
        return MHD_NO;
    mhd.add_response_header(resp, "Content-Type", content_type ? content_type : "application/json");
    mhd.add_response_header(resp, "Cache-Control", "no-store");
    mhd.add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (content_type && !strncmp(content_type, "text/html", 9)) {
        mhd.add_response_header(resp, "Content-Security-Policy",
                                "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                "frame-ancestors 'none'; form-action 'self'");
        mhd.add_response_header(resp, "X-Frame-Options", "DENY");
    }
    if (x && x->location)
        mhd.add_response_header(resp, "Location", x->location);
    if (x && x->set_cookie)
        mhd.add_response_header(resp, "Set-Cookie", x->set_cookie);
    if (status == 401)
        mhd.add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"vessel\"");
    ret = mhd.queue_response(conn, (unsigned)status, resp);
    mhd.destroy_response(resp);
    return ret;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, int status, char *json,
                                  const char *content_type)
{
    return send_full(conn, status, json, content_type, NULL);
}

static enum MHD_Result send_error(struct MHD_Connection *conn, int status, const char *code,
                                  const char *msg)
{
    char buf[512];

    snprintf(buf, sizeof(buf) - 1, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, msg);
    return send_reply(conn, status, buf, NULL);
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
    return mhd.lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* The TCP listener's credentials: what is wrong with this request's, or NULL when fine.
 * *ambient: they came with the browser (a session cookie, a client certificate), not in an
 * Authorization header; *cookie: a session cookie did. */
static const char *auth_problem(struct api_http *h, struct MHD_Connection *conn, bool *ambient,
                                bool *cookie)
{
    *ambient = !h->token;
    *cookie = false;
    if (h->token) {
        const char *t = api_bearer_token(header(conn, MHD_HTTP_HEADER_AUTHORIZATION));
        char tok[256];

        if (!t && http_session_cookie_ok(&h->session, header(conn, MHD_HTTP_HEADER_COOKIE)))
            *ambient = *cookie = true;
        else if (!t)
            return "this listener needs \\\"Authorization: Bearer TOKEN\\\" (or a browser "
                   "session: /ui/login)";
        else {
            snprintf(tok, sizeof(tok), "%s", t);
            tok[strcspn(tok, " \t\r\n")] = '\0';
            if (!api_token_equal(tok, h->token))
                return "wrong bearer token";
        }
    }
    if (h->client_certs) {
        const union MHD_ConnectionInfo *i =
            mhd.get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        unsigned status = 1, n = 0;

        if (!i || !i->tls_session || !tls.get_peers(i->tls_session, &n) || !n)
            return "this listener needs a TLS client certificate";
        if (tls.verify_peers2(i->tls_session, &status) || status)
            return "the TLS client certificate is not signed by the daemon's client CA";
    }
    return NULL;
}

static struct http_conn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *i =
        mhd.get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return i ? i->socket_context : NULL;
}

static bool has_prefix(const char *s, const char *p)
{
    return !strncmp(s, p, strlen(p));
}

/* Pages that hold no data: served without credentials (the login page and the assets). */
static bool ui_public(const char *url)
{
    return !strcmp(url, "/ui/login") || has_prefix(url, "/ui/static/") ||
           has_prefix(url, "/ui/vendor/");
}

struct upgrade_ctx {
    struct listener *l;
    struct api_reply r;
    bool taken; /* the bridge has the fd and the backlog */
};

static void upgrade_done(void *urh)
{
    mhd.upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra,
                       size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    struct upgrade_ctx *u = cls;

    u->taken = true;
    ws_bridge_start(&u->l->ws, sock, u->r.upgrade_fd, u->r.backlog, u->r.backlog_len, extra,
                    extra_len, upgrade_done, urh);
}

/* The connection ended: a 101 answer that never went out leaves its fd and backlog here. */
static void upgrade_free(struct upgrade_ctx *u)
{
    if (!u->taken) {
        close(u->r.upgrade_fd);
        free(u->r.backlog);
    }
    free(u);
}

/* A handler's WebSocket answer: the handshake checked, then 101 and the bridge. */
static enum MHD_Result send_upgrade(struct listener *l, struct MHD_Connection *conn,
                                    struct req_body *b, struct api_reply *r)
{
    const char *ver = header(conn, "Sec-WebSocket-Version");
    struct MHD_Response *resp = NULL;
    struct upgrade_ctx *u = NULL;
    enum MHD_Result ret;
    char accept[29];

    if (!http_header_has(header(conn, "Upgrade"), "websocket") ||
        !http_header_has(header(conn, "Connection"), "upgrade") || !ver || strcmp(ver, "13") ||
        ws_accept_key(header(conn, "Sec-WebSocket-Key"), accept)) {
        close(r->upgrade_fd);
        free(r->backlog);
        return send_error(conn, 426, "upgrade_required",
                          "this is a WebSocket (version 13): send a valid handshake");
    }
    u = malloc(sizeof(*u));
    if (u)
        resp = mhd.create_response_for_upgrade(on_upgrade, u);
    if (!resp) {
        free(u);
        close(r->upgrade_fd);
        free(r->backlog);
        return send_error(conn, 500, "internal", "out of memory");
    }
    *u = (struct upgrade_ctx){.l = l, .r = *r};
    mhd.add_response_header(resp, "Upgrade", "websocket");
    mhd.add_response_header(resp, "Sec-WebSocket-Accept", accept);
    b->upgraded = true;
    b->upgrade = u; /* on_completed frees it, and what the bridge did not take */
    ret = mhd.queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
    mhd.destroy_response(resp);
    return ret;
}

/* POST /ui/login (the token as the body) and /ui/logout, on TCP with a token. */
static enum MHD_Result login(struct listener *l, struct MHD_Connection *conn, const char *url,
                             struct req_body *b)
{
    struct api_http *h = l->h;
    bool in = !strcmp(url, "/ui/login");
    char cookie[256], body[] = "{}";
    size_t n = b->len;

    if (!h->token)
        return send_error(conn, 404, "not_found", "this listener has no token to log in with");
    if (in) {
        while (n && (b->buf[n - 1] == '\n' || b->buf[n - 1] == '\r' || b->buf[n - 1] == ' '))
            b->buf[--n] = '\0';
        if (!b->buf || strlen(b->buf) != n || !api_token_equal(b->buf, h->token))
            return send_error(conn, 401, "unauthorized", "wrong token");
    }
    http_session_set_cookie(&h->session, in, l->tls, cookie, sizeof(cookie));
    return send_full(conn, 200, body, NULL, &(struct reply_extra){.set_cookie = cookie});
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct listener *l = cls;
    struct api_http *h = l->h;
    struct req_body *b = *con_cls;
    struct api_reply r = {0};
    bool ambient = false, cookie = false, get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    bool login_url =
        !strcmp(method, "POST") && (!strcmp(url, "/ui/login") || !strcmp(url, "/ui/logout"));
    const char *why;
    enum MHD_Result ret;

    if (!b) {
        /* the head is in: on TCP, no credentials, no body read and no handler */
        if (get && !strcmp(url, "/")) {
            char empty[] = "";
            return send_full(conn, 303, empty, "text/plain",
                             &(struct reply_extra){.location = "/ui/"});
        }
        if (l->tcp && !login_url && (why = auth_problem(h, conn, &ambient, &cookie))) {
            if (get && has_prefix(url, "/ui/") && !ui_public(url)) {
                char empty[] = "";
                return send_full(conn, 303, empty, "text/plain",
                                 &(struct reply_extra){.location = "/ui/login"});
            }
            if (!(get && ui_public(url)))
                return send_error(conn, 401, "unauthorized", why);
        }
        /* Ambient credentials come with any page the browser shows: refuse other sites'
         * requests (a login's token is in its body, but it is checked the same way). */
        if (l->tcp && (ambient || login_url) &&
            !http_origin_ok(header(conn, "Origin"), header(conn, MHD_HTTP_HEADER_HOST), l->tls))
            return send_error(conn, 403, "forbidden", "a request from another site (Origin)");
        if (l->tcp && (cookie || login_url) && !get && !header(conn, HTTP_CSRF_HEADER))
            return send_error(conn, 403, "forbidden",
                              "a browser's request that changes something needs the header "
                              "X-Vessel-CSRF");
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
    if (conn_of(conn))
        http_guard_busy(&l->guard, conn_of(conn), true); /* whole: the handler takes its time */
    if (b->too_large)
        return send_error(conn, 413, "too_large", "request body over 65536 bytes");
    if (login_url && l->tcp)
        return login(l, conn, url, b);
    if (login_url) { /* the unix socket needs no session */
        char ok[] = "{}";
        return send_reply(conn, 200, ok, NULL);
    }
    r.upgrade_fd = -1;
    h->fn(h->opaque, method, url, b->buf ? b->buf : "", b->len, &r);
    if (r.upgrade) {
        free(r.json);
        return send_upgrade(l, conn, b, &r);
    }
    if (!r.json)
        return send_error(conn, 500, "internal", "out of memory");
    /* send_full writes a newline over the NUL temporarily: give it room. */
    char *j = r.len ? r.json : realloc(r.json, strlen(r.json) + 2);
    if (!j) {
        free(r.json);
        return send_error(conn, 500, "internal", "out of memory");
    }
    ret = send_full(conn, r.status, j, r.content_type,
                    &(struct reply_extra){.location = r.location, .raw_len = r.len});
    free(j);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct listener *l = cls;
    struct req_body *b = *con_cls;
    struct http_conn *c = conn_of(conn);

    bool upgraded = b && b->upgraded;

    if (b) {
        if (b->upgrade)
            upgrade_free(b->upgrade);
        free(b->buf);
        free(b);
        *con_cls = NULL;
    }
    if (c && !upgraded)
        http_guard_busy(&l->guard, c, false); /* the next request's clock starts */
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct listener *l = cls;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *i =
            mhd.get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = i ? http_guard_add(&l->guard, i->connect_fd) : NULL;
    } else if (*socket_context) {
        http_guard_remove(&l->guard, *socket_context);
        *socket_context = NULL;
    }
}

static int serve(struct listener *l, int fd, const struct api_http_config *c)
{
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_ALLOW_UPGRADE;
    int err = http_guard_start(&l->guard);

    ws_bridges_init(&l->ws);
    if (err) {
        close(fd);
        return err;
    }
    if (l->tcp && c->tls_cert) {
        flags |= MHD_USE_TLS;
        l->mhd = mhd.start_daemon(
            flags, 0, NULL, NULL, on_request, l, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_HTTP_TIMEOUT_S,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_HTTP_MAX_CONN,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)API_HTTP_PER_IP,
            MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 << 10), MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, l, MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
            MHD_OPTION_HTTPS_MEM_CERT, c->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, c->tls_key,
            c->tls_client_ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, c->tls_client_ca,
            MHD_OPTION_END);
    } else {
        l->mhd = mhd.start_daemon(
            flags, 0, NULL, NULL, on_request, l, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_HTTP_TIMEOUT_S,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_HTTP_MAX_CONN,
            l->tcp ? MHD_OPTION_PER_IP_CONNECTION_LIMIT : MHD_OPTION_CONNECTION_LIMIT,
            (unsigned)(l->tcp ? API_HTTP_PER_IP : API_HTTP_MAX_CONN), MHD_OPTION_THREAD_STACK_SIZE,
            (size_t)(512 << 10), MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, l, MHD_OPTION_END);
    }
    if (!l->mhd) {
        log_err("api: libmicrohttpd failed to start the %s listener", l->tcp ? "TCP" : "unix");
        http_guard_stop(&l->guard);
        close(fd);
        return -EIO;
    }
    return 0;
}

static int tcp_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len))
        return 0;
    return ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                   : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int start_tcp(struct api_http *h, const struct api_http_config *c)
{
    int fd, err;

    if (!c->token && !c->tls_client_ca) {
        log_err("api: --listen %s: a TCP listener needs authentication: --token-file and/or "
                "--tls-client-ca",
                c->listen);
        return -EINVAL;
    }
    if (!c->tls_cert != !c->tls_key || (c->tls_client_ca && !c->tls_cert)) {
        log_err("api: --listen %s: TLS needs --tls-cert and --tls-key (and them for "
                "--tls-client-ca)",
                c->listen);
        return -EINVAL;
    }
    if (c->tls_cert && mhd.is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        log_err("api: this libmicrohttpd has no TLS support");
        return -ENOTSUP;
    }
    if (c->tls_client_ca &&
        (err = dynlib_load("libgnutls.so.30", "TLS client certificates", tls_names, (void **)&tls,
                           sizeof(tls_names) / sizeof(tls_names[0]))))
        return err;
    if (c->token && !(h->token = strdup(c->token)))
        return -ENOMEM;
    if (c->token && (err = http_session_init(&h->session, c->token)))
        return err;
    h->client_certs = c->tls_client_ca != NULL;
    fd = http_listen_tcp(c->listen);
    if (fd < 0)
        return fd;
    h->tcp_l =
        (struct listener){.h = h, .tcp = true, .tls = c->tls_cert != NULL, .port = tcp_port(fd)};
    return serve(&h->tcp_l, fd, c);
}

int api_http_start(struct api_http **out, const struct api_http_config *c, api_handler_fn fn,
                   void *opaque)
{
    struct api_http *h;
    int fd, err = dynlib_load("libmicrohttpd.so.12", "the API server", mhd_names, (void **)&mhd,
                              sizeof(mhd_names) / sizeof(mhd_names[0]));

    *out = NULL;
    if (err)
        return err;
    h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->fn = fn;
    h->opaque = opaque;
    snprintf(h->path, sizeof(h->path), "%s", c->unix_path);
    h->unix_l = (struct listener){.h = h};
    fd = http_listen_unix(c->unix_path, c->unix_gid);
    if (fd < 0) {
        free(h);
        return fd;
    }
    if ((err = serve(&h->unix_l, fd, c))) {
        unlink(h->path);
        free(h);
        return err;
    }
    if (c->listen && (err = start_tcp(h, c))) {
        api_http_stop(h);
        return err;
    }
    *out = h;
    return 0;
}

int api_http_tcp_port(const struct api_http *h)
{
    return h->tcp_l.mhd ? h->tcp_l.port : 0;
}

void api_http_stop(struct api_http *h)
{
    if (!h)
        return;
    if (h->tcp_l.mhd) {
        ws_bridges_stop(&h->tcp_l.ws);
        mhd.stop_daemon(h->tcp_l.mhd); /* closes the listening socket too */
        http_guard_stop(&h->tcp_l.guard);
    }
    ws_bridges_stop(&h->unix_l.ws);
    mhd.stop_daemon(h->unix_l.mhd);
    http_guard_stop(&h->unix_l.guard);
    unlink(h->path);
    if (h->token) {
        explicit_bzero(h->token, strlen(h->token));
        explicit_bzero(&h->session, sizeof(h->session));
        free(h->token);
    }
    free(h);
}
