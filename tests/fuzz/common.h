/* common.h: what every libFuzzer target of tests/fuzz shares: per-input setup and checks, a
 * scratch file per process, a reader of the fuzz input, and the structured HDF5 mutator. */
#ifndef XAI_FUZZ_COMMON_H
#define XAI_FUZZ_COMMON_H

#include "core/base.h"

#include <stddef.h>
#include <stdint.h>

/* Once per process: quiet progress, one thread, HDF5 error printing off. */
void fz_init(void);
/* One library call: the error message is cleared before it, and a failure other than
 * XAI_ENOTFOUND (which some readers return silently by contract) must leave one: an error
 * without a message is a finding. Returns the status. */
#define FZ_CALL(expr) (xai_clear_error(), fz_check_status((expr), #expr))
xai_status fz_check_status(xai_status st, const char *what);
/* After each input: no HDF5 object may be left open (an id leaked per input is a leak that
 * LeakSanitizer cannot see). Aborts otherwise. */
void fz_end(void);
/* "<TMPDIR or /dev/shm>/xai-fuzz-<pid>-<tag>", the same string on every call with this tag
 * (static storage, one slot per tag string up to 4 tags). */
const char *fz_path(const char *tag);
/* Writes data to path (truncating); aborts on I/O errors (the harness, not the input, failed). */
void fz_write(const char *path, const void *data, size_t n);
/* gzip of data, malloc'd (*outlen bytes). */
uint8_t *fz_gzip(const void *data, size_t n, size_t *outlen);

/* The fuzz input read front to back; past its end every read gives zeros. */
typedef struct {
    const uint8_t *p;
    size_t n;
} fz_in;
uint8_t fz_u8(fz_in *in);
uint64_t fz_u64(fz_in *in);
/* A value from a table of sizes and counts that break naive code (0, 1, INT_MAX + 1, 2^32 + 2, ...)
 * or, for some selector values, 8 raw bytes. */
int64_t fz_int(fz_in *in);
double fz_double(fz_in *in); /* likewise: NaN, +-Inf, 1e300, -1, 0, ... */

/* ------------------------------------------------------ HDF5 mutator (h5mutate.c) */

/* A valid file made by the project's own writer is the starting point; the fuzz input is a list
 * of operations on its attributes and datasets (set an attribute to a hostile value or type,
 * delete, reshape a dataset to hostile dimensions, poke values, change its element type).
 * HDF5's own bytes are never mutated: they are not our parser. The op format is documented in
 * tests/fuzz/README.md. */
typedef struct fz_h5_template fz_h5_template;
/* Takes a copy of the file at path and lists its objects and attributes. */
fz_h5_template *fz_h5_template_load(const char *path);
/* Writes the template to out and applies the operations of in to it. */
void fz_h5_mutate(const fz_h5_template *t, fz_in *in, const char *out);

#endif
