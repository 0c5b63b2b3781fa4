/* fuzz_archive.c: libFuzzer target of the image-folder archive decoder and the JPEG decoder
 * (datasets/archive.c, datasets/image.c). Input byte 0 picks: 0-1 the rest is a tar, gzip'd
 * here (mutations then reach the member checks), 2 the rest is the .tgz as is, 3 the rest is
 * one JPEG for xai_jpeg_decode_rgb; the low bit of byte 0 >> 2 is skip_bad. */
#include "datasets/datasets.h"
#include "tests/fuzz/common.h"

#include <stdlib.h>

static const char *const CLASS_IDS[2] = {"n01440764", "n02102040"};

static void decode_jpeg(const uint8_t *p, size_t n)
{
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    char err[256];
    xai_status s = xai_jpeg_decode_rgb(p, n, &rgb, &w, &h, err, sizeof err);
    if (s == XAI_OK) {
        if (!rgb || w < 1 || h < 1) abort();
        /* Touch the last pixel: ASan checks the buffer holds w * h * 3 bytes. */
        volatile uint8_t last = rgb[(size_t)w * h * 3 - 1];
        (void)last;
        uint8_t sq[3 * 8 * 8];
        xai_rgb_to_square(sq, 8, rgb, h, w);
    } else if (!err[0]) {
        abort(); /* a failure must say why */
    }
    free(rgb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    if (size < 1) return 0;
    int mode = data[0] & 3, skip_bad = (data[0] >> 2) & 1;
    if (mode == 3) {
        decode_jpeg(data + 1, size - 1);
        return 0;
    }
    size_t n = size - 1;
    uint8_t *gz = mode == 2 ? NULL : fz_gzip(data + 1, size - 1, &n);
    const char *path = fz_path("archive.tgz");
    fz_write(path, gz ? gz : data + 1, n);
    free(gz);
    xai_split train, test;
    int nskipped = 0;
    if (FZ_CALL(xai_tgz_decode(path, CLASS_IDS, 2, 8, skip_bad, &train, &test, &nskipped)) == XAI_OK) {
        for (int i = 0; i < train.n; i++)
            if (train.labels[i] < 0 || train.labels[i] >= 2) abort();
        xai_split_free(&train);
        xai_split_free(&test);
    }
    fz_end();
    return 0;
}
