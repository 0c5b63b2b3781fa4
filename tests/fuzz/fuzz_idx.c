/* fuzz_idx.c: libFuzzer target of the IDX decoder (datasets/idx.c).
 * Input byte 0 even: the rest is a raw IDX payload, gzip'd here so that mutations reach the
 * header checks instead of dying in the CRC; odd: the rest is handed over as the gzip file. */
#include "datasets/datasets.h"
#include "tests/fuzz/common.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    if (size < 1) return 0;
    size_t gzlen = size - 1;
    uint8_t *gz = (data[0] & 1) ? NULL : fz_gzip(data + 1, size - 1, &gzlen);
    xai_idx x;
    char sha[65];
    if (FZ_CALL(xai_idx_decode(&x, gz ? gz : data + 1, gzlen, "fuzz.idx.gz", sha)) == XAI_OK) {
        /* What the decoder promises: dims multiply to the bytes held. */
        if ((x.ndims != 1 && x.ndims != 3) || (size_t)x.dims[0] * x.dims[1] * x.dims[2] != x.n) abort();
        xai_idx_free(&x);
    }
    free(gz);
    fz_end();
    return 0;
}
