/* util.c: errors, allocation, threads, clocks and version for the whole program.
 * The error message is thread-local so OpenMP workers never clobber each other's. */
#include "core/base.h"
#include "core/io.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <cblas.h>

static _Thread_local char err_msg[2048];

xai_status xai_fail(xai_status code, const char *fmt, ...)
{
    /* Formatted aside first: an argument may be xai_errmsg() itself (a message that wraps
     * the previous one), and vsnprintf must not write the buffer it reads. */
    char buf[sizeof err_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    memcpy(err_msg, buf, sizeof buf);
    return code;
}

const char *xai_errmsg(void) { return err_msg; }
void xai_clear_error(void) { err_msg[0] = 0; }

const char *xai_status_name(xai_status s)
{
    static const char *names[] = {"ok", "invalid argument", "I/O error", "bad format", "out of memory",
                                  "checksum mismatch", "network error", "not found", "bad state"};
    return (unsigned)s < sizeof names / sizeof *names ? names[s] : "unknown error";
}

void xai_check_failed(const char *file, int line, const char *expr)
{
    fprintf(stderr, "xai: internal check failed at %s:%d: %s\n", file, line, expr);
    abort();
}

void *xai_malloc(size_t n)
{
    void *p = NULL;
    /* 64-byte alignment keeps AVX loads on one cache line. */
    if (posix_memalign(&p, 64, n ? n : 1) != 0) {
        fprintf(stderr, "xai: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void *xai_calloc(size_t n, size_t size)
{
    void *p = xai_malloc(n * size);
    memset(p, 0, n * size);
    return p;
}

void *xai_calloc_try(size_t n, size_t size)
{
    if (size && n > (SIZE_MAX - 128) / size) return NULL;
    char *raw = calloc(n * size + 128, 1);
    if (!raw) return NULL;
    /* at least one pointer's room below the block, for xai_free_aligned */
    char *p = (char *)(((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63);
    ((void **)p)[-1] = raw;
    return p;
}

void xai_free_aligned(void *p)
{
    if (p) free(((void **)p)[-1]);
}

char *xai_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xai_malloc(n);
    memcpy(d, s, n);
    return d;
}

static int threads_set;

void xai_set_threads(int n)
{
    if (n <= 0) {
        const char *e = getenv("XAI_THREADS");
        n = e ? atoi(e) : 0;
    }
#ifdef _OPENMP
    if (n > 0) omp_set_num_threads(n);
#else
    (void)n;
#endif
    /* Parallelism is ours (OpenMP over disjoint outputs); OpenBLAS stays
     * single-threaded so its pool never fights our threads. */
    openblas_set_num_threads(1);
    threads_set = 1;
}

int xai_threads(void)
{
    if (!threads_set) xai_set_threads(0);
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

double xai_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

const char *xai_version(void) { return XAI_VERSION " (" XAI_GIT_COMMIT ")"; }

