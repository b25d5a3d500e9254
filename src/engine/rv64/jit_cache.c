/* rv64 JIT code cache: one per hart. The code buffer is a memfd mapped twice, writable at
 * j->rw and executable at j->rx, so that no page is ever writable and executable at once (W^X)
 * and no protection flips are needed to translate or link. Its first bytes hold the shared
 * stubs (enter, exit, indirect-jump lookup); blocks follow. When the buffer or the block table
 * is full, everything is dropped and translation starts over (rv64_jit_flush). */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "engine/rv64/jit.h"

#define OFF(field) ((int32_t)offsetof(struct rv64_hart, field))

bool rv64_jit_supported(void)
{
#if defined(__x86_64__)
    return true;
#else
    return false;
#endif
}

static int hash_of(uint64_t pc, uintptr_t host, uint64_t mode)
{
    uint64_t k = (pc ^ (uint64_t)host << 17 ^ mode << 7) * 0x9e3779b97f4a7c15ULL;
    return (int)((k >> 40) & (JIT_HASH_SIZE - 1));
}

/* The guest registers kept in host registers, to load on entry and store on exit. */
static void pinned_move(struct x86_buf *b, bool load)
{
    for (unsigned r = 1; r < 32; r++) {
        int p = jit_pin(r);
        if (p < 0)
            continue;
        if (load)
            x86_load64(b, p, RBP, (int32_t)(8 * r));
        else
            x86_store64(b, RBP, (int32_t)(8 * r), p);
    }
}

static const int saved[] = {RBX, RBP, R12, R13, R14, R15};

static bool stub_keeps(unsigned r, bool all)
{
    int p = jit_pin(r);

    return p >= 0 && (all || (p >= R8 && p <= R11));
}

/* A stub that blocks CALL: keeps the pinned registers a C call would lose (all of them when
 * the callee reads or writes h->x[]) in h->x[], passes the hart as the first argument (with
 * hart; the block set the others), and sets ZF from AL (test al, al) when it returns a bool. */
static uintptr_t emit_call_stub(struct x86_buf *b, const void *fn, bool all, bool hart)
{
    uintptr_t at = x86_here(b);

    for (unsigned r = 1; r < 32; r++)
        if (stub_keeps(r, all))
            x86_store64(b, RBP, (int32_t)(8 * r), jit_pin(r));
    x86_alu_ri(b, 1, ALU_SUB, RSP, 8); /* the CALL into here misaligned the stack */
    if (hart)
        x86_mov_rr(b, RDI, RBP);
    x86_call(b, fn);
    x86_alu_ri(b, 1, ALU_ADD, RSP, 8);
    if (hart)
        x86_op_reg(b, 0, X86_OP(0x84), RAX, RAX, false); /* test al, al */
    for (unsigned r = 1; r < 32; r++)
        if (stub_keeps(r, all))
            x86_load64(b, jit_pin(r), RBP, (int32_t)(8 * r)); /* mov keeps the flags */
    x86_ret(b);
    return at;
}

