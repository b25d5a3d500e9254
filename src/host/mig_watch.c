/* Following a VM's outgoing migration (see mig_watch.h). */
#include "host/mig_watch.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define WATCH_PERIOD_MS 100
#define ANSWER_MS       5000
#define LINE_MAX_LEN    8192

struct mig_watch {
    int fd;
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t lock;
    char *status; /* the last "migration" object, JSON text */
    enum mig_watch_end end;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One command and its one-line answer (malloc'd, no newline); NULL when the VM is gone. */
static char *call(int fd, const char *cmd)
{
    char *line = malloc(LINE_MAX_LEN);
    size_t got = 0, n = strlen(cmd);

    if (!line)
        return NULL;
    if (send(fd, cmd, n, MSG_NOSIGNAL) != (ssize_t)n || send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
        goto fail;
    while (got < LINE_MAX_LEN - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r;
        char *nl;

        if (poll(&p, 1, ANSWER_MS) <= 0)
            goto fail;
        r = recv(fd, line + got, LINE_MAX_LEN - 1 - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto fail;
        got += (size_t)r;
        line[got] = '\0';
        if ((nl = memchr(line, '\n', got))) {
            *nl = '\0';
            return line;
        }
    }
fail:
    free(line);
    return NULL;
}

/* Takes a {"ok":true,"migration":{...}} answer; true when the migration has ended. */
static bool take_status(struct mig_watch *w, const char *answer)
{
    json_t *a = json_loads(answer, 0, NULL), *m = json_object_get(a, "migration");
    const char *state = json_string_value(json_object_get(m, "state"));
    char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
    enum mig_watch_end end = MIG_WATCH_RUNNING;

    if (!state)
        end = MIG_WATCH_LOST;
    else if (!strcmp(state, "completed"))
        end = MIG_WATCH_COMPLETED;
    else if (!strcmp(state, "failed") || !strcmp(state, "cancelled") || !strcmp(state, "none"))
        end = MIG_WATCH_FAILED;
    else if (!strcmp(state, "unconfirmed"))
        end = MIG_WATCH_UNCONFIRMED;
    pthread_mutex_lock(&w->lock);
    if (text) {
        free(w->status);
        w->status = text;
    }
    w->end = end;
    pthread_mutex_unlock(&w->lock);
    json_decref(a);
    return end != MIG_WATCH_RUNNING;
}

static void *watch_main(void *arg)
{
    struct mig_watch *w = arg;

    while (!atomic_load(&w->stop)) {
        char *answer;

        for (int t = 0; t < WATCH_PERIOD_MS && !atomic_load(&w->stop); t += 10)
            sleep_ms(10);
        answer = call(w->fd, "{\"migrate_status\": null}");
        if (!answer) {
            pthread_mutex_lock(&w->lock);
            w->end = MIG_WATCH_LOST;
            pthread_mutex_unlock(&w->lock);
            break;
        }
        if (take_status(w, answer)) {
            free(answer);
            break;
        }
        free(answer);
    }
    /* Closing lets a VMM that lingers for its clients exit now. */
    close(w->fd);
    w->fd = -1;
    return NULL;
}

int mig_watch_start(struct mig_watch **out, const char *api_path, const char *cmd, char **answer)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct mig_watch *w;
    json_t *a;
    bool ok;
    char *st;
    int err;

    *out = NULL;
    *answer = NULL;
    if (strlen(api_path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, api_path, strlen(api_path));
    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    pthread_mutex_init(&w->lock, NULL);
    w->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (w->fd < 0 || connect(w->fd, (struct sockaddr *)&sa, sizeof(sa))) {
        err = -errno;
        goto fail;
    }
    *answer = call(w->fd, cmd);
    if (!*answer) {
        err = -ECONNRESET;
        goto fail;
    }
    a = json_loads(*answer, 0, NULL);
    ok = json_is_true(json_object_get(a, "ok"));
    json_decref(a);
    if (!ok) {
        err = 0; /* the VM refused: *answer says why */
        goto fail;
    }
    st = call(w->fd, "{\"migrate_status\": null}");
    if (st)
        take_status(w, st);
    free(st);
    if (!w->status)
        w->status = strdup("{\"state\":\"connecting\"}");
    err = -pthread_create(&w->thread, NULL, watch_main, w);
    if (err)
        goto fail;
    *out = w;
    return 0;
fail:
    if (w->fd >= 0)
        close(w->fd);
    free(w->status);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return err;
}

char *mig_watch_status(struct mig_watch *w, enum mig_watch_end *end)
{
    char *s;

    pthread_mutex_lock(&w->lock);
    s = w->status ? strdup(w->status) : NULL;
    *end = w->end;
    pthread_mutex_unlock(&w->lock);
    return s;
}

enum mig_watch_end mig_watch_end(struct mig_watch *w)
{
    enum mig_watch_end end;

    pthread_mutex_lock(&w->lock);
    end = w->end;
    pthread_mutex_unlock(&w->lock);
    return end;
}

void mig_watch_free(struct mig_watch *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    free(w->status);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
