/* CPU benchmark guest (bare metal, M-mode): mixes integer arithmetic, loads, stores and
 * branches the way hashing code does, over a 64 KiB buffer, then prints a checksum and the
 * number of instructions it retired. Built and run by bench/cpu.sh. */
#include "rt.h"

#define BUF_WORDS (64 * 1024 / 8)
#define ROUNDS    3000

static uint64_t buf[BUF_WORDS];

static inline uint64_t rdinstret(void)
{
    uint64_t v;
    __asm__ volatile("csrr %0, minstret" : "=r"(v));
    return v;
}

static inline uint64_t rotr(uint64_t x, int n)
{
    return (x >> n) | (x << (64 - n));
}

int main(void)
{
    uint64_t a = 0x6a09e667f3bcc908ULL, b = 0xbb67ae8584caa73bULL, start = rdinstret();

    for (int i = 0; i < BUF_WORDS; i++)
        buf[i] = (uint64_t)i * 0x9e3779b97f4a7c15ULL;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < BUF_WORDS; i++) {
            uint64_t w = buf[i];
            a += w ^ rotr(b, 14) ^ rotr(b, 18) ^ (b >> 41);
            b = rotr(a, 28) + (a & b) + (w >> 7);
            if (a & 1)
                buf[i] = w + b;
        }
    }
    rt_puts("checksum ");
    rt_print_hex(a ^ b);
    rt_puts(" instructions ");
    rt_print_dec(rdinstret() - start);
    rt_puts("\nALL PASSED\n");
    return 0;
}
