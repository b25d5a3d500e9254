/* RFC 6455 WebSocket framing, server side, as pure functions (no I/O) so that unit tests and
 * fuzz/fuzz_ws.c drive them directly: the handshake's accept key, a reader that takes a
 * browser's bytes as hostile input and hands out whole frames, and the server's frame headers.
 *
 * What the reader enforces (each violation ends the connection, RFC 6455 sections 5 and 7):
 * every client frame masked; no RSV bits; opcodes 0, 1, 2, 8, 9, 10 only; control frames at
 * most 125 bytes and never fragmented; a continuation only inside a fragmented message and no
 * new data frame inside one; the 64-bit length with its top bit clear; a frame's payload at most
 * WS_FRAME_MAX (-EMSGSIZE: close code 1009); a close frame's payload empty or a status code
 * (then UTF-8 text is not checked: the reason is discarded). Data frames are handed out as
 * they come (a console is a byte stream), so a message's size is not bounded, only a frame's. */
#ifndef VESSEL_API_WS_FRAME_H
#define VESSEL_API_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_FRAME_MAX   65536 /* payload bytes of one client frame */
#define WS_HEADER_MAX  14    /* 2 + 8 (length) + 4 (mask) */
#define WS_CONTROL_MAX 125

enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xa,
};

/* Close codes the server sends. */
#define WS_CLOSE_NORMAL   1000
#define WS_CLOSE_GOING    1001
#define WS_CLOSE_PROTOCOL 1002
#define WS_CLOSE_TOO_BIG  1009

/* A client connection's incoming side. */
struct ws_reader {
    uint8_t buf[WS_HEADER_MAX + WS_FRAME_MAX]; /* at most one frame not yet whole */
    size_t len;
    size_t handed;   /* the frame last handed out, at buf's start until the next call */
    bool in_message; /* a fragmented data message is under way */
};

/* One whole frame: opcode, its unmasked payload (inside the reader's buffer, valid until the
 * next ws_reader_next) and whether it ends its message. */
struct ws_frame {
    uint8_t opcode;
    bool fin;
    const uint8_t *payload;
    size_t len;
};

/* Where the next bytes from the socket go, and how many fit (never 0 while the reader is in a
 * valid state: a frame that cannot fit was refused before). */
uint8_t *ws_reader_space(struct ws_reader *r, size_t *room);
/* n bytes were written at ws_reader_space(). */
void ws_reader_commit(struct ws_reader *r, size_t n);
/* The next whole frame: 1 (f filled), 0 (more bytes needed), -EPROTO (a protocol violation)
 * or -EMSGSIZE (a frame over WS_FRAME_MAX). After an error the reader must not be used. */
int ws_reader_next(struct ws_reader *r, struct ws_frame *f);

/* A server frame's header (FIN set, unmasked) for a payload of len bytes: its length (2, 4 or
 * 10) written to out. */
size_t ws_header_write(uint8_t out[WS_HEADER_MAX], uint8_t opcode, size_t len);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: 0 and out (28 characters and a NUL) filled, or
 * -EINVAL when the key is not the base64 of 16 bytes. */
int ws_accept_key(const char *key, char out[29]);

#endif
