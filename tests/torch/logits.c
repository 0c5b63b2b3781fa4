/* logits.c: the C engine's side of tests/torch/test_export.py: a random-initialised model
 * from an experiment config, and the logits of a model file on inputs stored in HDF5. */
#include "core/h5.h"
#include "core/nn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* He init plus batch-norm statistics and affine terms away from the identity, so that a
 * wrong mapping of any of them shows in the logits. */
static xai_status init_model(const char *config, const char *out)
{
    xai_config c;
    xai_model *m = NULL;
    XAI_TRY(xai_config_load(&c, config));
    xai_status s = xai_model_from_config(&m, &c, 1);
    if (s != XAI_OK) goto done;
    xai_model_init(m, 7);
    xai_rng r;
    xai_rng_seed(&r, 11);
    for (int i = 0; i < m->nlayers; i++) {
        xai_layer *l = &m->layers[i];
        if (l->type != XAI_BATCHNORM2D) {
            for (size_t j = 0; l->b && j < l->nb; j++) l->b[j] = 0.1f * xai_rng_normal(&r);
            continue;
        }
        for (int j = 0; j < l->in.c; j++) {
            l->w[j] = 0.5f + xai_rng_uniform(&r);
            l->b[j] = 0.2f * xai_rng_normal(&r);
            l->rmean[j] = 0.2f * xai_rng_normal(&r);
            l->rvar[j] = 0.5f + xai_rng_uniform(&r);
        }
    }
    for (int ch = 0; ch < m->in.c && ch < 4; ch++) m->mean[ch] = 0.1f * (float)(ch + 1), m->std[ch] = 0.5f;
    s = xai_model_save(m, out);
done:
    xai_model_free(m);
    xai_config_free(&c);
    return s;
}

/* Logits (N, K) of the model at `model` on the float32 (N, C, H, W) dataset /x of `inputs`. */
static xai_status run_logits(const char *model, const char *inputs, const char *out)
{
    hid_t f = -1;
    xai_model *m = NULL;
    float *x = NULL;
    xai_h5file o = {0};
    uint64_t d[8];
    XAI_TRY(xai_h5_open(&f, inputs, 0));
    xai_status s = XAI_EFORMAT;
    if (xai_h5_dims(f, "x", d) != 4 || d[0] == 0 || d[0] > 4096) {
        s = xai_fail(XAI_EFORMAT, "%s: /x must be (N <= 4096, C, H, W) float32", inputs);
        goto done;
    }
    if ((s = xai_model_load(&m, model, (int)d[0])) != XAI_OK) goto done;
    if (d[1] != (uint64_t)m->in.c || d[2] != (uint64_t)m->in.h || d[3] != (uint64_t)m->in.w) {
        s = xai_fail(XAI_EINVAL, "%s: /x is not (N, %d, %d, %d)", inputs, m->in.c, m->in.h, m->in.w);
        goto done;
    }
    x = xai_calloc(d[0] * d[1] * d[2] * d[3], sizeof *x);
    if ((s = xai_h5_read_f32(f, "x", x, 4, d, inputs)) != XAI_OK) goto done;
    xai_eval_scope sc = xai_eval_begin(m, 0);
    const float *lg = xai_model_forward(m, x, (int)d[0]);
    xai_eval_end(m, sc);
    const uint64_t od[2] = {d[0], (uint64_t)m->nclasses};
    if ((s = xai_h5_create(&o, out)) != XAI_OK) goto done;
    if ((s = xai_h5_write_f32(o.id, "logits", lg, 2, od)) != XAI_OK) {
        xai_h5_abort(&o);
        goto done;
    }
    s = xai_h5_commit(&o);
done:
    free(x);
    xai_model_free(m);
    xai_h5_close(f);
    return s;
}

int main(int argc, char **argv)
{
    xai_status s;
    if (argc == 4 && !strcmp(argv[1], "init")) s = init_model(argv[2], argv[3]);
    else if (argc == 5 && !strcmp(argv[1], "logits")) s = run_logits(argv[2], argv[3], argv[4]);
    else {
        fprintf(stderr, "usage: %s init CONFIG.ini OUT.h5 | logits MODEL.h5 INPUTS.h5 OUT.h5\n", argv[0]);
        return 2;
    }
    if (s != XAI_OK) fprintf(stderr, "error: %s\n", xai_errmsg());
    return s == XAI_OK ? 0 : 1;
}
