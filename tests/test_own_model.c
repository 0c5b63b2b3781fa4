/* test_own_model.c: the ONNX importer (core/onnx_import.c) and image files as inputs
 * (datasets/imagefile.c), on the committed fixtures of tests/data. Damaged input: errors, never crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base.h"
#include "core/io.h"
#include "core/nn.h"
#include "core/onnx.h"
#include "datasets/datasets.h"
#include "explainers/explain.h"

static char *data_path(const char *name)
{
    const char *src = getenv("XAI_SOURCE_DIR");
    char *d = xai_path_join(src ? src : XAI_SOURCE_DIR, "tests/data");
    char *p = xai_path_join(d, name);
    free(d);
    return p;
}

static void test_import_tiny(void **st)
{
    (void)st;
    char *p = data_path("tiny_rgb.onnx");
    xai_onnx_opts o;
    xai_onnx_opts_default(&o);
    o.nmean = o.nstd = 1, o.mean[0] = 0.5, o.std[0] = 0.25;
    xai_model *m = NULL;
    assert_int_equal(xai_onnx_import(&m, p, &o, 2), XAI_OK);
    const xai_layer_type want[] = {XAI_CONV2D, XAI_RELU, XAI_MAXPOOL2D, XAI_GAP, XAI_FLATTEN, XAI_LINEAR};
    assert_int_equal(m->nlayers, 6);
    for (int i = 0; i < 6; i++) assert_int_equal(m->layers[i].type, want[i]);
    assert_int_equal(m->in.c, 3);
    assert_int_equal(m->in.h, 8);
    assert_int_equal(m->nclasses, 3);
    assert_int_equal(m->layers[0].pad, 1);
    assert_int_equal(m->layers[2].stride, 2);
    assert_true(m->mean[2] == 0.5f && m->std[1] == 0.25f);
    /* --input must fit the weights: a 1-channel input does not fit a 3-channel conv */
    xai_model *bad = NULL;
    o.input = (xai_shape){1, 8, 8};
    assert_int_equal(xai_onnx_import(&bad, p, &o, 1), XAI_EFORMAT);
    assert_null(bad);
    o.input = (xai_shape){0, 0, 0};
    o.nmean = 2;
    assert_int_equal(xai_onnx_import(&bad, p, &o, 1), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "2 means"));
    xai_model_free(m);
    free(p);
}

/* Every prefix and many one-byte changes of a valid file: an error with a message or a model. */
static void test_import_damaged(void **st)
{
    (void)st;
    char *p = data_path("tiny_rgb.onnx"), *data = NULL;
    size_t len = 0;
    assert_int_equal(xai_read_file(p, &data, &len), XAI_OK);
    xai_onnx_opts o;
    xai_onnx_opts_default(&o);
    for (size_t cut = 0; cut < len; cut++) {
        xai_model *m = NULL;
        xai_clear_error();
        xai_status s = xai_onnx_import_buffer(&m, (const uint8_t *)data, cut, "cut.onnx", &o, 1);
        if (s != XAI_OK) assert_true(xai_errmsg()[0] != 0);
        xai_model_free(m);
    }
    xai_rng r;
    xai_rng_seed(&r, 5);
    for (int k = 0; k < 400; k++) {
        const size_t at = xai_rng_below(&r, (uint32_t)len);
        const char old = data[at];
        data[at] = (char)xai_rng_u64(&r);
        xai_model *m = NULL;
        xai_clear_error();
        if (xai_onnx_import_buffer(&m, (const uint8_t *)data, len, "poked.onnx", &o, 1) == XAI_OK) {
            float *x = xai_calloc(xai_shape_size(m->in), sizeof *x);
            xai_model_forward(m, x, 1);
            free(x);
        } else assert_true(xai_errmsg()[0] != 0);
        xai_model_free(m);
        data[at] = old;
    }
    free(data);
    free(p);
}

