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
/* Writes data to path atomically (temp + fsync + rename). */
xai_status xai_write_file_atomic(const char *path, const void *data, size_t len);

/* --------------------------------------------------------------- progress */

/* A bar with rate and ETA on a terminal, a plain line every few seconds otherwise. */
typedef struct {
    const char *label, *unit;
    double total, done, t0, last;
    int tty, active;
} xai_progress;
void xai_progress_start(xai_progress *p, const char *label, double total, const char *unit);
void xai_progress_update(xai_progress *p, double done);
void xai_progress_end(xai_progress *p, const char *summary);
extern int xai_quiet; /* silence progress (tests) */

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
/* Prints "xai: <msg>" for a failed status and returns 1 (helper for commands). */
int xai_cli_error(xai_status s);
/* Common option parsing: returns 1 and advances *i when argv[*i] is --name VALUE
 * or --name=VALUE. */
int xai_opt(int argc, char **argv, int *i, const char *name, const char **value);


#endif
