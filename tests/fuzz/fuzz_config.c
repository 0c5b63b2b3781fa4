/* fuzz_config.c: libFuzzer target of the experiment config (INI) and what is built from it: the
 * strict reader (core/config.c), the model spec and shapes (core/model.c) and the [train] section
 * (trainers/train_cfg.c). The input is the file. A model small enough runs one forward pass, so
 * that shapes the checks let through are also shapes the kernels can run. */
#include "core/config.h"
#include "core/nn.h"
#include "trainers/trainers.h"
#include "tests/fuzz/common.h"

#include <stdlib.h>

/* Forward passes only for models this small (activations, FLOPs): the target is the parser. */
#define FZ_MAX_ACT_BYTES (8u << 20)
#define FZ_MAX_FLOPS 2e7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    const char *path = fz_path("config.ini");
    fz_write(path, data, size);
    xai_config c;
    if (FZ_CALL(xai_config_load(&c, path)) != XAI_OK) return 0;
    xai_model *m = NULL;
    if (FZ_CALL(xai_model_from_config(&m, &c, 1)) == XAI_OK) {
        if (xai_model_act_bytes(m) <= FZ_MAX_ACT_BYTES && xai_model_flops(m, NULL) <= FZ_MAX_FLOPS) {
            xai_model_init(m, 1);
            float *x = xai_calloc(xai_shape_size(m->in), sizeof *x);
            xai_model_forward(m, x, 1);
            free(x);
        }
        xai_model_free(m);
    }
    xai_train_cfg t;
    FZ_CALL(xai_train_cfg_parse(&t, &c));
    xai_config_free(&c);
    fz_end();
    return 0;
}
