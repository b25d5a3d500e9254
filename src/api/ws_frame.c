/* RFC 6455 framing (ws_frame.h). */
#include "api/ws_frame.h"

#include <errno.h>
#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <string.h>

/* The last frame handed out is at the buffer's start until the next call: drop it. */
static void drop_handed(struct ws_reader *r)
{
    if (!r->handed)
        return;
    memmove(r->buf, r->buf + r->handed, r->len - r->handed);
    r->len -= r->handed;
    r->handed = 0;
}

uint8_t *ws_reader_space(struct ws_reader *r, size_t *room)
{
    drop_handed(r);
    *room = sizeof(r->buf) - r->len;
    return r->buf + r->len;
}

void ws_reader_commit(struct ws_reader *r, size_t n)
{
    r->len += n;
}

static uint64_t be_read(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int ws_reader_next(struct ws_reader *r, struct ws_frame *f)
{
    size_t hlen = 2, total;
    uint64_t len;
    uint8_t b0, b1, op, *mask, *p;

    drop_handed(r);
    if (r->len < 2)
        return 0;
    b0 = r->buf[0];
    b1 = r->buf[1];
    op = b0 & 0x0f;
    if (b0 & 0x70)
        return -EPROTO; /* RSV1-3: no extension was negotiated */
    if (!(b1 & 0x80))
        return -EPROTO; /* a client's frames are masked */
    switch (op) {
    case WS_OP_CONT:
        if (!r->in_message)
            return -EPROTO;
        break;
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        if (r->in_message)
            return -EPROTO;
        break;
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        if (!(b0 & 0x80) || (b1 & 0x7f) > WS_CONTROL_MAX)
            return -EPROTO;
        break;
    default: return -EPROTO;
    }
    len = b1 & 0x7f;
    if (len == 126) {
        hlen = 4;
        if (r->len < hlen)
            return 0;
        len = be_read(r->buf + 2, 2);
    } else if (len == 127) {
        hlen = 10;
        if (r->len < hlen)
            return 0;
        len = be_read(r->buf + 2, 8);
        if (len >> 63)
            return -EPROTO;
    }
    if (len > WS_FRAME_MAX)
        return -EMSGSIZE;
    hlen += 4;
    if (r->len < hlen)
        return 0;
    total = hlen + (size_t)len;
    if (r->len < total)
        return 0;
    if (op == WS_OP_CLOSE && len == 1)
        return -EPROTO; /* a status code is two bytes */
    mask = r->buf + hlen - 4;
    p = r->buf + hlen;
    for (size_t i = 0; i < len; i++)
        p[i] ^= mask[i & 3];
    if (op == WS_OP_TEXT || op == WS_OP_BINARY || op == WS_OP_CONT)
        r->in_message = !(b0 & 0x80);
    /* Hand out a copy at the buffer's start: the payload moves down over the header, and the
     * bytes after this frame follow it; the caller's frame stays valid until the next call. */
    memmove(r->buf, p, (size_t)len);
    memmove(r->buf + len, r->buf + total, r->len - total);
    r->len -= total - (size_t)len;
    f->opcode = op;
    f->fin = b0 & 0x80;
    f->payload = r->buf;
    f->len = (size_t)len;
    r->handed = (size_t)len;
    return 1;
}

size_t ws_header_write(uint8_t out[WS_HEADER_MAX], uint8_t opcode, size_t len)
{
    out[0] = 0x80 | (opcode & 0x0f);
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

int ws_accept_key(const char *key, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    struct base64_decode_ctx d;
    struct sha1_ctx s;
    uint8_t raw[24], digest[SHA1_DIGEST_SIZE];
    size_t n = sizeof(raw);

    if (!key || strlen(key) != 24)
        return -EINVAL;
    base64_decode_init(&d);
    if (!base64_decode_update(&d, &n, raw, 24, key) || !base64_decode_final(&d) || n != 16)
        return -EINVAL;
    sha1_init(&s);
    sha1_update(&s, 24, (const uint8_t *)key);
    sha1_update(&s, sizeof(guid) - 1, (const uint8_t *)guid);
    sha1_digest(&s, sizeof(digest), digest);
    base64_encode_raw(out, sizeof(digest), digest);
    out[28] = '\0';
    return 0;
}
