/* The web console's WebSocket framing (api/ws_frame.h) and browser sessions
 * (api/http_auth.h): RFC 6455's example values, frames split at every byte, every protocol
 * violation the reader must refuse, and the cookie and Origin checks. */
#include <errno.h>
#include <string.h>

#include "api/http_auth.h"
#include "api/ws_frame.h"
#include "harness.h"

static struct ws_reader rd;

/* A client frame with the given first byte, payload and mask. */
static size_t client_frame(uint8_t *out, uint8_t b0, const void *payload, size_t n,
                           const uint8_t mask[4])
{
    size_t h = 2;

    out[0] = b0;
    if (n < 126) {
        out[1] = 0x80 | (uint8_t)n;
    } else if (n < 65536) {
        out[1] = 0x80 | 126;
        out[2] = (uint8_t)(n >> 8);
        out[3] = (uint8_t)n;
        h = 4;
    } else {
        out[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        h = 10;
    }
    memcpy(out + h, mask, 4);
    for (size_t i = 0; i < n; i++)
        out[h + 4 + i] = ((const uint8_t *)payload)[i] ^ mask[i & 3];
    return h + 4 + n;
}

static void feed(const void *p, size_t n)
{
    size_t room;
    uint8_t *dst = ws_reader_space(&rd, &room);

    CHECK(room >= n);
    memcpy(dst, p, n);
    ws_reader_commit(&rd, n);
}

TEST(ws_accept_key_rfc6455_example)
{
    char out[29];

    CHECK_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    CHECK(!strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    CHECK_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=", out), -EINVAL);  /* short */
    CHECK_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ!!", out), -EINVAL); /* not base64 */
    CHECK_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZWVlZQ", out), -EINVAL);
    CHECK_EQ(ws_accept_key(NULL, out), -EINVAL);
}

TEST(ws_reader_rfc6455_masked_hello_byte_by_byte)
{
    /* RFC 6455 5.7: a masked "Hello" */
    static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                    0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct ws_frame f;

    memset(&rd, 0, sizeof(rd));
    for (size_t i = 0; i < sizeof(hello); i++) {
        CHECK_EQ(ws_reader_next(&rd, &f), 0);
        feed(hello + i, 1);
    }
    CHECK_EQ(ws_reader_next(&rd, &f), 1);
    CHECK_EQ(f.opcode, WS_OP_TEXT);
    CHECK(f.fin);
    CHECK_EQ(f.len, 5);
    CHECK(!memcmp(f.payload, "Hello", 5));
    CHECK_EQ(ws_reader_next(&rd, &f), 0);
}

TEST(ws_reader_frames_back_to_back_and_lengths)
{
    static uint8_t big[70000], buf[80000];
    const uint8_t m[4] = {1, 2, 3, 4};
    struct ws_frame f;
    size_t n;

    memset(&rd, 0, sizeof(rd));
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    /* fragmented binary message (200 + 300 bytes: the 16-bit length), a ping in between */
    n = client_frame(buf, 0x02, big, 200, m);
    n += client_frame(buf + n, 0x89, "p", 1, m);
    n += client_frame(buf + n, 0x80, big + 200, 300, m);
    feed(buf, n);
    CHECK_EQ(ws_reader_next(&rd, &f), 1);
    CHECK(f.opcode == WS_OP_BINARY && !f.fin && f.len == 200 && !memcmp(f.payload, big, 200));
    CHECK_EQ(ws_reader_next(&rd, &f), 1);
    CHECK(f.opcode == WS_OP_PING && f.fin && f.len == 1 && f.payload[0] == 'p');
    CHECK_EQ(ws_reader_next(&rd, &f), 1);
    CHECK(f.opcode == WS_OP_CONT && f.fin && f.len == 300 && !memcmp(f.payload, big + 200, 300));
    CHECK_EQ(ws_reader_next(&rd, &f), 0);
    /* exactly WS_FRAME_MAX, with the 64-bit length form */
    n = client_frame(buf, 0x82, big, WS_FRAME_MAX, m);
    for (size_t off = 0; off < n; off += 1000) {
        CHECK_EQ(ws_reader_next(&rd, &f), 0);
        feed(buf + off, n - off < 1000 ? n - off : 1000);
    }
    CHECK_EQ(ws_reader_next(&rd, &f), 1);
    CHECK(f.len == WS_FRAME_MAX && !memcmp(f.payload, big, WS_FRAME_MAX));
    /* one byte more is refused from its header alone */
    memset(&rd, 0, sizeof(rd));
    n = client_frame(buf, 0x82, big, WS_FRAME_MAX + 1, m);
    feed(buf, 14);
    CHECK_EQ(ws_reader_next(&rd, &f), -EMSGSIZE);
}

/* One frame's bytes alone in a fresh reader: what the reader says. */
static int verdict(const uint8_t *p, size_t n, bool in_message)
{
    struct ws_frame f;

    memset(&rd, 0, sizeof(rd));
    rd.in_message = in_message;
    feed(p, n);
    return ws_reader_next(&rd, &f);
}

TEST(ws_reader_refuses_protocol_violations)
{
    const uint8_t m[4] = {9, 9, 9, 9};
    uint8_t buf[300], payload[200] = {0};
    size_t n;

    static const uint8_t unmasked[] = {0x82, 0x01, 'x'};
    CHECK_EQ(verdict(unmasked, sizeof(unmasked), false), -EPROTO);
    for (uint8_t rsv = 0x10; rsv <= 0x40; rsv <<= 1) {
        n = client_frame(buf, 0x82 | rsv, "x", 1, m);
        CHECK_EQ(verdict(buf, n, false), -EPROTO);
    }
    for (uint8_t op = 3; op < 16; op++) {
        if (op >= 8 && op <= 10)
            continue;
        n = client_frame(buf, 0x80 | op, "x", 1, m);
        CHECK_EQ(verdict(buf, n, false), -EPROTO);
    }
    n = client_frame(buf, 0x09, "x", 1, m); /* fragmented ping */
    CHECK_EQ(verdict(buf, n, false), -EPROTO);
    n = client_frame(buf, 0x89, payload, 126, m); /* control frame over 125 */
    CHECK_EQ(verdict(buf, n, false), -EPROTO);
    n = client_frame(buf, 0x80, "x", 1, m); /* continuation outside a message */
    CHECK_EQ(verdict(buf, n, false), -EPROTO);
    n = client_frame(buf, 0x82, "x", 1, m); /* new message inside a fragmented one */
    CHECK_EQ(verdict(buf, n, true), -EPROTO);
    n = client_frame(buf, 0x88, "x", 1, m); /* a close with half a status code */
    CHECK_EQ(verdict(buf, n, false), -EPROTO);
    static const uint8_t top_bit[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    CHECK_EQ(verdict(top_bit, sizeof(top_bit), false), -EPROTO);
    static const uint8_t huge[] = {0x82, 0xff, 0, 0, 1, 0, 0, 0, 0, 0};
    CHECK_EQ(verdict(huge, sizeof(huge), false), -EMSGSIZE);
    /* a control frame in a fragmented message is fine */
    n = client_frame(buf, 0x8a, "", 0, m);
    CHECK_EQ(verdict(buf, n, true), 1);
}

TEST(ws_header_write_lengths)
{
    uint8_t h[WS_HEADER_MAX];

    CHECK_EQ(ws_header_write(h, WS_OP_BINARY, 125), 2);
    CHECK(h[0] == 0x82 && h[1] == 125);
    CHECK_EQ(ws_header_write(h, WS_OP_BINARY, 126), 4);
    CHECK(h[1] == 126 && h[2] == 0 && h[3] == 126);
    CHECK_EQ(ws_header_write(h, WS_OP_CLOSE, 65536), 10);
    CHECK(h[0] == 0x88 && h[1] == 127 && h[7] == 1 && h[8] == 0 && h[9] == 0);
}

TEST(http_session_cookie_and_origin)
{
    struct http_session s, other;
    char hdr[400], set[256];

    CHECK_EQ(http_session_init(&s, "a-token-of-some-length"), 0);
    CHECK_EQ(http_session_init(&other, "a-token-of-some-length"), 0);
    CHECK_EQ(strlen(s.value), HTTP_SESSION_LEN);
    CHECK(strcmp(s.value, other.value)); /* fresh random bytes each daemon start */
    snprintf(hdr, sizeof(hdr), "a=b; vessel_session=%s; c=d", s.value);
    CHECK(http_session_cookie_ok(&s, hdr));
    CHECK(!http_session_cookie_ok(&other, hdr));
    snprintf(hdr, sizeof(hdr), "vessel_session=x; vessel_session=%s", s.value);
    CHECK(http_session_cookie_ok(&s, hdr));
    snprintf(hdr, sizeof(hdr), "vessel_session=%sX", s.value);
    CHECK(!http_session_cookie_ok(&s, hdr));
    snprintf(hdr, sizeof(hdr), "xvessel_session=%s", s.value);
    CHECK(!http_session_cookie_ok(&s, hdr));
    CHECK(!http_session_cookie_ok(&s, NULL));
    CHECK(!http_session_cookie_ok(&s, "vessel_session="));
    http_session_set_cookie(&s, true, true, set, sizeof(set));
    CHECK(strstr(set, s.value) && strstr(set, "HttpOnly") && strstr(set, "SameSite=Strict") &&
          strstr(set, "Secure"));
    http_session_set_cookie(&s, false, false, set, sizeof(set));
    CHECK(!strstr(set, s.value) && strstr(set, "Max-Age=0") && !strstr(set, "Secure"));
    CHECK(http_origin_ok(NULL, "h:1", false));
    CHECK(http_origin_ok("http://h:1", "h:1", false));
    CHECK(!http_origin_ok("https://h:1", "h:1", false));
    CHECK(http_origin_ok("https://h:1", "h:1", true));
    CHECK(!http_origin_ok("http://evil:1", "h:1", false));
    CHECK(!http_origin_ok("http://h:1.evil", "h:1", false));
    CHECK(!http_origin_ok("http://h:1", NULL, false));
    CHECK(http_header_has("keep-alive, Upgrade", "upgrade"));
    CHECK(!http_header_has("keep-alive, Upgraded", "upgrade"));
    CHECK(!http_header_has(NULL, "upgrade"));
}
