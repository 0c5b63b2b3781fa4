/* cli.c: the one option parser of every `xai` command: a table of options per command gives the
 * parsing, the range checks (whole numbers only, 64-bit) and the --help text, so they cannot drift. */
#include "core/io.h"
#include "core/mpi.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int xai_cli_error(xai_status s)
{
    const char *m = xai_errmsg();
    if (xai_mpi_size() > 1) {
        /* A rank that failed only because another did has no message: that rank speaks. */
        if (m && *m) fprintf(stderr, "rank %d: xai: %s\n", xai_mpi_rank(), m);
        return 1;
    }
    fprintf(stderr, "xai: %s\n", m && *m ? m : xai_status_name(s));
    return 1;
}

/* Threads beyond this many per core only add overhead (and memory: each has its scratch). */
#define THREADS_PER_CORE_MAX 4

static int cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static const xai_optdef *find(const xai_optdef *t, const char *name, size_t n)
{
    for (; t && t->name; t++)
        if (strlen(t->name) == n && !strncmp(t->name, name, n)) return t;
    return NULL;
}

static int bad_value(const char *cmd, const xai_optdef *d, const char *v, const char *what)
{
    fprintf(stderr, "%s: %s %s: expected %s (see '%s --help')\n", cmd, d->name, v, what, cmd);
    return XAI_OPTS_ERROR;
}

static int set_int(const char *cmd, const xai_optdef *d, const char *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    long long lo = (long long)d->lo, hi = d->hi > 0 || d->lo < 0 ? (long long)d->hi : LLONG_MAX;
    if (d->kind == XAI_ARG_INT && hi > INT_MAX) hi = INT_MAX;
    char want[96];
    snprintf(want, sizeof want, "a whole number from %lld to %lld", lo, hi);
    if (end == v || *end || errno == ERANGE || x < lo || x > hi) return bad_value(cmd, d, v, want);
    if (d->kind == XAI_ARG_INT)
        *(int *)d->dest = (int)x;
    else
        *(int64_t *)d->dest = x;
    return XAI_OPTS_OK;
}

static int set_f64(const char *cmd, const xai_optdef *d, const char *v)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    char want[96];
    snprintf(want, sizeof want, "a number from %g to %g", d->lo, d->hi);
    if (end == v || *end || errno == ERANGE || !isfinite(x) || x < d->lo || x > d->hi)
        return bad_value(cmd, d, v, want);
    *(double *)d->dest = x;
    return XAI_OPTS_OK;
}

static const char *const YES[] = {"yes", "on", "true", "1"}, *const NO[] = {"no", "off", "false", "0"};

/* 1 yes, 0 no, -1 neither. */
static int bool_word(const char *v)
{
    for (int i = 0; i < 4; i++) {
        if (!strcmp(v, YES[i])) return 1;
        if (!strcmp(v, NO[i])) return 0;
    }
    return -1;
}

static int set_bool(const char *cmd, const xai_optdef *d, const char *v)
{
    int b = bool_word(v);
    if (b < 0) return bad_value(cmd, d, v, "yes or no");
    *(int *)d->dest = b;
    return XAI_OPTS_OK;
}

static int set_value(const char *cmd, const xai_optdef *d, const char *v)
{
    switch (d->kind) {
    case XAI_ARG_STR:
        if (!*v) return bad_value(cmd, d, "''", "a non-empty value");
        *(const char **)d->dest = v;
        return XAI_OPTS_OK;
    case XAI_ARG_STR0: *(const char **)d->dest = v; return XAI_OPTS_OK;
    case XAI_ARG_INT:
    case XAI_ARG_I64: return set_int(cmd, d, v);
    case XAI_ARG_F64: return set_f64(cmd, d, v);
    case XAI_ARG_BOOL:
    case XAI_ARG_SWITCH: return set_bool(cmd, d, v);
    case XAI_ARG_FLAG: break;
    }
    return XAI_OPTS_ERROR;
}

/* The options every command takes, before or after its name. */
static int g_threads;
static int g_quiet;
static const xai_optdef GLOBALS[] = {
    {"--threads", XAI_ARG_INT, &g_threads, "N", 1, 1 << 16,
     "OpenMP threads (default $XAI_THREADS, else all cores; at most 4 per core)"},
    {"--quiet", XAI_ARG_FLAG, &g_quiet, NULL, 0, 0, "no progress output"},
    {NULL, 0, NULL, NULL, 0, 0, NULL},
};

