/* libFuzzer target for the split-virtqueue parser: the input is a guest's memory image (rings,
 * descriptor tables, indirect tables) plus a few control bytes. Every chain must be either
 * parsed into iovecs that lie inside guest memory or refused; nothing may crash or trip ASan.
 *
 *   clang -fsanitize=fuzzer,address,undefined -Isrc fuzz/fuzz_virtq.c src/virtio/virtq.c
 *   ./fuzz_virtq -runs=200000            (fuzz/run.sh does this)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem/gmem.h"
#include "virtio/virtq.h"

/* Guest memory at 0 so that small fuzzed addresses are valid. Layout: avail ring at 0, the
 * descriptor table at 0x40, free space (buffers, indirect tables) after it; the used ring sits
 * at the end, where the input does not reach. */
#define MEM_BASE 0x0ull
#define MEM_SIZE 0x1000ull
#define USED_AT  0xc00ull

static struct virtq_elem elem;

static void check_elem(const struct gmem *m, const struct virtq_elem *e)
{
    if (e->out_num + e->in_num > VIRTQ_MAX_SIZE)
        abort();
    for (unsigned i = 0; i < e->out_num + e->in_num; i++) {
        const uint8_t *p = e->iov[i].iov_base;
        if (p < m->hva || p + e->iov[i].iov_len > m->hva + m->size || e->iov[i].iov_len == 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t ram[MEM_SIZE];
    struct gmem m = {.base = MEM_BASE, .size = MEM_SIZE, .hva = ram, .fd = -1};
    struct virtq q = {.mem = &m};
    uint8_t ctl[8] = {0};

    memcpy(ctl, data, size < sizeof(ctl) ? size : sizeof(ctl));
    data += size < sizeof(ctl) ? size : sizeof(ctl);
    size -= size < sizeof(ctl) ? size : sizeof(ctl);
    memset(ram, 0, sizeof(ram));
    memcpy(ram, data, size < USED_AT ? size : USED_AT);

    /* queue size: usually a power of two, sometimes not */
    q.size = (ctl[0] & 0x80) ? (uint16_t)(ctl[0] | (ctl[1] << 8)) : (uint16_t)(1u << (ctl[0] & 3));
    q.avail_gpa = MEM_BASE + 2ull * (ctl[3] & 3);
    q.desc_gpa = MEM_BASE + 0x40 + 16ull * (ctl[2] & 3);
    q.used_gpa = MEM_BASE + USED_AT + 4ull * (ctl[4] & 3);
    if (ctl[5] & 1)
        q.desc_gpa = MEM_BASE + MEM_SIZE - 16; /* ring straddling the end */
    if (ctl[5] & 2)
        q.desc_gpa = UINT64_MAX - 15; /* wrapping address */
    q.indirect = ctl[6] & 1;
    q.event_idx = ctl[6] & 2;
    q.ready = true;
    if (virtq_start(&q))
        return 0;
    for (int i = 0; i < 64; i++) {
        int r = virtq_pop(&q, &elem);
        if (r <= 0)
            break;
        check_elem(&m, &elem);
        virtq_push(&q, elem.head, (uint32_t)elem.in_len);
        (void)virtq_should_notify(&q);
    }
    (void)virtq_enable_notify(&q);
    return 0;
}
