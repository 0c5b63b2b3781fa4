/* test_fuzz_regress.c: regression tests of what the fuzz targets (tests/fuzz) found in our
 * readers; each input is also in the target's corpus, which ctest runs when clang is present. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/onnx.h"
#include "datasets/dataset_priv.h"
#include "explainers/metricsfile.h"
#include "trainers/trainers.h"
#include "test_export_fixture.h"

/* Replaces dataset `name` of the file by a chunked float64 one of the given shape, never
 * written: a header that claims 2^32 + 2 rows costs the file nothing. */
static void huge_dataset(const char *path, const char *name, int rank, const hsize_t *dims)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    H5Ldelete(f, name, H5P_DEFAULT);
    hsize_t chunk[2] = {1, 1};
    hid_t sp = H5Screate_simple(rank, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, rank, chunk);
    hid_t ds = H5Dcreate2(f, name, H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(ds >= 0);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Fclose(f);
}

/* fuzz_model corpus history-huge: /train/history of (2^32 + 2, 7) made the record reader
 * allocate 240 GB and abort; it is now unreadable, the rest of the record stays. */
static void test_train_history_huge(void **state)
{
    (void)state;
    char *dir = fx_tmpdir(), *path = xai_path_join(dir, "model.h5");
    fx_numbers x;
    fx_defaults(&x, 1);
    fx_model(dir, &x, 1);
    hsize_t d[2] = {(1ull << 32) + 2, 7};
    huge_dataset(path, "/train/history", 2, d);
    xai_train_record r;
    int found = 0;
    assert_int_equal(xai_train_record_read(&r, path, &found), XAI_OK);
    assert_int_equal(found, 1);
    assert_null(r.history);
    assert_int_equal(r.epochs, FX_EPOCHS);
    xai_train_record_free(&r);
    fx_rmtree(dir);
    free(path);
    free(dir);
}

/* fuzz_metrics corpus d04-steps-huge, d04-fraction-huge: vectors of 2^32 + 2 and 2^31 + 5
 * elements were allocated (and cast to int) as the header said. */
static void test_metrics_vectors_huge(void **state)
{
    (void)state;
    char *dir = fx_tmpdir(), *path = xai_path_join(dir, "metrics.h5");
    fx_numbers x;
    fx_defaults(&x, 1);
    fx_metrics(dir, &x);
    hsize_t d1[1] = {(1ull << 32) + 2}, d2[1] = {(1ull << 31) + 5};
    huge_dataset(path, "/ig_steps/ig/gauss/steps", 1, d1);
    huge_dataset(path, "/steps/fraction", 1, d2);
    double *frac = NULL;
    assert_int_equal(xai_metricsfile_read_fractions(path, &frac), 0);
    assert_null(frac);
    xai_metrics_scores s;
    assert_int_equal(xai_metricsfile_read_scores(&s, path, NULL), XAI_OK);
    xai_metrics_scores_free(&s);
    fx_rmtree(dir);
    free(path);
    free(dir);
}

/* Replaces attribute `obj@name` by a float64 vector. */
static void set_f64_attr(const char *path, const char *obj, const char *name, const double *v, hsize_t n)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    H5Adelete(o, name);
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t a = H5Acreate2(o, name, H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0 && H5Awrite(a, H5T_NATIVE_DOUBLE, v) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Oclose(o);
    H5Fclose(f);
}

/* fuzz_model corpus 8eaa5d43...: `/model@input_shape` of 1e300 (or NaN) was cast to int64
 * by the info reader (UBSan) before any check; it is now refused naming the attribute. */
static void test_model_info_shape_huge(void **state)
{
    (void)state;
    char *dir = fx_tmpdir(), *path = xai_path_join(dir, "model.h5");
    fx_numbers x;
    fx_defaults(&x, 1);
    fx_model(dir, &x, 1);
    const double bad[2][3] = {{1e300, 1, 1}, {1, NAN, 1}};
    for (int i = 0; i < 2; i++) {
        set_f64_attr(path, "/model", "input_shape", bad[i], 3);
        xai_model_info info;
        assert_int_equal(xai_model_info_read(&info, path), XAI_EFORMAT);
        assert_non_null(strstr(xai_errmsg(), "'input_shape'"));
        xai_model_info_free(&info);
        xai_clear_error();
    }
    fx_rmtree(dir);
    free(path);
    free(dir);
}

