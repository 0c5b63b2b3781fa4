/* test_attrfile.c: the attribution HDF5 file (exact layout, round trip, atomic writes, bad files)
 * and `xai explain` / `xai bench ig|lrp` end to end on MNIST from the local mirror. */
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
#include "datasets/datasets.h"
#include "explainers/explain.h"

#define assert_close(a, b, tol)                                                                              \
    do {                                                                                                 \
        double a_ = (a), b_ = (b), t_ = (tol);                                                           \
        if (!(fabs(a_ - b_) <= t_)) fail_msg("%s = %.17g, expected %.17g (tolerance %g)", #a, a_, b_, t_); \
    } while (0)

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/xai_attrfile_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *tmp_path(const char *name)
{
    return xai_path_join(tmpdir, name);
}

/* A header of n images of 2x3x4 and 5 classes with recognisable values. */
static void fake_header(xai_attr_header *h, int n)
{
    memset(h, 0, sizeof *h);
    h->n = n;
    h->shape = (xai_shape){2, 3, 4};
    h->nclasses = 5;
    h->inputs = malloc(n * 24 * sizeof *h->inputs);
    h->logits = malloc(n * 5 * sizeof *h->logits);
    h->labels = malloc(n * sizeof *h->labels);
    h->targets = malloc(n * sizeof *h->targets);
    h->indices = malloc(n * sizeof *h->indices);
    for (int i = 0; i < n * 24; i++) h->inputs[i] = 0.01f * i - 0.5f;
    for (int i = 0; i < n * 5; i++) h->logits[i] = (float)sin(i);
    for (int i = 0; i < n; i++) h->labels[i] = i % 5, h->targets[i] = (i + 1) % 5, h->indices[i] = 100 + i;
    h->norm_mean[0] = 0.1, h->norm_mean[1] = 0.2, h->norm_std[0] = 0.3, h->norm_std[1] = 0.4;
    snprintf(h->model_path, sizeof h->model_path, "results/x/model.h5");
    snprintf(h->model_sha256, sizeof h->model_sha256, "%064d", 7);
    snprintf(h->dataset, sizeof h->dataset, "mnist");
    snprintf(h->dataset_sha256, sizeof h->dataset_sha256, "%064d", 9);
    snprintf(h->target_mode, sizeof h->target_mode, "pred");
}

static void str_attr(hid_t loc, const char *name, const char *want)
{
    char buf[256] = "";
    assert_int_equal(xai_h5_get_str(loc, name, buf, sizeof buf), XAI_OK);
    assert_string_equal(buf, want);
}

static void test_round_trip(void **state)
{
    (void)state;
    const int n = 3, L = 4;
    xai_attr_header h;
    fake_header(&h, n);
    char *path = tmp_path("a.h5");
    xai_attr_writer w;
    assert_int_equal(xai_attr_create(&w, path, &h, "xai explain --test"), XAI_OK);
    float *attr = malloc(n * 24 * sizeof *attr);
    double delta[3] = {1e-3, -2e-3, 3e-3}, fb[3] = {0.5, 0.25, 0.125}, res[3] = {-0.1, 0.2, 0.3};
    double *ls = malloc(n * (L + 1) * sizeof *ls);
    for (int i = 0; i < n * (L + 1); i++) ls[i] = i;
    const char *specs[3] = {"lrp-epsilon:eps=0.25", "ig:steps=4:rule=trapezoid", "random"};
    for (int k = 0; k < 3; k++) {
        xai_method m;
        assert_int_equal(xai_method_parse(&m, specs[k], NULL), XAI_OK);
        for (int i = 0; i < n * 24; i++) attr[i] = (float)(k * 1000 + i);
        xai_explain_aux aux = {delta, fb, res, ls, NULL};
        assert_int_equal(xai_attr_write_method(&w, &m, attr, &aux, L, "0 linear epsilon\n", 1.5 * (k + 1)), XAI_OK);
    }
    /* A second method of the same name, or a name HDF5 cannot hold, is refused. */
    xai_method dup;
    assert_int_equal(xai_method_parse(&dup, "random", NULL), XAI_OK);
    assert_int_equal(xai_attr_write_method(&w, &dup, attr, NULL, 0, NULL, 1), XAI_EINVAL);
    snprintf(dup.spec, sizeof dup.spec, "a/b");
    assert_int_equal(xai_attr_write_method(&w, &dup, attr, NULL, 0, NULL, 1), XAI_EINVAL);
    assert_false(xai_file_exists(path)); /* nothing under the final name before commit */
    assert_int_equal(xai_attr_commit(&w), XAI_OK);
    assert_true(xai_file_exists(path));

    /* The layout, read with plain HDF5 calls as an h5py user would see it. */
    hid_t f;
    assert_int_equal(xai_h5_open(&f, path, 0), XAI_OK);
    str_attr(f, "format", "xai-attributions-1");
    str_attr(f, "model_path", "results/x/model.h5");
    str_attr(f, "dataset", "mnist");
    str_attr(f, "split", "test");
    str_attr(f, "target_mode", "pred");
    str_attr(f, "command", "xai explain --test");
    uint64_t d[8];
    assert_int_equal(xai_h5_dims(f, "inputs", d), 4);
    assert_true(d[0] == 3 && d[1] == 2 && d[2] == 3 && d[3] == 4);
    assert_int_equal(xai_h5_dims(f, "logits", d), 2);
    assert_true(d[0] == 3 && d[1] == 5);
    assert_int_equal(xai_h5_dims(f, "labels", d), 1);
    assert_int_equal(xai_h5_dims(f, "targets", d), 1);
    assert_int_equal(xai_h5_dims(f, "indices", d), 1);
    assert_int_equal(xai_h5_dims(f, "attributions/ig:steps=4:rule=trapezoid", d), 4);
    assert_int_equal(xai_h5_dims(f, "ig/delta/ig:steps=4:rule=trapezoid", d), 1);
    assert_int_equal(xai_h5_dims(f, "ig/f_baseline/ig:steps=4:rule=trapezoid", d), 1);
    assert_int_equal(xai_h5_dims(f, "lrp/residual/lrp-epsilon:eps=0.25", d), 1);
    assert_int_equal(xai_h5_dims(f, "lrp/layer_sums/lrp-epsilon:eps=0.25", d), 2);
    assert_true(d[0] == 3 && d[1] == (uint64_t)L + 1);
    assert_false(xai_h5_exists(f, "ig/delta/random"));
    assert_false(xai_h5_exists(f, "lrp/residual/ig:steps=4:rule=trapezoid"));
    hid_t ds = H5Dopen2(f, "attributions/ig:steps=4:rule=trapezoid", H5P_DEFAULT);
    str_attr(ds, "kind", "ig");
    str_attr(ds, "rule", "trapezoid");
    str_attr(ds, "baseline", "black");
    int64_t steps;
    double v, al[8];
    assert_int_equal(xai_h5_get_i64(ds, "steps", &steps), XAI_OK);
    assert_int_equal(steps, 4);
    assert_int_equal(xai_h5_get_f64(ds, "seconds", &v), XAI_OK);
    assert_close(v, 3.0, 0);
    assert_int_equal(xai_h5_get_f64(ds, "seconds_per_attribution", &v), XAI_OK);
    assert_close(v, 1.0, 1e-15);
    assert_int_equal(xai_h5_get_f64v(ds, "weights", al, 8), 4);
    assert_close(al[0], 1.0 / 6, 1e-15);
    H5Dclose(ds);
    ds = H5Dopen2(f, "attributions/lrp-epsilon:eps=0.25", H5P_DEFAULT);
    str_attr(ds, "kind", "lrp");
    str_attr(ds, "composite", "lrp-epsilon");
    str_attr(ds, "bias", "input");
    str_attr(ds, "layer_rules", "0 linear epsilon\n");
    assert_int_equal(xai_h5_get_f64(ds, "epsilon", &v), XAI_OK);
    assert_close(v, 0.25, 0);
    H5Dclose(ds);
    H5Fclose(f);

    /* The reader: header, methods in the order written, maps and vectors. */
    xai_attr_header r;
    assert_int_equal(xai_attr_read_header(&r, path), XAI_OK);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.nclasses, 5);
    assert_true(r.shape.c == 2 && r.shape.h == 3 && r.shape.w == 4);
    assert_memory_equal(r.inputs, h.inputs, n * 24 * sizeof *r.inputs);
    assert_memory_equal(r.logits, h.logits, n * 5 * sizeof *r.logits);
    assert_memory_equal(r.targets, h.targets, n * sizeof *r.targets);
    assert_memory_equal(r.labels, h.labels, n * sizeof *r.labels);
    assert_memory_equal(r.indices, h.indices, n * sizeof *r.indices);
    assert_string_equal(r.model_sha256, h.model_sha256);
    assert_string_equal(r.dataset_sha256, h.dataset_sha256);
    assert_close(r.norm_std[1], 0.4, 0);
    assert_int_equal(r.nmethods, 3);
    for (int k = 0; k < 3; k++) assert_string_equal(r.methods[k], specs[k]);
    assert_int_equal(xai_attr_read_method(path, "ig:steps=4:rule=trapezoid", attr, &r), XAI_OK);
    for (int i = 0; i < n * 24; i++) assert_close(attr[i], 1000 + i, 0);
    double back[3];
    assert_int_equal(xai_attr_read_vector(path, "ig/delta", "ig:steps=4:rule=trapezoid", back, &r), XAI_OK);
    assert_memory_equal(back, delta, sizeof back);
    assert_int_equal(xai_attr_read_vector(path, "lrp/residual", "lrp-epsilon:eps=0.25", back, &r), XAI_OK);
    assert_memory_equal(back, res, sizeof back);
    assert_int_equal(xai_attr_read_vector(path, "ig/delta", "random", back, &r), XAI_ENOTFOUND);
    assert_int_equal(xai_attr_read_method(path, "plaid", attr, &r), XAI_ENOTFOUND);
    assert_non_null(strstr(xai_errmsg(), "plaid"));
    assert_string_equal(r.program_version, xai_version());
    xai_attr_method_info info;
    assert_int_equal(xai_attr_read_method_info(path, "lrp-epsilon:eps=0.25", &info), XAI_OK);
    assert_string_equal(info.kind, "lrp");
    assert_close(info.seconds, 1.5, 0);
    assert_close(info.seconds_per_attribution, 0.5, 1e-15);
    assert_int_equal(xai_attr_read_method_info(path, "plaid", &info), XAI_ENOTFOUND);
    /* The normalisation as recorded: one value a channel. */
    assert_int_equal(r.norm_mean_n, 2);
    assert_int_equal(r.norm_std_n, 2);
    /* A method rebuilt from its attributes, and a per-image 2-D array. */
    xai_method spec;
    assert_int_equal(xai_attr_read_method_spec(&spec, path, "ig:steps=4:rule=trapezoid"), XAI_OK);
    assert_int_equal(spec.kind, XAI_METHOD_IG);
    assert_int_equal(spec.ig.steps, 4);
    assert_int_equal(spec.ig.rule, xai_quad_rule_from_name("trapezoid"));
    assert_int_equal(xai_attr_read_method_spec(&spec, path, "lrp-epsilon:eps=0.25"), XAI_OK);
    assert_int_equal(spec.kind, XAI_METHOD_LRP);
    assert_close(spec.lrp.epsilon, 0.25, 0);
    assert_int_equal(xai_attr_read_method_spec(&spec, path, "plaid"), XAI_ENOTFOUND);
    assert_non_null(strstr(xai_errmsg(), "plaid"));
    double *mat;
    int cols;
    assert_int_equal(xai_attr_read_matrix(path, "lrp/layer_sums", "lrp-epsilon:eps=0.25", &mat, &cols, &r), XAI_OK);
    assert_int_equal(cols, L + 1);
    assert_memory_equal(mat, ls, n * (L + 1) * sizeof *mat);
    free(mat);
    assert_int_equal(xai_attr_read_matrix(path, "lrp/layer_sums", "random", &mat, &cols, &r), XAI_ENOTFOUND);
    assert_null(mat);
    assert_int_equal(cols, 0);
    /* A single row equals that row of the full read; a row the file lacks names the file. */
    float row[24];
    assert_int_equal(xai_attr_read_method(path, "lrp-epsilon:eps=0.25", attr, &r), XAI_OK);
    assert_int_equal(xai_attr_read_row(path, "lrp-epsilon:eps=0.25", 1, row, &r), XAI_OK);
    assert_memory_equal(row, attr + 24, sizeof row);
    assert_int_equal(xai_attr_read_row(path, NULL, 2, row, &r), XAI_OK);
    assert_memory_equal(row, r.inputs + 2 * 24, sizeof row);
    assert_int_equal(xai_attr_read_row(path, "random", 3, row, &r), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), path));
    assert_int_equal(xai_attr_read_row(path, "random", -1, row, &r), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), path));
    assert_int_equal(xai_attr_read_row(path, "plaid", 0, row, &r), XAI_ENOTFOUND);
    assert_non_null(strstr(xai_errmsg(), path));
    xai_attr_header_free(&r);
    /* The first images only: the header, maps and vectors of those rows. */
    assert_int_equal(xai_attr_read_header_n(&r, path, 2), XAI_OK);
    assert_int_equal(r.n, 2);
    assert_memory_equal(r.inputs, h.inputs, 2 * 24 * sizeof *r.inputs);
    assert_memory_equal(r.indices, h.indices, 2 * sizeof *r.indices);
    assert_int_equal(r.nmethods, 3);
    memset(attr, 0, n * 24 * sizeof *attr);
    assert_int_equal(xai_attr_read_method(path, "ig:steps=4:rule=trapezoid", attr, &r), XAI_OK);
    for (int i = 0; i < 2 * 24; i++) assert_close(attr[i], 1000 + i, 0);
    assert_close(attr[2 * 24], 0, 0);
    assert_int_equal(xai_attr_read_vector(path, "ig/delta", "ig:steps=4:rule=trapezoid", back, &r), XAI_OK);
    assert_memory_equal(back, delta, 2 * sizeof *back);
    xai_attr_header_free(&r);
    assert_int_equal(xai_attr_read_header_n(&r, path, 99), XAI_OK);
    assert_int_equal(r.n, 3);
    xai_attr_header_free(&r);
    xai_attr_header_free(&h);
    free(attr);
    free(ls);
    free(path);
}

