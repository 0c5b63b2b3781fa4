/* test_model.c: model building, config errors, HDF5 save/load and a golden forward pass.
 * Corrupted or mismatched model files must give clear errors, never crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base.h"
#include "core/config.h"
#include "core/nn.h"
#include "core/h5.h"
#include "core/io.h"

static const char *NET = "[model]\ninput = 3x10x9\nclasses = 4\n"
                         "layer = conv out=5 k=3 pad=1\nlayer = batchnorm\nlayer = relu\n"
                         "layer = maxpool k=2\nlayer = conv out=6 k=3 stride=2 pad=1 bias=0\nlayer = relu\n"
                         "layer = gap\nlayer = dropout p=0.5\nlayer = linear out=4\n";

static char tmpdir[256];

static int setup(void **s)
{
    (void)s;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/xai-test-model-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd);
}

static char *tmp(const char *name) { return xai_path_join(tmpdir, name); }

static xai_model *build(const char *text, int batch)
{
    xai_config c;
    assert_int_equal(xai_config_load_string(&c, text, "net.ini"), XAI_OK);
    xai_model *m = NULL;
    xai_status s = xai_model_from_config(&m, &c, batch);
    if (s != XAI_OK) print_error("%s\n", xai_errmsg());
    assert_int_equal(s, XAI_OK);
    xai_config_free(&c);
    return m;
}

static void expect_config_error(const char *text, const char *needle)
{
    xai_config c;
    assert_int_equal(xai_config_load_string(&c, text, "bad.ini"), XAI_OK);
    xai_model *m = NULL;
    xai_status s = xai_model_from_config(&m, &c, 2);
    assert_int_not_equal(s, XAI_OK);
    assert_null(m);
    if (!strstr(xai_errmsg(), needle)) print_error("message '%s' lacks '%s'\n", xai_errmsg(), needle);
    assert_non_null(strstr(xai_errmsg(), needle));
    xai_config_free(&c);
}

static void test_shapes_inferred(void **s)
{
    (void)s;
    xai_model *m = build(NET, 2);
    assert_int_equal(m->nlayers, 9);
    assert_int_equal(m->layers[0].out.h, 10);
    assert_int_equal(m->layers[3].out.h, 5);
    assert_int_equal(m->layers[3].out.w, 4);
    assert_int_equal(m->layers[4].out.h, 3);
    assert_int_equal(m->layers[4].out.w, 2);
    assert_int_equal(m->layers[6].out.c, 6);
    assert_int_equal(m->nparams, 5 * 3 * 9 + 5 + 2 * 5 + 6 * 5 * 9 + 6 * 4 + 4);
    xai_model_free(m);
}

/* The arenas are 64-byte aligned (the kernels' vectors and per-thread blocks are laid out for it;
 * calloc's 16 bytes cost training 3 %), zeroed, and a size that overflows is NULL, not an abort. */
static void test_arenas_aligned(void **s)
{
    (void)s;
    for (int batch = 1; batch <= 256; batch *= 16) {
        xai_model *m = build(NET, batch);
        const void *p[] = {m->params, m->grads, m->buffers, m->act_arena, m->work_arena};
        for (int i = 0; i < 5; i++) assert_int_equal((uintptr_t)p[i] % 64, 0);
        for (size_t j = 0; j < m->act_floats; j++) assert_true(m->act_arena[j] == 0.0f);
        xai_model_free(m);
    }
    float *big = xai_calloc_try((size_t)1 << 20, sizeof(float));
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % 64, 0);
    assert_true(big[0] == 0.0f && big[((size_t)1 << 20) - 1] == 0.0f);
    xai_free_aligned(big);
    xai_free_aligned(NULL);
    assert_null(xai_calloc_try(SIZE_MAX / 2, 4)); /* n * size overflows (a real failure: ASan would stop) */
}

