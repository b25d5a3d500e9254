/* The management API's HTTP/1.1 server on a unix stream socket (libmicrohttpd, one internal
 * polling thread: handlers run one at a time, so the handler needs no locking of its own).
 * Bodies over API_BODY_MAX get 413; idle connections are closed after API_HTTP_TIMEOUT_S. */
#ifndef VESSEL_API_HTTP_H
#define VESSEL_API_HTTP_H

#include <stddef.h>

#define API_HTTP_TIMEOUT_S 10
#define API_HTTP_MAX_CONN  64

/* What a handler answers: an HTTP status and a malloc'd body text (freed by the server), JSON
 * unless content_type (a static string) says otherwise. */
struct api_reply {
    int status;
    char *json;
    const char *content_type; /* NULL: application/json */
};

typedef void (*api_handler_fn)(void *opaque, const char *method, const char *url, const char *body,
                               size_t len, struct api_reply *r);

struct api_http;

/* Listens on path (a stale socket is replaced; another kind of file is an error; the socket is
 * made 0660). Returns 0 or -errno (logged). */
int api_http_start(struct api_http **out, const char *path, api_handler_fn fn, void *opaque);
/* Stops serving and removes the socket file. NULL is fine. */
void api_http_stop(struct api_http *h);

#endif
