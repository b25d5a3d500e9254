/* Browser sessions on the TCP listener (http_auth.h). */
#include "api/http_auth.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/http.h"
#include "base/hmac256.h"

int http_session_init(struct http_session *s, const char *token)
{
    uint8_t nonce[32], tag[HMAC256_LEN];
    int err = hmac256_random(nonce, sizeof(nonce));

    if (err)
        return err;
    hmac256_once(token, strlen(token), nonce, sizeof(nonce), tag);
    for (int i = 0; i < HMAC256_LEN; i++)
        snprintf(s->value + 2 * i, 3, "%02x", tag[i]);
    hmac256_wipe(tag, sizeof(tag));
    return 0;
}

bool http_session_cookie_ok(const struct http_session *s, const char *h)
{
    static const char name[] = HTTP_SESSION_COOKIE;
    bool ok = false;

    /* Cookie: a=b; c=d ... every vessel_session=VALUE pair is tried (a browser may send one
     * from another path too) */
    while (h && *h) {
        char val[HTTP_SESSION_LEN + 2];
        size_t n;

        while (*h == ' ' || *h == '\t' || *h == ';')
            h++;
        n = strcspn(h, ";");
        if (n > sizeof(name) && !strncmp(h, name, sizeof(name) - 1) && h[sizeof(name) - 1] == '=') {
            size_t vl = n - sizeof(name);
            while (vl && (h[sizeof(name) + vl - 1] == ' ' || h[sizeof(name) + vl - 1] == '\t'))
                vl--;
            if (vl == HTTP_SESSION_LEN) {
                memcpy(val, h + sizeof(name), vl);
                val[vl] = '\0';
                ok |= api_token_equal(val, s->value);
            }
        }
        h += n;
    }
    return ok;
}

void http_session_set_cookie(const struct http_session *s, bool login, bool tls, char *out,
                             size_t cap)
{
    snprintf(out, cap, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", HTTP_SESSION_COOKIE,
             login ? s->value : "", tls ? "; Secure" : "", login ? "" : "; Max-Age=0");
}

bool http_origin_ok(const char *origin, const char *host, bool tls)
{
    const char *scheme = tls ? "https://" : "http://";
    size_t sl = strlen(scheme);

    if (!origin)
        return true;
    if (!host || strncasecmp(origin, scheme, sl))
        return false;
    return !strcasecmp(origin + sl, host);
}

int api_token_equal(const char *got, const char *want)
{
    size_t gl = strlen(got), wl = strlen(want);
    unsigned char d = gl != wl;

    for (size_t i = 0; i < wl; i++)
        d |= (unsigned char)(got[i < gl ? i : 0] ^ want[i]);
    return d == 0;
}

const char *api_bearer_token(const char *a)
{
    if (!a || strncasecmp(a, "Bearer", 6) || (a[6] != ' ' && a[6] != '\t'))
        return NULL;
    a += 6;
    while (*a == ' ' || *a == '\t')
        a++;
    return *a ? a : NULL;
}

/* Whether a header's comma-separated list holds token (case-insensitive). */
bool http_header_has(const char *v, const char *token)
{
    size_t tl = strlen(token);

    while (v && *v) {
        size_t n;
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        n = strcspn(v, ",");
        while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            n--;
        if (n == tl && !strncasecmp(v, token, tl))
            return true;
        v += strcspn(v, ",");
    }
    return false;
}
