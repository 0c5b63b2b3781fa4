/* base.h: what every file of xai-repro uses: status codes and the XAI_TRY idiom, allocation,
 * threads and clocks, the seeded RNG, and small shared helpers (string buffer, hashing, sorting). */
#ifndef XAI_BASE_H
#define XAI_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------------ errors */

typedef enum {
    XAI_OK = 0,
    XAI_EINVAL,    /* bad argument or configuration value */
    XAI_EIO,       /* file system error */
    XAI_EFORMAT,   /* malformed or inconsistent file contents */
    XAI_ENOMEM,    /* allocation failed */
    XAI_ECHECKSUM, /* verification failed */
    XAI_ENET,      /* network error */
    XAI_ENOTFOUND, /* missing file, dataset, key */
    XAI_ESTATE     /* e.g. NaN loss, interrupted run */
} xai_status;

/* Sets the thread-local error message (printf-style) and returns code, so that
 * `return xai_fail(XAI_EINVAL, "%s: ...", path);` reads naturally. */
xai_status xai_fail(xai_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *xai_errmsg(void); /* last message set on this thread ("" when none) */
const char *xai_status_name(xai_status s);
void xai_clear_error(void);

/* Internal invariants: always on, abort with file:line. Never for user input. */
#define XAI_CHECK(cond)                                                                     \
    do {                                                                                    \
        if (!(cond)) xai_check_failed(__FILE__, __LINE__, #cond);                           \
    } while (0)
void xai_check_failed(const char *file, int line, const char *expr) __attribute__((noreturn));

/* Propagate a non-OK status. */
#define XAI_TRY(expr)                                                                       \
    do {                                                                                    \
        xai_status xai_try_s_ = (expr);                                                     \
        if (xai_try_s_ != XAI_OK) return xai_try_s_;                                        \
    } while (0)

void *xai_malloc(size_t n);             /* aborts on failure: arenas are sized up front */
void *xai_calloc(size_t n, size_t size);
/* n * size zero bytes at 64-byte alignment, NULL when out of memory (or n * size overflows): for
 * the arenas, whose size comes from a file and whose failure is an error, not an abort. The pages
 * stay untouched until used (calloc's). Free with xai_free_aligned. */
void *xai_calloc_try(size_t n, size_t size);
void xai_free_aligned(void *p);
char *xai_strdup(const char *s);

/* ------------------------------------------------------------ threads/time */

int xai_threads(void);        /* OpenMP threads in use (1 without OpenMP) */
void xai_set_threads(int n);  /* n <= 0: keep default (XAI_THREADS env or all cores) */
double xai_now(void);         /* monotonic seconds */
const char *xai_version(void);   /* "0.1.0 (commit)" */

/* ---------------------------------------------------------------------- RNG */

/* xoshiro256** seeded via splitmix64: integer-only, so the same seed gives the
 * same stream on every machine. */
typedef struct { uint64_t s[4]; } xai_rng;
void xai_rng_seed(xai_rng *r, uint64_t seed);
uint64_t xai_rng_u64(xai_rng *r);
uint32_t xai_rng_below(xai_rng *r, uint32_t n);  /* uniform in [0, n) without modulo bias */
float xai_rng_uniform(xai_rng *r);               /* [0, 1), 24 random bits */
float xai_rng_normal(xai_rng *r);                /* Box-Muller (uses libm) */
void xai_rng_shuffle(xai_rng *r, int32_t *a, size_t n);
/* Stateless counter-based hash to [0,1): same answer whatever thread asks.
 * Inline: dropout draws one per activation. */
static inline float xai_hash_uniform(uint64_t seed, uint64_t counter)
{
    uint64_t z = (seed ^ (counter * 0xD1B54A32D192ED03ull)) + 0x9E3779B97F4A7C15ull; /* one splitmix64 step */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)(z >> 40) * (1.0f / 16777216.0f);
}

/* ------------------------------------------------------------ small helpers */

/* A growable string: zero-initialise, append with xai_sbuf_printf, free with xai_sbuf_free. */
typedef struct {
    char *s;
    size_t n, cap;
} xai_sbuf;
void xai_sbuf_printf(xai_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xai_sbuf_vprintf(xai_sbuf *b, const char *fmt, va_list ap);
void xai_sbuf_free(xai_sbuf *b);

/* 64-bit FNV-1a of n bytes continuing from h (start with XAI_FNV_OFFSET): stable across
 * runs and machines, for cache keys and colours, never for security. */
#define XAI_FNV_OFFSET 0xcbf29ce484222325ull /* the standard 64-bit offset basis */
uint64_t xai_fnv1a(uint64_t h, const void *data, size_t n);

/* qsort comparator for doubles, ascending (NaN last). */
int xai_cmp_double(const void *a, const void *b);


#endif