/* enter(h = RDI, code = RSI); exit (EAX = enum jit_exit); lookup (RAX = target pc). */
static void emit_stubs(struct rv64_jit *j, struct x86_buf *b)
{
    uint8_t *miss[5];

    j->enter = x86_here(b);
    for (int i = 0; i < 6; i++)
        x86_push(b, saved[i]);
    x86_alu_ri(b, 1, ALU_SUB, RSP, 8); /* 16-byte aligned stack for the helpers' calls */
    x86_mov_rr(b, RBP, RDI);
    pinned_move(b, true);
    x86_jmp_reg(b, RSI);

    j->exit = x86_here(b);
    pinned_move(b, false);
    x86_alu_ri(b, 1, ALU_ADD, RSP, 8);
    for (int i = 5; i >= 0; i--)
        x86_pop(b, saved[i]);
    x86_ret(b);

    /* Indirect jumps: the jcache entry for pc, valid when its block has the current mode, the
     * fetch TLB maps pc's page to the block's host page and it is translated. Else back to
     * the dispatcher. (Its entry checks the FENCE.I epoch.) */
    j->lookup = x86_here(b);
    x86_store64(b, RBP, OFF(pc), RAX);
    x86_mov_rr(b, RDX, RAX);
    x86_shift(b, 1, SH_SHR, RDX, 1);
    x86_alu_ri(b, 0, ALU_AND, RDX, JIT_JCACHE_SIZE - 1);
    x86_shift(b, 0, SH_SHL, RDX, 4);
    x86_op_mem(b, 1, X86_OP(0x03), RDX, RBP, -1, OFF(jit_jcache), false); /* add rdx, [] */
    x86_op_mem(b, 1, X86_OP(0x3b), RAX, RDX, -1, 0, false);               /* cmp rax, [rdx] */
    miss[0] = x86_jcc(b, CC_NE, 0);
    x86_load64(b, RCX, RDX, 8);
    x86_op_mem(b, 0, X86_OP(0x8b), RDX, RCX, -1, (int32_t)offsetof(struct jit_block, mode), false);
    x86_alu_rm(b, 0, ALU_CMP, RDX, RBP, OFF(jit_mode));
    miss[1] = x86_jcc(b, CC_NE, 0);
    x86_mov_rr(b, RDX, RAX);
    x86_shift(b, 1, SH_SHR, RDX, 12);
    x86_movzx8(b, RSI, RDX);
    x86_shift(b, 0, SH_SHL, RSI, 4);
    x86_op_mem(b, 1, X86_OP(0x03), RSI, RBP, -1, OFF(jit_xtlb), false); /* add rsi, [] */
    x86_alu_rr(b, 1, ALU_ADD, RDX, RDX);
    x86_op_mem(b, 1, X86_OP(0x3b), RDX, RSI, -1, 0, false); /* cmp rdx, [rsi] (tag) */
    miss[2] = x86_jcc(b, CC_NE, 0);
    x86_load64(b, RDX, RSI, 8); /* addend */
    x86_alu_rr(b, 1, ALU_ADD, RDX, RAX);
    x86_op_mem(b, 1, X86_OP(0x3b), RDX, RCX, -1, (int32_t)offsetof(struct jit_block, host), false);
    miss[3] = x86_jcc(b, CC_NE, 0);
    x86_load64(b, RCX, RCX, (int32_t)offsetof(struct jit_block, code));
    x86_op_reg(b, 1, X86_OP(0x85), RCX, RCX, false); /* test rcx, rcx: not translated yet */
    miss[4] = x86_jcc(b, CC_E, 0);
    x86_jmp_reg(b, RCX);
    for (int i = 0; i < 5; i++)
        x86_patch(b, miss[i], x86_here(b));
    x86_mov_imm(b, RAX, JIT_EXIT_NORMAL);
    x86_jmp(b, j->exit);

    j->call_load = emit_call_stub(b, (const void *)rv64_jit_load_helper, false, true);
    j->call_store = emit_call_stub(b, (const void *)rv64_jit_store_helper, false, true);
    j->call_exec_one = emit_call_stub(b, (const void *)rv64_jit_exec_one, true, true);
    j->call_divrem = emit_call_stub(b, (const void *)rv64_jit_divrem, false, false);

    /* A direct jump not linked yet: CALL here, followed by the target pc (8 bytes), right
     * after the JMP rel32 to be linked. */
    j->link_exit = x86_here(b);
    x86_pop(b, RAX);
    x86_load64(b, RCX, RAX, 0);
    x86_store64(b, RBP, OFF(pc), RCX);
    x86_alu_ri(b, 1, ALU_SUB, RAX, 10);
    x86_store64(b, RBP, OFF(jit_link), RAX);
    x86_mov_imm(b, RAX, JIT_EXIT_LINK);
    x86_jmp(b, j->exit);

    j->trap_exit = x86_here(b);
    x86_mov_imm(b, RAX, JIT_EXIT_TRAP);
    x86_jmp(b, j->exit);
}