static void test_config_errors(void **s)
{
    (void)s;
    expect_config_error("[model]\ninput = 1x8x8\nclasses = 2\nlayer = conv out=2 k=3\nlayer = bogus\n",
                        "bad.ini:5: unknown layer type 'bogus'");
    expect_config_error("[model]\ninput = 1x8x8\nclasses = 2\nlayer = conv k=3\n", "bad.ini:4: conv2d needs out=N");
    expect_config_error("[model]\ninput = 1x4x4\nclasses = 2\n\n; comment\nlayer = conv out=2 k=5\n",
                        "bad.ini:6: layer 0 (conv2d): kernel 5 does not fit");
    expect_config_error("[model]\ninput = 1x8x8\nclasses = 2\nlayer = conv out=2 k=3\nlayer = linear out=2\n",
                        "add `layer = flatten`");
    expect_config_error("[model]\ninput = 1x8x8\nclasses = 3\nlayer = flatten\nlayer = linear out=2\n",
                        "expected 3 classes");
    expect_config_error("[model]\ninput = 1x8\nclasses = 3\nlayer = flatten\n", "bad.ini:2: input = '1x8'");
    expect_config_error("[model]\ninput = 1x8x8\nclasses = 2\nlayer = conv out=2 k=3 wibble=1\n",
                        "'wibble=1' is not a valid option");
    expect_config_error("[model]\ninput = 1x8x8\nclasses = 2\nlayer = dropout p=1.5\n", "dropout p=1.5");
    xai_config c;
    assert_int_equal(xai_config_load_string(&c, "[train]\nepochs = ten\n", "t.ini"), XAI_OK);
    long v;
    assert_int_equal(xai_config_int(&c, "train", "epochs", 1, &v), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "t.ini:2: [train] epochs = 'ten' is not an integer"));
    xai_config_free(&c);
}

static void fill(float *x, size_t n, uint64_t seed)
{
    xai_rng r;
    xai_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) x[i] = xai_rng_normal(&r);
}

static void test_save_load_identical(void **s)
{
    (void)s;
    xai_model *m = build(NET, 3);
    xai_model_init(m, 123);
    /* Non-default running stats and normalisation must survive too. */
    for (size_t i = 0; i < m->nbuffers; i++) m->buffers[i] = 0.5f + 0.01f * i;
    m->mean[0] = 0.1f, m->std[0] = 0.3f, m->mean[2] = 0.7f;
    float x[3 * 270];
    fill(x, 3 * 270, 5);
    float y0[12];
    memcpy(y0, xai_model_forward(m, x, 3), sizeof y0);
    char *path = tmp("m.h5");
    assert_int_equal(xai_model_save(m, path), XAI_OK);
    xai_model *m2 = NULL;
    assert_int_equal(xai_model_load(&m2, path, 3), XAI_OK);
    assert_memory_equal(m->params, m2->params, m->nparams * sizeof(float));
    assert_memory_equal(m->buffers, m2->buffers, m->nbuffers * sizeof(float));
    assert_memory_equal(m->mean, m2->mean, 3 * sizeof(float));
    assert_memory_equal(m->std, m2->std, 3 * sizeof(float));
    assert_memory_equal(y0, xai_model_forward(m2, x, 3), sizeof y0);
    /* No temp file is left beside the result. */
    char *t = xai_malloc(strlen(path) + 32);
    sprintf(t, "%s.tmp.%d", path, (int)getpid());
    assert_false(xai_file_exists(t));
    free(t);
    xai_model_free(m);
    xai_model_free(m2);
    free(path);
}

/* Saves a valid model, then damages it with an HDF5 edit. */
static char *damaged(const char *name, void (*edit)(hid_t f))
{
    xai_model *m = build(NET, 1);
    xai_model_init(m, 1);
    char *path = tmp(name);
    assert_int_equal(xai_model_save(m, path), XAI_OK);
    xai_model_free(m);
    hid_t f;
    assert_int_equal(xai_h5_open(&f, path, 1), XAI_OK);
    edit(f);
    H5Fclose(f);
    return path;
}

static void expect_load_error(const char *path, xai_status code, const char *needle)
{
    xai_model *m = (xai_model *)0x1;
    xai_status s = xai_model_load(&m, path, 1);
    assert_int_equal(s, code);
    assert_null(m);
    if (!strstr(xai_errmsg(), needle)) print_error("message '%s' lacks '%s'\n", xai_errmsg(), needle);
    assert_non_null(strstr(xai_errmsg(), needle));
    assert_non_null(strstr(xai_errmsg(), path));
}

static void drop_weight(hid_t f) { H5Ldelete(f, "/model/layers/04/weight", H5P_DEFAULT); }
static void wrong_shape(hid_t f)
{
    H5Ldelete(f, "/model/layers/08/weight", H5P_DEFAULT);
    float w[4 * 5] = {0};
    uint64_t d[2] = {4, 5};
    xai_h5_write_f32(f, "/model/layers/08/weight", w, 2, d);
}
static void unknown_type(hid_t f)
{
    hid_t g = H5Gopen2(f, "/model/layers/02", H5P_DEFAULT);
    xai_h5_attr_str(g, "type", "swish");
    H5Gclose(g);
}
static void drop_layer(hid_t f) { H5Ldelete(f, "/model/layers/06", H5P_DEFAULT); }
static void bad_kernel(hid_t f)
{
    hid_t g = H5Gopen2(f, "/model/layers/00", H5P_DEFAULT);
    xai_h5_attr_i64(g, "kernel_size", 99);
    H5Gclose(g);
}

