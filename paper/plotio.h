/* plotio.h: shared by the plot-data writers and the gnuplot runner of paper/ (not public API):
 * gnuplot literals, numbers, text files and directories replaced as a whole. */
#ifndef XAI_PAPER_PLOTIO_H
#define XAI_PAPER_PLOTIO_H

#include "core/base.h"

#include <stdio.h>

/* A gnuplot single-quoted string literal: only the quote itself needs escaping (doubled). */
void xai_gp_quote(xai_sbuf *b, const char *s);
/* `var = 'value'` on a line. */
void xai_gp_str(xai_sbuf *b, const char *var, const char *value);
/* `array var[n]` and its elements; nothing when n is 0 (gnuplot has no empty arrays). */
void xai_gp_str_array(xai_sbuf *b, const char *var, char *const *v, int n);
/* %.7g without locale surprises, and NaN spelled as gnuplot reads it. */
void xai_gp_num(xai_sbuf *b, double v);
/* Writes b to dir/name. */
xai_status xai_plot_write_text(const char *dir, const char *name, const xai_sbuf *b);

/* Directories replaced whole: make a fresh "<final>.tmp.<pid>", fill it, commit it in place of
 * final (readers see the old or the new directory, never a mixture), or remove it. */
xai_status xai_plot_tmp_dir(char **tmp, const char *final);
xai_status xai_plot_commit_dir(const char *tmp, const char *final);
void xai_plot_remove_dir(const char *dir);

/* A note on a skipped piece, to log (NULL: stderr). */
void xai_plot_note(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Display name of a dataset for figure titles: "MNIST", "Fashion-MNIST", ...; others as they are. */
void xai_dataset_title(char *out, size_t cap, const char *dataset);

#endif
