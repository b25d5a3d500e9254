/* Compressing batches of qcow2 clusters in the background for `vessel disk convert -c`: one
 * thread per CPU, each with its own deflater, takes clusters of the current batch off a shared
 * counter; the caller starts a batch, does its own I/O meanwhile and waits for it. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend/disk/qcow2.h"
#include "cli/disk_cmd.h"

#define MAX_WORKERS 16

struct worker {
    pthread_t th;
    struct disk_zpool *z;
    struct disk_qcow2_deflater *dz;
};

struct disk_zpool {
    struct worker w[MAX_WORKERS];
    int nth;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned gen, busy;
    bool quit;
    /* the current batch */
    const uint8_t *in;
    uint8_t *out;
    size_t cs, *len;
    const bool *skip;
    unsigned n;
    atomic_uint next;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct disk_zpool *z = w->z;
    unsigned seen = 0, i;

    pthread_mutex_lock(&z->mu);
    for (;;) {
        while (z->gen == seen && !z->quit)
            pthread_cond_wait(&z->go, &z->mu);
        if (z->quit)
            break;
        seen = z->gen;
        pthread_mutex_unlock(&z->mu);
        while ((i = atomic_fetch_add(&z->next, 1)) < z->n)
            z->len[i] = z->skip[i] ? 0
                                   : disk_qcow2_compress(w->dz, z->in + i * z->cs, z->cs,
                                                         z->out + i * z->cs, z->cs);
        pthread_mutex_lock(&z->mu);
        if (--z->busy == 0)
            pthread_cond_signal(&z->done);
    }
    pthread_mutex_unlock(&z->mu);
    return NULL;
}

struct disk_zpool *disk_zpool_new(void)
{
    struct disk_zpool *z = calloc(1, sizeof(*z));
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int want = cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS : (int)cpus;

    if (!z)
        return NULL;
    pthread_mutex_init(&z->mu, NULL);
    pthread_cond_init(&z->go, NULL);
    pthread_cond_init(&z->done, NULL);
    for (int i = 0; i < want; i++) {
        struct worker *w = &z->w[z->nth];
        w->z = z;
        w->dz = disk_qcow2_deflater_new();
        if (!w->dz)
            break;
        if (pthread_create(&w->th, NULL, worker_main, w)) {
            disk_qcow2_deflater_free(w->dz);
            break;
        }
        z->nth++;
    }
    if (!z->nth) { /* not even one: no pool */
        disk_zpool_free(z);
        return NULL;
    }
    return z;
}

void disk_zpool_start(struct disk_zpool *z, const uint8_t *in, uint8_t *out, size_t cs, size_t *len,
                      const bool *skip, unsigned n)
{
    pthread_mutex_lock(&z->mu);
    z->in = in;
    z->out = out;
    z->cs = cs;
    z->len = len;
    z->skip = skip;
    z->n = n;
    atomic_store(&z->next, 0);
    z->busy = (unsigned)z->nth;
    z->gen++;
    pthread_cond_broadcast(&z->go);
    pthread_mutex_unlock(&z->mu);
}

void disk_zpool_wait(struct disk_zpool *z)
{
    pthread_mutex_lock(&z->mu);
    while (z->busy)
        pthread_cond_wait(&z->done, &z->mu);
    pthread_mutex_unlock(&z->mu);
}

void disk_zpool_free(struct disk_zpool *z)
{
    if (!z)
        return;
    disk_zpool_wait(z);
    pthread_mutex_lock(&z->mu);
    z->quit = true;
    pthread_cond_broadcast(&z->go);
    pthread_mutex_unlock(&z->mu);
    for (int i = 0; i < z->nth; i++) {
        pthread_join(z->w[i].th, NULL);
        disk_qcow2_deflater_free(z->w[i].dz);
    }
    pthread_mutex_destroy(&z->mu);
    pthread_cond_destroy(&z->go);
    pthread_cond_destroy(&z->done);
    free(z);
}