static void test_corrupt_files(void **s)
{
    (void)s;
    char *p;
    p = damaged("noweight.h5", drop_weight);
    expect_load_error(p, XAI_ENOTFOUND, "missing dataset 'weight' (in /model/layers/04)");
    free(p);
    p = damaged("shape.h5", wrong_shape);
    expect_load_error(p, XAI_EFORMAT, "dataset 'weight' has shape 4x5, expected 4x6 (in /model/layers/08)");
    free(p);
    p = damaged("type.h5", unknown_type);
    expect_load_error(p, XAI_EFORMAT, "/model/layers/02 has unknown layer type 'swish'");
    free(p);
    p = damaged("nolayer.h5", drop_layer);
    expect_load_error(p, XAI_EFORMAT, "missing group /model/layers/06");
    free(p);
    p = damaged("kernel.h5", bad_kernel);
    expect_load_error(p, XAI_EFORMAT, "the layers do not fit together");
    free(p);

    /* Truncated file: keep the first half of a valid one. */
    xai_model *m = build(NET, 1);
    xai_model_init(m, 1);
    char *good = tmp("good.h5"), *cut = tmp("cut.h5");
    assert_int_equal(xai_model_save(m, good), XAI_OK);
    xai_model_free(m);
    char *data;
    size_t len;
    assert_int_equal(xai_read_file(good, &data, &len), XAI_OK);
    assert_int_equal(xai_write_file_atomic(cut, data, len / 2), XAI_OK);
    free(data);
    xai_model *m2 = NULL;
    assert_int_not_equal(xai_model_load(&m2, cut, 1), XAI_OK);
    assert_null(m2);
    assert_non_null(strstr(xai_errmsg(), cut));
    /* Not HDF5 at all, and missing. */
    char *txt = tmp("text.h5");
    assert_int_equal(xai_write_file_atomic(txt, "hello", 5), XAI_OK);
    expect_load_error(txt, XAI_EFORMAT, "not an HDF5 file");
    char *none = tmp("none.h5");
    expect_load_error(none, XAI_ENOTFOUND, "no such file");
    /* An HDF5 file without /model. */
    xai_h5file f;
    char *empty = tmp("empty.h5");
    assert_int_equal(xai_h5_create(&f, empty), XAI_OK);
    assert_int_equal(xai_h5_commit(&f), XAI_OK);
    expect_load_error(empty, XAI_EFORMAT, "no /model group");
    free(good), free(cut), free(txt), free(none), free(empty);
}

/* Golden values: a 1x4x4 input through conv(2, k=2) -> relu -> maxpool(2) ->
 * flatten -> linear(2), weights set by hand and outputs worked out by hand. */
