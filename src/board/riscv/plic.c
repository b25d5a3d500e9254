/* PLIC: priorities, pending bits, per-context enables, threshold and claim/complete.
 * Level-triggered gateways: a source's pending bit follows its input line until it is
 * claimed; after complete, a line that is still high is pending again. */
#include "board/riscv/plic.h"

#include <errno.h>
#include <string.h>

#include "base/sbuf.h"

static int bit_get(const uint32_t *w, int i)
{
    return (w[i / 32] >> (i % 32)) & 1;
}

static void bit_set(uint32_t *w, int i, int v)
{
    if (v)
        w[i / 32] |= 1u << (i % 32);
    else
        w[i / 32] &= ~(1u << (i % 32));
}

/* The best source for a context: highest priority above threshold, ties to the lowest id. */
static int plic_best(const struct plic_state *s, int ctx)
{
    uint32_t best_prio = s->threshold[ctx];
    int best = 0;

    for (int w = 0; w < PLIC_WORDS; w++) {
        uint32_t cand = s->pending[w] & s->enable[ctx][w] & ~s->claimed[w];
        while (cand) {
            int src = w * 32 + __builtin_ctz(cand);
            cand &= cand - 1;
            if (src > 0 && src < PLIC_NSRC && s->priority[src] > best_prio) {
                best_prio = s->priority[src];
                best = src;
            }
        }
    }
    return best;
}

static void plic_update(struct plic *p)
{
    for (int ctx = 0; ctx < p->ncontexts; ctx++) {
        int level = plic_best(&p->s, ctx) != 0;
        if (level != p->out[ctx]) {
            p->out[ctx] = (uint8_t)level;
            if (p->set_irq)
                p->set_irq(p->opaque, ctx, level);
        }
    }
}

int plic_init(struct plic *p, int ncontexts, plic_set_irq_fn set_irq, void *opaque)
{
    if (ncontexts < 1 || ncontexts > PLIC_MAX_CTX)
        return -EINVAL;
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    p->ncontexts = ncontexts;
    p->set_irq = set_irq;
    p->opaque = opaque;
    return 0;
}

void plic_destroy(struct plic *p)
{
    pthread_mutex_destroy(&p->lock);
}

void plic_reset(struct plic *p)
{
    pthread_mutex_lock(&p->lock);
    /* Input lines belong to the devices; everything programmable returns to zero. */
    memset(p->s.priority, 0, sizeof(p->s.priority));
    memset(p->s.claimed, 0, sizeof(p->s.claimed));
    memset(p->s.enable, 0, sizeof(p->s.enable));
    memset(p->s.threshold, 0, sizeof(p->s.threshold));
    memcpy(p->s.pending, p->s.level, sizeof(p->s.pending));
    plic_update(p);
    pthread_mutex_unlock(&p->lock);
}

void plic_set_level(void *opaque, int src, int level)
{
    struct plic *p = opaque;

    if (src <= 0 || src >= PLIC_NSRC)
        return;
    pthread_mutex_lock(&p->lock);
    bit_set(p->s.level, src, level != 0);
    if (!bit_get(p->s.claimed, src))
        bit_set(p->s.pending, src, level != 0);
    plic_update(p);
    pthread_mutex_unlock(&p->lock);
}

static uint32_t plic_claim(struct plic *p, int ctx)
{
    int src = plic_best(&p->s, ctx);

    if (src) {
        bit_set(p->s.pending, src, 0);
        bit_set(p->s.claimed, src, 1);
    }
    return (uint32_t)src;
}

static void plic_complete(struct plic *p, int ctx, uint32_t src)
{
    /* The spec ignores a completion for a source not enabled for this context. */
    if (src == 0 || src >= PLIC_NSRC || !bit_get(p->s.enable[ctx], (int)src))
        return;
    bit_set(p->s.claimed, (int)src, 0);
    bit_set(p->s.pending, (int)src, bit_get(p->s.level, (int)src));
}

uint64_t plic_read(void *opaque, uint64_t off, unsigned size)
{
    struct plic *p = opaque;
    uint64_t val = 0;

    if (size != 4 || (off & 3))
        return 0;
    pthread_mutex_lock(&p->lock);
    if (off < PLIC_PENDING) {
        if (off / 4 < PLIC_NSRC)
            val = p->s.priority[off / 4];
    } else if (off < PLIC_ENABLE) {
        uint64_t w = (off - PLIC_PENDING) / 4;
        if (w < PLIC_WORDS)
            val = p->s.pending[w];
    } else if (off < PLIC_CONTEXT) {
        uint64_t ctx = (off - PLIC_ENABLE) / PLIC_ENABLE_STEP;
        uint64_t w = (off - PLIC_ENABLE) % PLIC_ENABLE_STEP / 4;
        if (ctx < (uint64_t)p->ncontexts && w < PLIC_WORDS)
            val = p->s.enable[ctx][w];
    } else {
        uint64_t ctx = (off - PLIC_CONTEXT) / PLIC_CTX_STEP;
        uint64_t reg = (off - PLIC_CONTEXT) % PLIC_CTX_STEP;
        if (ctx < (uint64_t)p->ncontexts) {
            if (reg == 0)
                val = p->s.threshold[ctx];
            else if (reg == 4) {
                val = plic_claim(p, (int)ctx);
                plic_update(p);
            }
        }
    }
    pthread_mutex_unlock(&p->lock);
    return val;
}

