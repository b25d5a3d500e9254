/* libFuzzer target: the WebSocket frame reader (api/ws_frame.h) on a browser's bytes, fed in
 * chunks whose sizes the input's first byte picks. Every frame handed out must be within the
 * bounds the reader promises; errors end the run as they end a connection. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/ws_frame.h"

static struct ws_reader rd;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t chunk, off = 1;
    struct ws_frame f;

    if (!size)
        return 0;
    chunk = (size_t)data[0] % 64 + 1;
    memset(&rd, 0, sizeof(rd));
    while (off < size) {
        size_t room, n = size - off < chunk ? size - off : chunk;
        uint8_t *dst = ws_reader_space(&rd, &room);
        int r;

        if (!room)
            abort(); /* a valid reader always has room for the rest of a frame */
        if (n > room)
            n = room;
        memcpy(dst, data + off, n);
        ws_reader_commit(&rd, n);
        off += n;
        while ((r = ws_reader_next(&rd, &f)) == 1) {
            if (f.len > WS_FRAME_MAX || (f.opcode >= 8 && (f.len > WS_CONTROL_MAX || !f.fin)))
                abort();
            if (f.len && (f.payload < rd.buf || f.payload + f.len > rd.buf + sizeof(rd.buf)))
                abort();
        }
        if (r < 0) {
            if (r != -EPROTO && r != -EMSGSIZE)
                abort();
            return 0;
        }
    }
    return 0;
}