static void test_abort_and_bad_files(void **state)
{
    (void)state;
    xai_attr_header h;
    fake_header(&h, 2);
    char *path = tmp_path("b.h5");
    xai_attr_writer w;
    assert_int_equal(xai_attr_create(&w, path, &h, NULL), XAI_OK);
    xai_attr_abort(&w);
    assert_false(xai_file_exists(path));
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q tmp", tmpdir);
    assert_int_not_equal(system(cmd), 0); /* no temporary left behind */
    /* A directory that does not exist: an error naming it, no crash. */
    char *bad = tmp_path("missing/dir/c.h5");
    assert_int_equal(xai_attr_create(&w, bad, &h, NULL), XAI_EIO);
    assert_non_null(strstr(xai_errmsg(), "missing/dir"));
    free(bad);
    /* Readers: missing file, not HDF5, HDF5 of another kind, truncated. */
    xai_attr_header r;
    assert_int_equal(xai_attr_read_header(&r, path), XAI_ENOTFOUND);
    char *txt = tmp_path("t.h5");
    FILE *f = fopen(txt, "w");
    fputs("not hdf5\n", f);
    fclose(f);
    assert_int_equal(xai_attr_read_header(&r, txt), XAI_EFORMAT);
    xai_model *m;
    xai_config c;
    assert_int_equal(xai_config_load_string(&c, "[model]\ninput = 1x4x4\nclasses = 2\nlayer = flatten\nlayer = linear out=2\n", "t"), XAI_OK);
    assert_int_equal(xai_model_from_config(&m, &c, 1), XAI_OK);
    char *mp = tmp_path("m.h5");
    assert_int_equal(xai_model_save(m, mp), XAI_OK);
    assert_int_equal(xai_attr_read_header(&r, mp), XAI_EFORMAT);
    assert_non_null(strstr(xai_errmsg(), "not an attribution file"));
    /* Truncate a good file. */
    assert_int_equal(xai_attr_create(&w, path, &h, NULL), XAI_OK);
    assert_int_equal(xai_attr_commit(&w), XAI_OK);
    assert_int_equal(xai_attr_read_header(&r, path), XAI_OK);
    assert_int_equal(r.nmethods, 0);
    xai_attr_header_free(&r);
    assert_int_equal(truncate(path, 1500), 0);
    assert_int_not_equal(xai_attr_read_header(&r, path), XAI_OK);
    xai_config_free(&c);
    xai_model_free(m);
    xai_attr_header_free(&h);
    free(mp);
    free(txt);
    free(path);
}