/* fuzz_onnx corpus dfc7beb3...: a float tensor of no values (dims [0], no float_data) reached
 * memcpy with a NULL source (UBSan); it is now one more tensor read, refused or not by the checks
 * after it, never undefined. Under the sanitizer build this fails without the fix. */
static void test_onnx_empty_tensor(void **state)
{
    (void)state;
    const char *src = getenv("XAI_SOURCE_DIR");
    char *dir = xai_path_join(src ? src : XAI_SOURCE_DIR, "tests/fuzz/corpus/onnx");
    char *path = xai_path_join(dir, "dfc7beb357e8616ea1faac5d52f3719073fd713f");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 0 && n < sizeof buf);
    xai_onnx_opts o;
    xai_onnx_opts_default(&o);
    xai_model *m = NULL;
    xai_clear_error();
    if (xai_onnx_import_buffer(&m, buf, n, "fuzz.onnx", &o, 1) == XAI_OK) xai_model_free(m);
    else assert_true(xai_errmsg()[0] != 0);
    xai_clear_error();
    free(path);
    free(dir);
}

/* fuzz_dataset_cache (slow unit e3fcf058...): a string dataset of 2^29 one-byte entries passed
 * the byte cap and became 2^29 pointers and allocations (out of memory); the count is capped. */
static void test_cache_strings_many(void **state)
{
    (void)state;
    char *dir = fx_tmpdir(), *path = xai_path_join(dir, "cache.h5");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dcpl = H5Pcreate(H5P_DATASET_CREATE), t = H5Tcopy(H5T_C_S1);
    H5Pset_create_intermediate_group(lcpl, 1);
    hsize_t n = (hsize_t)1 << 29, chunk = 1 << 16;
    H5Pset_chunk(dcpl, 1, &chunk);
    H5Tset_size(t, 1);
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t ds = H5Dcreate2(f, "/classes/ids", t, sp, lcpl, dcpl, H5P_DEFAULT);
    assert_true(ds >= 0);
    H5Dclose(ds), H5Sclose(sp), H5Tclose(t), H5Pclose(dcpl), H5Pclose(lcpl), H5Fclose(f);
    xai_ds_cache_info inf;
    assert_int_equal(xai_ds_cache_info_read(&inf, path), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), "'/classes/ids' has 536870912 entries, more than"));
    xai_clear_error();
    fx_rmtree(dir);
    free(path);
    free(dir);
}

/* fuzz_config corpus arena-pad: conv k=1 pad=3000 on an 8x8 input passed every per-layer check
 * (each tensor within XAI_ACT_MAX) but planned 1.2 GB of arenas at batch 1; now refused by name. */
static void test_config_arena_pad(void **state)
{
    (void)state;
    const char *text = "[experiment]\nname = tiny\ndataset = mnist\n[model]\ninput = 1x8x8\nclasses = 3\n"
                       "layer = conv out=2 k=1 pad=3000\nlayer = relu\nlayer = maxpool k=2\nlayer = flatten\n"
                       "layer = linear out=3\n";
    xai_config c;
    assert_int_equal(xai_config_load_string(&c, text, "arena-pad.ini"), XAI_OK);
    xai_model *m = NULL;
    assert_int_equal(xai_model_from_config(&m, &c, 1), XAI_EINVAL);
    assert_null(m);
    assert_non_null(strstr(xai_errmsg(), "per image, more than"));
    xai_clear_error();
    xai_config_free(&c);
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_history_huge),
        cmocka_unit_test(test_metrics_vectors_huge),
        cmocka_unit_test(test_model_info_shape_huge),
        cmocka_unit_test(test_onnx_empty_tensor),
        cmocka_unit_test(test_cache_strings_many),
        cmocka_unit_test(test_config_arena_pad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
