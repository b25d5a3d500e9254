/* The TCP listener's browser sessions, as pure functions (unit-tested): a browser cannot send
 * "Authorization: Bearer" on a page load or a WebSocket, so it posts the token once to
 * /ui/login and gets a cookie holding a session value derived from it:
 *
 *   vessel_session = hex(HMAC-SHA256(key = the token, message = 32 random bytes drawn when the
 *                    daemon starts))
 *
 * HttpOnly, SameSite=Strict, Path=/ (and Secure over TLS). It is valid until the daemon
 * restarts or its token changes, and never reveals the token. Requests authenticated by the
 * cookie (not by a bearer header) are checked against cross-site use: an Origin header must
 * name this very host, and a method other than GET or HEAD must carry the header
 * "X-Vessel-CSRF: 1" (which a cross-site form cannot send, and a cross-site script cannot
 * without a CORS preflight this server never grants). */
#ifndef VESSEL_API_HTTP_AUTH_H
#define VESSEL_API_HTTP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_SESSION_COOKIE "vessel_session"
#define HTTP_SESSION_LEN    64 /* hex characters */
#define HTTP_CSRF_HEADER    "X-Vessel-CSRF"

struct http_session {
    char value[HTTP_SESSION_LEN + 1];
};

/* Derives the session value from the token and fresh random bytes. 0 or -errno. */
int http_session_init(struct http_session *s, const char *token);
/* Whether a Cookie header (NULL: none) carries the session, compared in constant time. */
bool http_session_cookie_ok(const struct http_session *s, const char *cookie_header);
/* The Set-Cookie value that logs in (value = the session) or out (value NULL). */
void http_session_set_cookie(const struct http_session *s, bool login, bool tls, char *out,
                             size_t cap);
/* Whether an Origin header's value names the host of the Host header, with http or https as
 * the listener is (NULL origin: fine, no browser sent it cross-site; NULL host: not fine). */
bool http_origin_ok(const char *origin, const char *host, bool tls);

/* Whether a header's comma-separated list (NULL: none) holds token, in any case. */
bool http_header_has(const char *list, const char *token);

#endif
