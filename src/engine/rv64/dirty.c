/* rv64 dirty-page log. A page is marked when a hart fills a TLB entry that can write it (every
 * store to RAM goes through such an entry). Reading the log pauses the harts, collects the marks
 * and drops every write entry, so that the next store to any page refills and marks it again;
 * no store can slip between a collection and the drop. */
#include <errno.h>
#include <stdlib.h>

#include "engine/rv64/cpu.h"

static size_t dirty_words(const struct rv64_machine *m)
{
    return (size_t)((m->ram->size / 4096 + 63) / 64);
}

/* With the harts paused (or not running): collect into bitmap (or drop the marks when NULL)
 * and make every hart refill its write entries. */
static void collect(struct rv64_machine *m, uint64_t *bitmap)
{
    size_t n = dirty_words(m);

    for (int h = 0; h < m->nharts; h++)
        for (int set = 0; set < TLB_SETS; set++)
            for (int i = 0; i < TLB_SIZE; i++)
                m->harts[h]->tlb[set][ACC_W][i].tag = TLB_EMPTY;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = __atomic_exchange_n(&m->dirty[i], 0, __ATOMIC_SEQ_CST);
        if (bitmap)
            bitmap[i] = v;
    }
}

/* Runs collect() with the harts stopped at an instruction boundary. */
static void collect_paused(struct rv64_machine *m, uint64_t *bitmap)
{
    bool was_paused = __atomic_load_n(&m->pause_req, __ATOMIC_ACQUIRE) != 0;

    rv64_machine_pause(m);
    collect(m, bitmap);
    if (!was_paused)
        rv64_machine_resume(m);
}

int rv64_machine_set_dirty_logging(struct rv64_machine *m, int on)
{
    if (on && !m->dirty) {
        m->dirty = calloc(dirty_words(m), sizeof(*m->dirty));
        if (!m->dirty)
            return -ENOMEM;
    }
    if (!on) {
        __atomic_store_n(&m->dirty_on, 0, __ATOMIC_RELEASE);
        return 0;
    }
    /* Write entries filled while logging was off would not mark: start from none. */
    __atomic_store_n(&m->dirty_on, 1, __ATOMIC_RELEASE);
    collect_paused(m, NULL);
    return 0;
}

int rv64_machine_get_dirty_log(struct rv64_machine *m, uint64_t *bitmap)
{
    if (!__atomic_load_n(&m->dirty_on, __ATOMIC_ACQUIRE))
        return -EINVAL;
    collect_paused(m, bitmap);
    return 0;
}
