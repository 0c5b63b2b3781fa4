/* strutil.c: the small helpers every layer shares: a growable string buffer, FNV-1a hashing and
 * a double comparator. One copy each, so that a colour or a cache key is the same everywhere. */
#include "core/base.h"

#include <stdlib.h>
#include <string.h>

void xai_sbuf_vprintf(xai_sbuf *b, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int k = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (k < 0) return;
    if (b->n + (size_t)k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + (size_t)k + 1) cap *= 2;
        char *s = xai_malloc(cap);
        if (b->n) memcpy(s, b->s, b->n);
        free(b->s);
        b->s = s;
        b->cap = cap;
    }
    vsnprintf(b->s + b->n, (size_t)k + 1, fmt, ap);
    b->n += (size_t)k;
}

void xai_sbuf_printf(xai_sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xai_sbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

void xai_sbuf_free(xai_sbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

uint64_t xai_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

int xai_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (x != x || y != y) return (x != x) - (y != y); /* NaN sorts last */
    return (x > y) - (x < y);
}
