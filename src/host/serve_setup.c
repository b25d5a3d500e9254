/* `vessel serve` set-up from its configuration: the listeners (socket group, the TCP listener's
 * token and TLS files) and the path policy (serve_setup.h). */
#include "host/serve_setup.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file.h"

static int fail(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "vessel serve: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 1;
}

/* A small text file into a malloc'd string (NUL-terminated). */
static int read_text(const char *opt, const char *path, size_t max, bool secret, char **out)
{
    struct stat st;
    uint8_t *text;
    size_t len;
    int err;

    if (stat(path, &st))
        return fail("%s %s: cannot read it", opt, path);
    if (secret && (st.st_mode & 077))
        return fail("%s %s: readable by group or others; chmod 600 it", opt, path);
    err = file_read_all(path, max, &text, &len);
    if (err)
        return fail("%s %s: cannot read it (or it is too large)", opt, path);
    *out = realloc(text, len + 1);
    if (!*out) {
        free(text);
        return fail("%s%s: out of memory", opt, "");
    }
    (*out)[len] = '\0';
    if (strlen(*out) != len) {
        free(*out);
        *out = NULL;
        return fail("%s %s: has NUL bytes", opt, path);
    }
    return 0;
}

static int read_token(const char *path, char **out)
{
    char *t;
    size_t n;

    if (read_text("--token-file", path, 4096, true, &t))
        return 1;
    n = strlen(t);
    while (n && isspace((unsigned char)t[n - 1]))
        t[--n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (!isgraph((unsigned char)t[i])) {
            free(t);
            return fail("--token-file %s: the token is one line of printable characters, no "
                        "spaces%s",
                        path, "");
        }
    if (n < API_TOKEN_MIN) {
        free(t);
        return fail("--token-file %s: the token is shorter than 16 characters%s", path, "");
    }
    *out = t;
    return 0;
}

int serve_http_config(const struct serve_config *c, struct api_http_config *hc)
{
    char *token = NULL, *cert = NULL, *key = NULL, *ca = NULL;

    *hc = (struct api_http_config){.unix_path = c->socket, .unix_gid = -1, .listen = c->listen};
    if (c->socket_group) {
        struct group *g = getgrnam(c->socket_group);
        char *end;
        long gid = strtol(c->socket_group, &end, 10);

        if (g)
            hc->unix_gid = (long)g->gr_gid;
        else if (*c->socket_group && !*end && gid >= 0)
            hc->unix_gid = gid;
        else
            return fail("--socket-group %s: no such group%s", c->socket_group, "");
    }
    if ((c->token_file || c->tls_cert || c->tls_key || c->tls_client_ca) && !c->listen)
        return fail("--token-file and --tls-* go with --listen ADDR:PORT%s%s", "", "");
    if ((c->token_file && read_token(c->token_file, &token)) ||
        (c->tls_cert && read_text("--tls-cert", c->tls_cert, 1 << 20, false, &cert)) ||
        (c->tls_key && read_text("--tls-key", c->tls_key, 1 << 20, true, &key)) ||
        (c->tls_client_ca && read_text("--tls-client-ca", c->tls_client_ca, 1 << 20, false, &ca))) {
        free(token);
        free(cert);
        free(key);
        free(ca);
        return 1;
    }
    hc->token = token;
    hc->tls_cert = cert;
    hc->tls_key = key;
    hc->tls_client_ca = ca;
    return 0;
}

void serve_http_config_free(struct api_http_config *hc)
{
    if (hc->token)
        explicit_bzero((char *)hc->token, strlen(hc->token));
    if (hc->tls_key)
        explicit_bzero((char *)hc->tls_key, strlen(hc->tls_key));
    free((char *)hc->token);
    free((char *)hc->tls_cert);
    free((char *)hc->tls_key);
    free((char *)hc->tls_client_ca);
}

int serve_policy(const struct serve_config *c, struct host_policy *p, char *image_dir, size_t cap)
{
    int err;

    if (c->image_dir)
        snprintf(image_dir, cap, "%s", c->image_dir);
    else
        snprintf(image_dir, cap, "%s/images", c->state_dir);
    if (mkdir(image_dir, 0755) && errno != EEXIST)
        return fail("--image-dir %s: %s", image_dir, strerror(errno));
    if ((err = policy_add_dir(p, c->state_dir)) || (err = policy_add_dir(p, image_dir)))
        return fail("the state or image directory %s: %s", image_dir, strerror(-err));
    for (int i = 0; i < c->nallow; i++)
        if ((err = policy_add_dir(p, c->allow[i])))
            return fail("--allow-dir %s: %s", c->allow[i], strerror(-err));
    return 0;
}
