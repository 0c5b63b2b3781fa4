/* fuzz_onnx.c: libFuzzer target of the ONNX importer (core/onnx_import.c): the input is the
 * serialized ModelProto. An imported model small enough runs one forward pass, so that what the
 * checks let through is also what the kernels can run. */
#include "core/nn.h"
#include "core/onnx.h"
#include "tests/fuzz/common.h"

#include <stdlib.h>

/* Forward passes only for models this small (activations, FLOPs): the target is the parser. */
#define FZ_MAX_ACT_BYTES (8u << 20)
#define FZ_MAX_FLOPS 2e7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    xai_onnx_opts o;
    xai_onnx_opts_default(&o);
    xai_model *m = NULL;
    if (FZ_CALL(xai_onnx_import_buffer(&m, data, size, "fuzz.onnx", &o, 1)) == XAI_OK) {
        if (xai_model_act_bytes(m) <= FZ_MAX_ACT_BYTES && xai_model_flops(m, NULL) <= FZ_MAX_FLOPS) {
            float *x = xai_calloc(xai_shape_size(m->in), sizeof *x);
            xai_model_forward(m, x, 1);
            free(x);
        }
        xai_model_free(m);
    }
    fz_end();
    return 0;
}