void plic_write(void *opaque, uint64_t off, unsigned size, uint64_t val64)
{
    struct plic *p = opaque;
    uint32_t val = (uint32_t)val64;

    if (size != 4 || (off & 3))
        return;
    pthread_mutex_lock(&p->lock);
    if (off < PLIC_PENDING) {
        uint64_t src = off / 4;
        if (src > 0 && src < PLIC_NSRC)
            p->s.priority[src] = val & PLIC_PRIO_MASK;
    } else if (off < PLIC_ENABLE) {
        /* pending bits are read-only */
    } else if (off < PLIC_CONTEXT) {
        uint64_t ctx = (off - PLIC_ENABLE) / PLIC_ENABLE_STEP;
        uint64_t w = (off - PLIC_ENABLE) % PLIC_ENABLE_STEP / 4;
        if (ctx < (uint64_t)p->ncontexts && w < PLIC_WORDS) {
            if (w == 0)
                val &= ~1u; /* source 0 does not exist */
            if (w == PLIC_WORDS - 1 && PLIC_NSRC % 32)
                val &= (1u << (PLIC_NSRC % 32)) - 1;
            p->s.enable[ctx][w] = val;
        }
    } else {
        uint64_t ctx = (off - PLIC_CONTEXT) / PLIC_CTX_STEP;
        uint64_t reg = (off - PLIC_CONTEXT) % PLIC_CTX_STEP;
        if (ctx < (uint64_t)p->ncontexts) {
            if (reg == 0)
                p->s.threshold[ctx] = val & PLIC_PRIO_MASK;
            else if (reg == 4)
                plic_complete(p, (int)ctx, val);
        }
    }
    plic_update(p);
    pthread_mutex_unlock(&p->lock);
}

ssize_t plic_save(struct plic *p, void *buf, size_t cap)
{
    struct sbuf b = sbuf_writer(buf, cap);

    pthread_mutex_lock(&p->lock);
    sbuf_put(&b, PLIC_SAVE_VERSION, 4);
    sbuf_put(&b, PLIC_NSRC, 4);
    sbuf_put(&b, (uint32_t)p->ncontexts, 4);
    for (int i = 0; i < PLIC_NSRC; i++)
        sbuf_put(&b, p->s.priority[i], 4);
    for (int w = 0; w < PLIC_WORDS; w++) {
        sbuf_put(&b, p->s.level[w], 4);
        sbuf_put(&b, p->s.pending[w], 4);
        sbuf_put(&b, p->s.claimed[w], 4);
    }
    for (int ctx = 0; ctx < p->ncontexts; ctx++) {
        for (int w = 0; w < PLIC_WORDS; w++)
            sbuf_put(&b, p->s.enable[ctx][w], 4);
        sbuf_put(&b, p->s.threshold[ctx], 4);
    }
    pthread_mutex_unlock(&p->lock);
    return sbuf_result(&b);
}

int plic_load(struct plic *p, const void *buf, size_t len)
{
    struct sbuf b = sbuf_reader(buf, len);
    struct plic_state s;
    uint32_t valid[PLIC_WORDS] = {0};
    bool bad = false;

    memset(&s, 0, sizeof(s));
    if (sbuf_get(&b, 4) != PLIC_SAVE_VERSION || sbuf_get(&b, 4) != PLIC_NSRC ||
        sbuf_get(&b, 4) != (uint32_t)p->ncontexts)
        return -EINVAL;
    for (int i = 1; i < PLIC_NSRC; i++)
        bit_set(valid, i, 1);
    for (int i = 0; i < PLIC_NSRC; i++) {
        s.priority[i] = (uint32_t)sbuf_get(&b, 4);
        bad |= s.priority[i] > PLIC_PRIO_MASK || (i == 0 && s.priority[i]);
    }
    for (int w = 0; w < PLIC_WORDS; w++) {
        s.level[w] = (uint32_t)sbuf_get(&b, 4);
        s.pending[w] = (uint32_t)sbuf_get(&b, 4);
        s.claimed[w] = (uint32_t)sbuf_get(&b, 4);
        bad |= ((s.level[w] | s.pending[w] | s.claimed[w]) & ~valid[w]) != 0;
    }
    for (int ctx = 0; ctx < p->ncontexts; ctx++) {
        for (int w = 0; w < PLIC_WORDS; w++) {
            s.enable[ctx][w] = (uint32_t)sbuf_get(&b, 4);
            bad |= (s.enable[ctx][w] & ~valid[w]) != 0;
        }
        s.threshold[ctx] = (uint32_t)sbuf_get(&b, 4);
        bad |= s.threshold[ctx] > PLIC_PRIO_MASK;
    }
    if (bad || !sbuf_done(&b))
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    p->s = s;
    /* Drive every output, not only the changed ones: the harts' state was loaded separately. */
    for (int ctx = 0; ctx < p->ncontexts; ctx++) {
        p->out[ctx] = (uint8_t)(plic_best(&p->s, ctx) != 0);
        if (p->set_irq)
            p->set_irq(p->opaque, ctx, p->out[ctx]);
    }
    pthread_mutex_unlock(&p->lock);
    return 0;
}

const struct bus_ops plic_bus_ops = {
    .read = plic_read,
    .write = plic_write,
};
