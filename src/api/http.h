/* The management API's HTTP/1.1 server (libmicrohttpd): on a unix stream socket, and
 * optionally on a TCP listener that requires authentication (a bearer token, TLS client
 * certificates through GnuTLS, or both).
 *
 * Requests never wait for one another: every connection has a thread of its own, so a long
 * handler (a snapshot) holds up only its own client; the handler serializes what it shares.
 * Limits against clients that hold connections: at most API_HTTP_MAX_CONN connections per
 * listener (and API_HTTP_PER_IP per address on TCP); a request must arrive whole, head and
 * body, within API_HTTP_REQUEST_S of the connection's start or of its previous answer, however
 * slowly it trickles in (a watchdog shuts the connection down), and a connection silent for
 * API_HTTP_TIMEOUT_S is closed. Bodies over API_BODY_MAX get 413. On TCP, a request without
 * valid credentials gets 401 before its body is read.
 *
 * The web console (docs/web.md) rides on the same listeners: "GET /" redirects to /ui/. On TCP
 * the token also opens a browser session (api/http_auth.h): POST /ui/login with the token as
 * the body sets the session cookie, POST /ui/logout clears it; /ui/login, /ui/static/ and
 * /ui/vendor/ need no credentials (they hold no data); another /ui/ page without them
 * redirects to /ui/login. Upgraded connections (WebSockets) are bridged on threads of their
 * own, ended before the server stops. */
#ifndef VESSEL_API_HTTP_H
#define VESSEL_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define API_HTTP_TIMEOUT_S 10
#define API_HTTP_REQUEST_S 15
#define API_HTTP_MAX_CONN  256
#define API_HTTP_PER_IP    32
#define API_TOKEN_MIN      16 /* characters of a bearer token */

/* What a handler answers: an HTTP status and a malloc'd body text (freed by the server), JSON
 * unless content_type (a static string) says otherwise. */
struct api_reply {
    int status;
    char *json;
    const char *content_type; /* NULL: application/json */
    size_t len;               /* nonzero: json holds len bytes, sent as they are (a file) */
    const char *location;     /* a redirect's Location (static), or NULL */
    /* A WebSocket: with upgrade set (status 101), a request that is a valid WebSocket
     * handshake is answered 101 and bridged to upgrade_fd (api/ws_bridge.h), after the
     * backlog (malloc'd, or NULL); any other request gets 426. The server takes both. */
    bool upgrade;
    int upgrade_fd;
    char *backlog;
    size_t backlog_len;
};

typedef void (*api_handler_fn)(void *opaque, const char *method, const char *url, const char *body,
                               size_t len, struct api_reply *r);

struct api_http_config {
    const char *unix_path; /* a stale socket is replaced; another kind of file is an error */
    long unix_gid;         /* the socket's group (mode 0660 either way); -1: unchanged */
    const char *listen;    /* "ADDR:PORT" or "[V6ADDR]:PORT", or NULL: no TCP */
    const char *token;     /* TCP: the bearer token every request must carry, or NULL */
    /* TCP over TLS: PEM texts of the server's certificate and key, and of the CA that must
     * have signed every client's certificate (NULL: no client certificate required) */
    const char *tls_cert, *tls_key, *tls_client_ca;
};

struct api_http;

/* Starts serving. The TCP listener needs token or tls_client_ca (else -EINVAL, logged).
 * Returns 0 or -errno (logged). */
int api_http_start(struct api_http **out, const struct api_http_config *c, api_handler_fn fn,
                   void *opaque);
/* The TCP listener's port (0 without one), e.g. after listening on port 0. */
int api_http_tcp_port(const struct api_http *h);
/* Stops serving and removes the socket file. NULL is fine. */
void api_http_stop(struct api_http *h);

/* Whether got equals want, in a time that depends only on want's length. */
int api_token_equal(const char *got, const char *want);
/* A bearer token from an "Authorization" header value ("Bearer TOKEN", scheme in any case),
 * or NULL. */
const char *api_bearer_token(const char *authorization);

#endif
