/* fuzz_png.c: libFuzzer target of the image-file reader of `explain --images` and folder datasets
 * (datasets/imagefile.c: libpng's simplified API, the PNG/JPEG sniffing, square crop and resize).
 * Byte 0: bit 0 the model's channels (1 or 3), bit 1 through a file (xai_image_file_load, which
 * tells PNG from JPEG by the first bytes) or the buffer decoder, bits 2-3 the side (1, 3, 8, 17). */
#include "datasets/datasets.h"
#include "tests/fuzz/common.h"

#include <stdlib.h>

static const int SIDES[4] = {1, 3, 8, 17};

static void decode_buffer(const uint8_t *p, size_t n, int side)
{
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    char err[256] = "";
    const xai_status s = xai_png_decode_rgb(p, n, &rgb, &w, &h, err, sizeof err);
    if (s != XAI_OK && !err[0]) abort(); /* a failure must say why */
    if (s == XAI_OK && (!rgb || w < 1 || h < 1)) abort();
    /* Read every byte (ASan checks the buffer holds w * h * 3), then crop and resize as --images does. */
    volatile unsigned sum = 0;
    for (size_t i = 0; s == XAI_OK && i < (size_t)w * h * 3; i++) sum += rgb[i];
    (void)sum;
    uint8_t *sq = malloc((size_t)3 * side * side);
    if (s == XAI_OK) xai_rgb_to_square(sq, side, rgb, h, w);
    free(sq);
    free(rgb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    if (size < 1) return 0;
    const int channels = data[0] & 1 ? 3 : 1, side = SIDES[(data[0] >> 2) & 3];
    if (!(data[0] & 2)) {
        decode_buffer(data + 1, size - 1, side);
        return 0;
    }
    const char *path = fz_path("image.png");
    fz_write(path, data + 1, size - 1);
    uint8_t *px = malloc((size_t)channels * side * side);
    FZ_CALL(xai_image_file_load(path, (xai_shape){channels, side, side}, px));
    free(px);
    fz_end();
    return 0;
}
