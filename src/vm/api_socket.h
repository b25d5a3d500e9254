/* `vessel run --api-socket PATH`: a unix stream socket on a thread of its own. Each line a
 * client sends is one control command (src/vm/control.h); each answer is one line. Several
 * clients may be connected; a line longer than API_SOCKET_LINE_MAX closes that client. */
#ifndef VESSEL_VM_API_SOCKET_H
#define VESSEL_VM_API_SOCKET_H

#include "vm/control.h"

#define API_SOCKET_LINE_MAX 4096
#define API_SOCKET_CLIENTS  8

struct api_socket;

/* Listens on path (a stale socket there is replaced; any other file is an error). c must stay
 * valid until api_socket_stop(). Returns 0 or -errno (logged). */
int api_socket_start(struct api_socket **out, const char *path, const struct control *c);
/* Waits up to ms for every connected client to hang up (after a migration, so that a client
 * polling its status reads the final answer before the socket goes away). NULL is fine. */
void api_socket_linger(struct api_socket *s, int ms);
/* Stops the thread, closes every connection and removes the socket file. NULL is fine. */
void api_socket_stop(struct api_socket *s);

#endif
