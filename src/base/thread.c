/* Thread creation by role, and the spawner a sandbox routes it through (see thread.h). */
#include "base/thread.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "base/log.h"

static const char *const role_names[THREAD_ROLES] = {
    [THREAD_MAIN] = "main",
    [THREAD_MAIN_RUN] = "main",
    [THREAD_VCPU] = "vcpu",
    [THREAD_VIRTIO_BLK] = "virtio-blk",
    [THREAD_VIRTIO_NET] = "virtio-net",
    [THREAD_VIRTIO_RNG] = "virtio-rng",
    [THREAD_VIRTIO_CONSOLE] = "virtio-console",
    [THREAD_VIRTIO_BALLOON] = "virtio-balloon",
    [THREAD_VIRTIO] = "virtio",
    [THREAD_CONSOLE] = "console",
    [THREAD_CONTROL] = "control",
    [THREAD_MIGRATION] = "migration",
    [THREAD_NET_USER] = "net-user",
    [THREAD_IRQFD] = "irqfd",
    [THREAD_SIGNAL] = "signal",
    [THREAD_SPAWNER] = "spawner",
};

static __thread enum thread_role cur_role = THREAD_MAIN;
static __thread int cur_tid;

static thread_enter_fn enter_hook;

/* What a new thread runs first. */
struct start {
    enum thread_role role;
    void *(*fn)(void *);
    void *arg;
};

/* One creation handed to the spawner; lives on the asking thread's stack. */
struct spawn_req {
    struct start *s;
    pthread_t *t;
    int result;
    bool done;
    struct spawn_req *next;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct spawn_req *head;
    bool on;
    pthread_t thread;
} spawner = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

const char *thread_role_name(enum thread_role role)
{
    return role < THREAD_ROLES ? role_names[role] : "?";
}

enum thread_role thread_current_role(void)
{
    return cur_role;
}

int thread_current_tid(void)
{
    return cur_tid;
}

int thread_enter(enum thread_role role)
{
    char name[16];

    cur_role = role;
    cur_tid = gettid();
    snprintf(name, sizeof(name), "%s", role_names[role]);
    prctl(PR_SET_NAME, name, 0, 0, 0); /* before the hook: no filter needs prctl */
    return enter_hook ? enter_hook(role) : 0;
}

static void *trampoline(void *arg)
{
    struct start s = *(struct start *)arg;
    int err;

    free(arg);
    err = thread_enter(s.role);
    if (err) {
        log_err("sandbox: confining a new %s thread failed: %s", role_names[s.role],
                strerror(-err));
        abort();
    }
    return s.fn(s.arg);
}

static void *spawner_main(void *arg)
{
    pthread_mutex_lock(&spawner.lock);
    for (;;) {
        struct spawn_req *r = spawner.head;

        if (!r) {
            pthread_cond_wait(&spawner.cond, &spawner.lock);
            continue;
        }
        spawner.head = r->next;
        pthread_mutex_unlock(&spawner.lock);
        r->result = pthread_create(r->t, NULL, trampoline, r->s);
        pthread_mutex_lock(&spawner.lock);
        r->done = true;
        pthread_cond_broadcast(&spawner.cond);
    }
    return arg;
}

int thread_create(pthread_t *t, enum thread_role role, void *(*fn)(void *), void *arg)
{
    struct start *s = malloc(sizeof(*s));
    struct spawn_req r = {.t = t};
    int err;

    if (!s)
        return ENOMEM;
    *s = (struct start){.role = role, .fn = fn, .arg = arg};
    r.s = s;
    pthread_mutex_lock(&spawner.lock);
    if (!spawner.on) {
        pthread_mutex_unlock(&spawner.lock);
        err = pthread_create(t, NULL, trampoline, s);
        if (err)
            free(s);
        return err;
    }
    r.next = spawner.head;
    spawner.head = &r;
    pthread_cond_broadcast(&spawner.cond);
    while (!r.done)
        pthread_cond_wait(&spawner.cond, &spawner.lock);
    pthread_mutex_unlock(&spawner.lock);
    if (r.result)
        free(s);
    return r.result;
}

int thread_sandbox_start(thread_enter_fn hook)
{
    struct start *s = malloc(sizeof(*s));
    int err;

    if (!s)
        return -ENOMEM;
    enter_hook = hook;
    *s = (struct start){.role = THREAD_SPAWNER, .fn = spawner_main, .arg = NULL};
    err = pthread_create(&spawner.thread, NULL, trampoline, s);
    if (err) {
        free(s);
        log_err("sandbox: starting the spawner thread: %s", strerror(err));
        return -err;
    }
    pthread_mutex_lock(&spawner.lock);
    spawner.on = true;
    pthread_mutex_unlock(&spawner.lock);
    return 0;
}