static void test_golden(void **s)
{
    (void)s;
    xai_model *m = build("[model]\ninput = 1x4x4\nclasses = 2\nlayer = conv out=2 k=2\nlayer = relu\n"
                         "layer = maxpool k=2 stride=1\nlayer = flatten\nlayer = linear out=2\n",
                         1);
    /* conv weights: filter 0 = [[1,0],[0,-1]] (bias 0), filter 1 = [[0.5,0.5],[0.5,0.5]] (bias -1) */
    float cw[8] = {1, 0, 0, -1, 0.5f, 0.5f, 0.5f, 0.5f}, cb[2] = {0, -1};
    memcpy(m->layers[0].w, cw, sizeof cw);
    memcpy(m->layers[0].b, cb, sizeof cb);
    /* conv out 2x3x3, maxpool k2 s1 -> 2x2x2 = 8 features; linear rows: sum of filter-0 maps, sum of filter-1 maps */
    float lw[16] = {1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, -1, 1, -1}, lb[2] = {0.5f, 0};
    memcpy(m->layers[4].w, lw, sizeof lw);
    memcpy(m->layers[4].b, lb, sizeof lb);
    float x[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    const float *y = xai_model_forward(m, x, 1);
    /* Filter 0 at (i,j): x[i][j] - x[i+1][j+1] = -5 everywhere -> relu 0 -> pool 0.
     * Filter 1: 0.5*(x[i][j]+x[i][j+1]+x[i+1][j]+x[i+1][j+1]) - 1:
     *   row0: 6, 8, 10; row1: 14, 16, 18; row2: 22, 24, 26 -> relu same
     *   maxpool k2 s1: [[16, 18], [24, 26]]
     * y0 = 0 + 0.5 = 0.5; y1 = 16 - 18 + 24 - 26 = -4. */
    assert_float_equal(y[0], 0.5f, 1e-6);
    assert_float_equal(y[1], -4.0f, 1e-6);
    /* Backward of y1 w.r.t. x: only pooled winners (1,1)->16? no: winners are conv1 cells
     * (1,1)=16, (1,2)=18, (2,1)=24, (2,2)=26 with signs +,-,+,-; each spreads 0.5 to its 2x2 patch. */
    float d[2] = {0, 1};
    xai_model_set_param_grads(m, 0);
    xai_model_backward(m, d, 1, 1);
    float expect[16] = {0};
    int cells[4][2] = {{1, 1}, {1, 2}, {2, 1}, {2, 2}};
    float sign[4] = {1, -1, 1, -1};
    for (int c = 0; c < 4; c++)
        for (int dy = 0; dy < 2; dy++)
            for (int dx = 0; dx < 2; dx++) expect[(cells[c][0] + dy) * 4 + cells[c][1] + dx] += 0.5f * sign[c];
    for (int i = 0; i < 16; i++) assert_float_equal(m->dx[i], expect[i], 1e-6);
    xai_model_free(m);
}

/* Same seed, same weights, on every machine: pin a few initial values. */
static void test_init_reproducible(void **s)
{
    (void)s;
    xai_model *a = build(NET, 1), *b = build(NET, 1);
    xai_model_init(a, 2024);
    xai_model_init(b, 2024);
    assert_memory_equal(a->params, b->params, a->nparams * sizeof(float));
    xai_model_init(b, 2025);
    assert_memory_not_equal(a->params, b->params, a->nparams * sizeof(float));
    /* He-uniform bound for conv0: sqrt(6 / (3*3*3)) */
    float bound = sqrtf(6.0f / 27), mx = 0;
    for (size_t i = 0; i < a->layers[0].nw; i++) mx = fmaxf(mx, fabsf(a->layers[0].w[i]));
    assert_true(mx <= bound && mx > 0.8f * bound);
    xai_rng r;
    xai_rng_seed(&r, 1);
    /* xoshiro256** reference stream for seed 1 via splitmix64 (computed once, pinned). */
    uint64_t first = xai_rng_u64(&r);
    xai_rng_seed(&r, 1);
    assert_true(first == xai_rng_u64(&r));
    xai_model_free(a);
    xai_model_free(b);
}

/* The typed HDF5 helpers: element types by enum, row slices, group listing. */
static void test_h5_typed(void **s)
{
    (void)s;
    char *path = tmp("typed.h5");
    xai_h5file f;
    assert_int_equal(xai_h5_create(&f, path), XAI_OK);
    int32_t v[6] = {1, 2, 3, 4, 5, 6};
    uint8_t u[3] = {7, 8, 9};
    uint64_t d2[2] = {3, 2}, d1[1] = {3};
    assert_int_equal(xai_h5_write_i32(f.id, "g/b", v, 2, d2), XAI_OK);
    assert_int_equal(xai_h5_write_u8(f.id, "g/a", u, 1, d1), XAI_OK);
    assert_int_equal(xai_h5_commit(&f), XAI_OK);
    hid_t h;
    assert_int_equal(xai_h5_open(&h, path, 0), XAI_OK);
    int32_t rows[4];
    assert_int_equal(xai_h5_read_rows(h, "g/b", XAI_H5_I32, 1, 2, rows, path), XAI_OK);
    assert_int_equal(rows[0], 3);
    assert_int_equal(rows[3], 6);
    assert_int_equal(xai_h5_read_rows(h, "g/b", XAI_H5_I32, 2, 2, rows, path), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), "has 3 rows, expected at least 4"));
    double back[3];
    assert_int_equal(xai_h5_read_as(h, "g/a", XAI_H5_F64, back, 1, d1, path), XAI_OK); /* converted */
    assert_true(back[2] == 9.0);
    assert_int_equal(xai_h5_read_u8(h, "g/a", u, 2, d2, path), XAI_EFORMAT); /* wrong shape */
    char **names;
    int n = xai_h5_list(h, "g", &names);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "a"); /* by name: this file does not track creation order */
    xai_h5_names_free(names, n);
    assert_int_equal(xai_h5_list(h, "nope", &names), -1);
    hid_t g = xai_h5_open_group(h, "/g");
    assert_true(g >= 0);
    assert_true(xai_h5_open_group(h, "/nope") < 0);
    xai_h5_close(g);
    xai_h5_close(h);
    free(path);
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes_inferred),     cmocka_unit_test(test_arenas_aligned),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_save_load_identical), cmocka_unit_test(test_corrupt_files),
        cmocka_unit_test(test_golden),              cmocka_unit_test(test_init_reproducible),
        cmocka_unit_test(test_h5_typed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
