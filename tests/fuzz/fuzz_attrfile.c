/* fuzz_attrfile.c: libFuzzer target of the attribution file readers (explainers/attrfile.c).
 * The template is the publishing fixture's attributions.h5 (three methods, IG deltas, LRP
 * residuals); the input is a list of h5mutate.c operations on it. Every reader runs as
 * `xai evaluate` and `xai export` call them, with buffers sized from the header it returned. */
#include "core/h5.h"
#include "explainers/explain.h"
#include "tests/fuzz/fixture.h"

/* Maps are read only while the header's N x C x H x W stays this small. */
#define FZ_MAX_FLOATS (1u << 20)

static fz_h5_template *tmpl;

static void read_methods(const char *path, const xai_attr_header *h)
{
    size_t per = xai_shape_size(h->shape), n = (size_t)h->n;
    if (h->n < 1 || per * n > FZ_MAX_FLOATS) return;
    float *a = xai_malloc(per * n * sizeof *a);
    double *v = xai_malloc(n * sizeof *v);
    for (int j = 0; j < h->nmethods; j++) {
        const char *name = h->methods[j];
        FZ_CALL(xai_attr_read_method(path, name, a, h));
        FZ_CALL(xai_attr_read_vector(path, "ig/delta", name, v, h));
        FZ_CALL(xai_attr_read_vector(path, "lrp/residual", name, v, h));
        double *mat = NULL;
        int cols = 0;
        FZ_CALL(xai_attr_read_matrix(path, "lrp/layer_sums", name, &mat, &cols, h));
        free(mat);
        FZ_CALL(xai_attr_read_row(path, name, h->n - 1, a, h));
        xai_attr_method_info info;
        FZ_CALL(xai_attr_read_method_info(path, name, &info));
        xai_method meth;
        FZ_CALL(xai_attr_read_method_spec(&meth, path, name));
    }
    FZ_CALL(xai_attr_read_row(path, NULL, 0, a, h));
    free(a);
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    if (!tmpl) tmpl = fz_fixture(fx_attributions, 3, "attributions.h5");
    fz_in in = {data, size};
    const char *path = fz_path("attributions.h5");
    int max_n = fz_u8(&in) % 8; /* 0: all rows, as explain's reader; else evaluate --n */
    fz_h5_mutate(tmpl, &in, path);
    xai_attr_header h;
    if (FZ_CALL(xai_attr_read_header_n(&h, path, max_n)) == XAI_OK) {
        read_methods(path, &h);
        xai_attr_header_free(&h);
    }
    fz_end();
    return 0;
}
