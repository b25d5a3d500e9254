/* A WebSocket connection bridged to a byte stream (a VM's console socket), on a thread of its
 * own: what the browser sends in data frames goes to the stream, what the stream gives goes to
 * the browser in binary frames, after an initial backlog (the console's recent output). Pings
 * are answered; a protocol violation closes with 1002 (1009 for a frame over WS_FRAME_MAX); the
 * stream's end closes with 1000. A write to the browser that cannot finish within
 * WS_SEND_TIMEOUT_S ends the bridge (a browser that stopped reading). */
#ifndef VESSEL_API_WS_BRIDGE_H
#define VESSEL_API_WS_BRIDGE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define WS_SEND_TIMEOUT_S 10

struct ws_bridge;

/* A listener's bridges, so that stopping the server ends them first. */
struct ws_bridges {
    pthread_mutex_t lock;
    pthread_cond_t done;
    struct ws_bridge *head;
    int n;
};

/* Called once when a bridge ends, with the socket no longer used (it closes it). */
typedef void (*ws_done_fn)(void *opaque);

void ws_bridges_init(struct ws_bridges *s);
/* Ends every bridge and waits (at most 5 s) until they are gone. */
void ws_bridges_stop(struct ws_bridges *s);

/* Starts bridging sock (the upgraded connection, already answered with 101) and fd; takes
 * fd and backlog (malloc'd, may be NULL) in every case. extra: bytes the client sent after the
 * handshake. 0 or -errno (then done has been called). */
int ws_bridge_start(struct ws_bridges *s, int sock, int fd, char *backlog, size_t backlog_len,
                    const char *extra, size_t extra_len, ws_done_fn done, void *opaque);

#endif
