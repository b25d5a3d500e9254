/* Console output on COM1 (polled), a small printf and the string helpers gcc may call. */
#include <stdarg.h>

#include "guest.h"

#define COM1     0x3f8
#define LSR_THRE 0x20

int failures;

void putc_com1(char c)
{
    if (c == '\n')
        putc_com1('\r');
    while (!(inb(COM1 + 5) & LSR_THRE))
        ;
    outb(COM1, (uint8_t)c);
}

void puts_com1(const char *s)
{
    while (*s)
        putc_com1(*s++);
}

static void put_num(uint64_t v, unsigned base, int width, char pad)
{
    char buf[24];
    int n = 0;

    do {
        buf[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (n < width--)
        putc_com1(pad);
    while (n)
        putc_com1(buf[--n]);
}

/* %s %c %d %u %x %lx %llx %lu %p, with an optional zero-pad width ("%08x") */
void printf_com1(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        int width = 0, lng = 0;
        char pad = ' ';

        if (*fmt != '%') {
            putc_com1(*fmt);
            continue;
        }
        fmt++;
        if (*fmt == '0')
            pad = '0';
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') {
            lng++;
            fmt++;
        }
        switch (*fmt) {
        case 's': puts_com1(va_arg(ap, const char *)); break;
        case 'c': putc_com1((char)va_arg(ap, int)); break;
        case 'd': {
            long v = lng ? va_arg(ap, long) : va_arg(ap, int);
            if (v < 0) {
                putc_com1('-');
                v = -v;
            }
            put_num((uint64_t)v, 10, width, pad);
            break;
        }
        case 'u': put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad); break;
        case 'x': put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad); break;
        case 'p':
            puts_com1("0x");
            put_num((uint64_t)va_arg(ap, void *), 16, width, pad);
            break;
        default: putc_com1(*fmt); break;
        }
    }
    va_end(ap);
}

void check(int cond, const char *what)
{
    if (!cond)
        failures++;
    printf_com1("%s: %s\n", cond ? "ok" : "FAIL", what);
}

void *memcpy(void *d, const void *s, size_t n)
{
    uint8_t *dp = d;
    const uint8_t *sp = s;

    while (n--)
        *dp++ = *sp++;
    return d;
}

void *memset(void *d, int c, size_t n)
{
    uint8_t *dp = d;

    while (n--)
        *dp++ = (uint8_t)c;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;

    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

const char *strstr_n(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++)
        if (!memcmp(hay, needle, n))
            return hay;
    return 0;
}
