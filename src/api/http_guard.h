/* Inside the API server (http.c): the listening sockets, and the watchdog that ends connections
 * whose request does not arrive whole in time. */
#ifndef VESSEL_API_HTTP_GUARD_H
#define VESSEL_API_HTTP_GUARD_H

#include <pthread.h>
#include <stdbool.h>

/* One connection as the guard sees it. */
struct http_conn {
    int fd;
    double since; /* waiting for a whole request since then (ms, monotonic) */
    bool busy;    /* a whole request arrived; its handler or answer is under way */
    struct http_conn *prev, *next;
};

struct http_guard {
    pthread_mutex_t lock;
    struct http_conn *head;
    int stop_fd;
    pthread_t thread;
    bool running;
};

/* Starts the watchdog thread. 0 or -errno. */
int http_guard_start(struct http_guard *g);
void http_guard_stop(struct http_guard *g);
/* A new connection (fd); its request clock starts. NULL when out of memory. */
struct http_conn *http_guard_add(struct http_guard *g, int fd);
void http_guard_remove(struct http_guard *g, struct http_conn *c);
/* busy: a whole request arrived (the clock stops); else its answer went out (restarts). */
void http_guard_busy(struct http_guard *g, struct http_conn *c, bool busy);

/* A listening unix socket at path (mode 0660, group gid unless -1), or -errno (logged). */
int http_listen_unix(const char *path, long gid);
/* A listening TCP socket on "ADDR:PORT" / "[V6]:PORT", or -errno (logged). */
int http_listen_tcp(const char *spec);

#endif