static void buf_at(struct rv64_jit *j, struct x86_buf *b, size_t off, size_t room)
{
    b->p = j->rw + off;
    b->end = j->rw + (off + room <= j->size ? off + room : j->size);
    b->exec_delta = j->rx - j->rw;
    b->full = false;
}

int rv64_jit_create(struct rv64_hart *h, size_t size)
{
    struct rv64_jit *j;
    struct x86_buf b;
    int fd, err;

    if (!rv64_jit_supported())
        return -EOPNOTSUPP;
    size = (size + 0xfff) & ~(size_t)0xfff;
    j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->size = size;
    j->stats = getenv("VESSEL_RV64_JIT_STATS") != NULL;
    j->hot = JIT_HOT;
    if (getenv("VESSEL_RV64_JIT_HOT")) { /* for tests and lockstep: translate sooner (1: at once) */
        long v = strtol(getenv("VESSEL_RV64_JIT_HOT"), NULL, 10);
        j->hot = v >= 1 && v <= 65535 ? (unsigned)v : JIT_HOT;
    }
    j->maxblocks = (uint32_t)(size / JIT_CODE_PER_BLK);
    j->blocks = calloc(j->maxblocks, sizeof(*j->blocks));
    j->hash = calloc(JIT_HASH_SIZE, sizeof(*j->hash));
    j->jcache = calloc(JIT_JCACHE_SIZE, sizeof(*j->jcache));
    if (!j->blocks || !j->hash || !j->jcache) {
        err = -ENOMEM;
        goto fail;
    }
    fd = memfd_create("vessel-jit", MFD_CLOEXEC);
    if (fd < 0) {
        err = -errno;
        log_err("rv64 jit: memfd_create for the code cache: %s", strerror(errno));
        goto fail;
    }
    if (ftruncate(fd, (off_t)size)) {
        err = -errno;
        log_err("rv64 jit: sizing the code cache to %zu bytes: %s", size, strerror(errno));
        close(fd);
        goto fail;
    }
    j->rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    j->rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    err = -errno;
    close(fd);
    if (j->rw == MAP_FAILED || j->rx == MAP_FAILED) {
        log_err("rv64 jit: mapping the code cache (%zu bytes) writable and executable: %s", size,
                strerror(-err));
        goto fail;
    }
    buf_at(j, &b, 0, size);
    emit_stubs(j, &b);
    j->stubs_end = ((size_t)(b.p - j->rw) + 63) & ~(size_t)63;
    j->used = j->stubs_end;
    h->jit = j;
    h->jit_jcache = j->jcache;
    return 0;

fail:
    if (j->rw && j->rw != MAP_FAILED)
        munmap(j->rw, size);
    if (j->rx && j->rx != MAP_FAILED)
        munmap(j->rx, size);
    free(j->blocks);
    free(j->hash);
    free(j->jcache);
    free(j);
    return err;
}

/* With VESSEL_RV64_JIT_STATS set, at exit and every 1024 flushes. */
void rv64_jit_stats(const struct rv64_hart *h)
{
    const struct rv64_jit *j = h->jit;

    log_warn("rv64 jit: hart %d: %" PRIu64 " blocks translated, %" PRIu64 " flushes (%" PRIu64
             " when full), %" PRIu64 " interpreter runs, %" PRIu64 " rechecked and %" PRIu64
             " changed after FENCE.I, %u blocks and %zu KiB of code now, epoch %u, %" PRIu64
             " instructions translated",
             h->id, j->n_translated, j->n_flushes, j->n_full, j->n_interp, j->n_revalid,
             j->n_changed, j->nblocks, j->used >> 10, h->jit_epoch, j->n_insns);
}

