/* fuzz_model.c: libFuzzer target of the model file reader (core/model_io.c) and the /train record
 * (trainers/checkpoint.c). Two valid files made by the project's writers are the templates: the
 * publishing fixture's linear model with its /train group, and a conv/batch-norm/pool/dropout net.
 * Input byte 0 picks one; the rest is a list of h5mutate.c operations on it. */
#include "core/config.h"
#include "core/h5.h"
#include "core/nn.h"
#include "trainers/trainers.h"
#include "tests/fuzz/fixture.h"

#include <unistd.h>

static const char NET[] = "[model]\ninput = 2x6x6\nclasses = 3\nlayer = conv out=3 k=3 pad=1\nlayer = batchnorm\n"
                          "layer = relu\nlayer = maxpool k=2\nlayer = dropout p=0.25\nlayer = flatten\n"
                          "layer = linear out=3\n";

static fz_h5_template *tmpl[2];

static void linear_with_train(const char *dir, const fx_numbers *x) { fx_model(dir, x, 1); }

/* The templates: the fixture's model, and the net written to a scratch file that is removed again. */
static void make_templates(void)
{
    tmpl[0] = fz_fixture(linear_with_train, 1, "model.h5");
    const char *p1 = fz_path("net.h5");
    xai_config c;
    xai_model *m;
    fx_check(xai_config_load_string(&c, NET, "net.ini"));
    fx_check(xai_model_from_config(&m, &c, 2));
    xai_model_init(m, 3);
    for (int k = 0; k < 2; k++) m->mean[k] = 0.5f, m->std[k] = 0.25f;
    fx_check(xai_model_save(m, p1));
    xai_model_free(m);
    xai_config_free(&c);
    tmpl[1] = fz_h5_template_load(p1);
    unlink(p1);
}

/* A loaded model is used as the explainers use it: a forward pass and a batch-norm fold. */
static void use(xai_model *m)
{
    if (xai_model_act_bytes(m) > (8u << 20)) return;
    float *x = xai_calloc(xai_shape_size(m->in) * 2, sizeof *x);
    xai_model_forward(m, x, 2);
    xai_model *folded = NULL;
    if (FZ_CALL(xai_model_fold_batchnorm(&folded, m, 1)) == XAI_OK) xai_model_free(folded);
    free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    if (!tmpl[0]) make_templates();
    fz_in in = {data, size};
    const char *path = fz_path("model.h5");
    fz_h5_mutate(tmpl[fz_u8(&in) & 1], &in, path);
    xai_model *m = NULL;
    if (FZ_CALL(xai_model_load(&m, path, 2)) == XAI_OK) {
        use(m);
        xai_model_free(m);
    }
    xai_model_info info;
    FZ_CALL(xai_model_info_read(&info, path));
    xai_model_info_free(&info);
    xai_train_record r;
    int found = 0;
    if (FZ_CALL(xai_train_record_read(&r, path, &found)) == XAI_OK) xai_train_record_free(&r);
    fz_end();
    return 0;
}
