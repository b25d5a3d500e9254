/* The process's stdin/stdout as a guest console. On a terminal: raw mode (restored on every
 * exit path, signals included) and QEMU-style escapes: Ctrl-A x quits, Ctrl-A Ctrl-A sends a
 * literal Ctrl-A, Ctrl-A h lists the keys. Otherwise (pipes, files) bytes pass through
 * untouched, and after end of input the guest keeps running. One per process. */
#ifndef VESSEL_BACKEND_CHARDEV_STDIO_H
#define VESSEL_BACKEND_CHARDEV_STDIO_H

#include <stdint.h>

#define CHARDEV_ESCAPE_CHAR 0x01 /* Ctrl-A */

struct chardev_stdio;

struct chardev_stdio_sink {
    /* Offers input bytes; returns how many were taken (the rest is offered again later). */
    unsigned (*rx)(void *opaque, const uint8_t *buf, unsigned len);
    /* The user typed Ctrl-A x. */
    void (*quit)(void *opaque);
    void *opaque;
};

/* Puts a terminal stdin in raw mode. Returns 0 or -errno (logged). */
int chardev_stdio_open(struct chardev_stdio **out);
/* Starts the input thread. Returns 0 or -errno (logged). */
int chardev_stdio_start(struct chardev_stdio *c, const struct chardev_stdio_sink *sink);
/* Writes one output byte to stdout at once (no buffering). Thread-safe. */
void chardev_stdio_tx(void *opaque, uint8_t byte);
/* The device has room for input again (e.g. its RX FIFO drained). Thread-safe. */
void chardev_stdio_wake(void *opaque);
/* Stops the input thread and restores the terminal. */
void chardev_stdio_close(struct chardev_stdio *c);

/* Feeds input through the escape filter (exposed for tests): copies what goes to the guest to
 * out (room for 2 * len bytes) and returns its length; sets *quit on Ctrl-A x. */
struct chardev_escape {
    int pending; /* the last byte was the escape character */
};
unsigned chardev_escape_filter(struct chardev_escape *e, const uint8_t *in, unsigned len,
                               uint8_t *out, int *quit, int *help);

#endif
