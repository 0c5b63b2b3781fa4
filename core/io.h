/* io.h: files (atomic writes, paths), progress bars, benchmark peak figures and the helpers
 * every `xai` command uses (option parsing, error exit). */
#ifndef XAI_IO_H
#define XAI_IO_H

#include "core/base.h"

/* ----------------------------------------------------------- file helpers */

xai_status xai_mkdirs(const char *path);            /* mkdir -p */
int xai_file_exists(const char *path);
char *xai_path_join(const char *a, const char *b);  /* malloc'd */
xai_status xai_read_file(const char *path, char **data, size_t *len);
/* As xai_read_file, refusing (without reading further) a file of more than max bytes. */
xai_status xai_read_file_max(const char *path, size_t max, char **data, size_t *len);
/* As xai_read_file_max on an open descriptor, from its current offset; name is for messages. */
xai_status xai_read_fd_max(int fd, const char *name, size_t max, char **data, size_t *len);
/* XAI_EINVAL when the output `out` (given as option out_opt) is the input `in` (option in_opt):
 * same device and inode, or the same real path. NULL paths and missing files pass. */
xai_status xai_output_not_input(const char *out_opt, const char *out, const char *in_opt, const char *in);
/* XAI_EINVAL when two outputs of one command are the same file, also when neither exists yet. */
xai_status xai_outputs_differ(const char *opt1, const char *p1, const char *opt2, const char *p2);
/* Removes "<path>.tmp.<pid>" files whose process is gone (left by a killed writer); returns how
 * many. The atomic writers call it before creating their own temporary. */
int xai_remove_stale_tmp(const char *path);
/* The same for "<path><infix><pid>" (e.g. ".old."), removed with remove_fn (a directory remover
 * for temporaries that are directories). */
int xai_remove_stale(const char *path, const char *infix, void (*remove_fn)(const char *));
/* Writes data to path atomically (temp + fsync + rename). */
xai_status xai_write_file_atomic(const char *path, const void *data, size_t len);
/* The HDF5 library's version, "major.minor.release" (static storage; core/h5.c). */
const char *xai_h5_version(void);

/* --------------------------------------------------------------- progress */

/* A bar with rate and ETA on a terminal, a plain line every few seconds otherwise. Bars go to
 * stderr, or to the descriptor in $XAI_PROGRESS_FD when it is a terminal (xai reproduce sets it
 * for a stage whose messages go to a log: the bar is shown, then wiped at its end). */
typedef struct {
    const char *label, *unit;
    double total, done, t0, last;
    int tty, active, transient;
    FILE *out;
} xai_progress;
void xai_progress_start(xai_progress *p, const char *label, double total, const char *unit);
void xai_progress_update(xai_progress *p, double done);
void xai_progress_end(xai_progress *p, const char *summary);
extern int xai_quiet; /* silence progress (tests) */
/* "mm:ss", "h:mm:ss", or "--:--" for a negative or absurd duration in seconds. */
void xai_fmt_duration(char *buf, size_t n, double s);

/* The FP32 peak that `xai bench` reports fractions of: `given` when positive,
 * else threads x 32 FLOP/cycle (two 8-wide FMA units) x the clock in /proc/cpuinfo. */
double xai_peak_gflops(double given);
/* Prints `<prefix>peak_gflops`, `<prefix>fraction_of_peak` (the figure above)
 * and `<prefix>isa_peak_gflops`, `<prefix>fraction_of_isa_peak`: the peak at
 * the vector width the kernels run (AVX-512 doubles it), for `gflops` reached. */
void xai_print_peak(const char *prefix, double gflops, double given);

/* -------------------------------------------------------------------- CLI */

/* A subcommand: argv[0] is the command name. Returns the process exit code. */
typedef int (*xai_cmd_fn)(int argc, char **argv);
typedef struct { const char *name, *summary; xai_cmd_fn fn; } xai_cmd;
/* Prints "xai: <msg>" for a failed status and returns 1 (the exit code of a failed command). */
int xai_cli_error(xai_status s);

/* --------------------------------------------------------- option parsing */

/* Every command describes its options in a table; xai_opts_parse does the rest: --name VALUE
 * and --name=VALUE, values checked whole and in range (`2x` and out-of-range numbers are
 * errors naming the option), the global options (--threads N, --quiet) anywhere on the line,
 * and --help generated from the same table, so every listed option is described. */
typedef enum {
    XAI_ARG_FLAG, /* int *: set to 1 when given */
    XAI_ARG_STR,  /* const char **: the argument itself (not copied), non-empty */
    XAI_ARG_INT,  /* int *: whole number in [lo, hi] (hi = 0 with lo >= 0: no upper bound but INT_MAX) */
    XAI_ARG_I64,  /* int64_t *: likewise, 64-bit */
    XAI_ARG_F64,  /* double *: finite number in [lo, hi] */
    XAI_ARG_BOOL, /* int *: yes/no, on/off, true/false, 1/0 */
    XAI_ARG_SWITCH, /* int *: like BOOL, but the value may be left out (`--sanity` alone is yes) */
    XAI_ARG_STR0, /* const char **: like STR, but '' is allowed (e.g. "none") */
} xai_arg_kind;

typedef struct {
    const char *name;    /* "--steps"; a {NULL} entry ends the table */
    xai_arg_kind kind;
    void *dest;
    const char *metavar; /* "N", "FILE"; NULL for flags */
    double lo, hi;       /* numbers: the accepted range, inclusive */
    const char *help;    /* what it does and its default; '\n' starts an indented line */
} xai_optdef;

typedef struct {
    const char *cmd;      /* "xai train" */
    const char *synopsis; /* after the command in the usage line, e.g. "--config FILE [options]" */
    const char *about;    /* a paragraph under the usage line (may be NULL) */
    const xai_optdef *opts;
    int max_pos;          /* positional arguments accepted; -1: any number */
} xai_cmdspec;

enum { XAI_OPTS_OK = 0, XAI_OPTS_HELP = 1, XAI_OPTS_ERROR = 2 };
/* Parses argv[1..argc). Positional arguments go to pos (room for argc entries) and *npos
 * (both may be NULL when max_pos is 0). XAI_OPTS_HELP: usage printed on stdout (exit 0);
 * XAI_OPTS_ERROR: a one-line message printed on stderr (exit 2). */
int xai_opts_parse(const xai_cmdspec *c, int argc, char **argv, char **pos, int *npos);
void xai_opts_usage(const xai_cmdspec *c, FILE *f);
/* The global options before the command name (main): parses from *i, stops at the first
 * non-option (or --help/--version), leaving *i there. */
int xai_opts_globals(int argc, char **argv, int *i);

#endif