/* A method's counts are checked when the file is opened, whichever command reads it: IG's
 * @steps out of range, not a number or 0 under a quadrature rule, SmoothGrad's @samples 0 (issue
 * 12: an evaluate that ran no IG metric accepted them with rc 0). */
static void set_attr(const char *path, const char *method, const char *name, int64_t v, const char *str)
{
    hid_t f;
    assert_int_equal(xai_h5_open(&f, path, 1), XAI_OK);
    char obj[128];
    snprintf(obj, sizeof obj, "attributions/%s", method);
    hid_t d = H5Dopen2(f, obj, H5P_DEFAULT);
    assert_true(d >= 0);
    if (H5Aexists(d, name) > 0) H5Adelete(d, name);
    assert_int_equal(str ? xai_h5_attr_str(d, name, str) : xai_h5_attr_i64(d, name, v), XAI_OK);
    H5Dclose(d);
    xai_h5_close(f);
}

static void test_counts_checked_on_open(void **state)
{
    (void)state;
    xai_attr_header h, r;
    fake_header(&h, 2);
    char *path = tmp_path("counts.h5"), *bad = tmp_path("counts-bad.h5");
    xai_attr_writer w;
    assert_int_equal(xai_attr_create(&w, path, &h, NULL), XAI_OK);
    float attr[2 * 24] = {0};
    const char *specs[3] = {"ig:steps=8", "ig:rule=exact", "smoothgrad:samples=4"};
    for (int k = 0; k < 3; k++) {
        xai_method m;
        assert_int_equal(xai_method_parse(&m, specs[k], NULL), XAI_OK);
        assert_int_equal(xai_attr_write_method(&w, &m, attr, NULL, 0, NULL, 1.0), XAI_OK);
    }
    assert_int_equal(xai_attr_commit(&w), XAI_OK);
    assert_int_equal(xai_attr_read_header(&r, path), XAI_OK); /* exact IG's @steps = 0 is valid */
    xai_attr_header_free(&r);
    const struct {
        const char *method, *attr, *str;
        int64_t v;
        const char *says;
    } cases[] = {{"ig:steps=8", "steps", NULL, 0, "@steps = 0 but @rule = 'gauss'"},
                 {"ig:steps=8", "steps", NULL, -1, "@steps = -1 is out of range"},
                 {"ig:steps=8", "steps", NULL, 4294967298LL, "@steps = 4294967298 is out of range"},
                 {"ig:steps=8", "steps", "x", 0, "@steps is not a single whole number"},
                 {"smoothgrad:samples=4", "samples", NULL, 0, "@samples = 0 is out of range"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, bad);
        assert_int_equal(system(cmd), 0);
        set_attr(bad, cases[i].method, cases[i].attr, cases[i].v, cases[i].str);
        assert_int_equal(xai_attr_read_header(&r, bad), XAI_EFORMAT);
        if (!strstr(xai_errmsg(), cases[i].says) || !strstr(xai_errmsg(), cases[i].method))
            fail_msg("case %zu: '%s' lacks '%s'", i, xai_errmsg(), cases[i].says);
    }
    xai_attr_header_free(&h);
    free(path);
    free(bad);
}