static void test_image_files(void **st)
{
    (void)st;
    char *rgb = data_path("images/rgb.png"), *jpg = data_path("images/rgb.jpg"), *grey = data_path("images/gray.png");
    uint8_t px[3 * 4 * 4];
    assert_int_equal(xai_image_file_load(rgb, (xai_shape){3, 4, 4}, px), XAI_OK);
    /* rgb.png: red = 20 x, green = 25 y, blue 128 on a 12x10 image; its central 10x10 square from x = 1 */
    assert_true(abs(px[2 * 16 + 5] - 128) <= 1);
    assert_true(px[0] < px[3] && px[16] < px[16 + 12]);
    assert_int_equal(xai_image_file_load(jpg, (xai_shape){3, 4, 4}, px), XAI_OK);
    assert_int_equal(xai_image_file_load(grey, (xai_shape){1, 4, 4}, px), XAI_OK);
    assert_true(px[0] < px[12]); /* grey rises with y */
    assert_int_equal(xai_image_file_load(rgb, (xai_shape){1, 4, 4}, px), XAI_EINVAL);
    assert_non_null(strstr(xai_errmsg(), "colour image"));
    assert_int_equal(xai_image_file_load(rgb, (xai_shape){3, 4, 5}, px), XAI_EINVAL);
    char **files = NULL;
    int n = 0;
    char *dir = data_path("images");
    assert_int_equal(xai_image_dir_list(dir, &files, &n), XAI_OK);
    assert_int_equal(n, 3);
    assert_non_null(strstr(files[0], "gray.png"));
    assert_non_null(strstr(files[2], "rgb.png"));
    for (int i = 0; i < n; i++) free(files[i]);
    free(files);
    xai_dataset d;
    const char *paths[] = {dir, jpg};
    assert_int_equal(xai_dataset_from_images(&d, paths, 2, (xai_shape){3, 6, 6}, 3), XAI_OK);
    assert_int_equal(d.test.n, 4);
    assert_int_equal(d.test.labels[3], -1);
    assert_non_null(strstr(d.test.files[3], "rgb.jpg"));
    xai_dataset_free(&d);
    free(dir), free(rgb), free(jpg), free(grey);
}

static void test_png_damaged(void **st)
{
    (void)st;
    char *p = data_path("images/rgb.png"), *data = NULL, err[256];
    size_t len = 0;
    assert_int_equal(xai_read_file(p, &data, &len), XAI_OK);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *rgb = NULL;
        int w, h;
        if (xai_png_decode_rgb(data, cut, &rgb, &w, &h, err, sizeof err) != XAI_OK) assert_true(err[0] != 0);
        free(rgb);
    }
    free(data);
    free(p);
}

/* The heatmap colours: the map's largest |R| at the palette's ends, 0 white, channels summed,
 * each pixel a scale x scale block; written as a PNG and read back unchanged. */
static void test_heatmap(void **st)
{
    (void)st;
    const xai_shape s = {2, 1, 3};
    /* channel sums: -2, 0, +1 */
    const float attr[6] = {-1, 0.5f, 0.25f, -1, -0.5f, 0.75f};
    uint8_t rgb[3 * 2 * 6];
    xai_heatmap_rgb(rgb, attr, s, 2);
    const uint8_t blue[3] = {0x05, 0x30, 0x61}, white[3] = {0xff, 0xff, 0xff};
    assert_memory_equal(rgb, blue, 3);
    assert_memory_equal(rgb + 3 * 6 + 3, blue, 3); /* the block's lower right */
    assert_memory_equal(rgb + 3 * 2, white, 3);
    /* +1 of max 2 is +1/2: halfway from #f4a582 to #b2182b */
    assert_int_equal(rgb[3 * 4], (0xf4 + 0xb2 + 1) / 2);
    char path[] = "/tmp/xai-heatmap-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(xai_png_write_rgb(path, rgb, 6, 2), XAI_OK);
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(xai_read_file_max(path, 1 << 20, &buf, &len), XAI_OK);
    uint8_t *back = NULL;
    int w = 0, h = 0;
    char err[128];
    assert_int_equal(xai_png_decode_rgb(buf, len, &back, &w, &h, err, sizeof err), XAI_OK);
    assert_int_equal(w, 6);
    assert_int_equal(h, 2);
    assert_memory_equal(back, rgb, sizeof rgb);
    free(back);
    free(buf);
    unlink(path);
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_tiny), cmocka_unit_test(test_import_damaged),
        cmocka_unit_test(test_image_files), cmocka_unit_test(test_png_damaged),
        cmocka_unit_test(test_heatmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