void rv64_jit_destroy(struct rv64_hart *h)
{
    struct rv64_jit *j = h->jit;

    if (!j)
        return;
    if (j->stats)
        rv64_jit_stats(h);
    munmap(j->rw, j->size);
    munmap(j->rx, j->size);
    free(j->blocks);
    free(j->hash);
    free(j->jcache);
    free(j);
    h->jit = NULL;
}

void rv64_jit_flush(struct rv64_hart *h)
{
    struct rv64_jit *j = h->jit;

    if (!j || (j->nblocks == 0 && j->used == j->stubs_end))
        return;
    j->used = j->stubs_end;
    j->nblocks = 0;
    memset(j->hash, 0, JIT_HASH_SIZE * sizeof(*j->hash));
    memset(j->jcache, 0, JIT_JCACHE_SIZE * sizeof(*j->jcache));
    j->gen++;
    j->n_flushes++;
    if (j->stats && !(j->n_flushes & 1023))
        rv64_jit_stats(h);
}

void rv64_jit_unhash(struct rv64_jit *j, struct jit_block *blk)
{
    for (struct jit_block **p = &j->hash[hash_of(blk->pc, blk->host, blk->mode)]; *p;
         p = &(*p)->next)
        if (*p == blk) {
            *p = blk->next;
            return;
        }
}

void rv64_jit_set_epoch(struct rv64_jit *j, struct jit_block *blk, uint32_t epoch)
{
    blk->epoch = epoch;
    if (blk->code)
        memcpy((uint8_t *)blk->code - (j->rx - j->rw) + blk->epoch_off, &epoch, 4);
}

void rv64_jit_redirect(struct rv64_jit *j, struct jit_block *old, uintptr_t target)
{
    struct x86_buf b;

    if (!old->code)
        return;
    buf_at(j, &b, (size_t)(old->code - (uintptr_t)j->rx), 5);
    x86_jmp(&b, target);
}

struct jit_block *rv64_jit_find(struct rv64_jit *j, uint64_t pc, uintptr_t host, uint64_t mode)
{
    for (struct jit_block *blk = j->hash[hash_of(pc, host, mode)]; blk; blk = blk->next)
        if (blk->pc == pc && blk->host == host && blk->mode == mode)
            return blk;
    return NULL;
}

struct jit_block *rv64_jit_new(struct rv64_jit *j)
{
    return j->nblocks < j->maxblocks ? &j->blocks[j->nblocks] : NULL;
}

void rv64_jit_insert(struct rv64_jit *j, struct jit_block *blk)
{
    int k = hash_of(blk->pc, blk->host, blk->mode);

    j->nblocks++;
    blk->next = j->hash[k];
    j->hash[k] = blk;
}

bool rv64_jit_code_begin(struct rv64_jit *j, struct x86_buf *b)
{
    if (j->used + JIT_BLOCK_BYTES > j->size)
        return false;
    buf_at(j, b, j->used, JIT_BLOCK_BYTES);
    return true;
}

void rv64_jit_code_end(struct rv64_jit *j, const struct x86_buf *b)
{
    j->used = ((size_t)(b->p - j->rw) + 15) & ~(size_t)15;
}

/* jump: executable address of a JMP rel32 instruction; target: executable address. */
void rv64_jit_link(struct rv64_jit *j, uintptr_t jump, uintptr_t target)
{
    struct x86_buf b;
    uint8_t *field = (uint8_t *)(jump + 1 - (uintptr_t)(j->rx - j->rw));

    if (jump < (uintptr_t)j->rx + j->stubs_end || jump + 5 > (uintptr_t)j->rx + j->used)
        return; /* not a jump in this cache (cannot happen) */
    buf_at(j, &b, (size_t)(field - j->rw), 4);
    x86_patch(&b, field, target);
}

int rv64_jit_enter(struct rv64_hart *h, uintptr_t code)
{
    int (*enter)(struct rv64_hart *, uintptr_t) =
        (int (*)(struct rv64_hart *, uintptr_t))h->jit->enter;

    return enter(h, code);
}
