/* fixture.h: HDF5 templates of the fuzz targets made by the publishing test fixture
 * (tests/test_export_fixture.h), which writes the documented layouts with the project's helpers. */
#ifndef XAI_FUZZ_FIXTURE_H
#define XAI_FUZZ_FIXTURE_H

#include "tests/fuzz/common.h"
#include "tests/test_export_fixture.h"

/* Runs write(dir, numbers for c channels) in a scratch directory, loads dir/file as a template
 * and removes the directory. */
static inline fz_h5_template *fz_fixture(void (*write)(const char *, const fx_numbers *), int c, const char *file)
{
    char *dir = fx_tmpdir(), *p = xai_path_join(dir, file);
    fx_numbers x;
    fx_defaults(&x, c);
    write(dir, &x);
    fz_h5_template *t = fz_h5_template_load(p);
    free(p);
    fx_rmtree(dir);
    free(dir);
    return t;
}

#endif