/* ------------------------------------------------------------- end to end */

static const char *mirror_dir(char *buf, size_t cap)
{
    const char *e = getenv("XAI_MIRROR"), *src = getenv("XAI_SOURCE_DIR");
    if (e && *e)
        snprintf(buf, cap, "%s", e);
    else
        snprintf(buf, cap, "%s/../shared/mirror", src ? src : XAI_SOURCE_DIR);
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/mnist", buf);
    return xai_file_exists(probe) ? buf : NULL;
}

static int run(const char *cmd, const char *outfile)
{
    char full[4096];
    snprintf(full, sizeof full, "%s > '%s' 2>&1", cmd, outfile);
    int rc = system(full);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *slurp(const char *path)
{
    char *d = NULL;
    size_t n;
    if (xai_read_file(path, &d, &n) != XAI_OK) return xai_strdup("");
    return d;
}

static void test_explain_cli(void **state)
{
    (void)state;
    const char *bin = getenv("XAI_BIN");
    char mb[1024];
    const char *mirror = mirror_dir(mb, sizeof mb);
    if (!bin || !mirror) {
        print_message("no XAI_BIN or no mirror with MNIST: skipped\n");
        skip();
    }
    /* A small random net with MNIST's normalisation, saved as a model file. */
    xai_config c;
    assert_int_equal(xai_config_load_string(&c, "[model]\ninput = 1x28x28\nclasses = 10\nlayer = conv out=4 k=5 stride=2\n"
                                                "layer = relu\nlayer = maxpool k=2\nlayer = flatten\nlayer = linear out=16\n"
                                                "layer = relu\nlayer = linear out=10\n",
                                            "t"),
                     XAI_OK);
    xai_model *m;
    assert_int_equal(xai_model_from_config(&m, &c, 16), XAI_OK);
    xai_config_free(&c);
    xai_model_init(m, 3);
    m->mean[0] = 0.1307f, m->std[0] = 0.3081f;
    char *model = tmp_path("model.h5"), *data = tmp_path("data"), *out = tmp_path("attr.h5"), *log = tmp_path("log");
    assert_int_equal(xai_model_save(m, model), XAI_OK);
    char cmd[3000];
    snprintf(cmd, sizeof cmd, "'%s' --quiet fetch mnist --mirror '%s' --data-dir '%s'", bin, mirror, data);
    if (run(cmd, log)) fail_msg("fetch failed: %s", slurp(log));
    snprintf(cmd, sizeof cmd,
             "'%s' --quiet explain --model '%s' --dataset mnist --data-dir '%s' --n 6 --start 3 --ig-batch 8 "
             "--methods ig:steps=16,lrp-epsilon,lrp-epsilon-gamma-box,gradient-x-input,random --out '%s'",
             bin, model, data, out);
    if (run(cmd, log)) fail_msg("explain failed: %s", slurp(log));
    char *text = slurp(log);
    assert_non_null(strstr(text, "lrp-epsilon-gamma-box"));
    free(text);

    xai_attr_header h;
    assert_int_equal(xai_attr_read_header(&h, out), XAI_OK);
    assert_int_equal(h.n, 6);
    assert_int_equal(h.nmethods, 5);
    assert_string_equal(h.target_mode, "pred");
    assert_int_equal(strlen(h.model_sha256), 64);
    /* Inputs are the test images 3..8 normalised as the model says. */
    char *cache = xai_path_join(data, "mnist-28.h5");
    xai_dataset d;
    assert_int_equal(xai_dataset_load_file(&d, cache, 9), XAI_OK);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(h.indices[i], 3 + i);
        assert_int_equal(h.labels[i], d.test.labels[3 + i]);
        for (int j = 0; j < 784; j++)
            assert_close(h.inputs[i * 784 + j], (d.test.images[(3 + i) * 784 + j] / 255.0f - 0.1307f) / 0.3081f, 1e-6);
    }
    /* Logits, targets and one method recomputed here agree with the file. */
    const float *lg = xai_model_forward(m, h.inputs, 6);
    float *a = malloc(6 * 784 * sizeof *a), *b = malloc(6 * 784 * sizeof *b);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(h.targets[i], xai_model_argmax(lg + i * 10, 10));
        for (int k = 0; k < 10; k++) assert_close(h.logits[i * 10 + k], lg[i * 10 + k], 1e-5);
    }
    assert_int_equal(xai_gradient_x_input(m, h.inputs, h.targets, 6, a), XAI_OK);
    assert_int_equal(xai_attr_read_method(out, "gradient-x-input", b, &h), XAI_OK);
    for (int j = 0; j < 6 * 784; j++) assert_close(b[j], a[j], 1e-5 * (1 + fabs(a[j])));
    double v[6], fb[6];
    assert_int_equal(xai_attr_read_vector(out, "ig/delta", "ig:steps=16", v, &h), XAI_OK);
    assert_int_equal(xai_attr_read_vector(out, "ig/f_baseline", "ig:steps=16", fb, &h), XAI_OK);
    assert_int_equal(xai_attr_read_method(out, "ig:steps=16", b, &h), XAI_OK);
    for (int i = 0; i < 6; i++) {
        double s = 0, fx = h.logits[i * 10 + h.targets[i]];
        for (int j = 0; j < 784; j++) s += b[i * 784 + j];
        assert_close(v[i], s - (fx - fb[i]), 1e-4 * (1 + fabs(fx)));
    }
    assert_int_equal(xai_attr_read_vector(out, "lrp/residual", "lrp-epsilon", v, &h), XAI_OK);
    assert_int_equal(xai_attr_read_method(out, "lrp-epsilon", b, &h), XAI_OK);
    for (int i = 0; i < 6; i++) {
        double s = 0;
        for (int j = 0; j < 784; j++) s += b[i * 784 + j];
        assert_close(v[i], s - h.logits[i * 10 + h.targets[i]], 1e-4 * (1 + fabs(s)));
    }
    xai_attr_header_free(&h);
    xai_dataset_free(&d);

    /* A config's [explain] section, overridden by the command line. */
    char *ini = tmp_path("e.ini"), *out2 = tmp_path("attr2.h5");
    FILE *f = fopen(ini, "w");
    fprintf(f, "[explain]\nmethods = gradient,smoothgrad\nn = 4\nsg_samples = 3\ntarget = label\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' --quiet explain --config '%s' --model '%s' --dataset '%s' --n 2 --out '%s'", bin,
             ini, model, cache, out2);
    if (run(cmd, log)) fail_msg("explain --config failed: %s", slurp(log));
    assert_int_equal(xai_attr_read_header(&h, out2), XAI_OK);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.nmethods, 2);
    assert_string_equal(h.target_mode, "label");
    assert_memory_equal(h.targets, h.labels, 2 * sizeof *h.targets);
    xai_attr_header_free(&h);

    /* Stratified selection: classes in turn, each class's images in index order, from --start. */
    char *out_s = tmp_path("attr_strat.h5");
    snprintf(cmd, sizeof cmd, "'%s' --quiet explain --model '%s' --dataset '%s' --n 25 --start 5 --select stratified "
             "--methods random --out '%s'", bin, model, cache, out_s);
    if (run(cmd, log)) fail_msg("explain --select stratified failed: %s", slurp(log));
    assert_int_equal(xai_attr_read_header(&h, out_s), XAI_OK);
    assert_int_equal(xai_dataset_load_file(&d, cache, 0), XAI_OK);
    int64_t last[10];
    for (int c = 0; c < 10; c++) last[c] = 4;
    for (int i = 0; i < 25; i++) {
        const int64_t j = h.indices[i];
        assert_int_equal(h.labels[i], d.test.labels[j]);
        assert_int_equal(h.labels[i], i % 10); /* MNIST's test split has every class often enough */
        /* The next image of that class after the one taken before: none skipped. */
        for (int64_t k = last[h.labels[i]] + 1; k < j; k++) assert_int_not_equal(d.test.labels[k], h.labels[i]);
        last[h.labels[i]] = j;
    }
    xai_attr_header_free(&h);
    xai_dataset_free(&d);
    snprintf(cmd, sizeof cmd, "'%s' --quiet explain --model '%s' --dataset '%s' --n 2 --select random --out '%s'", bin,
             model, cache, out_s);
    assert_int_not_equal(run(cmd, log), 0);
    text = slurp(log);
    assert_non_null(strstr(text, "--select random: expected first or stratified"));
    free(text);
    free(out_s);

    /* Exact IG: the map, its per-image stats and its settings come back from the file. */
    char *out4 = tmp_path("attr4.h5");
    snprintf(cmd, sizeof cmd, "'%s' explain --model '%s' --dataset '%s' --n 3 --methods ig:rule=exact --ig-steps 8 --out '%s'",
             bin, model, cache, out4);
    if (run(cmd, log)) fail_msg("explain exact failed: %s", slurp(log));
    text = slurp(log);
    assert_non_null(strstr(text, "exact: regions median"));
    free(text);
    assert_int_equal(xai_attr_read_header(&h, out4), XAI_OK);
    double reg[3], rel[3], sum[3], fxs[3], sec[3], del[3];
    assert_int_equal(xai_attr_read_vector(out4, "ig_exact/regions", "ig:rule=exact", reg, &h), XAI_OK);
    assert_int_equal(xai_attr_read_vector(out4, "ig_exact/residual", "ig:rule=exact", rel, &h), XAI_OK);
    assert_int_equal(xai_attr_read_vector(out4, "ig_exact/sum", "ig:rule=exact", sum, &h), XAI_OK);
    assert_int_equal(xai_attr_read_vector(out4, "ig_exact/f_x", "ig:rule=exact", fxs, &h), XAI_OK);
    assert_int_equal(xai_attr_read_vector(out4, "ig_exact/seconds", "ig:rule=exact", sec, &h), XAI_OK);
    assert_int_equal(xai_attr_read_vector(out4, "ig/delta", "ig:rule=exact", del, &h), XAI_OK);
    assert_int_equal(xai_attr_read_vector(out4, "ig/f_baseline", "ig:rule=exact", fb, &h), XAI_OK);
    assert_int_equal(xai_attr_read_method(out4, "ig:rule=exact", b, &h), XAI_OK);
    for (int i = 0; i < 3; i++) {
        double s = 0;
        for (int j = 0; j < 784; j++) s += b[i * 784 + j];
        assert_true(reg[i] >= 1 && reg[i] == floor(reg[i]));
        assert_true(rel[i] < 1e-4 && sec[i] >= 0);
        assert_close(sum[i], s, 1e-4 * (1 + fabs(s)));
        assert_close(del[i], sum[i] - (fxs[i] - fb[i]), 1e-9 * (1 + fabs(sum[i])));
        assert_close(fxs[i], h.logits[i * 10 + h.targets[i]], 1e-4 * (1 + fabs(fxs[i])));
    }
    xai_method em;
    xai_attr_method_info info;
    assert_int_equal(xai_attr_read_method_spec(&em, out4, "ig:rule=exact"), XAI_OK);
    assert_int_equal(em.kind, XAI_METHOD_IG);
    assert_int_equal(em.ig.exact, 1);
    assert_int_equal(xai_attr_read_method_info(out4, "ig:rule=exact", &info), XAI_OK);
    assert_string_equal(info.kind, "ig");
    xai_attr_header_free(&h);
    free(out4);

    /* Bad input: one clear line, a failing exit code, no output file. */
    char *out3 = tmp_path("attr3.h5");
    snprintf(cmd, sizeof cmd, "'%s' --quiet explain --model '%s' --dataset '%s' --methods ig,plaid --out '%s'", bin,
             model, cache, out3);
    assert_int_not_equal(run(cmd, log), 0);
    text = slurp(log);
    assert_non_null(strstr(text, "plaid"));
    free(text);
    assert_false(xai_file_exists(out3));
    snprintf(cmd, sizeof cmd, "'%s' --quiet explain --model '%s/none.h5' --dataset mnist --out '%s'", bin, tmpdir, out3);
    assert_int_not_equal(run(cmd, log), 0);
    text = slurp(log);
    assert_non_null(strstr(text, "none.h5"));
    free(text);
    snprintf(cmd, sizeof cmd, "'%s' explain --help", bin);
    assert_int_equal(run(cmd, log), 0);

    /* The bench subcommands print their figures. */
    char *bini = tmp_path("b.ini");
    f = fopen(bini, "w");
    fprintf(f, "[model]\ninput = 1x12x12\nclasses = 3\nlayer = conv out=4 k=3\nlayer = relu\nlayer = flatten\n"
               "layer = linear out=3\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' bench ig --config '%s' --steps 4 --images 2 --ig-batch 4 --repeats 1 --warmup 0", bin,
             bini);
    if (run(cmd, log)) fail_msg("bench ig failed: %s", slurp(log));
    text = slurp(log);
    assert_non_null(strstr(text, "ig_attr_per_s "));
    assert_non_null(strstr(text, "fraction_of_peak "));
    free(text);
    snprintf(cmd, sizeof cmd, "'%s' bench ig --rule exact --vs-steps 8 --config '%s' --images 2 --repeats 1 --warmup 0",
             bin, bini);
    if (run(cmd, log)) fail_msg("bench ig --rule exact failed: %s", slurp(log));
    text = slurp(log);
    assert_non_null(strstr(text, "regions_per_s "));
    assert_non_null(strstr(text, "regions_per_attr_median "));
    assert_non_null(strstr(text, "exact_cost_vs_ig "));
    free(text);
    snprintf(cmd, sizeof cmd, "'%s' bench lrp --config '%s' --batch 4 --method lrp-zplus --repeats 1 --warmup 0", bin, bini);
    if (run(cmd, log)) fail_msg("bench lrp failed: %s", slurp(log));
    text = slurp(log);
    assert_non_null(strstr(text, "lrp_attr_per_s "));
    assert_non_null(strstr(text, "gxi_attr_per_s "));
    free(text);

    free(a);
    free(b);
    free(bini);
    free(ini);
    free(out2);
    free(out3);
    free(cache);
    free(model);
    free(data);
    free(out);
    free(log);
    xai_model_free(m);
}

int main(void)
{
    xai_quiet = 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_abort_and_bad_files),
        cmocka_unit_test(test_counts_checked_on_open),
        cmocka_unit_test(test_explain_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