static int apply_globals(const char *cmd)
{
    if (g_quiet) xai_quiet = 1;
    if (!g_threads) return XAI_OPTS_OK;
    int c = cores();
    if (g_threads > THREADS_PER_CORE_MAX * c) {
        fprintf(stderr, "%s: --threads %d: expected at most %d (%d per core on %d cores)\n", cmd, g_threads,
                THREADS_PER_CORE_MAX * c, THREADS_PER_CORE_MAX, c);
        return XAI_OPTS_ERROR;
    }
    if (g_threads > c && !xai_quiet)
        fprintf(stderr, "%s: warning: --threads %d is more than the %d cores; it will run slower\n", cmd, g_threads,
                c);
    xai_set_threads(g_threads);
    return XAI_OPTS_OK;
}

static void print_table(FILE *f, const xai_optdef *t)
{
    for (; t && t->name; t++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", t->name, t->metavar ? " " : "", t->metavar ? t->metavar : "");
        fprintf(f, "  %-18s ", left);
        if (strlen(left) > 18) fprintf(f, "\n  %-18s ", "");
        for (const char *p = t->help; *p; p++) {
            fputc(*p, f);
            if (*p == '\n') fprintf(f, "  %-18s ", "");
        }
        fputc('\n', f);
    }
}

void xai_opts_usage(const xai_cmdspec *c, FILE *f)
{
    fprintf(f, "usage: %s %s\n", c->cmd, c->synopsis ? c->synopsis : "[options]");
    if (c->about) fprintf(f, "%s\n", c->about);
    if (c->opts && c->opts->name) {
        fprintf(f, "\noptions:\n");
        print_table(f, c->opts);
    }
    fprintf(f, "\nglobal options (anywhere on the line):\n");
    print_table(f, GLOBALS);
    fprintf(f, "  %-18s this help\n", "--help");
}

/* One option at argv[*i]; advances *i past a separate value. */
static int parse_one(const xai_cmdspec *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *eq = strchr(a, '=');
    size_t n = eq ? (size_t)(eq - a) : strlen(a);
    const xai_optdef *d = find(c->opts, a, n);
    if (!d) d = find(GLOBALS, a, n);
    if (!d) {
        fprintf(stderr, "%s: unknown option '%.*s' (see '%s --help')\n", c->cmd, (int)n, a, c->cmd);
        return XAI_OPTS_ERROR;
    }
    if (d->kind == XAI_ARG_FLAG) {
        if (eq) {
            fprintf(stderr, "%s: %s takes no value (got '%s')\n", c->cmd, d->name, eq + 1);
            return XAI_OPTS_ERROR;
        }
        *(int *)d->dest = 1;
        return XAI_OPTS_OK;
    }
    const char *v = eq ? eq + 1 : NULL;
    if (!v && d->kind == XAI_ARG_SWITCH && (*i + 1 >= argc || bool_word(argv[*i + 1]) < 0)) {
        *(int *)d->dest = 1; /* given alone */
        return XAI_OPTS_OK;
    }
    if (!v) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value %s (see '%s --help')\n", c->cmd, d->name,
                    d->metavar ? d->metavar : "", c->cmd);
            return XAI_OPTS_ERROR;
        }
        v = argv[++*i];
    }
    return set_value(c->cmd, d, v);
}

int xai_opts_parse(const xai_cmdspec *c, int argc, char **argv, char **pos, int *npos)
{
    int np = 0, only_pos = 0;
    g_threads = g_quiet = 0; /* each parse applies only what its own line says */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
            xai_opts_usage(c, stdout);
            return XAI_OPTS_HELP;
        }
        if (!only_pos && !strcmp(a, "--")) {
            only_pos = 1;
        } else if (!only_pos && a[0] == '-' && a[1]) {
            int r = parse_one(c, argc, argv, &i);
            if (r != XAI_OPTS_OK) return r;
        } else if (np < c->max_pos || c->max_pos < 0) {
            pos[np++] = argv[i];
        } else {
            fprintf(stderr, "%s: unexpected argument '%s' (see '%s --help')\n", c->cmd, a, c->cmd);
            return XAI_OPTS_ERROR;
        }
    }
    if (npos) *npos = np;
    return apply_globals(c->cmd);
}

int xai_opts_globals(int argc, char **argv, int *i)
{
    static const xai_cmdspec top = {"xai", NULL, NULL, NULL, 0};
    g_threads = g_quiet = 0;
    for (; *i < argc && argv[*i][0] == '-' && strcmp(argv[*i], "--help") && strcmp(argv[*i], "-h") &&
           strcmp(argv[*i], "--version");
         ++*i) {
        int r = parse_one(&top, argc, argv, i);
        if (r != XAI_OPTS_OK) return r;
    }
    return apply_globals("xai");
}
