/* A unix-socket character device: Vessel listens on PATH and serves one client at a time (a
 * new connection replaces the old one). Bytes written with no client connected are dropped,
 * like a serial line with nothing attached. Not thread-safe: one thread drives it. */
#ifndef VESSEL_BACKEND_CHARDEV_SOCKET_H
#define VESSEL_BACKEND_CHARDEV_SOCKET_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct chardev_socket;

/* Creates and listens on path (a stale socket file there is replaced; any other file is an
 * error). Logs and returns -errno on failure. */
int chardev_socket_listen(struct chardev_socket **out, const char *path);
/* Closes the client and the listener and removes the socket file. */
void chardev_socket_close(struct chardev_socket *s);
/* Readable when a client is waiting to be accepted. */
int chardev_socket_listen_fd(const struct chardev_socket *s);
/* The connected client, or -1. */
int chardev_socket_client_fd(const struct chardev_socket *s);
/* Accepts a waiting client (replacing the current one). Returns 0 or -errno. */
int chardev_socket_accept(struct chardev_socket *s);
/* Reads from the client into iov: bytes read, -EAGAIN when none are waiting, or 0 when the
 * client went away (it is closed; the next one can connect). */
ssize_t chardev_socket_readv(struct chardev_socket *s, const struct iovec *iov, int cnt);
/* Writes all of buf to the client, waiting at most ~100 ms for room; returns the bytes
 * written (what could not be written, or everything without a client, is dropped). */
size_t chardev_socket_write(struct chardev_socket *s, const void *buf, size_t len);

#endif
