/* MSI-X of the generic PCI function model (bus/pci_msix.h). */
#include "bus/pci_msix.h"

#include <errno.h>
#include <string.h>

#include "base/le.h"

#define ENTRY_WORDS 4
#define WORD_CTRL   3 /* vector control */

static bool vec_masked(const struct pci_msix *m, unsigned v)
{
    return m->table[v][WORD_CTRL] & PCI_MSIX_ENTRY_MASK;
}

static uint64_t all_vectors(unsigned nvec)
{
    return nvec >= 64 ? ~0ULL : (1ULL << nvec) - 1;
}

uint64_t pci_msix_table_size(unsigned nvec)
{
    return (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE;
}

uint64_t pci_msix_pba_size(unsigned nvec)
{
    return ((uint64_t)nvec + 63) / 64 * 8;
}

int pci_msix_init(struct pci_msix *m, struct pci_dev *d, unsigned nvec, int bar, uint64_t table_off,
                  uint64_t pba_off, const struct pci_msi_sink *sink, void *opaque)
{
    uint8_t cap[PCI_MSIX_CAP_LEN] = {PCI_CAP_ID_MSIX};
    uint64_t tend = table_off + pci_msix_table_size(nvec), pend = pba_off + pci_msix_pba_size(nvec);
    int off;

    memset(m, 0, sizeof(*m));
    if (!nvec || nvec > PCI_MSIX_MAX_VECTORS || bar < 0 || bar >= PCI_NUM_BARS ||
        !d->bar_size[bar] || d->bar_io[bar] || (table_off & 7) || (pba_off & 7) ||
        tend > d->bar_size[bar] || pend > d->bar_size[bar] ||
        (table_off < pend && pba_off < tend) || table_off > 0xffffffffu || pba_off > 0xffffffffu)
        return -EINVAL;
    le16_put(cap + PCI_MSIX_CTRL, (uint16_t)(nvec - 1));
    le32_put(cap + 4, (uint32_t)table_off | (uint32_t)bar);
    le32_put(cap + 8, (uint32_t)pba_off | (uint32_t)bar);
    off = pci_dev_add_cap(d, cap, sizeof(cap));
    if (off < 0)
        return off;
    d->wmask[off + PCI_MSIX_CTRL + 1] = (uint8_t)((PCI_MSIX_CTRL_ENABLE | PCI_MSIX_CTRL_MASK) >> 8);
    m->dev = d;
    m->cap = (unsigned)off;
    m->nvec = nvec;
    m->table_off = table_off;
    m->pba_off = pba_off;
    m->sink = sink;
    m->sink_opaque = opaque;
    pthread_mutex_init(&m->lock, NULL);
    for (unsigned v = 0; v < nvec; v++)
        m->table[v][WORD_CTRL] = PCI_MSIX_ENTRY_MASK;
    return 0;
}

void pci_msix_destroy(struct pci_msix *m)
{
    if (m->dev)
        pthread_mutex_destroy(&m->lock);
    m->dev = NULL;
}

/* Lock held: the sink gets vector v's message unless it has it already. */
static void route(struct pci_msix *m, unsigned v)
{
    const uint32_t *e = m->table[v];

    if (((m->routed >> v) & 1) && !memcmp(m->routed_msg[v], e, sizeof(m->routed_msg[v])))
        return;
    memcpy(m->routed_msg[v], e, sizeof(m->routed_msg[v]));
    m->routed |= 1ULL << v;
    m->sink->route(m->sink_opaque, v, (uint64_t)e[1] << 32 | e[0], e[2]);
}

/* Lock held: the pending vectors that may be sent now; their pending bits are cleared. */
static uint64_t take_deliverable(struct pci_msix *m)
{
    uint64_t out = 0;

    if (!m->enabled || m->fmask)
        return 0;
    for (unsigned v = 0; v < m->nvec; v++) {
        if (!((m->pending >> v) & 1) || vec_masked(m, v))
            continue;
        route(m, v);
        m->pending &= ~(1ULL << v);
        out |= 1ULL << v;
    }
    return out;
}

static void signal_all(struct pci_msix *m, uint64_t vecs)
{
    for (unsigned v = 0; vecs; v++, vecs >>= 1)
        if (vecs & 1)
            m->sink->signal(m->sink_opaque, v);
}

int pci_msix_notify(struct pci_msix *m, unsigned v)
{
    if (v >= m->nvec)
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    if (!m->enabled) {
        pthread_mutex_unlock(&m->lock);
        return -ENODEV; /* INTx is the function's interrupt now */
    }
    if (m->fmask || vec_masked(m, v)) {
        m->pending |= 1ULL << v;
        pthread_mutex_unlock(&m->lock);
        return 0;
    }
    route(m, v);
    pthread_mutex_unlock(&m->lock);
    m->sink->signal(m->sink_opaque, v);
    return 0;
}

bool pci_msix_enabled(struct pci_msix *m)
{
    bool on;

    pthread_mutex_lock(&m->lock);
    on = m->enabled;
    pthread_mutex_unlock(&m->lock);
    return on;
}

/* Reads the control bits from config space; lock held. Returns true when enable changed. */
static bool take_control(struct pci_msix *m)
{
    uint16_t ctrl = le16_get(m->dev->cfg + m->cap + PCI_MSIX_CTRL);
    bool was = m->enabled;

    m->enabled = ctrl & PCI_MSIX_CTRL_ENABLE;
    m->fmask = ctrl & PCI_MSIX_CTRL_MASK;
    return was != m->enabled;
}

bool pci_msix_cfg_written(struct pci_msix *m, unsigned off, unsigned size)
{
    unsigned c = m->cap + PCI_MSIX_CTRL;
    uint64_t send;
    bool changed;

    if (off >= c + 2 || off + size <= c)
        return false;
    pthread_mutex_lock(&m->lock);
    changed = take_control(m);
    send = take_deliverable(m);
    pthread_mutex_unlock(&m->lock);
    signal_all(m, send);
    return changed;
}

static bool in(uint64_t off, unsigned size, uint64_t base, uint64_t len)
{
    return off >= base && off - base < len && size <= len - (off - base);
}

bool pci_msix_mmio_read(struct pci_msix *m, uint64_t off, unsigned size, uint64_t *val)
{
    uint64_t rel;
    unsigned w;

    if (in(off, size, m->table_off, pci_msix_table_size(m->nvec))) {
        rel = off - m->table_off;
        *val = 0;
        if ((size != 4 && size != 8) || (rel & (size - 1)))
            return true;
        w = (unsigned)(rel / 4);
        pthread_mutex_lock(&m->lock);
        *val = m->table[w / ENTRY_WORDS][w % ENTRY_WORDS];
        if (size == 8)
            *val |= (uint64_t)m->table[w / ENTRY_WORDS][w % ENTRY_WORDS + 1] << 32;
        pthread_mutex_unlock(&m->lock);
        return true;
    }
    if (in(off, size, m->pba_off, pci_msix_pba_size(m->nvec))) {
        rel = off - m->pba_off;
        *val = 0;
        if ((size != 4 && size != 8) || (rel & (size - 1)))
            return true;
        pthread_mutex_lock(&m->lock);
        *val = m->pending >> (8 * rel); /* one 64-bit word: rel is 0 or 4 */
        pthread_mutex_unlock(&m->lock);
        if (size == 4)
            *val &= 0xffffffffu;
        return true;
    }
    return false;
}

bool pci_msix_mmio_write(struct pci_msix *m, uint64_t off, unsigned size, uint64_t val)
{
    uint64_t rel, send;
    unsigned w, v;

    if (in(off, size, m->pba_off, pci_msix_pba_size(m->nvec)))
        return true; /* the PBA is read-only */
    if (!in(off, size, m->table_off, pci_msix_table_size(m->nvec)))
        return false;
    rel = off - m->table_off;
    if ((size != 4 && size != 8) || (rel & (size - 1)))
        return true;
    w = (unsigned)(rel / 4);
    v = w / ENTRY_WORDS;
    pthread_mutex_lock(&m->lock);
    for (unsigned i = 0; i < size / 4; i++, w++, val >>= 32) {
        uint32_t x = (uint32_t)val;
        /* vector control: only the mask bit exists (the others are reserved, read 0) */
        m->table[v][w % ENTRY_WORDS] = w % ENTRY_WORDS == WORD_CTRL ? x & PCI_MSIX_ENTRY_MASK : x;
    }
    /* an unmasked vector's message goes to the sink as soon as it is written */
    if (!vec_masked(m, v))
        route(m, v);
    send = take_deliverable(m);
    pthread_mutex_unlock(&m->lock);
    signal_all(m, send);
    return true;
}

void pci_msix_reset(struct pci_msix *m)
{
    pthread_mutex_lock(&m->lock);
    memset(m->table, 0, sizeof(m->table));
    for (unsigned v = 0; v < m->nvec; v++)
        m->table[v][WORD_CTRL] = PCI_MSIX_ENTRY_MASK;
    m->pending = 0;
    m->enabled = m->fmask = false;
    pthread_mutex_unlock(&m->lock);
}

size_t pci_msix_save(struct pci_msix *m, uint8_t *buf)
{
    size_t n = 4;

    le32_put(buf, m->nvec);
    pthread_mutex_lock(&m->lock);
    for (unsigned v = 0; v < m->nvec; v++)
        for (unsigned w = 0; w < ENTRY_WORDS; w++, n += 4)
            le32_put(buf + n, m->table[v][w]);
    le64_put(buf + n, m->pending);
    pthread_mutex_unlock(&m->lock);
    return n + 8;
}

int pci_msix_load(struct pci_msix *m, const uint8_t *buf, size_t len)
{
    size_t n = 4;
    uint64_t pending;

    if (len != PCI_MSIX_SAVE_LEN(m->nvec) || le32_get(buf) != m->nvec)
        return -EINVAL;
    for (unsigned v = 0; v < m->nvec; v++)
        if (le32_get(buf + 4 + (size_t)v * PCI_MSIX_ENTRY_SIZE + 12) & ~PCI_MSIX_ENTRY_MASK)
            return -EINVAL;
    pending = le64_get(buf + 4 + pci_msix_table_size(m->nvec));
    if (pending & ~all_vectors(m->nvec))
        return -EINVAL;
    pthread_mutex_lock(&m->lock);
    for (unsigned v = 0; v < m->nvec; v++)
        for (unsigned w = 0; w < ENTRY_WORDS; w++, n += 4)
            m->table[v][w] = le32_get(buf + n);
    m->pending = pending;
    m->routed = 0;
    take_control(m);
    for (unsigned v = 0; v < m->nvec; v++)
        if (!vec_masked(m, v))
            route(m, v);
    pthread_mutex_unlock(&m->lock);
    return 0;
}
